#!/usr/bin/env python3
"""Drives every operation of Stromboli's OpenAPI spec against a running
clauderon daemon and checks each response against the spec: its status is
one the operation declares, its content type the one declared for it, and
its body valid against the declared schema (jsonschema, with the spec's
$refs). Prints one JSON report on stdout:
  {"operations": ["GET /health", ...], "failures": ["..."], "calls": N}

usage: stromboli_contract.py SPEC BASE_URL TOKEN REPO IMAGE
"""

import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import jsonschema
from referencing import Registry, Resource

SPEC_PATH, BASE, TOKEN, REPO, IMAGE = sys.argv[1:6]
SPEC = json.load(open(SPEC_PATH))
REGISTRY = Registry().with_resource("spec", Resource.opaque(SPEC))
FAILURES = []
SEEN = set()
CALLS = 0


def openapi_to_jsonschema(schema):
    """OpenAPI 3.0's `nullable` and `example` as JSON Schema understands them."""
    if isinstance(schema, dict):
        out = {k: openapi_to_jsonschema(v) for k, v in schema.items() if k != "example"}
        if out.pop("nullable", False) and "type" in out:
            out["type"] = [out["type"], "null"]
        if "$ref" in out:
            out["$ref"] = "spec" + out["$ref"]
        return out
    if isinstance(schema, list):
        return [openapi_to_jsonschema(s) for s in schema]
    return schema


def template_of(method, path):
    """The spec's path template this concrete path is an instance of."""
    parts = path.split("?")[0].strip("/").split("/")
    for template, item in SPEC["paths"].items():
        t = template.strip("/").split("/")
        if len(t) == len(parts) and method.lower() in item and all(
            a.startswith("{") or a == b for a, b in zip(t, parts)
        ):
            return template
    return None


def check(method, path, status, ctype, body):
    template = template_of(method, path)
    label = f"{method} {template or path}"
    if template is None:
        FAILURES.append(f"{label}: not in Stromboli's spec")
        return
    SEEN.add(label)
    responses = SPEC["paths"][template][method.lower()]["responses"]
    declared = responses.get(str(status))
    if declared is None:
        FAILURES.append(f"{label}: status {status} is not one the spec declares ({sorted(responses)}): {body!r:.300}")
        return
    content = declared.get("content", {})
    if not content:
        return
    media = (ctype or "").split(";")[0].strip()
    if media not in content:
        FAILURES.append(f"{label} {status}: content type {media!r}, the spec says {sorted(content)}")
        return
    schema = content[media].get("schema")
    if schema is None:
        return
    if media == "application/json":
        try:
            value = json.loads(body)
        except ValueError as e:
            FAILURES.append(f"{label} {status}: not JSON ({e}): {body!r:.300}")
            return
    else:
        value = body
    try:
        jsonschema.Draft4Validator(openapi_to_jsonschema(schema), registry=REGISTRY).validate(value)
    except jsonschema.ValidationError as e:
        FAILURES.append(f"{label} {status}: {e.message} at {list(e.absolute_path)}: {body!r:.500}")


def call(method, path, body=None, token=TOKEN, check_it=True, timeout=300):
    """One request; (status, parsed JSON or text). Checked against the spec."""
    global CALLS
    CALLS += 1
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, ctype, text = r.status, r.headers.get("content-type"), r.read().decode()
    except urllib.error.HTTPError as e:
        status, ctype, text = e.code, e.headers.get("content-type"), e.read().decode()
    if check_it:
        check(method, path, status, ctype, text)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def expect(what, got, want):
    if got != want:
        FAILURES.append(f"{what}: got {got}, want {want}")


def wait_job(job_id, deadline=240):
    end = time.time() + deadline
    while time.time() < end:
        status, job = call("GET", f"/jobs/{job_id}")
        if status != 200 or job.get("status") not in ("pending", "running"):
            return job
        time.sleep(1)
    FAILURES.append(f"job {job_id} still running after {deadline} s")
    return {}


def auth_flow():
    expect("POST /auth/token without a token", call("POST", "/auth/token", {"client_id": "ci"}, token=None)[0], 401)
    expect("POST /auth/token without client_id", call("POST", "/auth/token", {})[0], 400)
    status, tokens = call("POST", "/auth/token", {"client_id": "contract"})
    expect("POST /auth/token", status, 200)
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    status, valid = call("GET", "/auth/validate", token=access)
    expect("GET /auth/validate", (status, valid.get("subject")), (200, "contract"))
    expect("GET /jobs with the access token", call("GET", "/jobs", token=access)[0], 200)
    expect("POST /auth/refresh without a body", call("POST", "/auth/refresh", {}, token=None)[0], 400)
    expect("POST /auth/refresh with a bad token", call("POST", "/auth/refresh", {"refresh_token": "x"}, token=None)[0], 401)
    status, again = call("POST", "/auth/refresh", {"refresh_token": refresh}, token=None)
    expect("POST /auth/refresh", status, 200)
    expect("POST /auth/logout", call("POST", "/auth/logout", token=access)[0], 200)
    expect("GET /auth/validate after logout", call("GET", "/auth/validate", token=access)[0], 401)
    expect("POST /auth/logout after logout", call("POST", "/auth/logout", token=access)[0], 401)
    expect("the refreshed token", call("GET", "/auth/validate", token=again["access_token"])[0], 200)


TRANSCRIPT = [
    {"type": "user", "uuid": "11111111-1111-4111-8111-111111111111", "parentUuid": None, "sessionId": "s1",
     "timestamp": "2026-01-24T10:06:40.000Z", "cwd": "/workspace", "version": "2.1.19",
     "message": {"role": "user", "content": "list the files"}},
    {"type": "assistant", "uuid": "22222222-2222-4222-8222-222222222222", "parentUuid": "11111111-1111-4111-8111-111111111111",
     "sessionId": "s1", "timestamp": "2026-01-24T10:06:42.906Z", "cwd": "/workspace", "gitBranch": "main",
     "message": {"role": "assistant", "model": "m", "id": "msg_1", "stop_reason": None,
                 "usage": {"input_tokens": 3, "output_tokens": 4},
                 "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "ls"}}]}},
    {"type": "user", "uuid": "33333333-3333-4333-8333-333333333333", "sessionId": "s1",
     "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "a.txt", "is_error": False}]},
     "toolUseResult": {"stdout": "a.txt", "stderr": "", "interrupted": False, "isImage": False}},
    {"type": "summary", "summary": "not a message"},
]


def messages(session, worktree):
    # A Claude Code transcript, as the agent leaves it in its home (the worktree).
    import os
    folder = os.path.join(worktree, ".claude", "projects", "-workspace")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "contract.jsonl"), "w") as f:
        f.write("\n".join(json.dumps(line) for line in TRANSCRIPT) + "\n")
    status, page = call("GET", f"/sessions/{session}/messages?limit=2")
    expect("GET /sessions/{id}/messages", (status, page.get("total"), page.get("has_more")), (200, 3, True))
    expect("GET /sessions/{id}/messages", status, 200)
    for bad in ("limit=5000", "limit=false&offset=xyz", "offset=-1", "limit=0"):
        expect(f"GET /sessions/{{id}}/messages?{bad}", call("GET", f"/sessions/{session}/messages?{bad}")[0], 400)
    expect("messages of no session", call("GET", "/sessions/no-such-session/messages")[0], 404)
    uuid = TRANSCRIPT[1]["uuid"]
    status, one = call("GET", f"/sessions/{session}/messages/{uuid}")
    expect("GET /sessions/{id}/messages/{message_id}", (status, one.get("message", {}).get("type")), (200, "assistant"))
    expect("an unknown message", call("GET", f"/sessions/{session}/messages/nope")[0], 404)


def runs():
    engine = {"image": IMAGE}
    expect("POST /run without a prompt", call("POST", "/run", {"repo": REPO})[0], 400)
    status, done = call("POST", "/run", {"prompt": "contract run", "repo": REPO, "docker": engine})
    expect("POST /run", (status, done.get("status")), (200, "completed"))
    session = (done.get("session_id", ""), done.get("worktree", ""))
    status, failed = call("POST", "/run", {"prompt": "fail", "repo": REPO, "docker": dict(engine, env={"STUB_BEHAVIOR": "exit:3"})})
    expect("POST /run of a failing agent", (status, failed.get("status")), (200, "failed"))
    expect("POST /run/async without a prompt", call("POST", "/run/async", {})[0], 400)
    status, started = call("POST", "/run/async", {"prompt": "fail async", "repo": REPO, "docker": dict(engine, env={"STUB_BEHAVIOR": "exit:3"})})
    expect("POST /run/async", status, 202)
    job = wait_job(started["job_id"])
    expect("a failed job's status (final for waitForJob)", job.get("status"), "failed")
    expect("DELETE /jobs/{id} of an ended job", call("DELETE", f"/jobs/{started['job_id']}")[0], 409)
    slow = {"prompt": "slow", "repo": REPO, "docker": dict(engine, lifecycle={"post_start": ["sleep 60"]})}
    status, started = call("POST", "/run/async", slow)
    time.sleep(2)
    expect("DELETE /jobs/{id}", call("DELETE", f"/jobs/{started['job_id']}")[0], 200)
    job = wait_job(started["job_id"])
    expect("a cancelled job's status (final for waitForJob)", job.get("status"), "cancelled")
    expect("GET /jobs/{id} of no job", call("GET", "/jobs/nope")[0], 404)
    expect("DELETE /jobs/{id} of no job", call("DELETE", "/jobs/nope")[0], 404)
    status, jobs = call("GET", "/jobs")
    expect("GET /jobs", (status, type(jobs.get("jobs"))), (200, list))
    query = urllib.parse.urlencode({"prompt": "streamed", "workdir": "/workspace"})
    status, text = call("GET", f"/run/stream?{query}")
    expect("GET /run/stream", (status, "event: done" in text), (200, True))
    expect("GET /run/stream without a prompt", call("GET", "/run/stream")[0], 400)
    return session


def main():
    status, health = call("GET", "/health", token=None)
    expect("GET /health without a token", (status, health.get("name")), (200, "clauderon"))
    expect("GET /claude/status", call("GET", "/claude/status")[0], 200)
    expect("GET /secrets", call("GET", "/secrets")[0], 200)
    auth_flow()
    session, worktree = runs()
    status, listed = call("GET", "/sessions")
    expect("GET /sessions lists the run's session", session in listed.get("sessions", []), True)
    messages(session, worktree)
    status, gone = call("DELETE", f"/sessions/{session}")
    expect("DELETE /sessions/{id}", (status, gone.get("success")), (200, True))
    expect("DELETE /sessions/{id} again", call("DELETE", f"/sessions/{session}")[0], 404)
    print(json.dumps({"operations": sorted(SEEN), "failures": FAILURES, "calls": CALLS}))


main()

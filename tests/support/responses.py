#!/usr/bin/env python3
"""A local stand-in for the OpenAI Responses API, for tests that run the REAL
Codex CLI. It streams as the real API does (server-sent events over HTTPS, or
JSON text frames over a WebSocket on the same path), and plays one scripted
conversation:

  1. the first request (no tool output in its input) is answered with a
     `custom_tool_call` to Codex's `exec` tool, JavaScript that runs
     `--command` through `tools.exec_command` (models with Code Mode, whose
     tools come in an `additional_tools` input item), or else with a
     `function_call` to `exec_command`;
  2. the request that carries the tool's output back is answered
     with a final assistant message (`--answer`).

A prewarm request (`"generate": false`) gets an empty response. Every
request is appended to --log as one JSON line (method, path, headers,
body, transport). A request whose `Authorization` is not `Bearer --key` gets
a 401, as the real API would.

Prints the port it listens on, then serves until killed.
"""
import argparse
import base64
import hashlib
import json
import os
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import upstream  # noqa: E402  (the same directory)

args = None
log_lock = threading.Lock()
counter = [0]
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def record(handler, body, transport):
    entry = {
        "method": handler.command,
        "path": handler.path,
        "transport": transport,
        "headers": {k.lower(): v for k, v in handler.headers.items()},
        "body": body,
    }
    with log_lock, open(args.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


def next_id(prefix):
    with log_lock:
        counter[0] += 1
        return f"{prefix}_{counter[0]}"


def has_tool_output(body):
    items = body.get("input") or [] if isinstance(body, dict) else []
    return any(isinstance(i, dict) and i.get("type", "").endswith("call_output") for i in items)


def usage():
    return {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 7,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 19,
    }


def output_item(body):
    """The one output item this request gets: a tool call, or the answer."""
    if has_tool_output(body):
        return {
            "type": "message",
            "id": next_id("msg"),
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": args.answer, "annotations": []}],
        }
    if not any(isinstance(i, dict) and i.get("type") == "additional_tools" for i in body.get("input") or []):
        # A model without Code Mode gets plain function tools.
        return {
            "type": "function_call",
            "id": next_id("fc"),
            "call_id": next_id("call"),
            "name": "exec_command",
            "arguments": json.dumps({"cmd": args.command}),
            "status": "completed",
        }
    code = "const r = await tools.exec_command({cmd: %s});\ntext(JSON.stringify(r));\n" % json.dumps(args.command)
    return {
        "type": "custom_tool_call",
        "id": next_id("ctc"),
        "call_id": next_id("call"),
        "name": "exec",
        "input": code,
        "status": "completed",
    }


def events(body):
    """The stream of events for one request, as the real API orders them."""
    rid = next_id("resp")
    model = body.get("model", "gpt-test") if isinstance(body, dict) else "gpt-test"
    base = {"id": rid, "object": "response", "model": model, "output": []}
    if isinstance(body, dict) and body.get("generate") is False:
        # A prewarm (Codex sends one when its WebSocket opens): no output.
        yield {"type": "response.created", "response": dict(base, status="in_progress")}
        yield {"type": "response.completed", "response": dict(base, status="completed", usage=usage())}
        return
    item = output_item(body)
    yield {"type": "response.created", "response": dict(base, status="in_progress")}
    yield {"type": "response.in_progress", "response": dict(base, status="in_progress")}
    yield {"type": "response.output_item.added", "output_index": 0, "item": dict(item, status="in_progress")}
    if item["type"] == "message":
        text = item["content"][0]["text"]
        yield {"type": "response.output_text.delta", "item_id": item["id"], "output_index": 0, "content_index": 0, "delta": text}
        yield {"type": "response.output_text.done", "item_id": item["id"], "output_index": 0, "content_index": 0, "text": text}
    elif item["type"] == "function_call":
        yield {"type": "response.function_call_arguments.delta", "item_id": item["id"], "output_index": 0, "delta": item["arguments"]}
        yield {"type": "response.function_call_arguments.done", "item_id": item["id"], "output_index": 0, "arguments": item["arguments"]}
    else:
        yield {"type": "response.custom_tool_call_input.delta", "item_id": item["id"], "output_index": 0, "delta": item["input"]}
        yield {"type": "response.custom_tool_call_input.done", "item_id": item["id"], "output_index": 0, "input": item["input"]}
    yield {"type": "response.output_item.done", "output_index": 0, "item": item}
    yield {"type": "response.completed", "response": dict(base, status="completed", output=[item], usage=usage())}


class Handler(upstream.Handler):
    """upstream.py's handler (its body reading and sending), answering as the
    Responses API."""

    def authorized(self):
        return self.headers.get("Authorization", "") == f"Bearer {args.key}"

    def refuse(self):
        err = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}}
        self.send(401, json.dumps(err).encode())

    def do_GET(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            return self.websocket()
        record(self, None, "http")
        if not self.authorized():
            return self.refuse()
        if self.path.partition("?")[0].endswith("/models"):
            return self.send(200, json.dumps({"object": "list", "data": []}).encode())
        self.send(404, b'{"error":{"message":"not found"}}')

    def do_POST(self):
        raw = self.body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"unparsed": raw.decode("utf-8", "replace")}
        record(self, body, "http")
        if not self.authorized():
            return self.refuse()
        if not self.path.partition("?")[0].endswith("/responses"):
            return self.send(404, b'{"error":{"message":"not found"}}')
        if isinstance(body, dict) and body.get("stream") is False:
            # Not streamed: the response object, as the last event carries it.
            *_, last = events(body)
            return self.send(200, json.dumps(last["response"]).encode())
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events(body):
            chunk = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    # --- WebSocket: Codex's Responses WebSocket, one response.create per message

    def websocket(self):
        record(self, None, "websocket-upgrade")
        if args.no_websocket:
            return self.send(426, b'{"error":{"message":"websockets are off"}}')
        if not self.authorized():
            return self.refuse()
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        while True:
            frame = self.read_frame()
            if frame is None:
                return
            opcode, payload = frame
            if opcode == 8:
                self.write_frame(8, payload[:2])
                return
            if opcode == 9:
                self.write_frame(10, payload)
                continue
            if opcode != 1:
                continue
            body = json.loads(payload)
            record(self, body, "websocket")
            for event in events(body):
                self.write_frame(1, json.dumps(event).encode())

    def read_frame(self):
        head = self.rfile.read(2)
        if len(head) < 2:
            return None
        opcode, n = head[0] & 0x0F, head[1] & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.rfile.read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.rfile.read(8))[0]
        mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
        data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
        if not head[0] & 0x80:
            more = self.read_frame()
            return None if more is None else (opcode, data + more[1])
        return opcode, data

    def write_frame(self, opcode, payload):
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        self.wfile.write(head + payload)
        self.wfile.flush()


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--key", required=True, help="the API key a request must carry")
    p.add_argument("--cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="the certificate's private key (PEM)")
    p.add_argument("--command", default="echo made-by-codex > codex-made.txt")
    p.add_argument("--answer", default="Done: the file is written.")
    p.add_argument("--no-websocket", action="store_true", help="answer WebSocket upgrades with 426")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    upstream.serve(Handler, args.port, args.cert, args.tls_key)


if __name__ == "__main__":
    main()

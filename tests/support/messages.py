#!/usr/bin/env python3
"""A local stand-in for Anthropic's Messages API, for the proxy's books.
`POST /v1/messages` answers with known usage: streamed (server-sent events,
as the real API orders them) when the body asks `"stream": true`, else one
JSON message. The model named in the request picks a hostile answer:

  malformed  the message_delta's usage is not JSON;
  huge       a 1 MB event comes before the usage events;
  cut        the stream stops in the middle of an event (connection closed).

Every request is appended to --log (method, path, the x-api-key header, the
body's model and stream flag, the user's text, and `t`, the time it arrived
in seconds since the epoch: the speed benchmark's first model call). A
request without `x-api-key: --key` gets a 401; a GET, or a POST to another
path, gets a 404, as an unknown route of the real API does.
Prints the port it listens on (on --bind, default 127.0.0.1), then serves
until killed.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import upstream  # noqa: E402  (the same directory)

args = None
USAGE_START = {"input_tokens": 25, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 4, "output_tokens": 1}
OUTPUT_TOKENS = 15


def sse(name, data):
    return f"event: {name}\ndata: {data if isinstance(data, str) else json.dumps(data)}\n\n".encode()


def stream_events(model):
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [],
               "stop_reason": None, "usage": USAGE_START}
    yield sse("message_start", {"type": "message_start", "message": message})
    if model == "huge":
        yield sse("content_block_delta", {"type": "content_block_delta", "delta": {"text": "x" * (1 << 20)}})
    yield sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    yield sse("ping", {"type": "ping"})
    yield sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}})
    yield sse("content_block_stop", {"type": "content_block_stop", "index": 0})
    if model == "cut":
        yield b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usa"
        return
    if model == "malformed":
        yield sse("message_delta", '{"type":"message_delta","usage":{"output_tokens": fifteen}}')
    else:
        yield sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                    "usage": {"output_tokens": OUTPUT_TOKENS}})
    yield sse("message_stop", {"type": "message_stop"})


def user_text(body):
    """The text of the request's user messages (where a benchmark's marker is)."""
    parts = []
    for m in body.get("messages") or []:
        if not isinstance(m, dict) or m.get("role") != "user":
            continue
        content = m.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [b.get("text", "") for b in content if isinstance(b, dict)]
    return "\n".join(parts)[-4000:]


class Handler(upstream.Handler):
    def log_request_entry(self, body):
        entry = {"t": time.time(), "method": self.command, "path": self.path,
                 "x-api-key": self.headers.get("x-api-key"),
                 "model": body.get("model"), "stream": body.get("stream", False), "text": user_text(body)}
        with upstream.log_lock, open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def do_GET(self):
        self.log_request_entry({})
        self.send(404, b'{"type":"error","error":{"type":"not_found_error","message":"Not found"}}')

    def do_POST(self):
        raw = self.body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        self.log_request_entry(body)
        if self.headers.get("x-api-key") != args.key:
            err = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
            return self.send(401, json.dumps(err).encode())
        if not self.path.partition("?")[0].endswith("/v1/messages"):
            return self.send(404, b'{"type":"error","error":{"type":"not_found_error","message":"no"}}')
        model = body.get("model", "claude-sonnet-4-5")
        if not body.get("stream"):
            message = {"id": "msg_1", "type": "message", "role": "assistant", "model": model,
                       "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn",
                       "usage": dict(USAGE_START, output_tokens=OUTPUT_TOKENS)}
            return self.send(200, json.dumps(message).encode())
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in stream_events(model):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        if model == "cut":
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--tls-key", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--bind", default="127.0.0.1")
    args = p.parse_args()
    upstream.args = args
    upstream.serve(Handler, args.port, args.cert, args.tls_key, args.bind)


if __name__ == "__main__":
    main()

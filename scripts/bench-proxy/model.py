"""Files for the ledger's part of scripts/bench-proxy.sh.

  model.py sse DIR             DIR/{s,b}/v1/{messages,messagez}: a Messages
                               stream with usage events (s: 1 KB; b: 100 MB
                               of text deltas), the same bytes on the path
                               the proxy meters and on one it does not
  model.py ledgers HOME N      N ledger lines in each session of HOME"""

import json
import os
import sys


def event(name, data):
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def stream(text_bytes):
    usage = {"input_tokens": 25, "cache_creation_input_tokens": 3, "cache_read_input_tokens": 4, "output_tokens": 1}
    head = event("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [], "usage": usage}})
    delta = event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "text_delta", "text": "x" * 900}})
    tail = event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                   "usage": {"output_tokens": 15}}) + event("message_stop", {"type": "message_stop"})
    n = max(1, text_bytes // len(delta))
    return head, delta, n, tail


def sse(root):
    for size, text_bytes in (("s", 1000), ("b", 100_000_000)):
        d = os.path.join(root, size, "v1")
        os.makedirs(d, exist_ok=True)
        head, delta, n, tail = stream(text_bytes)
        for name in ("messages", "messagez"):
            with open(os.path.join(d, name), "w") as f:
                f.write(head)
                for _ in range(n):
                    f.write(delta)
                f.write(tail)


def ledgers(home, n):
    line = json.dumps({"time_ms": 1765000000000, "api": "anthropic", "model": "claude-sonnet-4-5",
                       "input": 25, "output": 15, "cache_creation_input": 3, "cache_read_input": 4,
                       "cost_usd": 0.00031245}) + "\n"
    sessions = os.path.join(home, "sessions")
    for name in os.listdir(sessions):
        with open(os.path.join(sessions, name, "ledger.jsonl"), "w") as f:
            f.write(line * n)
        try:
            os.remove(os.path.join(sessions, name, "usage.json"))
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    if sys.argv[1] == "sse":
        sse(sys.argv[2])
    else:
        ledgers(sys.argv[2], int(sys.argv[3]))

#!/usr/bin/env python3
"""A local HTTPS server that plays the upstream (GitHub, Anthropic, ...) in
the proxy tests. It records every request's headers, streams on /stream,
serves N bytes on /big, and serves git smart-HTTP (paths like /org/repo.git/...) behind Basic
auth (user x-access-token, password = --git-token), through git http-backend.

Prints the port it listens on, then serves until killed.
"""
import argparse
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from base64 import b64decode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
log_lock = threading.Lock()


def record(handler):
    entry = {
        "method": handler.command,
        "path": handler.path,
        "host": handler.headers.get("Host"),
        "headers": {k.lower(): v for k, v in handler.headers.items()},
    }
    with log_lock, open(args.log, "a") as f:
        f.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send(self, status, body, ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        record(self)
        if ".git/" in self.path.partition("?")[0]:
            return self.git()
        body = self.body()
        if self.path.startswith("/stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(5):
                chunk = f"data: {i}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
                time.sleep(0.3)
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path.startswith("/big"):
            n = int(self.path.split("n=")[-1]) if "n=" in self.path else 1 << 20
            return self.send(200, b"x" * n, "application/octet-stream")
        reply = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body_bytes": len(body)}
        self.send(200, json.dumps(reply).encode())

    def git(self):
        auth = self.headers.get("Authorization", "")
        ok = False
        if auth.startswith("Basic "):
            user, _, password = b64decode(auth[6:]).decode().partition(":")
            ok = user == "x-access-token" and password == args.git_token
        if not ok:
            self.body()
            return self.send(401, b"auth required\n", "text/plain", [("WWW-Authenticate", 'Basic realm="git"')])
        body = self.body()
        path, _, query = self.path.partition("?")
        env = dict(os.environ)
        env.update({
            "GIT_PROJECT_ROOT": args.git_root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token",
            "REMOTE_ADDR": "127.0.0.1",
        })
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
        head, _, payload = out.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.split(b"\r\n"):
            k, _, v = line.decode().partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            elif k:
                headers.append((k, v.strip()))
        ctype = dict((k.lower(), v) for k, v in headers).get("content-type", "application/octet-stream")
        self.send(status, payload, ctype, [h for h in headers if h[0].lower() != "content-type"])


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--git-root", default="/nonexistent")
    p.add_argument("--git-token", default="")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    serve(Handler, args.port, args.cert, args.key)


def serve(handler, port, cert, key, bind="127.0.0.1"):
    """Serves HTTPS (HTTP without a certificate) on bind:port (0: any),
    after printing the port."""
    server = ThreadingHTTPServer((bind, port), handler)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()

"""Daemon memory for scripts/bench-proxy.sh: opens N tunnels through the
clauderon proxy spread over the sessions (half tunnelled, half intercepted,
each with one HTTPS request done and then held idle), reads the daemon's RSS,
closes them, and does it again, so that growth across rounds shows.

  tunnels.py PID PROXY_PORT TOKENS_FILE CA_BUNDLE UPSTREAM_PORT N ROUNDS
  tunnels.py hold PROXY_PORT SESSION TOKEN UPSTREAM_PORT N
      (opens N tunnels, says "open", and holds them until it is killed)"""

import base64
import os
import socket
import ssl
import sys
import time


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def read_head(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError(f"closed after {data!r}")
        data += chunk
    return data


def open_tunnel(proxy_port, session, token, host, upstream_port, ctx):
    s = socket.create_connection(("127.0.0.1", proxy_port))
    auth = base64.b64encode(f"{session}:{token}".encode()).decode()
    target = f"{host}:{upstream_port}"
    s.sendall(
        f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
        f"Proxy-Authorization: Basic {auth}\r\n\r\n".encode()
    )
    head = read_head(s)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"CONNECT {target}: {head[:200]!r}")
    t = ctx.wrap_socket(s, server_hostname=host)
    t.sendall(
        f"GET /tiny HTTP/1.1\r\nHost: {target}\r\n"
        "Authorization: token clauderon-proxy\r\n\r\n".encode()
    )
    head = read_head(t)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"GET via {target}: {head[:200]!r}")
    return t


def hold(port, session, token, up, n):
    held = []
    auth = base64.b64encode(f"{session}:{token}".encode()).decode()
    for _ in range(int(n)):
        s = socket.create_connection(("127.0.0.1", int(port)))
        target = f"tunnel.test:{up}"
        s.sendall(
            f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
            f"Proxy-Authorization: Basic {auth}\r\n\r\n".encode()
        )
        if not read_head(s).startswith(b"HTTP/1.1 200"):
            sys.exit("CONNECT refused")
        held.append(s)
    print("open", flush=True)
    time.sleep(3600)


def main():
    if sys.argv[1] == "hold":
        return hold(*sys.argv[2:7])
    pid, port, tokens, bundle, up, n, rounds = sys.argv[1:8]
    port, up, n, rounds = int(port), int(up), int(n), int(rounds)
    sessions = [line.split() for line in open(tokens) if line.strip()]
    ctx = ssl.create_default_context(cafile=bundle)
    print(f"rss_start\t{rss_kib(pid)}")
    for r in range(1, rounds + 1):
        held = []
        for i in range(n):
            name, token = sessions[i % len(sessions)]
            host = "tunnel.test" if i % 2 == 0 else "api.github.com"
            held.append(open_tunnel(port, name, token, host, up, ctx))
        time.sleep(1)
        print(f"rss_open_{r}\t{rss_kib(pid)}")
        print(f"fds_open_{r}\t{fds(pid)}")
        for t in held:
            t.close()
        time.sleep(2)
        print(f"rss_closed_{r}\t{rss_kib(pid)}")
        print(f"fds_closed_{r}\t{fds(pid)}")


if __name__ == "__main__":
    main()

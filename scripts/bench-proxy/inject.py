"""mitmdump addon for scripts/bench-proxy.sh: the same credential swap the
clauderon proxy does for api.github.com (placeholder -> secret in
Authorization), so both proxies do the same work per request."""

import os

PLACEHOLDER = "token clauderon-proxy"
SECRET = "token " + os.environ["BENCH_SECRET"]


def request(flow):
    if (
        flow.request.pretty_host == "api.github.com"
        and flow.request.headers.get("authorization") == PLACEHOLDER
    ):
        flow.request.headers["authorization"] = SECRET

"""Helpers for scripts/bench-proxy.sh.

  stats.py median [--skip N] [--scale X]   median of the numbers on stdin
  stats.py table RESULTS.tsv               the summary table
  stats.py memory MEMORY.tsv SESSIONS TUNNELS   the memory line
  stats.py ledger RESULTS.tsv              the ledger's cost: metered vs not

RESULTS.tsv lines: metric, variant, run, value (tab-separated)."""

import statistics
import sys
from collections import defaultdict

# metric -> (label, unit, bigger is better, target on clauderon/direct)
METRICS = {
    "ka_intercept": ("keep-alive request, intercepted (header injected)", "µs", False),
    "ka_tunnel": ("keep-alive request, tunnelled", "µs", False),
    "new_tunnel": ("new connection (CONNECT + TLS + GET), tunnelled", "µs", False),
    "new_intercept": ("new connection (CONNECT + TLS + GET), intercepted", "µs", False),
    "par_intercept": ("16 parallel clients, intercepted, req/s", "req/s", True),
    "par_tunnel": ("16 parallel clients, tunnelled, req/s", "req/s", True),
    "dl_tunnel": ("100 MB download, tunnelled", "MiB/s", True),
    "dl_intercept": ("100 MB download, intercepted", "MiB/s", True),
}
VARIANTS = ["direct", "clauderon", "baseline", "mitmproxy"]


def median(args):
    skip, scale = 0, 1.0
    while args:
        flag, value = args.pop(0), args.pop(0)
        if flag == "--skip":
            skip = int(value)
        elif flag == "--scale":
            scale = float(value)
    values = [float(x) for x in sys.stdin.read().split()][skip:]
    if not values:
        sys.exit("no values")
    print(f"{statistics.median(values) * scale:.3f}")


def cell(values, unit):
    if not values:
        return "–"
    m, lo, hi = statistics.median(values), min(values), max(values)
    fmt = "{:.0f}" if unit != "ms" else "{:.2f}"
    return f"{fmt.format(m)} ({fmt.format(lo)}–{fmt.format(hi)})"


def table(path):
    data = defaultdict(lambda: defaultdict(dict))
    for line in open(path):
        metric, variant, run, value = line.rstrip("\n").split("\t")
        data[metric][variant][run] = float(value)
    present = [v for v in VARIANTS if any(v in row for row in data.values())]
    others = [v for v in present if v != "direct"]
    print("| figure | " + " | ".join(present) + " | "
          + " | ".join(f"{v}: added / % of direct" for v in others) + " |")
    print("|---" * (len(present) + len(others) + 1) + "|")
    for metric, (label, unit, bigger) in METRICS.items():
        if metric not in data:
            continue
        row = data[metric]
        cells = [cell(list(row.get(v, {}).values()), unit) for v in present]
        rel = []
        for v in others:
            runs = [r for r in row.get(v, {}) if r in row.get("direct", {})]
            if not runs:
                rel.append("–")
                continue
            if bigger:
                pct = [row[v][r] / row["direct"][r] * 100 for r in runs]
                rel.append(f"{statistics.median(pct):.0f} % ({min(pct):.0f}–{max(pct):.0f})")
            else:
                add = [(row[v][r] - row["direct"][r]) / 1000 for r in runs]
                rel.append(
                    f"{statistics.median(add):+.3f} ms ({min(add):+.3f}…{max(add):+.3f})"
                )
        print(f"| {label} ({unit}) | " + " | ".join(cells + rel) + " |")


def memory(path, sessions, tunnels):
    v = dict(line.split() for line in open(path))
    rounds = sorted(int(k.rsplit("_", 1)[1]) for k in v if k.startswith("rss_open_"))

    def mib(key):
        return f"{int(v[key]) / 1024:.1f}"

    print(
        f"daemon RSS (MiB), {sessions} sessions: {mib('rss_start')} at rest; "
        f"{tunnels} tunnels open, rounds 1..{len(rounds)}: "
        + ", ".join(mib(f"rss_open_{r}") for r in rounds)
        + "; after closing them: "
        + ", ".join(mib(f"rss_closed_{r}") for r in rounds)
        + f" (daemon fds with them open {v[f'fds_open_{rounds[-1]}']}, "
        f"after closing {v[f'fds_closed_{rounds[-1]}']})"
    )


# The ledger's pairs: (label, metered, not metered, unit, bigger is better).
LEDGER = [
    ("kept-alive model call, SSE with usage events", "ka_meter", "ka_nometer", "µs", False),
    ("first byte of that stream", "fb_meter", "fb_nometer", "µs", False),
    ("100 MB model stream", "dl_meter", "dl_nometer", "MiB/s", True),
]


def ledger(path):
    data = defaultdict(dict)
    for line in open(path):
        metric, variant, run, value = line.rstrip("\n").split("\t")
        if variant == "clauderon":
            data[metric][run] = float(value)
    if not any(m in data for _, m, _, _, _ in LEDGER):
        return
    print()
    print("the ledger's cost, clauderon, same run: metered path vs the same bytes unmetered, median (min–max)")
    print("| figure | metered | not metered | per-round difference |")
    print("|---|---|---|---|")
    for label, on, off, unit, bigger in LEDGER:
        if on not in data or off not in data:
            continue
        runs = [r for r in data[on] if r in data[off]]
        if bigger:
            diff = [data[on][r] / data[off][r] * 100 for r in runs]
            d = f"{statistics.median(diff):.0f} % ({min(diff):.0f}–{max(diff):.0f})"
        else:
            diff = [data[on][r] - data[off][r] for r in runs]
            d = f"{statistics.median(diff):+.1f} µs ({min(diff):+.1f}…{max(diff):+.1f})"
        print(f"| {label} ({unit}) | {cell(list(data[on].values()), unit)} "
              f"| {cell(list(data[off].values()), unit)} | {d} |")


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    if cmd == "median":
        median(rest)
    elif cmd == "table":
        table(rest[0])
    elif cmd == "memory":
        memory(*rest)
    elif cmd == "ledger":
        ledger(rest[0])

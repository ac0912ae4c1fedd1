# Shared by scripts/bench.sh and scripts/bench-first-call.sh (sourced).

now() { date +%s%N; }
# stats NAME MS...: median and range in milliseconds
stats() {
  local name="$1"
  shift
  printf '%s\n' "$@" | sort -n | awk -v name="$name" '
    { v[NR] = $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%-46s median %7.1f ms  (min %.1f, max %.1f, %d runs)\n", name, m, v[1], v[NR], NR }'
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

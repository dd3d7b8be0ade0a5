#!/usr/bin/env bash
# Runs PocketIDP's Go benchmarks and prints a short summary of the figures
# that matter: `up` cold / no-op / warm and `down` (internal/cli
# BenchmarkUpDown), the TUI's first frame (internal/tui BenchmarkFirstFrame),
# the Humanitec registration (internal/humanitec BenchmarkRegistration100ms),
# the binary's size, and the machine they were measured on.
#
# Usage: scripts/bench.sh [BINARY]
#   BINARY is the built pocketidp (`make bench` passes bin/pocketidp after
#   `make build`, so the build flags live in the Makefile only); without it
#   the script runs `make build` itself.
#
# Environment (all optional):
#   GO            the go command (default: go)
#   BENCH         benchmark regexp (default: .)
#   BENCHTIME     -benchtime (default: 3x)
#   BENCH_PKGS    packages (default: ./...)
#   BENCH_OUT     file for the raw `go test` output (default: next to BINARY,
#                 bench.txt)
#
# The test servers must be built (`make testbin`); without them the
# integration benchmarks skip and their figures show as n/a. The exit status
# is `go test`'s, so a failing benchmark fails `make bench` after the summary.
set -euo pipefail

cd "$(dirname "$0")/.."

GO="${GO:-go}"
BENCH="${BENCH:-.}"
BENCHTIME="${BENCHTIME:-3x}"
BENCH_PKGS="${BENCH_PKGS:-./...}"

bin="${1:-}"
if [[ -z "$bin" ]]; then
  bin=bin/pocketidp
  "${MAKE:-make}" build
fi
if [[ ! -f "$bin" ]]; then
  echo "bench: no binary at $bin" >&2
  exit 1
fi
out="${BENCH_OUT:-$(dirname "$bin")/bench.txt}"

# The benchmarks. Their output goes to the terminal as it comes and to $out
# for the summary; a failure is reported after the summary, not here.
echo "bench: go test -run '^\$' -bench '$BENCH' -benchtime $BENCHTIME $BENCH_PKGS (raw output: $out)"
set +e
# shellcheck disable=SC2086 # BENCH_PKGS may name several packages
"$GO" test -run '^$' -bench "$BENCH" -benchtime "$BENCHTIME" -timeout 60m $BENCH_PKGS 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e

# metric NAME UNIT [SCALE]: the value reported with UNIT by benchmark NAME
# (without the -GOMAXPROCS suffix), divided by SCALE, or empty. A result
# line may be separated from its name when the benchmark printed something
# meanwhile, so each value belongs to the last benchmark name seen.
metric() {
  awk -v name="$1" -v unit="$2" -v scale="${3:-1}" '
    $1 ~ /^Benchmark/ { cur = $1; sub(/-[0-9]+$/, "", cur) }
    cur == name {
      for (i = 2; i <= NF; i++) if ($i == unit) { v = $(i - 1) / scale; found = 1 }
    }
    END {
      if (!found) exit
      if (v == int(v) || v >= 100) printf "%.0f", v
      else if (v >= 1) printf "%.2f", v
      else printf "%.3g", v
    }
  ' "$out"
}

# show VALUE SUFFIX: VALUE with its unit, or n/a when it was not measured.
show() {
  if [[ -n "$1" ]]; then echo "$1$2"; else echo "n/a"; fi
}

# The machine: CPU model and count, OS and architecture, Go.
cpu_model="$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
if [[ -z "$cpu_model" ]]; then
  cpu_model="$(sysctl -n machdep.cpu.brand_string 2>/dev/null || uname -m)"
fi
cpus="$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"
go_version="$("$GO" version | awk '{print $3}')"
platform="$("$GO" env GOOS)/$("$GO" env GOARCH)"
size_mib="$(wc -c <"$bin" | awk '{printf "%.1f", $1 / 1048576}')"

cat <<EOF

== PocketIDP benchmarks ($(date -u +%Y-%m-%dT%H:%MZ)) ==
machine                  $cpu_model, $cpus CPUs, $platform
go                       $go_version
binary size              $size_mib MiB ($bin)
up, cold                 $(show "$(metric BenchmarkUpDown s-up-cold)" " s")
up, no-op re-run         $(show "$(metric BenchmarkUpDown s-up-noop)" " s")
up, warm (after down)    $(show "$(metric BenchmarkUpDown s-up-warm)" " s")
down                     $(show "$(metric BenchmarkUpDown s-down)" " s")
TUI first frame          $(show "$(metric BenchmarkFirstFrame/progress/program ns/op 1e6)" " ms") (program until the first write; model only: $(show "$(metric BenchmarkFirstFrame/progress/model ns/op 1e3)" " µs"))
Humanitec registration   $(show "$(metric BenchmarkRegistration100ms overlapped-ms)" " ms") at 100 ms RTT (one call at a time: $(show "$(metric BenchmarkRegistration100ms one-at-a-time-ms)" " ms"), speedup $(show "$(metric BenchmarkRegistration100ms speedup)" "x"), $(show "$(metric BenchmarkRegistration100ms calls)" "") calls)
EOF

if [[ "$status" -ne 0 ]]; then
  echo "bench: go test failed (exit $status); see $out" >&2
fi
exit "$status"

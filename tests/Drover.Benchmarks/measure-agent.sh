#!/usr/bin/env bash
# Measures the real drover-agent's own cost at its defaults (telemetry and heartbeat at 1 Hz) on 8 stand-in GPUs:
# CPU time (utime+stime from /proc/<pid>/stat) as a percentage of one core, and resident memory (VmRSS), over a
# window after a warm-up. Starts one aggregator and one agent from ./out on free loopback ports, with state and logs
# in a temporary folder, and stops both with SIGTERM at the end. Build first: make build.
#
#   MEASURE_SECONDS   length of the measured window       [60]
#   WARMUP_SECONDS    wait after the agent is alive        [10]
#   GPUS              stand-in GPUs of the agent           [8]
#   INSTANCES         counter instances behind its shim    [0] (one function each; the agent's cost only)
#   SCRAPE_SECONDS    scrape the agent's /metrics this often, as Prometheus would, warm-up included [0: never]
#   OUT               the build output folder              [<repo>/out]
#   AGENT             the agent to measure                 [$OUT/drover-agent; make aot's: $OUT/agent-aot/drover-agent]
#   KEEP_TEMP=1       keep the temporary folder (logs) after the run
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/Drover.Benchmarks/bench-lib.sh
. "$repo/tests/Drover.Benchmarks/bench-lib.sh"
OUT=${OUT:-$repo/out}
MEASURE_SECONDS=${MEASURE_SECONDS:-60}
WARMUP_SECONDS=${WARMUP_SECONDS:-10}
GPUS=${GPUS:-8}
INSTANCES=${INSTANCES:-0}
SCRAPE_SECONDS=${SCRAPE_SECONDS:-0}
AGENT=${AGENT:-$OUT/drover-agent}

for n in "$MEASURE_SECONDS" "$WARMUP_SECONDS" "$GPUS" "$INSTANCES" "$SCRAPE_SECONDS"; do
  case "$n" in ''|*[!0-9]*) echo "measure-agent: MEASURE_SECONDS, WARMUP_SECONDS, GPUS, INSTANCES and SCRAPE_SECONDS must be whole numbers" >&2; exit 2 ;; esac
done
if [ "$MEASURE_SECONDS" -lt 1 ] || [ "$GPUS" -gt 64 ]; then
  echo "measure-agent: need MEASURE_SECONDS >= 1 and GPUS <= 64" >&2
  exit 2
fi
for f in "$OUT/drover-aggregator" "$AGENT" "$OUT/native/libnvidia-ml.so.1" "$OUT/samples/counter/counter"; do
  if [ ! -e "$f" ]; then
    echo "measure-agent: $f is missing; run 'make build' first" >&2
    exit 1
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/drover-measure.XXXXXX")
# Passable by the instances' user (nobody, when this runs as root): their state directories are inside.
chmod 0711 "$tmp"
agg_pid=""
agent_pid=""

# shellcheck disable=SC2086
cleanup() { stop_all $agent_pid $agg_pid; }
trap cleanup EXIT
trap 'exit 130' INT TERM


next_port; http_port=$port
next_port; link_port=$port
next_port; node_port=$port

scenario="$tmp/gpus.scenario"
{
  echo "driver_version=550.54.15"
  echo "init=ok"
  echo "gpu.count=$GPUS"
  for ((g = 0; g < GPUS; g++)); do
    printf 'gpu.%d.name=NVIDIA H100 80GB HBM3\n' "$g"
    printf 'gpu.%d.uuid=GPU-be0c0000-0000-4000-8000-%012x\n' "$g" "$g"
    printf 'gpu.%d.pci_bus_id=00000000:%02X:00.0\n' "$g" "$((0x17 + g))"
    printf 'gpu.%d.memory_total=85899345920\n' "$g"
    printf 'gpu.%d.memory_used=%d\n' "$g" "$(((g + 1) * 4294967296))"
    printf 'gpu.%d.util_gpu=%d\n' "$g" "$(((g * 13) % 100))"
    printf 'gpu.%d.util_memory=%d\n' "$g" "$(((g * 7) % 100))"
    printf 'gpu.%d.temperature=%d\n' "$g" "$((40 + g))"
    printf 'gpu.%d.power_mw=%d\n' "$g" "$((250000 + g * 1000))"
    printf 'gpu.%d.processes=%d:2147483648,%d:4294967296\n' "$g" "$((10000 + g * 100))" "$((10001 + g * 100))"
  done
} > "$scenario"

# Tokens: read, to ask the management API whether the agent is alive; admin, to define the instances' functions.
read_token=$(umask 077; "$OUT/drover-aggregator" tokens add --name measure --role read --file "$tmp/aggregator/api-tokens.json" 2>/dev/null)
admin_token=$(umask 077; "$OUT/drover-aggregator" tokens add --name measure-admin --role admin --file "$tmp/aggregator/api-tokens.json" 2>/dev/null)
# The counters run from out/samples, as nobody when this runs as root (an agent running as root requires a user).
runtime_user=()
[ "$(id -u)" = 0 ] && runtime_user=(--runtimes:0:user nobody)
# The link as it is by default: mutual TLS, with a CA and certificates made for the run.
"$OUT/drover-aggregator" certs init --dir "$tmp/certs" > /dev/null
"$OUT/drover-aggregator" certs issue --dir "$tmp/certs" --node measured > /dev/null
"$OUT/drover-aggregator" --httpPort "$http_port" --linkPort "$link_port" \
  --dataDirectory "$tmp/aggregator/data" --logFile "$tmp/aggregator/aggregator.log" \
  --apiTokensFile "$tmp/aggregator/api-tokens.json" \
  --linkCertificateFile "$tmp/certs/aggregator.crt" --linkKeyFile "$tmp/certs/aggregator.key" --linkCaFile "$tmp/certs/ca.crt" \
  > "$tmp/aggregator.console.log" 2>&1 &
agg_pid=$!

DROVER_FAKE_NVML_SCENARIO="$scenario" "$AGENT" --serverNumber 1 --port "$node_port" \
  --runtimes:0:path "$OUT/samples" "${runtime_user[@]}" --localSocketPath "$tmp/agent.sock" --stopInstancesOnExit true \
  --aggregators:0 "https://127.0.0.1:$link_port" --stateDirectory "$tmp/agent/state" \
  --linkCertificateFile "$tmp/certs/measured.crt" --linkKeyFile "$tmp/certs/measured.key" --linkCaFile "$tmp/certs/ca.crt" \
  --logFile "$tmp/agent/agent.log" --nvmlLibraryPath "$OUT/native/libnvidia-ml.so.1" \
  > "$tmp/agent.console.log" 2>&1 &
agent_pid=$!

# Wait until the aggregator reports the agent alive (at most 30 s).
alive=0
for ((t = 0; t < 60; t++)); do
  for pid in $agg_pid $agent_pid; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "measure-agent: process $pid ended early:" >&2
      tail -n 20 "$tmp"/*.console.log >&2 || true
      exit 1
    fi
  done
  if curl -fsS -H "Authorization: Bearer $read_token" "http://127.0.0.1:$http_port/v1/nodes" 2>/dev/null | grep -q '"survival":"alive"'; then
    alive=1
    break
  fi
  sleep 0.5
done
if [ "$alive" != 1 ]; then
  echo "measure-agent: the agent did not become alive at the aggregator within 30 s" >&2
  exit 1
fi

# INSTANCES functions, one counter instance each on the one agent, all running before the warm-up starts.
for ((i = 1; i <= INSTANCES; i++)); do
  curl -fsS -X PUT "http://127.0.0.1:$http_port/v1/functions/counter-$i" -H "Authorization: Bearer $admin_token" \
    -H 'Content-Type: application/json' -d "{\"runtime\": {\"type\": \"process\", \"command\": \"$OUT/samples/counter/counter\"}, \"public\": true}" > /dev/null
done
if [ "$INSTANCES" -gt 0 ]; then
  running=0
  for ((t = 0; t < 240; t++)); do
    running=$(for ((i = 1; i <= INSTANCES; i++)); do
      curl -fsS -H "Authorization: Bearer $read_token" "http://127.0.0.1:$http_port/v1/functions/counter-$i" 2>/dev/null
      echo
    done | grep -c '"state":"running"' || true)
    [ "$running" -ge "$INSTANCES" ] && break
    sleep 0.5
  done
  if [ "$running" -lt "$INSTANCES" ]; then
    echo "measure-agent: $running of $INSTANCES instances running after 2 minutes" >&2
    tail -n 20 "$tmp/agent/agent.log" >&2 || true
    exit 1
  fi
fi

clk_tck=$(getconf CLK_TCK)


# One line per thread of a process: tid, utime+stime in ticks, name (the comm, spaces made '_').
thread_ticks() {
  local task stat rest comm
  for task in /proc/"$1"/task/*; do
    stat=$(< "$task/stat") 2>/dev/null || continue
    comm=$(< "$task/comm") 2>/dev/null || continue
    rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo "${task##*/} $(( ${12} + ${13} )) ${comm// /_}"
  done
}

rss_kib() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# Every SCRAPE_SECONDS of the warm-up and the window (the second $1 of either), a scrape of the agent's /metrics.
scrape() {
  if [ "$SCRAPE_SECONDS" -gt 0 ] && (( $1 % SCRAPE_SECONDS == 0 )); then
    curl -fsS "http://127.0.0.1:$node_port/metrics" > "$tmp/metrics.last" || echo "measure-agent: a scrape of /metrics failed" >&2
  fi
}

echo "$AGENT pid $agent_pid: $GPUS stand-in GPUs, $INSTANCES instances, telemetry and heartbeat at 1 Hz; warm-up ${WARMUP_SECONDS} s, window ${MEASURE_SECONDS} s; /metrics scraped every ${SCRAPE_SECONDS} s (0: never)"
for ((s = 0; s < WARMUP_SECONDS; s++)); do
  scrape "$s"
  sleep 1
done

thread_ticks "$agent_pid" > "$tmp/threads.start"
ticks_start=$(cpu_ticks "$agent_pid")
ns_start=$(date +%s%N)
rss_start=$(rss_kib "$agent_pid")
rss_max=$rss_start
for ((s = 0; s < MEASURE_SECONDS; s++)); do
  scrape "$s"
  sleep 1
  if ! kill -0 "$agent_pid" 2>/dev/null; then
    echo "measure-agent: the agent ended during the window" >&2
    exit 1
  fi
  rss=$(rss_kib "$agent_pid")
  [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  thread_ticks "$agent_pid" >> "$tmp/threads.during"
done
ticks_end=$(cpu_ticks "$agent_pid")
thread_ticks "$agent_pid" >> "$tmp/threads.during"
ns_end=$(date +%s%N)
rss_end=$(rss_kib "$agent_pid")

awk -v ticks=$((ticks_end - ticks_start)) -v hz="$clk_tck" -v ns=$((ns_end - ns_start)) \
    -v r0="$rss_start" -v r1="$rss_end" -v rmax="$rss_max" 'BEGIN {
  cpu = ticks / hz; wall = ns / 1e9;
  printf "window:        %.1f s wall\n", wall;
  printf "CPU:           %.2f s (%d ticks at %d Hz) = %.3f %% of one core\n", cpu, ticks, hz, 100 * cpu / wall;
  printf "RSS:           start %.1f MiB, end %.1f MiB, max %.1f MiB\n", r0 / 1024, r1 / 1024, rmax / 1024;
}'

# Where the CPU went, by thread name: each thread's ticks at its last sighting (threads are listed every second, so
# one that ended in the window still counts, less at most its last second) minus its ticks at the start.
echo "CPU by thread (ticks in the window):"
awk -v total=$((ticks_end - ticks_start)) '
  NR == FNR { start[$1] = $2; next }
  { if (!($1 in last) || $2 > last[$1]) last[$1] = $2; name[$1] = $3 }
  END {
    for (tid in last) {
      d = last[tid] - (tid in start ? start[tid] : 0);
      if (d > 0) { by[name[tid]] += d; n[name[tid]]++; seen += d }
    }
    for (k in by) printf "  %6d  %s (%d thread%s)\n", by[k], k, n[k], n[k] == 1 ? "" : "s";
    if (total > seen) printf "  %6d  not attributed (threads that ended between two listings)\n", total - seen;
  }' "$tmp/threads.start" "$tmp/threads.during" | sort -k1,1nr

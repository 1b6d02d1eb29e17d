#!/usr/bin/env bash
# The gateway against HAProxy: the same backends behind the real aggregator's gateway and behind HAProxy (Debian's
# package), each loaded by wrk in the same run with the same threads, connections and duration. Reports, for each,
# requests per second, p50 and p99 latency (wrk --latency), the proxy process's CPU time over the measured window
# (utime+stime from /proc/<pid>/stat) per request, and the ratio of the two throughputs; a table, then one JSON line.
#
# The fleet: one aggregator and AGENTS agents from ./out on free loopback ports (mutual TLS on the link, as by default),
# on the stand-in NVML, and one public function 'bench' (placement every-node: one instance per node behind each
# node's shim, its slot count raised so that the shim never queues or refuses under the load). A request is
# POST /v1/invoke/bench with no body (a shim serves invocations on POST only).
#
# The backends (BACKEND): 'static' (default), the fast one: each instance is a one-thread HAProxy of its own that
# answers every request itself with a fixed 200 and an 11-byte JSON body (http-request return), run by the agent like
# any instance (the agent's runtimes allowlist gets /usr/sbin/haproxy), so that the proxies, not the backend, are
# what is measured. 'counter': out/samples/counter, the repository's sample, which writes and renames a file per
# request and talks to the agent's local socket: a realistic but slower backend, the same behind both.
#
# The same backends: by default (HAPROXY_TO=shims) HAProxy is given the agents' shim ports, the very endpoints the
# gateway forwards to (it routes to a node's shim, never to an instance), with the same path. So both proxies put one
# hop in front of the same shim + instance pairs, and the difference between the two runs is the proxy alone:
# HAProxy in http mode, roundrobin, keep-alive on both sides (http-reuse always, as the gateway pools its
# connections to the shims), no checks; the gateway with everything it does per request (the key check on a public
# workload, routing by cluster health, priority, weight and in-flight count, its headers and retry bookkeeping).
# HAPROXY_TO=instances sends HAProxy straight to the instances' ports instead (the path set to /), as a deployment
# without Drover would: that run measures HAProxy against gateway + shim. Everything shares this machine's cores
# with wrk, so on a small machine the figures are "under contention"; the CPU per request is then the fairer
# comparison of the two proxies ('rest': what the agents, the instances and the idle proxy spent per request).
#
#   AGENTS            agents (nodes), one instance of bench each   [2]
#   THREADS           wrk threads                                  [2]
#   CONNECTIONS       wrk connections (keep-alive)                 [32]
#   DURATION          measured seconds per proxy                   [10]
#   WARMUP            wrk seconds before each measurement          [15] (the .NET processes tier up their JIT code under load: 3 s left the gateway at twice its CPU per request)
#   ROUNDS            gateway-then-HAProxy rounds (the table keeps each one's best)  [1]
#   HAPROXY_THREADS   HAProxy's nbthread                           [number of CPUs]
#   BACKEND           static | counter (see above)               [static]
#   HAPROXY_TO        shims | instances (see above)              [shims]
#   AGGREGATOR_LOG_LEVEL  the aggregator's logLevel              [its default]
#                     (to see what its own logging costs under load; YARP's and the HTTP client's per-request lines
#                     are held at Warning whatever the level)
#   OUT               the build output folder                      [<repo>/out]
#   KEEP_TEMP=1       keep the temporary folder (logs, haproxy.cfg, wrk outputs) after the run
#
# Build first (make build). haproxy and wrk are installed with apt-get when missing (root only).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/Drover.Benchmarks/bench-lib.sh
. "$repo/tests/Drover.Benchmarks/bench-lib.sh"
OUT=${OUT:-$repo/out}
AGENTS=${AGENTS:-2}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-15}
ROUNDS=${ROUNDS:-1}
HAPROXY_THREADS=${HAPROXY_THREADS:-$(nproc)}
BACKEND=${BACKEND:-static}
HAPROXY_TO=${HAPROXY_TO:-shims}
AGGREGATOR_LOG_LEVEL=${AGGREGATOR_LOG_LEVEL:-}
aggregator_args=()
[ -n "$AGGREGATOR_LOG_LEVEL" ] && aggregator_args=(--logLevel "$AGGREGATOR_LOG_LEVEL")
case "$BACKEND" in static|counter) ;; *) echo "gateway-vs-haproxy: BACKEND must be static or counter" >&2; exit 2 ;; esac
case "$HAPROXY_TO" in shims|instances) ;; *) echo "gateway-vs-haproxy: HAPROXY_TO must be shims or instances" >&2; exit 2 ;; esac

for n in "$AGENTS" "$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP" "$ROUNDS" "$HAPROXY_THREADS"; do
  case "$n" in ''|*[!0-9]*) echo "gateway-vs-haproxy: AGENTS, THREADS, CONNECTIONS, DURATION, WARMUP, ROUNDS and HAPROXY_THREADS must be whole numbers" >&2; exit 2 ;; esac
done
if [ "$AGENTS" -lt 1 ] || [ "$AGENTS" -gt 16 ] || [ "$THREADS" -lt 1 ] || [ "$CONNECTIONS" -lt "$THREADS" ] \
  || [ "$DURATION" -lt 1 ] || [ "$ROUNDS" -lt 1 ] || [ "$HAPROXY_THREADS" -lt 1 ]; then
  echo "gateway-vs-haproxy: need 1 <= AGENTS <= 16, THREADS >= 1, CONNECTIONS >= THREADS, DURATION >= 1, ROUNDS >= 1, HAPROXY_THREADS >= 1" >&2
  exit 2
fi
for f in "$OUT/drover-aggregator" "$OUT/drover-agent" "$OUT/native/libnvidia-ml.so.1" "$OUT/samples/counter/counter"; do
  if [ ! -e "$f" ]; then
    echo "gateway-vs-haproxy: $f is missing; run 'make build' first" >&2
    exit 1
  fi
done

# haproxy and wrk: Debian's packages, installed when missing.
missing=()
command -v haproxy > /dev/null || missing+=(haproxy)
command -v wrk > /dev/null || missing+=(wrk)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "gateway-vs-haproxy: ${missing[*]} missing; install with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing ${missing[*]} with apt-get..."
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null; then
    apt-get update > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" > /dev/null
  fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/drover-gateway-vs-haproxy.XXXXXX")
# Passable by the instances' user (nobody, when this runs as root): their state directories are inside.
chmod 0711 "$tmp"
agg_pid=""
agent_pids=()
haproxy_pid=""

# shellcheck disable=SC2086
cleanup() { stop_all $haproxy_pid "${agent_pids[@]}" $agg_pid; }
trap cleanup EXIT
trap 'exit 130' INT TERM


next_port; http_port=$port
next_port; link_port=$port
next_port; haproxy_port=$port
node_ports=()
for ((i = 1; i <= AGENTS; i++)); do next_port; node_ports+=("$port"); done

read_token=$(umask 077; "$OUT/drover-aggregator" tokens add --name bench --role read --file "$tmp/aggregator/api-tokens.json" 2>/dev/null)
admin_token=$(umask 077; "$OUT/drover-aggregator" tokens add --name bench-admin --role admin --file "$tmp/aggregator/api-tokens.json" 2>/dev/null)
haproxy_bin=$(command -v haproxy)
runtimes=(--runtimes:0:path "$OUT/samples" --runtimes:1:path "$haproxy_bin")
[ "$(id -u)" = 0 ] && runtimes+=(--runtimes:0:user nobody --runtimes:1:user nobody)
"$OUT/drover-aggregator" certs init --dir "$tmp/certs" > /dev/null
"$OUT/drover-aggregator" "${aggregator_args[@]}" --listenAddress 127.0.0.1 --httpPort "$http_port" --linkPort "$link_port" \
  --dataDirectory "$tmp/aggregator/data" --logFile "$tmp/aggregator/aggregator.log" \
  --apiTokensFile "$tmp/aggregator/api-tokens.json" \
  --linkCertificateFile "$tmp/certs/aggregator.crt" --linkKeyFile "$tmp/certs/aggregator.key" --linkCaFile "$tmp/certs/ca.crt" \
  > "$tmp/aggregator.console.log" 2>&1 &
agg_pid=$!

for ((i = 1; i <= AGENTS; i++)); do
  node="bench-$i"
  "$OUT/drover-aggregator" certs issue --dir "$tmp/certs" --node "$node" > /dev/null
  mkdir -p "$tmp/$node"
  {
    echo "driver_version=550.54.15"
    echo "init=ok"
    echo "gpu.count=1"
    echo "gpu.0.name=NVIDIA H100 80GB HBM3"
    printf 'gpu.0.uuid=GPU-be0c0000-0000-4000-8000-%012x\n' "$i"
    echo "gpu.0.pci_bus_id=00000000:17:00.0"
    echo "gpu.0.memory_total=85899345920"
    echo "gpu.0.memory_used=1073741824"
    echo "gpu.0.util_gpu=10"
  } > "$tmp/$node/gpus.scenario"
  DROVER_FAKE_NVML_SCENARIO="$tmp/$node/gpus.scenario" "$OUT/drover-agent" --serverNumber "$i" --port "${node_ports[i - 1]}" \
    "${runtimes[@]}" --localSocketPath "$tmp/$node/agent.sock" --stopInstancesOnExit true \
    --aggregators:0 "https://127.0.0.1:$link_port" --stateDirectory "$tmp/$node/state" \
    --linkCertificateFile "$tmp/certs/$node.crt" --linkKeyFile "$tmp/certs/$node.key" --linkCaFile "$tmp/certs/ca.crt" \
    --logFile "$tmp/$node/agent.log" --nvmlLibraryPath "$OUT/native/libnvidia-ml.so.1" \
    > "$tmp/$node/console.log" 2>&1 &
  agent_pids+=($!)
done

check_alive() {
  local pid
  for pid in $agg_pid "${agent_pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "gateway-vs-haproxy: process $pid ended early:" >&2
      tail -n 20 "$tmp"/*.console.log "$tmp"/bench-*/console.log >&2 || true
      exit 1
    fi
  done
}

# Every agent alive at the aggregator (at most 60 s).
alive=0
for ((t = 0; t < 120; t++)); do
  check_alive
  alive=$(curl -fsS -H "Authorization: Bearer $read_token" "http://127.0.0.1:$http_port/v1/nodes" 2>/dev/null | grep -o '"survival":"alive"' | wc -l || true)
  [ "$alive" -ge "$AGENTS" ] && break
  sleep 0.5
done
if [ "$alive" -lt "$AGENTS" ]; then
  echo "gateway-vs-haproxy: $alive of $AGENTS agents alive at the aggregator after 60 s" >&2
  exit 1
fi

# The static backend's configuration: the agent gives each instance its PORT.
{
  echo "global"
  echo "  nbthread 1"
  echo "  maxconn $(( CONNECTIONS * 2 + 100 ))"
  echo "defaults"
  echo "  mode http"
  echo "  timeout client 100s"
  echo "frontend static"
  echo "  bind \"127.0.0.1:\${PORT}\""
  echo "  http-request return status 200 content-type application/json string '{\"ok\":true}'"
} > "$tmp/backend.cfg"
chmod 0644 "$tmp/backend.cfg"
if [ "$BACKEND" = static ]; then
  runtime="{\"type\": \"process\", \"command\": \"$haproxy_bin\", \"args\": [\"-db\", \"-f\", \"$tmp/backend.cfg\"]}"
else
  runtime="{\"type\": \"process\", \"command\": \"$OUT/samples/counter/counter\"}"
fi

# The function: public (no key to send or check through either proxy), one instance per node, enough slots that the
# shim neither queues nor refuses: every connection may be on one node at once.
curl -fsS -X PUT "http://127.0.0.1:$http_port/v1/functions/bench" -H "Authorization: Bearer $admin_token" \
  -H 'Content-Type: application/json' \
  -d "{\"runtime\": $runtime, \"public\": true, \"slo\": $CONNECTIONS, \"queueLength\": $CONNECTIONS}" > /dev/null

# Ready when every shim and the gateway answer 200 (at most 2 minutes).
ready=0
for ((t = 0; t < 240; t++)); do
  check_alive
  ok=0
  codes=""
  for p in "${node_ports[@]}" "$http_port"; do
    code=$(curl -s -X POST -o "$tmp/ready.body" -w '%{http_code}' "http://127.0.0.1:$p/v1/invoke/bench" || true)
    codes="$codes :$p $code $(head -c 300 "$tmp/ready.body" 2>/dev/null);"
    [ "$code" = 200 ] && ok=$((ok + 1))
  done
  if [ "$ok" -eq $((AGENTS + 1)) ]; then ready=1; break; fi
  sleep 0.5
done
if [ "$ready" != 1 ]; then
  echo "gateway-vs-haproxy: the shims and the gateway did not all answer 200 within 2 minutes:$codes" >&2
  tail -n 20 "$tmp"/bench-*/agent.log >&2 || true
  exit 1
fi
instances_json=$(curl -fsS -H "Authorization: Bearer $read_token" "http://127.0.0.1:$http_port/v1/functions/bench/instances")
instance_pids=$(grep -o '"pid":[0-9]*' <<< "$instances_json" | cut -d: -f2 | tr '\n' ' ')
mapfile -t instance_ports < <(grep -o '"port":[0-9]*' <<< "$instances_json" | cut -d: -f2)
if [ "$HAPROXY_TO" = instances ]; then targets=("${instance_ports[@]}"); else targets=("${node_ports[@]}"); fi

# HAProxy in front of the same shims.
{
  echo "global"
  echo "  nbthread $HAPROXY_THREADS"
  echo "  maxconn $(( CONNECTIONS * 2 + 100 ))"
  echo "defaults"
  echo "  mode http"
  echo "  option http-keep-alive"
  echo "  http-reuse always"
  echo "  timeout connect 5s"
  echo "  timeout client 100s"
  echo "  timeout server 100s"
  echo "frontend bench"
  echo "  bind 127.0.0.1:$haproxy_port"
  echo "  default_backend shims"
  echo "backend shims"
  echo "  balance roundrobin"
  [ "$HAPROXY_TO" = instances ] && echo "  http-request set-path /"
  for ((i = 1; i <= ${#targets[@]}; i++)); do
    echo "  server bench-$i 127.0.0.1:${targets[i - 1]}"
  done
} > "$tmp/haproxy.cfg"
haproxy -c -q -f "$tmp/haproxy.cfg"
haproxy -db -f "$tmp/haproxy.cfg" > "$tmp/haproxy.console.log" 2>&1 &
haproxy_pid=$!
for ((t = 0; t < 40; t++)); do
  code=$(curl -s -X POST -o /dev/null -w '%{http_code}' "http://127.0.0.1:$haproxy_port/v1/invoke/bench" || true)
  [ "$code" = 200 ] && break
  kill -0 "$haproxy_pid" 2>/dev/null || { echo "gateway-vs-haproxy: haproxy ended:" >&2; cat "$tmp/haproxy.console.log" >&2; exit 1; }
  sleep 0.25
done
[ "$code" = 200 ] || { echo "gateway-vs-haproxy: haproxy does not answer 200 on :$haproxy_port" >&2; exit 1; }

clk_tck=$(getconf CLK_TCK)
echo 'wrk.method = "POST"' > "$tmp/post.lua"


# Busy ticks of the whole machine (every CPU), from /proc/stat's first line.
machine_busy() {
  local _cpu user nice system _idle _iowait irq softirq steal
  read -r _cpu user nice system _idle _iowait irq softirq steal _ < /proc/stat
  echo $((user + nice + system + irq + softirq + steal))
}

# utime+stime of this shell's waited children (wrk, once it has ended): cutime+cstime of its own stat.
children_ticks() {
  local stat rest
  stat=$(< "/proc/$BASHPID/stat")
  rest=${stat##*) }
  # shellcheck disable=SC2086
  set -- $rest
  echo $(( ${14} + ${15} ))
}

# Messages the aggregator has read from the agents' streams so far, every kind (its drover_agent_messages_total).
link_messages() {
  curl -fsS -H "Authorization: Bearer $read_token" "http://127.0.0.1:$http_port/metrics" 2>/dev/null \
    | awk '/^drover_agent_messages_total\{/ { n += $NF } END { printf "%.0f", n }'
}

# A wrk latency figure (e.g. 812.00us, 1.53ms, 2.01s) in milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "%.3f", v }'
}

# One measurement: wrk warm-up, then the measured run with the proxy's CPU ticks around it.
# Sets rps, p50, p99, cpu_us (per request), others_cpu_us (the backends and the other proxy per request), errors.
measure() {
  local name=$1 port=$2 proxy_pid=$3 others=$4 out="$tmp/wrk-$1-$5.txt"
  local url="http://127.0.0.1:$port/v1/invoke/bench"
  [ "$WARMUP" -gt 0 ] && wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$tmp/post.lua" "$url" > /dev/null
  local t0 o0 a0 m0 w0 l0 t1 o1 a1 m1 w1 l1 ns0 ns1 requests
  l0=$(link_messages)
  w0=$(children_ticks)
  m0=$(machine_busy)
  ns0=$(date +%s%N)
  a0=$(cpu_ticks "$agg_pid")
  t0=$(cpu_ticks "$proxy_pid")
  # shellcheck disable=SC2086
  o0=$(cpu_ticks $others)
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$tmp/post.lua" "$url" > "$out"
  t1=$(cpu_ticks "$proxy_pid")
  a1=$(cpu_ticks "$agg_pid")
  m1=$(machine_busy)
  ns1=$(date +%s%N)
  w1=$(children_ticks)
  # shellcheck disable=SC2086
  o1=$(cpu_ticks $others)
  l1=$(link_messages)
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
  requests=$(awk '/requests in/ { print $1 }' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
  errors=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")
  cpu_us=$(awk -v t=$((t1 - t0)) -v hz="$clk_tck" -v n="$requests" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  # What ran on this machine beyond this run's processes (the proxies, agents, instances, wrk), in % of all CPUs.
  foreign=$(awk -v m=$((m1 - m0)) -v ours=$((t1 - t0 + o1 - o0 + w1 - w0)) -v hz="$clk_tck" -v ns=$((ns1 - ns0)) -v cpus="$(nproc)" \
    'BEGIN { f = (m - ours) / hz / (ns / 1e9) / cpus * 100; printf "%.0f", (f < 0 ? 0 : f) }')
  agg_cpu_us=$(awk -v t=$((a1 - a0)) -v hz="$clk_tck" -v n="$requests" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  others_cpu_us=$(awk -v t=$((o1 - o0)) -v hz="$clk_tck" -v n="$requests" 'BEGIN { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }')
  link_per_request=$(awk -v l=$((l1 - l0)) -v n="$requests" 'BEGIN { printf "%.2f", (n > 0 ? l / n : 0) }')
  printf '  %-8s round %d: %7s req/s  p50 %8s ms  p99 %8s ms  proxy CPU %6s us/req  rest %6s us/req (aggregator %s, %s link messages)  foreign %s%%  errors %s\n' \
    "$name" "$5" "$rps" "$p50" "$p99" "$cpu_us" "$others_cpu_us" "$agg_cpu_us" "$link_per_request" "$foreign" "$errors"
  if [ "$errors" != 0 ]; then
    echo "  (non-2xx answers or socket errors: see below)"
    grep -E 'Non-2xx|Socket errors' "$out" | sed 's/^/    /'
  fi
}

echo "$AGENTS agents (shims on ${node_ports[*]}), $BACKEND instances (pids $instance_pids); HAProxy to the $HAPROXY_TO (${targets[*]}); gateway :$http_port (pid $agg_pid), haproxy :$haproxy_port (pid $haproxy_pid, nbthread $HAPROXY_THREADS)"
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency POST /v1/invoke/bench, after ${WARMUP} s of warm-up; $(nproc) CPUs; 'rest' = agents + instances + the other proxy; 'aggregator': its CPU per request in that run (in HAProxy's, the shims' status messages it ingests), and the messages it read from the agents' streams per request; 'foreign': the machine's CPU used by processes outside this run"
best_g=0; best_h=0
for ((r = 1; r <= ROUNDS; r++)); do
  # shellcheck disable=SC2086
  measure gateway "$http_port" "$agg_pid" "${agent_pids[*]} $instance_pids $haproxy_pid" "$r"
  if [ "$rps" -ge "$best_g" ]; then best_g=$rps; g=("$rps" "$p50" "$p99" "$cpu_us" "$others_cpu_us"); fi
  # shellcheck disable=SC2086
  measure haproxy "$haproxy_port" "$haproxy_pid" "${agent_pids[*]} $instance_pids $agg_pid" "$r"
  if [ "$rps" -ge "$best_h" ]; then best_h=$rps; h=("$rps" "$p50" "$p99" "$cpu_us" "$others_cpu_us"); fi
  check_alive
done

ratio=$(awk -v a="${g[0]}" -v b="${h[0]}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
echo
printf '%-9s %10s %10s %10s %16s %16s\n' proxy 'req/s' 'p50 ms' 'p99 ms' 'CPU us/req' 'rest us/req'
printf '%-9s %10s %10s %10s %16s %16s\n' gateway "${g[@]}"
printf '%-9s %10s %10s %10s %16s %16s\n' haproxy "${h[@]}"
echo "gateway / haproxy throughput: $ratio"
printf '{"gatewayRps":%s,"haproxyRps":%s,"ratio":%s,"gatewayP50Ms":%s,"gatewayP99Ms":%s,"haproxyP50Ms":%s,"haproxyP99Ms":%s,"gatewayCpuUsPerRequest":%s,"haproxyCpuUsPerRequest":%s}\n' \
  "${g[0]}" "${h[0]}" "$ratio" "${g[1]}" "${g[2]}" "${h[1]}" "${h[2]}" "${g[3]}" "${h[3]}"

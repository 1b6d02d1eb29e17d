#!/usr/bin/env bash
# Starts one aggregator and a small fleet of agents on loopback, on the stand-in NVML: what `make run` does.
# With HA=N (2-5), N aggregators on one PostgreSQL (Debian's, started here as an unprivileged user), one of them
# elected leader, and every agent given all their addresses: `make run HA=3`.
# Configuration, state and logs go under $VAR; every process started is listed in $VAR/fleet.json.
# Ctrl-C or SIGTERM stops everything cleanly (SIGTERM to each process, then waits for it).
set -euo pipefail

AGENTS=${AGENTS:-3}
CLUSTERS=${CLUSTERS:-1}
GPUS=${GPUS:-2}
OUT=${OUT:?OUT must name the build output folder}
VAR=${VAR:?VAR must name the folder for configuration, state and logs}
HTTP_PORT=${HTTP_PORT:-7400}
LINK_PORT=${LINK_PORT:-7401}
FIRST_NODE_PORT=${FIRST_NODE_PORT:-7411}
HA=${HA:-1}
PG_PORT=${PG_PORT:-7390}

for n in "$AGENTS" "$CLUSTERS" "$GPUS" "$HA"; do
  case "$n" in ''|*[!0-9]*) echo "run-fleet: AGENTS, CLUSTERS, GPUS and HA must be whole numbers (got AGENTS=$AGENTS CLUSTERS=$CLUSTERS GPUS=$GPUS HA=$HA)" >&2; exit 2 ;; esac
done
if [ "$HA" -lt 1 ] || [ "$HA" -gt 5 ]; then
  echo "run-fleet: HA must be 1 (one aggregator on SQLite) to 5 (aggregators on one PostgreSQL) (got $HA)" >&2
  exit 2
fi
if [ "$CLUSTERS" -lt 1 ] || [ "$AGENTS" -lt "$CLUSTERS" ]; then
  echo "run-fleet: need CLUSTERS >= 1 and AGENTS >= CLUSTERS (got AGENTS=$AGENTS CLUSTERS=$CLUSTERS)" >&2
  exit 2
fi
if [ "$GPUS" -gt 64 ]; then
  echo "run-fleet: GPUS must be at most 64 (got $GPUS)" >&2
  exit 2
fi

mkdir -p "$VAR"
pids=()
entries=()
stopping=0

stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  echo
  echo "Stopping the fleet..."
  [ -n "${sleeper:-}" ] && kill "$sleeper" 2>/dev/null
  for pid in "${pids[@]}"; do [ "$pid" = "${pg_pid:-}" ] || kill -TERM "$pid" 2>/dev/null || true; done
  # And those started again by hand with a start.sh: not this script's children, found by their configuration.
  pkill -TERM -f -- "--config $VAR/" 2>/dev/null || true
  for pid in "${pids[@]}"; do [ "$pid" = "${pg_pid:-}" ] || wait "$pid" 2>/dev/null || true; done
  for ((t = 0; t < 150; t++)); do pgrep -f -- "--config $VAR/" > /dev/null || break; sleep 0.1; done
  # PostgreSQL last, by a fast shutdown (SIGINT): a smart one (SIGTERM) would wait for every client to leave.
  if [ -n "${pg_pid:-}" ]; then kill -INT "$pg_pid" 2>/dev/null || true; wait "$pg_pid" 2>/dev/null || true; fi
  echo "Stopped. Logs stay under $VAR."
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

write_fleet_json() {
  local IFS=,
  printf '[\n  %s\n]\n' "$(printf '%s' "${entries[*]}" | sed 's/},{/},\n  {/g')" > "$VAR/fleet.json.tmp"
  mv "$VAR/fleet.json.tmp" "$VAR/fleet.json"
}

# The stand-in GPUs of one agent: distinct UUIDs and PCI ids, a little memory in use.
write_scenario() {
  local file=$1 cluster_index=$2 server=$3
  {
    echo "# Stand-in NVML scenario for agent $server of cluster $cluster_index; edit it while the fleet runs."
    echo "driver_version=550.54.15"
    echo "init=ok"
    echo "gpu.count=$GPUS"
    for ((g = 0; g < GPUS; g++)); do
      printf 'gpu.%d.name=NVIDIA H100 80GB HBM3\n' "$g"
      printf 'gpu.%d.uuid=GPU-%08x-%04x-%04x-0000-%012x\n' "$g" "$cluster_index" "$server" "$g" "$((cluster_index * 1000 + server))"
      printf 'gpu.%d.pci_bus_id=00000000:%02X:00.0\n' "$g" "$((0x17 + g))"
      printf 'gpu.%d.memory_total=85899345920\n' "$g"
      printf 'gpu.%d.memory_used=%d\n' "$g" "$(((g + 1) * 1073741824))"
      local util=$(((server * 7 + g * 13) % 60))
      printf 'gpu.%d.util_gpu=%d\n' "$g" "$util"
      printf 'gpu.%d.util_memory=%d\n' "$g" "$(((server * 5 + g * 11) % 40))"
      printf 'gpu.%d.temperature=%d\n' "$g" "$((40 + g))"
      printf 'gpu.%d.memory_temp=%d\n' "$g" "$((45 + g))"
      printf 'gpu.%d.power_mw=%d\n' "$g" "$((90000 + g * 1000))"
      # GPM (Hopper): measured activity, which the agent prefers to utilization.
      printf 'gpu.%d.gpm=1\ngpu.%d.gpm_graphics=%d\ngpu.%d.gpm_sm=%d\ngpu.%d.gpm_occupancy=%d\n' "$g" "$g" "$util" "$g" "$((util * 4 / 5))" "$g" "$((util / 2))"
      if [ "$cluster_index" = 1 ] && [ "$server" = 1 ] && [ "$g" = "$((GPUS - 1))" ]; then
        # c1-1's last GPU is carved into two MIG instances: GPUs of their own in the API and for placement.
        printf 'gpu.%d.mig=1\ngpu.%d.mig.count=2\n' "$g" "$g"
        printf 'gpu.%d.mig.0.profile=3g.40gb\ngpu.%d.mig.0.memory_total=42949672960\ngpu.%d.mig.0.gpm_graphics=30\n' "$g" "$g" "$g"
        printf 'gpu.%d.mig.1.profile=1g.10gb\ngpu.%d.mig.1.memory_total=10737418240\ngpu.%d.mig.1.gpm_graphics=5\n' "$g" "$g" "$g"
      else
        printf 'gpu.%d.mig=0\n' "$g"
      fi
      printf 'gpu.%d.processes=\n' "$g"
      printf 'gpu.%d.state=ok\n' "$g"
      printf 'gpu.%d.xid=0\n' "$g"
    done
  } > "$file"
}

# The agent link is mutual TLS: a CA, the aggregator's certificate and one per agent under
# $VAR/certs, made once by drover-aggregator certs and kept across runs.
certs="$VAR/certs"
if [ ! -f "$certs/ca.crt" ]; then
  "$OUT/drover-aggregator" certs init --dir "$certs" > /dev/null \
    || { echo "run-fleet: could not create the link's CA with $OUT/drover-aggregator certs init" >&2; exit 1; }
fi

# Instances never run as root: an agent started as root runs them as nobody.
RUNTIME_USER=""
if [ "$(id -u)" = 0 ]; then
  RUNTIME_USER=', "user": "nobody"'
fi

# With HA: PostgreSQL, its cluster made once under $VAR/postgres and kept across runs (the fleet's definitions and
# committed state live there, as they live in state.db with one aggregator). It runs as nobody when this runs as root.
store_json=""
if [ "$HA" -gt 1 ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    echo "run-fleet: HA=$HA needs PostgreSQL's server (apt-get install postgresql, as root; make test-tools does it)" >&2
    exit 1
  fi
  as_pg=()
  if [ "$(id -u)" = 0 ]; then
    as_pg=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups --)
  fi
  pg_dir="$VAR/postgres"
  if [ ! -f "$pg_dir/data/PG_VERSION" ]; then
    rm -rf "$pg_dir"
    mkdir -p "$pg_dir"
    (umask 077; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$pg_dir/password")
    [ "$(id -u)" = 0 ] && chown -R nobody "$pg_dir"
    "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U drover --pwfile "$pg_dir/password" -A scram-sha-256 -E UTF8 --locale C --no-instructions > "$pg_dir/initdb.log" 2>&1 \
      || { echo "run-fleet: initdb failed; see $pg_dir/initdb.log" >&2; exit 1; }
  fi
  "${as_pg[@]}" "$pg_bin/postgres" -D "$pg_dir/data" -p "$PG_PORT" -c listen_addresses=127.0.0.1 -c unix_socket_directories= > "$pg_dir/postgres.log" 2>&1 &
  pg_pid=$!
  pids+=($!)
  entries+=("{\"role\": \"postgres\", \"cluster\": null, \"serverNumber\": null, \"port\": $PG_PORT, \"pid\": $!, \"log\": \"$pg_dir/postgres.log\"}")
  for ((t = 0; t < 60; t++)); do
    "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "run-fleet: postgres ended early; see $pg_dir/postgres.log" >&2; exit 1; }
    sleep 0.5
  done
  PGPASSWORD=$(cat "$pg_dir/password") "$pg_bin/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U drover -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'drover'" | grep -q 1 \
    || PGPASSWORD=$(cat "$pg_dir/password") "$pg_bin/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U drover -d postgres -c "CREATE DATABASE drover" > /dev/null \
    || { echo "run-fleet: could not create the database 'drover'; see $pg_dir/postgres.log" >&2; exit 1; }
  (umask 077; printf 'Host=127.0.0.1;Port=%s;Database=drover;Username=drover;Password=%s\n' "$PG_PORT" "$(cat "$pg_dir/password")" > "$VAR/postgres.conn")
  store_json="\"store\": \"postgres\", \"postgresConnectionStringFile\": \"$VAR/postgres.conn\","
fi

# The aggregator(s): the first in $VAR/aggregator, on HTTP_PORT and LINK_PORT; with HA, the n-th in
# $VAR/aggregator-<n>, on the ports two above the one before.
agg_dir="$VAR/aggregator"
mkdir -p "$agg_dir"

# Its API tokens, new at every run: the tokens themselves in $VAR/admin.token and $VAR/read.token
# (0600, for your curl commands), only their hashes in the aggregator's tokens file.
tokens_file="$agg_dir/api-tokens.json"
rm -f "$tokens_file"
for role in admin read; do
  (umask 077; "$OUT/drover-aggregator" tokens add --name "make-run-$role" --role "$role" --file "$tokens_file" > "$VAR/$role.token.tmp" 2>/dev/null) \
    || { echo "run-fleet: could not create the $role API token with $OUT/drover-aggregator tokens add" >&2; exit 1; }
  mv "$VAR/$role.token.tmp" "$VAR/$role.token"
done
READ_AUTH="Authorization: Bearer $(cat "$VAR/read.token")"
ADMIN_AUTH="Authorization: Bearer $(cat "$VAR/admin.token")"

links=""
links_text=""
agg_logs=""
for ((a = 1; a <= HA; a++)); do
  dir_a="$agg_dir"
  [ "$a" -gt 1 ] && dir_a="$VAR/aggregator-$a"
  mkdir -p "$dir_a"
  http_a=$((HTTP_PORT + 2 * (a - 1)))
  link_a=$((LINK_PORT + 2 * (a - 1)))
  cat > "$dir_a/aggregator.json" <<JSON
{
  "listenAddress": "127.0.0.1",
  "httpPort": $http_a,
  "linkPort": $link_a,
  "dataDirectory": "$dir_a/data",
  "logFile": "$dir_a/aggregator.log",
  "apiTokensFile": "$tokens_file",
  $store_json
  "linkCertificateFile": "$certs/aggregator.crt",
  "linkKeyFile": "$certs/aggregator.key",
  "linkCaFile": "$certs/ca.crt"
}
JSON
  # start.sh starts this aggregator again by hand (one that stepped down as leader exits, for its service manager to restart).
  printf '#!/bin/sh\nexec "%s" --config "%s" >> "%s" 2>&1\n' "$OUT/drover-aggregator" "$dir_a/aggregator.json" "$dir_a/console.log" > "$dir_a/start.sh"
  chmod +x "$dir_a/start.sh"
  "$dir_a/start.sh" &
  pids+=($!)
  entries+=("{\"role\": \"aggregator\", \"cluster\": null, \"serverNumber\": null, \"port\": $http_a, \"pid\": $!, \"log\": \"$dir_a/aggregator.log\"}")
  links="$links${links:+, }\"https://127.0.0.1:$link_a\""
  links_text="$links_text${links_text:+, }127.0.0.1:$link_a"
  agg_logs="$agg_logs${agg_logs:+, }$dir_a/aggregator.log"
done

# Agents: spread over the clusters in turn, numbered 1..N inside each cluster, node ports from FIRST_NODE_PORT.
declare -A next_server
port=$FIRST_NODE_PORT
for ((i = 0; i < AGENTS; i++)); do
  c=$((i % CLUSTERS + 1))
  cluster="c$c"
  server=$(( ${next_server[$cluster]:-0} + 1 ))
  next_server[$cluster]=$server
  dir="$VAR/agents/$cluster-$server"
  mkdir -p "$dir"
  write_scenario "$dir/gpus.scenario" "$c" "$server"

  # The node's certificate names it: the node id it kept from an earlier run, else cluster-server.
  node=$(cat "$dir/state/node-id" 2>/dev/null || echo "$cluster-$server")
  if [ ! -f "$certs/$node.crt" ]; then
    "$OUT/drover-aggregator" certs issue --dir "$certs" --node "$node" > /dev/null \
      || { echo "run-fleet: could not issue node $node's certificate with $OUT/drover-aggregator certs issue" >&2; exit 1; }
  fi
  cat > "$dir/agent.json" <<JSON
{
  "serverNumber": $server,
  "port": $port,
  "cluster": "$cluster",
  "aggregators": [ $links ],
  "linkCertificateFile": "$certs/$node.crt",
  "linkKeyFile": "$certs/$node.key",
  "linkCaFile": "$certs/ca.crt",
  "labels": { "fleet": "make-run" },
  "stateDirectory": "$dir/state",
  "logFile": "$dir/agent.log",
  "nvmlLibraryPath": "$OUT/native/libnvidia-ml.so.1",
  "localSocketPath": "$dir/agent.sock",
  "gpuProbeLibraryPath": "$OUT/native/libdrover-cuda-probe.so",
  "shimListenAddress": "127.0.0.1",
  "runtimes": [ { "path": "$OUT/samples"$RUNTIME_USER } ],
  "stopInstancesOnExit": true
}
JSON
  # start.sh starts this agent again by hand, after you SIGKILLed it, say.
  printf '#!/bin/sh\nDROVER_FAKE_NVML_SCENARIO="%s" exec "%s" --config "%s" >> "%s" 2>&1\n' \
    "$dir/gpus.scenario" "$OUT/drover-agent" "$dir/agent.json" "$dir/console.log" > "$dir/start.sh"
  chmod +x "$dir/start.sh"
  "$dir/start.sh" &
  pids+=($!)
  entries+=("{\"role\": \"agent\", \"cluster\": \"$cluster\", \"serverNumber\": $server, \"port\": $port, \"pid\": $!, \"log\": \"$dir/agent.log\"}")
  port=$((port + 1))
done
write_fleet_json

# Wait until every agent is alive at the aggregator (or a minute passes), then say where to look.
alive=0
for ((t = 0; t < 120; t++)); do
  alive=$(curl -fsS -H "$READ_AUTH" "http://127.0.0.1:$HTTP_PORT/v1/nodes" 2>/dev/null | grep -o '"survival":"alive"' | wc -l || true)
  [ "$alive" -ge "$AGENTS" ] && break
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run-fleet: process $pid ended early; see the logs under $VAR" >&2
      exit 1
    fi
  done
  sleep 0.5
done

# The sample function: one counter instance per node, its count kept in the instance's state
# directory, behind each node's shim: one request at a time per instance (slo 1), four waiting.
curl -fsS -X PUT "http://127.0.0.1:$HTTP_PORT/v1/functions/counter" -H "$ADMIN_AUTH" -H 'Content-Type: application/json' \
  -d "{\"runtime\": {\"type\": \"process\", \"command\": \"$OUT/samples/counter/counter\"}, \"commitIntervalSeconds\": 10, \"slo\": 1, \"queueLength\": 4}" > /dev/null \
  || echo "run-fleet: could not define the function 'counter'; see $agg_dir/aggregator.log" >&2

# The CUDA launch probe's sample: one instance of the sample CUDA workload (100 launches a second of 50 ms kernels
# on the stand-in libcuda, over 16 streams) under the probe, so its GPU's command queue is measured: about 5.
curl -fsS -X PUT "http://127.0.0.1:$HTTP_PORT/v1/functions/cuda-sample" -H "$ADMIN_AUTH" -H 'Content-Type: application/json' \
  -d "{\"runtime\": {\"type\": \"process\", \"command\": \"$OUT/samples/cuda-workload/cuda-workload\", \"args\": [\"--lib\", \"$OUT/native/libcuda.so.1\", \"--forever\", \"--rate\", \"100\", \"--kernel-us\", \"50000\", \"--streams\", \"16\", \"--serve\"]}, \"gpuProbe\": true, \"minInstances\": 1, \"maxInstances\": 1, \"commitIntervalSeconds\": 0}" > /dev/null \
  || echo "run-fleet: could not define the function 'cuda-sample'; see $agg_dir/aggregator.log" >&2

# It is not public: invocations need one of its keys. One, shown once by the API, kept in
# $VAR/counter.key (0600) for your curl commands.
(set -o pipefail; umask 077; curl -fsS -X POST "http://127.0.0.1:$HTTP_PORT/v1/keys" -H "$ADMIN_AUTH" -H 'Content-Type: application/json' \
  -d '{"function": "counter"}' | sed -n 's/.*"key":"\([^"]*\)".*/\1/p' > "$VAR/counter.key") \
  || echo "run-fleet: could not make a key for 'counter'; see $agg_dir/aggregator.log" >&2

aggregators_text="one aggregator"
if [ "$HA" -gt 1 ]; then
  aggregators_text="$HA aggregators on PostgreSQL (127.0.0.1:$PG_PORT, database drover; connection string in $VAR/postgres.conn)"
fi

cat <<TEXT

Drover is running: $aggregators_text and $AGENTS agents in $CLUSTERS cluster(s), $GPUS stand-in GPUs each ($alive alive now).
The management API needs a token: $VAR/read.token may GET, $VAR/admin.token may also change things.
  R='Authorization: Bearer '\$(cat $VAR/read.token)   A='Authorization: Bearer '\$(cat $VAR/admin.token)
Invoking counter needs its key ($VAR/counter.key; more with POST /v1/keys {"function": "counter"} and the admin token):
  K='X-Drover-Api-Key: '\$(cat $VAR/counter.key)

  Dashboard:      http://127.0.0.1:$HTTP_PORT/#token=$(cat "$VAR/read.token")
                  (the read token in the fragment, which the browser never sends: the page keeps it in the tab and drops it from the address bar)
  droverctl:      export DROVER_URL=http://127.0.0.1:$HTTP_PORT DROVER_TOKEN=\$(cat $VAR/read.token)
                  $OUT/droverctl clusters; $OUT/droverctl gpus; $OUT/droverctl events --follow   (-o json for scripts)
  Nodes:          curl -s -H "\$R" http://127.0.0.1:$HTTP_PORT/v1/nodes
  One node's GPUs: curl -s -H "\$R" http://127.0.0.1:$HTTP_PORT/v1/nodes/<nodeId>/gpus
  Clusters:       curl -s -H "\$R" http://127.0.0.1:$HTTP_PORT/v1/clusters          (health, survivors, minSurvivors, servedBy, trafficShare)
  Gateway:        curl -si -H "\$K" -X POST http://127.0.0.1:$HTTP_PORT/v1/invoke/counter   (X-Drover-Cluster, X-Drover-Node, X-Drover-Instance; 401 without the key)
  Fail over:      kill -9 the agents of one cluster (pids in $VAR/fleet.json): below its threshold the gateway answers from another cluster
  Invoke a node:  curl -si -H "\$K" -X POST http://127.0.0.1:$FIRST_NODE_PORT/v1/invoke/counter   (any node's port, straight to its shim)
  Queue and 429s: for i in \$(seq 20); do curl -s -o /dev/null -w '%{http_code} ' -H "\$K" -X POST 'http://127.0.0.1:$FIRST_NODE_PORT/v1/invoke/counter?sleepMs=2000' & done; wait
  Status events:  curl -N -H "\$R" http://127.0.0.1:$HTTP_PORT/v1/events           (accepted, started, completed of every request)
  Function:       curl -s -H "\$R" http://127.0.0.1:$HTTP_PORT/v1/functions/counter   (requestQueueLength, inFlight, nodes, instances)
  Decisions:      curl -s -H "\$R" http://127.0.0.1:$HTTP_PORT/v1/functions/counter/decisions
  CUDA probe:     cuda-sample runs the sample CUDA workload under the launch probe; its GPU shows commandQueueSource
                  "measured", about 5 in flight: $OUT/droverctl gpus, or /v1/functions/cuda-sample for its node and GPU
  Metrics:        curl -s -H "\$R" http://127.0.0.1:$HTTP_PORT/metrics   (Prometheus text: drover_*, DCGM_FI_DEV_*)
                  curl -s http://127.0.0.1:$FIRST_NODE_PORT/metrics   (an agent's own: sampling cost, link, shim queues, instances; any node's port)
  Leader:         curl -s -H "\$R" http://127.0.0.1:$HTTP_PORT/v1/leader   (who leads, its term; with HA=N every aggregator, on ports $HTTP_PORT, $((HTTP_PORT + 2)), ..., serves the API and the gateway)
  Fail over:      with HA=N, kill -9 the leader (its port in /v1/leader's apiUrl, its pid in $VAR/fleet.json): a follower is named within about 3 s,
                  the agents move to it and the gateway on every other aggregator keeps answering; start the old one again with $VAR/aggregator[-<n>]/start.sh &
  Tokens:         $VAR/admin.token, $VAR/read.token (hashes in $tokens_file, which every aggregator reads; more with: $OUT/drover-aggregator tokens add --name NAME --role read --file $tokens_file, then restart the aggregators)
  Agent link:     $links_text (gRPC over mutual TLS; certificates in $certs, one per node, named after it)
  Impostor:       an agent with another node's certificate is refused: see the README's "Trust" section
  Processes:      $VAR/fleet.json
  Logs:           $agg_logs, $VAR/agents/<cluster>-<n>/agent.log
  Restart agent:  $VAR/agents/<cluster>-<n>/start.sh &
  GPU scenarios:  $VAR/agents/<cluster>-<n>/gpus.scenario (edit to move the stand-in GPUs' numbers)

Press Ctrl-C to stop everything.
TEXT

# Keep running until Ctrl-C or SIGTERM. A process that ends (an agent you SIGKILLed to watch it
# go lost, say) does not stop the rest; start it again with its start.sh.
sleeper=
while true; do
  sleep 3600 &
  sleeper=$!
  wait "$sleeper" || true
done

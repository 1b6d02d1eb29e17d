# Shared by the benchmark scripts here (sourced, not run): free loopback ports and a process's CPU ticks.

# A loopback port nobody listens on now (there is a window before the program binds it; a clash fails its start),
# below the kernel's ephemeral range so that no outgoing connection takes it, and never one already given out by
# this shell ($taken; $(free_port) runs in a subshell, so callers that need that call next_port instead).
taken=" "
read -r ephemeral_low _ < /proc/sys/net/ipv4/ip_local_port_range
port_low=10000
port_span=$(( ephemeral_low - port_low ))
[ "$port_span" -lt 1000 ] && { port_low=20000; port_span=40000; }
free_port() {
  local port
  while :; do
    port=$((port_low + (RANDOM * 32768 + RANDOM) % port_span))
    case "$taken" in *" $port "*) continue ;; esac
    if ! ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
      taken="$taken$port "
      echo "$port"
      return
    fi
  done
}

# Sets $port to a free port and remembers it in $taken (needs $tmp, a scratch folder).
next_port() { free_port > "$tmp/port"; port=$(< "$tmp/port"); taken="$taken$port "; }

# utime+stime of processes in clock ticks, summed. The command name (field 2) may hold spaces: read after its ')'.
cpu_ticks() {
  local pid stat rest total=0
  for pid in "$@"; do
    stat=$(< "/proc/$pid/stat")
    rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}

# Stops the given processes (SIGTERM, then waits for each) and removes $tmp, or keeps it with KEEP_TEMP=1.
stop_all() {
  local pid
  for pid in "$@"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "$@"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "${KEEP_TEMP:-0}" = 1 ]; then
    echo "Logs kept in $tmp"
  else
    rm -rf "$tmp"
  fi
}

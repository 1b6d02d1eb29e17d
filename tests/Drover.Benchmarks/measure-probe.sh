#!/usr/bin/env bash
# The CUDA launch probe's added cost per launch (docs/BENCHMARKS.md): the sample workload's tight loop of zero-length
# launches (--bench) on the stand-in libcuda, whose launch of a zero-length kernel on an idle stream completes at once,
# so the loop measures the call, not a GPU. Each round runs the loop without the probe and with it preloaded
# (publishing its page into a temporary folder, as under the agent), alternating, on an explicit stream and on the
# legacy default stream; the medians and their difference are printed, then one JSON line.
#   OUT=./out tests/Drover.Benchmarks/measure-probe.sh        (ROUNDS=7 LAUNCHES=5000000 by default)
set -euo pipefail

OUT=${OUT:?OUT must name the build output folder}
ROUNDS=${ROUNDS:-7}
LAUNCHES=${LAUNCHES:-5000000}
WORKLOAD="$OUT/samples/cuda-workload/cuda-workload"
CUDA="$OUT/native/libcuda.so.1"
PROBE="$OUT/native/libdrover-cuda-probe.so"
for file in "$WORKLOAD" "$CUDA" "$PROBE"; do
  [ -e "$file" ] || { echo "measure-probe: $file is missing: run make native (or make build) first" >&2; exit 1; }
done

pages=$(mktemp -d)
trap 'rm -rf "$pages"' EXIT

one() { # one loop: prints its ns per launch
  env -u CUDA_VISIBLE_DEVICES FAKE_CUDA_DEVICES=1 "$@" "$WORKLOAD" --lib "$CUDA" --bench "$LAUNCHES" $STREAM_ARGS | sed -n 's/^ns_per_launch //p'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

json="{"
for stream in explicit legacy; do
  STREAM_ARGS=$([ "$stream" = explicit ] && echo "--streams 1" || echo "--streams 0")
  without=() ; with=()
  for ((r = 0; r < ROUNDS; r++)); do
    without+=("$(one env)")
    with+=("$(one env LD_PRELOAD="$PROBE" DROVER_GPU_PROBE_DIR="$pages")")
  done
  w0=$(printf '%s\n' "${without[@]}" | median)
  w1=$(printf '%s\n' "${with[@]}" | median)
  added=$(awk -v a="$w1" -v b="$w0" 'BEGIN { printf "%.1f", a - b }')
  echo "$stream stream: without the probe ${w0} ns/launch (rounds: ${without[*]}), with it ${w1} ns/launch (rounds: ${with[*]}): +${added} ns"
  json+="\"${stream}\": {\"withoutNs\": ${w0}, \"withNs\": ${w1}, \"addedNs\": ${added}}, "
done
echo "${json%, }, \"launchesPerRound\": ${LAUNCHES}, \"rounds\": ${ROUNDS}}"

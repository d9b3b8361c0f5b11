#!/usr/bin/env bash
# `ser predict` throughput and peak memory on the CPU (bench/RESULTS.md, "Prediction over
# recordings"): 3-second clips batched vs one by one, 48 kHz clips (resampled), and a
# one-hour recording in 3 s windows every 1 s. The model is the one
# `ser demo --quick` trains (the default recipe's network; its cost does not depend on what it learnt); clips are
# scored with --whole, one image each, as a model trained on 3 s clips would score them.
# usage: bash bench/predict_throughput.sh [SER_BINARY [WORK_DIR]]
set -euo pipefail
SER=${1:-build/apps/ser}
W=${2:-/tmp/ser-predict-bench}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$W"
[ -f "$W/demo/run/model.safetensors" ] || "$SER" demo --quick --device cpu --out "$W/demo" > /dev/null
M="$W/demo/run/model.safetensors"
[ -d "$W/clips16" ] || python3 "$HERE/make_recordings.py" clips "$W/demo/corpus" "$W/clips16" 1000 3 16000
[ -d "$W/clips48" ] || python3 "$HERE/make_recordings.py" clips "$W/demo/corpus" "$W/clips48" 300 3 48000
[ -f "$W/hour.wav" ] || python3 "$HERE/make_recordings.py" recording "$W/demo/corpus" "$W/hour.wav" 3600
mkdir -p "$W/clips100" && for i in $(seq -f "%05g" 0 99); do ln -sf "$W/clips16/clip_$i.wav" "$W/clips100/"; done

measure() {  # label, command...
  local label=$1
  shift
  /usr/bin/time -f "$label: %e s wall, %U s user + %S s sys, peak %M KB" "$@" > /dev/null 2>> "$W/time.txt"
  tail -1 "$W/time.txt"
}
: > "$W/time.txt"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?')"
measure "1000 clips 3 s 16 kHz, batched (--batch 16)" "$SER" predict --device cpu --whole --model "$M" "$W/clips16"
measure "1000 clips 3 s 16 kHz, one by one (--batch 1)" "$SER" predict --device cpu --whole --batch 1 --model "$M" "$W/clips16"
measure "300 clips 3 s 48 kHz, batched" "$SER" predict --device cpu --whole --model "$M" "$W/clips48"
start=$(date +%s.%N)
for f in "$W"/clips100/*.wav; do "$SER" predict --device cpu --whole --model "$M" "$f" > /dev/null; done
echo "100 clips, one process each: $(echo "$(date +%s.%N) - $start" | bc) s wall"
measure "one file 3 s (the short-file peak)" "$SER" predict --device cpu --whole --model "$M" "$W/clips16/clip_00000.wav"
measure "one hour 16 kHz, --window 3 --hop 1" "$SER" predict --device cpu --window 3 --hop 1 --model "$M" "$W/hour.wav"

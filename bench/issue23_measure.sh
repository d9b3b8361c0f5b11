#!/usr/bin/env bash
# Issue 23's CPU training comparison in one go, for a QUIET machine (nothing else running):
# ser_bench's training cases (bench/bench_train_cpu.cpp: BM_{general,seed}_train_step_cpu and
# BM_{general,seed}_epoch_cpu, with the SGEMM ceiling) and bench/torch_compare.py (PyTorch 2.x
# from PyPI, eager and torch.compile), alternated for $ROUNDS rounds so both see the same
# machine, all on $THREADS threads. Prints the machine, then lines to paste into
# bench/RESULTS.md: one per engine, recipe and round (bench/epoch_lines.py's format), and ser's
# step x steps / epoch agreement (expected within a few %). Raw JSON stays in $OUT_DIR.
#
# Usage: bench/issue23_measure.sh [BUILD_DIR]      (default build-cpu; needs ser_bench built)
#   TORCH_PYTHON=/work/torch-venv/bin/python  the venv's interpreter (bench/README.md)
#   ROUNDS=2 THREADS=2 COMPILE=1 (0: eager only) OUT_DIR=/tmp/issue23-<time>
#   MIN_TIME=4 REPS=3 TORCH_STEPS=30 TORCH_EPOCHS=3 (smaller only to check that the script runs)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-cpu}
BENCH=$BUILD/bench/ser_bench
TORCH_PYTHON=${TORCH_PYTHON:-/work/torch-venv/bin/python}
ROUNDS=${ROUNDS:-2}
THREADS=${THREADS:-2}
COMPILE=${COMPILE:-1}
MIN_TIME=${MIN_TIME:-4}
REPS=${REPS:-3}
TORCH_STEPS=${TORCH_STEPS:-30}
TORCH_EPOCHS=${TORCH_EPOCHS:-3}
OUT_DIR=${OUT_DIR:-/tmp/issue23-$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$OUT_DIR"

[ -x "$BENCH" ] || { echo "no $BENCH: cmake --build $BUILD --target ser_bench" >&2; exit 1; }
"$TORCH_PYTHON" -c "import torch" 2>/dev/null || { echo "no PyTorch in $TORCH_PYTHON (bench/README.md)" >&2; exit 1; }

machine() {
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (dirty)')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), nproc $(nproc), threads $THREADS"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (should be < 0.5: a busy machine gives wrong figures)"
  echo "torch: $("$TORCH_PYTHON" -c 'import torch; print(torch.__version__, "mkl", torch.backends.mkl.is_available(), "mkldnn", torch.backends.mkldnn.is_available())')"
}

# ser: steps at min_time $MIN_TIME s, epochs one per repetition (each after a warm-up epoch),
# $REPS repetitions, medians; the SGEMM ceiling for frac_of_peak.
run_ser() {
  SER_CPU_THREADS=$THREADS "$BENCH" --benchmark_filter='^BM_ceiling_sgemm_cpu|^BM_(general|seed)_(train_step|epoch)_cpu' \
    --benchmark_min_time=$MIN_TIME --benchmark_repetitions=$REPS --benchmark_report_aggregates_only=true \
    --benchmark_out="$OUT_DIR/ser_round$1.json" --benchmark_out_format=json > "$OUT_DIR/ser_round$1.txt" 2>&1
  { grep -E 'blas_kernels|_median' "$OUT_DIR/ser_round$1.txt" || true; } | sed 's/^/  # /'
  python3 bench/epoch_lines.py "$OUT_DIR/ser_round$1.json" --threads "$THREADS" | sed "s/\$/  (round $1)/"
}

run_torch() {
  local flags=()
  [ "$COMPILE" = 1 ] && flags+=(--compile)
  "$TORCH_PYTHON" bench/torch_compare.py --threads "$THREADS" --steps $TORCH_STEPS --epochs $TORCH_EPOCHS "${flags[@]}" \
    2> "$OUT_DIR/torch_round$1.err" | sed "s/\$/  (round $1)/"
}

machine | tee "$OUT_DIR/machine.txt"
echo '```'
for round in $(seq 1 "$ROUNDS"); do
  run_ser "$round"
  run_torch "$round"
done
echo '```'
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); raw output in $OUT_DIR"

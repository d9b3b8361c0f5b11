#!/usr/bin/env python3
"""Markdown tables for bench/RESULTS.md: ser's GPU training step beside PyTorch's.

    ser_bench --benchmark_filter='TrainStepGpu|ceiling_.*_gpu' --benchmark_out=ser.json \\
              --benchmark_out_format=json
    python3 bench/torch_train_step.py --out torch.json
    python3 bench/train_table.py --ser ser.json --torch torch.json

Inputs:
  --ser    Google Benchmark JSON of ser_bench. Cases BM_TrainStepGpu/batch:B/math:M (M = fp32 or
           tf32; any suffix such as /manual_time is ignored) with the counters samples_per_s,
           ms_per_step, peak_device_bytes, step_flops, epoch10k_s; ceilings
           BM_ceiling_sgemm_gpu/{fp32,tf32} (counter FLOP/s) and BM_ceiling_copy_gpu (bytes/s).
           With repetitions a case's "median" aggregate is used, else the median of its rows.
  --torch  the JSON written by bench/torch_train_step.py (optional: its columns show "-").

Per (batch, math) the tables give samples/s of ser and of PyTorch eager, CUDA graphs and
torch.compile, the ratios ser/eager and ser/graphs, the time of an epoch of 10 000 samples,
peak device memory of both, and the floor: step FLOPs (bench/seed_flops.py, conv + dense
MACs of forward, backward-filter and backward-data) over the SGEMM rate of that math mode
measured in the same ser_bench run, with each engine's time per step as a multiple of it.
A case that failed shows "error" and its message below the tables.

Exit status: 0 tables printed, 2 unreadable input. Python 3 standard library only.
"""

import argparse
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_flops import train_step_flops  # noqa: E402

# Google Benchmark appends /min_time:T and /manual_time (or /real_time) to the registered name.
TRAIN_CASE = re.compile(r"^BM_TrainStepGpu/batch:(\d+)/math:(fp32|tf32)(/min_time:[\d.]+)?(/(manual_time|real_time))?$")
# The same step with CUDA graphs off (eager device steps): reported on its own line.
NO_GRAPHS_CASE = re.compile(
    r"^BM_TrainStepGpu/batch:(\d+)/math:(fp32|tf32)/graphs:off(/min_time:[\d.]+)?(/(manual_time|real_time))?$")
SGEMM_CASE = re.compile(r"^BM_ceiling_sgemm_gpu/(fp32|tf32)(/|$)")
COPY_CASE = re.compile(r"^BM_ceiling_copy_gpu(/|$)")
TRAIN_COUNTERS = ("samples_per_s", "ms_per_step", "peak_device_bytes", "step_flops", "epoch10k_s")
TORCH_MODES = ("eager", "graphs", "compile")
MIB = 2.0 ** 20
FLOPS_MISMATCH = 0.005  # ser's step_flops counter and seed_flops.py must agree within 0.5 %


class InputError(Exception):
    pass


def load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read the {what} JSON ({e})")


def case_values(rows, counters):
    """{"error": str} for a failed case, else {counter: median value} over the chosen rows
    (the "median" aggregate when present, else the iteration rows)."""
    errors = [r.get("error_message", "error") for r in rows if r.get("error_occurred")]
    if errors:
        return {"error": errors[0]}
    medians = [r for r in rows if r.get("run_type") == "aggregate" and r.get("aggregate_name") == "median"]
    chosen = medians or [r for r in rows if r.get("run_type", "iteration") == "iteration"]
    values = {}
    for counter in counters:
        found = [float(r[counter]) for r in chosen if counter in r]
        if found:
            values[counter] = statistics.median(found)
    return values


def load_ser(path):
    """Returns (train {(batch, math): values}, sgemm {math: values}, copy values or None, context)."""
    doc = load_json(path, "ser_bench")
    try:
        rows = doc["benchmarks"]
        grouped = {}
        for row in rows:
            grouped.setdefault(row.get("run_name", row["name"]), []).append(row)
    except (KeyError, TypeError) as e:
        raise InputError(f"{path}: not a Google Benchmark JSON file (missing {e})")
    train, sgemm, copy = {}, {}, None
    no_graphs = {}
    for name, group in grouped.items():
        if m := TRAIN_CASE.match(name):
            train[(int(m.group(1)), m.group(2))] = case_values(group, TRAIN_COUNTERS)
        elif m := NO_GRAPHS_CASE.match(name):
            no_graphs[(int(m.group(1)), m.group(2))] = case_values(group, TRAIN_COUNTERS)
        elif m := SGEMM_CASE.match(name):
            sgemm[m.group(1)] = case_values(group, ("FLOP/s",))
        elif COPY_CASE.match(name):
            copy = case_values(group, ("bytes/s",))
    if not train:
        raise InputError(f"{path}: no BM_TrainStepGpu/batch:B/math:M case")
    context = dict(doc.get("context", {}))
    context["no_graphs"] = no_graphs
    return train, sgemm, copy, context


def load_torch(path):
    """Returns ({(batch, math): {mode: row}}, environment) from torch_train_step.py's JSON."""
    doc = load_json(path, "torch_train_step.py")
    try:
        table = {}
        for row in doc["results"]:
            table.setdefault((int(row["batch"]), row["math"]), {})[row["mode"]] = row
        return table, doc["environment"]
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{path}: not a torch_train_step.py result file (missing or bad {e})")


class Notes:
    """Numbered footnotes for failed or skipped cells."""

    def __init__(self):
        self.lines = []

    def mark(self, text):
        self.lines.append(text)
        return f"({len(self.lines)})"


def fmt(value, digits):
    return "-" if value is None else f"{value:.{digits}f}"


def mib(value):
    return fmt(value / MIB if value is not None else None, 0)


def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "-"


def time_vs_floor(ms, floor_ms):
    """'1.333 (3.9)': ms per step and its multiple of the floor; '-' when not measured."""
    if ms is None:
        return "-"
    return f"{ms:.3f} ({ms / floor_ms:.1f})" if floor_ms else f"{ms:.3f} (-)"


def ser_columns(case, batch, label, notes):
    """Cells and numbers of one ser case: rate (samples/s), ms (per step), text cells."""
    cells = {"rate": "-", "epoch": "-", "peak": "-", "mark": ""}
    if case is None:
        return None, None, cells
    if "error" in case:
        cells["rate"] = "error " + notes.mark(f"ser {label}: {case['error']}")
        return None, None, cells
    rate, ms = case.get("samples_per_s"), case.get("ms_per_step")
    cells.update(rate=fmt(rate, 0), epoch=fmt(case.get("epoch10k_s"), 3), peak=mib(case.get("peak_device_bytes")))
    flops, expected = case.get("step_flops"), train_step_flops(batch)
    if flops is not None and abs(flops / expected - 1) > FLOPS_MISMATCH:
        cells["mark"] = " " + notes.mark(f"ser {label}: step_flops counter {flops:.4g} differs from "
                                         f"seed_flops.py's {expected:.4g}; the floor uses seed_flops.py")
    return rate, ms, cells


def torch_columns(row, label, notes):
    """Numbers and cells of one torch mode's row: {rate, ms, rate_cell, epoch_cell, peak_cell}."""
    out = {"rate": None, "ms": None, "rate_cell": "-", "epoch_cell": "-", "peak_cell": "-"}
    if row is None:
        return out
    if row.get("status") != "ok":
        why = row.get("error") or row.get("reason") or "no reason given"
        out["rate_cell"] = f"{row.get('status', 'error')} " + notes.mark(f"torch {label}: {why}")
        return out
    out.update(rate=row.get("samples_per_s"), ms=row.get("ms_per_step"))
    out.update(rate_cell=fmt(out["rate"], 0), epoch_cell=fmt(row.get("epoch10k_s"), 3),
               peak_cell=mib(row.get("peak_allocated_bytes")))
    return out


SPEED_HEADER = ["| batch | math | ser samples/s | torch eager | torch graphs | torch compile | ser / eager "
                "| ser / graphs | epoch 10k ser (s) | epoch 10k torch graphs (s) |",
                "|---|---|---|---|---|---|---|---|---|---|"]
FLOOR_HEADER = ["| batch | math | ser peak MiB | torch eager peak MiB | torch graphs peak MiB | step GFLOP "
                "| SGEMM TFLOP/s | floor ms | ser ms/step (x of floor) | torch graphs ms/step (x of floor) |",
                "|---|---|---|---|---|---|---|---|---|---|"]


def build_tables(train, sgemm, torch_table):
    """Returns the markdown lines: the speed table, the memory-and-floor table, their notes.
    Rows: every (batch, math) found in either file, fp32 first, by batch."""
    notes = Notes()
    speed, floor = list(SPEED_HEADER), list(FLOOR_HEADER)
    for batch, math in sorted(set(train) | set(torch_table), key=lambda k: (k[1], k[0])):
        label = f"batch {batch}, {math}"
        ser_rate, ser_ms, ser = ser_columns(train.get((batch, math)), batch, label, notes)
        modes = torch_table.get((batch, math), {})
        t = {mode: torch_columns(modes.get(mode), f"{mode} {label}", notes) for mode in TORCH_MODES}
        step_flops = train_step_flops(batch)
        rate = sgemm.get(math, {}).get("FLOP/s")
        floor_ms = step_flops / rate * 1e3 if rate else None
        speed.append(f"| {batch} | {math} | {ser['rate']} | {t['eager']['rate_cell']} | {t['graphs']['rate_cell']} "
                     f"| {t['compile']['rate_cell']} | {ratio(ser_rate, t['eager']['rate'])} "
                     f"| {ratio(ser_rate, t['graphs']['rate'])} | {ser['epoch']} | {t['graphs']['epoch_cell']} |")
        floor.append(f"| {batch} | {math} | {ser['peak']} | {t['eager']['peak_cell']} | {t['graphs']['peak_cell']} "
                     f"| {step_flops / 1e9:.2f} | {fmt(rate / 1e12 if rate else None, 1)} | {fmt(floor_ms, 3)} "
                     f"| {time_vs_floor(ser_ms, floor_ms)}{ser['mark']} | {time_vs_floor(t['graphs']['ms'], floor_ms)} |")
    for math in ("fp32", "tf32"):
        if "error" in sgemm.get(math, {}):
            notes.mark(f"SGEMM {math} ceiling: {sgemm[math]['error']} (no floor)")
    lines = speed + [""] + floor
    if notes.lines:
        lines += [""] + [f"({i}) {text}" for i, text in enumerate(notes.lines, 1)]
    return lines


def header_lines(ser_context, copy, sgemm, torch_env):
    """Where the figures come from: both runs' dates and machines, the ceilings."""
    lines = [f"ser_bench: {ser_context.get('date', '?')}, host {ser_context.get('host_name', '?')}, "
             f"{ser_context.get('executable', '?')}"]
    if torch_env:
        lines.append(f"PyTorch {torch_env.get('torch_version', '?')} (CUDA {torch_env.get('cuda_version', '-')}, "
                     f"cuDNN {torch_env.get('cudnn_version', '-')}) on {torch_env.get('device_name', '?')}, "
                     f"{torch_env.get('date', '?')}, {torch_env.get('samples', '?')} samples resident, "
                     f"cudnn.benchmark {torch_env.get('cudnn_benchmark', '-')}; "
                     "peak memory = max_memory_allocated (caching allocator, dataset included)")
        if torch_env.get("device") != "cuda":
            lines.append(f"WARNING: PyTorch ran on {torch_env.get('device', '?')}, not on a CUDA device: "
                         "its figures are not comparable with ser's GPU step")
    ceilings = []
    for math in ("fp32", "tf32"):
        rate = sgemm.get(math, {}).get("FLOP/s")
        ceilings.append(f"SGEMM {math.upper()} {fmt(rate / 1e12 if rate else None, 1)} TFLOP/s")
    copy_rate = (copy or {}).get("bytes/s")
    ceilings.append(f"D2D copy {fmt(copy_rate / 1e9 if copy_rate else None, 0)} GB/s")
    lines.append("Ceilings (same ser_bench run): " + ", ".join(ceilings))
    return lines


def no_graphs_lines(train, no_graphs):
    """One line per graphs:off case: ser's eager device steps beside its graph replays."""
    lines = []
    for (batch, math), values in sorted(no_graphs.items()):
        rate = values.get("samples_per_s")
        with_graphs = (train.get((batch, math)) or {}).get("samples_per_s")
        if rate is None:
            lines.append(f"ser without CUDA graphs, batch {batch}, {math}: error ({values.get('error', '?')})")
            continue
        lines.append(f"ser without CUDA graphs (eager device steps), batch {batch}, {math}: {rate:,.0f} samples/s"
                     f" ({ratio(with_graphs, rate)} speed-up from graph replay)")
    return [""] + lines if lines else []


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ser", required=True, help="ser_bench Google Benchmark JSON")
    parser.add_argument("--torch", help="JSON written by bench/torch_train_step.py --out")
    args = parser.parse_args(argv)
    try:
        train, sgemm, copy, context = load_ser(args.ser)
        torch_table, torch_env = load_torch(args.torch) if args.torch else ({}, None)
    except InputError as e:
        print(f"train_table.py: {e}", file=sys.stderr)
        return 2
    for line in header_lines(context, copy, sgemm, torch_env):
        print(line)
    print()
    for line in build_tables(train, sgemm, torch_table):
        print(line)
    for line in no_graphs_lines(train, context.get("no_graphs", {})):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

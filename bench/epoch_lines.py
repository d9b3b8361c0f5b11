#!/usr/bin/env python3
"""One line per recipe from ser_bench's JSON (--benchmark_format=json or --benchmark_out) for the
training cases of bench/bench_train_cpu.cpp, in the format bench/torch_compare.py prints for
PyTorch, so the two can be set side by side:
  ser general: step 231.0 ms, epoch 5.20 s (22 steps, 236.4 ms/step), val 0.35 s, threads 2
step: BM_<recipe>_train_step_cpu's real time per iteration (the median aggregate when the run
has repetitions); epoch, steps, val: BM_<recipe>_epoch_cpu's counters epoch_s, steps, val_s.
Also prints step x steps / epoch (the check that the step case agrees with the trainer's epoch;
issue 23: within a few %). Python 3 standard library only.

Run: python3 bench/epoch_lines.py ser_train.json [--threads 2]
"""

import argparse
import json
import re
import sys

UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
CASE = re.compile(r"^BM_(?P<recipe>\w+?)_(?P<kind>train_step|epoch)_cpu(/[^_]*)?(_(?P<agg>\w+))?$")


def result_line(engine, recipe, r, steps, threads):
    """engine: 'ser' or 'torch 2.15.0 eager'; r: {'step', 'epoch', 'val'} in seconds."""
    return (f"{engine} {recipe}: step {r['step'] * 1e3:.1f} ms, epoch {r['epoch']:.2f} s ({steps} steps, "
            f"{r['epoch'] / steps * 1e3:.1f} ms/step), val {r['val']:.2f} s, threads {threads}")


def pick(benchmarks):
    """{(recipe, kind): entry}: the median aggregate where there is one, else the last plain run."""
    chosen = {}
    for b in benchmarks:
        m = CASE.match(b.get("run_name", b["name"]).split("/")[0])
        if not m or b.get("error_occurred"):
            continue
        aggregate = b.get("aggregate_name")
        if b.get("run_type") == "aggregate" and aggregate != "median":
            continue
        key = (m.group("recipe"), m.group("kind"))
        if aggregate == "median" or chosen.get(key, {}).get("aggregate_name") != "median":
            chosen[key] = b
    return chosen


def seconds(entry):
    return entry["real_time"] * UNIT_SECONDS[entry.get("time_unit", "ns")]


def recipe_results(report):
    """[(recipe, {'step', 'epoch', 'val'}, steps)] for each recipe with both cases."""
    chosen = pick(report.get("benchmarks", []))
    out = []
    for recipe in sorted({r for r, _ in chosen}):
        step, epoch = chosen.get((recipe, "train_step")), chosen.get((recipe, "epoch"))
        if step is None or epoch is None:
            continue
        r = {"step": seconds(step), "epoch": epoch["epoch_s"], "val": epoch["val_s"]}
        out.append((recipe, r, int(round(epoch["steps"]))))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("json")
    p.add_argument("--threads", type=int, default=2, help="the threads the run had (printed only)")
    args = p.parse_args(argv)
    with open(args.json) as f:
        report = json.load(f)
    results = recipe_results(report)
    if not results:
        sys.exit(f"{args.json}: no pair of BM_<recipe>_train_step_cpu and BM_<recipe>_epoch_cpu cases")
    for recipe, r, steps in results:
        print(result_line("ser", recipe, r, steps, args.threads))
        print(f"ser {recipe}: step x steps / epoch = {r['step'] * steps / r['epoch']:.3f}")


if __name__ == "__main__":
    main()

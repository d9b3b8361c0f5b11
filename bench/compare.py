#!/usr/bin/env python3
"""Compare two Google Benchmark JSON files and flag regressions.

    ser_bench --benchmark_format=json > new.json     (or --benchmark_out=new.json)
    python3 bench/compare.py old.json new.json [--threshold 0.10] [--metric real_time]

Cases are matched by name. With repetitions, a case's "median" aggregate is used when the
file has one, else the median of its iteration rows. A case is a REGRESSION when
    contender_time / baseline_time - 1 > threshold
or when it ran in the baseline but reports an error in the contender (a check that now
fails). Cases present in only one file, or skipped in both (e.g. "no CUDA device"), are
listed but do not fail. Compare files from the same machine: the ceilings (BM_ceiling_*)
show whether the machine itself changed between the runs.

Exit status: 0 no regression, 1 at least one regression, 2 unreadable input.
Python 3 standard library only.
"""

import argparse
import json
import re
import statistics
import sys

NS_PER_UNIT = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class InputError(Exception):
    pass


def load_cases(path, metric):
    """Returns {name: {"time_ns": float or None, "error": str or None, "frac": float or None}}."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        rows = doc["benchmarks"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a Google Benchmark JSON file ({e})")
    grouped = {}
    for row in rows:
        name = row.get("run_name", row.get("name"))
        if name is None:
            raise InputError(f"{path}: a benchmark row without a name")
        grouped.setdefault(name, []).append(row)
    cases = {}
    for name, group in grouped.items():
        errors = [r.get("error_message", "error") for r in group if r.get("error_occurred")]
        if errors:
            cases[name] = {"time_ns": None, "error": errors[0], "frac": None}
            continue
        medians = [r for r in group if r.get("run_type") == "aggregate" and r.get("aggregate_name") == "median"]
        iterations = [r for r in group if r.get("run_type", "iteration") == "iteration"]
        chosen = medians if medians else iterations
        if not chosen:
            continue  # only other aggregates (mean, stddev): nothing to compare
        try:
            times = [float(r[metric]) * NS_PER_UNIT[r.get("time_unit", "ns")] for r in chosen]
        except (KeyError, ValueError) as e:
            raise InputError(f"{path}: case {name} lacks a usable {metric} ({e})")
        fracs = [float(r["frac_of_peak"]) for r in chosen if "frac_of_peak" in r]
        cases[name] = {
            "time_ns": statistics.median(times),
            "error": None,
            "frac": statistics.median(fracs) if fracs else None,
        }
    return cases


def format_ns(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def shown(case):
    """A case's time for the table: '-' when absent, 'error' when it did not run."""
    if case is None:
        return "-"
    return "error" if case["time_ns"] is None else format_ns(case["time_ns"])


def compare(baseline, contender, threshold):
    """Returns (rows, regressions): rows of printable fields, names that regressed."""
    rows, regressions = [], []
    for name in sorted(set(baseline) | set(contender)):
        old, new = baseline.get(name), contender.get(name)
        if old is None or new is None:
            rows.append((name, shown(old), shown(new), "", "", "only in " + ("contender" if old is None else "baseline")))
            continue
        if old["error"] or new["error"]:
            failed = old["error"] is None and new["error"] is not None
            if failed:
                regressions.append(name)
            status = ("REGRESSION: now fails: " + new["error"]) if failed else ("skipped: " + (new["error"] or old["error"]))
            rows.append((name, shown(old), shown(new), "", "", status))
            continue
        change = new["time_ns"] / old["time_ns"] - 1.0 if old["time_ns"] > 0 else 0.0
        regressed = change > threshold
        if regressed:
            regressions.append(name)
        frac = f"{new['frac']:.3f}" if new["frac"] is not None else ""
        status = "REGRESSION" if regressed else ("faster" if change < -threshold else "")
        rows.append((name, shown(old), shown(new), f"{change * 100:+.1f}%", frac, status))
    return rows, regressions


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline", help="Google Benchmark JSON file (the reference run)")
    parser.add_argument("contender", help="Google Benchmark JSON file (the run to judge)")
    parser.add_argument("--threshold", type=float, default=0.10,
                        help="relative slow-down that counts as a regression (default 0.10 = 10%%)")
    parser.add_argument("--metric", choices=("real_time", "cpu_time"), default="real_time",
                        help="time to compare (default real_time: wall or CUDA-event time)")
    parser.add_argument("--filter", default=None, help="only cases whose name matches this regular expression")
    args = parser.parse_args(argv)
    if args.threshold < 0:
        parser.error("--threshold must be >= 0")
    try:
        baseline = load_cases(args.baseline, args.metric)
        contender = load_cases(args.contender, args.metric)
    except InputError as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    if args.filter:
        pattern = re.compile(args.filter)
        baseline = {k: v for k, v in baseline.items() if pattern.search(k)}
        contender = {k: v for k, v in contender.items() if pattern.search(k)}

    rows, regressions = compare(baseline, contender, args.threshold)
    header = ("case", "baseline", "contender", "change", "frac_of_peak", "")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    if regressions:
        print(f"\n{len(regressions)} regression(s) beyond {args.threshold * 100:.0f}%: " + ", ".join(regressions))
        return 1
    print(f"\nno regression beyond {args.threshold * 100:.0f}% ({len(rows)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Tests of bench/compare.py (ctest entry bench_compare): runs the script as a user would,
on the fixtures in bench/testdata/ (hand-written Google Benchmark JSON: baseline, a run
within 10 % of it, and a run whose conv case is 25 % slower) and on files built here for
repetitions and for a case that starts failing. Python 3 standard library only."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "compare.py")
DATA = os.path.join(HERE, "testdata")
CONV = "BM_conv2d_cpu/batch:16/block:1/backward:0/real_time"


def run(*args):
    p = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def fixture(name):
    return os.path.join(DATA, name)


class CompareTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, benchmarks):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"context": {}, "benchmarks": benchmarks}, f)
        return path

    def test_within_threshold_passes(self):
        code, out = run(fixture("baseline.json"), fixture("within_noise.json"))
        self.assertEqual(code, 0, out)
        self.assertNotIn("REGRESSION", out)
        self.assertIn("+4.0%", out)  # conv 40 -> 41.6 ms

    def test_slower_case_is_flagged(self):
        code, out = run(fixture("baseline.json"), fixture("regressed.json"))
        self.assertEqual(code, 1, out)
        flagged = [line for line in out.splitlines() if "REGRESSION" in line]
        self.assertEqual(len(flagged), 1, out)
        self.assertIn(CONV, flagged[0])
        self.assertIn("+25.0%", flagged[0])

    def test_threshold_is_respected(self):
        code, out = run(fixture("baseline.json"), fixture("regressed.json"), "--threshold", "0.30")
        self.assertEqual(code, 0, out)
        code, _ = run(fixture("baseline.json"), fixture("regressed.json"), "--threshold", "0.24")
        self.assertEqual(code, 1)

    def test_filter_limits_the_cases(self):
        code, out = run(fixture("baseline.json"), fixture("regressed.json"), "--filter", "adam")
        self.assertEqual(code, 0, out)
        self.assertNotIn("conv2d", out)

    def test_skipped_in_both_does_not_fail(self):
        code, out = run(fixture("baseline.json"), fixture("baseline.json"))
        self.assertEqual(code, 0, out)
        self.assertIn("skipped: no CUDA device", out)

    def test_case_that_starts_failing_is_a_regression(self):
        ok = {"name": "BM_x", "run_name": "BM_x", "run_type": "iteration", "real_time": 5.0, "cpu_time": 5.0,
              "time_unit": "us", "iterations": 10}
        failing = {"name": "BM_x", "run_name": "BM_x", "run_type": "iteration", "error_occurred": True,
                   "error_message": "output differs from the CPU loop", "real_time": 0, "cpu_time": 0,
                   "time_unit": "us", "iterations": 0}
        code, out = run(self.write("a.json", [ok]), self.write("b.json", [failing]))
        self.assertEqual(code, 1, out)
        self.assertIn("now fails: output differs from the CPU loop", out)

    def test_median_aggregate_is_used_and_units_converted(self):
        def rows(times_ms, median_ms):
            rs = [{"name": "BM_y", "run_name": "BM_y", "run_type": "iteration", "repetition_index": i,
                   "real_time": t, "cpu_time": t, "time_unit": "ms", "iterations": 3} for i, t in enumerate(times_ms)]
            rs.append({"name": "BM_y_median", "run_name": "BM_y", "run_type": "aggregate", "aggregate_name": "median",
                       "real_time": median_ms, "cpu_time": median_ms, "time_unit": "ms", "iterations": 3})
            rs.append({"name": "BM_y_mean", "run_name": "BM_y", "run_type": "aggregate", "aggregate_name": "mean",
                       "real_time": 99.0, "cpu_time": 99.0, "time_unit": "ms", "iterations": 3})
            return rs
        # Baseline in microseconds (median 10 ms); the contender's one outlier (100 ms)
        # moves the mean, not the median (10.5 ms, +5 %).
        base = [{"name": "BM_y", "run_name": "BM_y", "run_type": "iteration", "real_time": 10000.0,
                 "cpu_time": 10000.0, "time_unit": "us", "iterations": 3}]
        code, out = run(self.write("a.json", base), self.write("b.json", rows([10.5, 100.0, 10.0], 10.5)))
        self.assertEqual(code, 0, out)
        self.assertIn("+5.0%", out)

    def test_unreadable_input_exits_2(self):
        bad = os.path.join(self.tmp.name, "bad.json")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("{not json")
        code, out = run(fixture("baseline.json"), bad)
        self.assertEqual(code, 2, out)
        self.assertIn("bad.json", out)
        code, _ = run(fixture("baseline.json"), os.path.join(self.tmp.name, "missing.json"))
        self.assertEqual(code, 2)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Tests of bench/epoch_lines.py (ser_bench JSON -> one line per recipe, the format of
bench/torch_compare.py) on reports built here, and of torch_compare.py's data helpers when
PyTorch is importable (skipped otherwise). Python 3 standard library only.

Run: python3 bench/test_epoch_lines.py
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from epoch_lines import recipe_results, result_line  # noqa: E402

SCRIPT = os.path.join(HERE, "epoch_lines.py")


def step_case(recipe, ms, aggregate=None):
    name = f"BM_{recipe}_train_step_cpu/real_time"
    entry = {"name": name + (f"_{aggregate}" if aggregate else ""), "run_name": name, "real_time": ms,
             "time_unit": "ms", "iterations": 10}
    if aggregate:
        entry.update(run_type="aggregate", aggregate_name=aggregate)
    else:
        entry["run_type"] = "iteration"
    return entry


def epoch_case(recipe, epoch_s, steps, val_s):
    name = f"BM_{recipe}_epoch_cpu/manual_time"
    return {"name": name, "run_name": name, "run_type": "iteration", "real_time": epoch_s * 1e3,
            "time_unit": "ms", "iterations": 1, "epoch_s": epoch_s, "steps": float(steps), "val_s": val_s}


class EpochLinesTest(unittest.TestCase):
    def test_line_from_step_and_epoch_cases(self):
        report = {"benchmarks": [step_case("general", 230.0), epoch_case("general", 5.28, 22, 0.35)]}
        [(recipe, r, steps)] = recipe_results(report)
        self.assertEqual((recipe, steps), ("general", 22))
        self.assertEqual(result_line("ser", recipe, r, steps, 2),
                         "ser general: step 230.0 ms, epoch 5.28 s (22 steps, 240.0 ms/step), val 0.35 s, threads 2")

    def test_median_aggregate_wins_over_runs_and_other_aggregates(self):
        report = {"benchmarks": [step_case("seed", 300.0), step_case("seed", 180.0, "median"),
                                 step_case("seed", 999.0, "mean"), step_case("seed", 250.0),
                                 epoch_case("seed", 8.0, 44, 0.2)]}
        [(_, r, _)] = recipe_results(report)
        self.assertAlmostEqual(r["step"], 0.180)

    def test_recipe_without_both_cases_and_errors_are_left_out(self):
        failed = dict(epoch_case("seed", 8.0, 44, 0.2), error_occurred=True)
        report = {"benchmarks": [step_case("general", 230.0), step_case("seed", 180.0), failed,
                                 {"name": "BM_conv2d_cpu/batch:16", "real_time": 1.0, "time_unit": "ms"}]}
        self.assertEqual(recipe_results(report), [])

    def test_command_prints_lines_and_the_agreement_ratio(self):
        report = {"benchmarks": [step_case("seed", 200.0), epoch_case("seed", 8.0, 44, 0.2)]}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "ser.json")
            with open(path, "w") as f:
                json.dump(report, f)
            p = subprocess.run([sys.executable, SCRIPT, path], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("ser seed: step 200.0 ms, epoch 8.00 s (44 steps, 181.8 ms/step)", p.stdout)
            self.assertIn("step x steps / epoch = 1.100", p.stdout)
            with open(path, "w") as f:
                json.dump({"benchmarks": []}, f)
            p = subprocess.run([sys.executable, SCRIPT, path], capture_output=True, text=True)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("no pair", p.stderr)


try:
    import torch  # noqa: F401
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


@unittest.skipUnless(HAVE_TORCH, "PyTorch not importable (bench/README.md says how to make its venv)")
class TorchCompareHelpersTest(unittest.TestCase):
    def test_labels_follow_ravdess_mix(self):
        import torch_compare as tc
        counts = torch.bincount(tc.ravdess_like_labels(704), minlength=6).tolist()
        self.assertEqual(counts, [64, 128, 128, 128, 128, 128])

    def test_crops_masks_and_networks_have_ser_shapes(self):
        import torch_compare as tc
        x = tc.synthetic_images(4, 256, 1)
        crop = tc.random_crops(x)
        self.assertEqual(tuple(crop.shape), (4, 1, 128, 128))
        self.assertEqual(tuple(tc.augment(crop).shape), (4, 1, 128, 128))
        general = sum(p.numel() for p in tc.general_network().parameters())
        seed = sum(p.numel() for p in tc.make_model(tc.RECIPES["seed"]).parameters())
        self.assertEqual(seed, 5240774)  # RESULTS.md's count (6 classes)
        self.assertEqual(tuple(tc.general_network()(crop).shape), (4, 6))
        # ser's general network at 6 classes: BM_general_train_step_cpu's bytes counter is
        # 20 x its parameter count, 7 806 840; by hand 320 + 18 496 + 73 856 + 295 168 conv,
        # 960 batch norm, 1 542 dense.
        self.assertEqual(general, 390342)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Tests of bench/seed_flops.py and bench/train_table.py (ctest entry bench_train_table).
seed_flops: against FLOP and parameter counts worked out by hand. train_table: runs the
script as a user would on the hand-written fixtures bench/testdata/train_ser.json (Google
Benchmark JSON: ceilings, BM_TrainStepGpu cases, one with repetitions and aggregates, one
failed, one with a wrong step_flops counter) and train_torch.json (torch_train_step.py's
format: ok, error and skipped rows), and on broken files built here. No PyTorch needed;
Python 3 standard library only."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from seed_flops import Architecture, parameter_count, train_step_flops  # noqa: E402

SCRIPT = os.path.join(HERE, "train_table.py")
SER = os.path.join(HERE, "testdata", "train_ser.json")
TORCH = os.path.join(HERE, "testdata", "train_torch.json")


class SeedFlopsTest(unittest.TestCase):
    def test_tiny_architecture_by_hand(self):
        # x: (1, 1, 8, 8); conv 1->2: 6x6 out, 2*36*1*9 = 648 MACs, pool -> 2x3x3 = 18 features;
        # dense 18->3: 54 MACs; dense 3->2: 6 MACs. The first conv: forward + filter (2 x 648);
        # dense: forward + filter + data (3 x 60). 2 FLOPs per MAC: 2 * (1296 + 180) = 2952.
        tiny = Architecture(in_channels=1, height=8, width=8, conv_channels=(2,), dense_units=(3,), classes=2)
        self.assertEqual(train_step_flops(1, tiny), 2952)
        self.assertEqual(train_step_flops(5, tiny), 5 * 2952)
        # conv (9 + 1) * 2 + BN 2 * 2 = 24; dense (18 + 1) * 3 = 57; (3 + 1) * 2 = 8.
        self.assertEqual(parameter_count(tiny), 89)

    def test_second_conv_counts_its_input_gradient(self):
        # Two blocks on 1x10x10: conv1 1->1 8x8 (576 MACs), pool 4x4; conv2 1->1 2x2 (36 MACs),
        # pool 1x1; dense 1->2 (2 MACs). 2 * (2*576 + 3*36 + 3*2) = 2532.
        two = Architecture(in_channels=1, height=10, width=10, conv_channels=(1, 1), dense_units=(), classes=2)
        self.assertEqual(train_step_flops(1, two), 2532)

    def test_seed_network(self):
        # Per sample MACs (conv: Cout*Ho*Wo*Cin*9): conv1 32*126*126*9 = 4 572 288 (x2),
        # conv2 64*61*61*32*9 = 68 585 472, conv3 128*28*28*64*9 = 57 802 752,
        # conv4 256*12*12*128*9 = 42 467 328, dense 9216*512 + 512*256 + 256*6 = 4 851 200 (x3).
        per_sample_macs = 2 * 4572288 + 3 * (68585472 + 57802752 + 42467328 + 4851200)
        self.assertEqual(train_step_flops(16), 2 * 16 * per_sample_macs)
        self.assertEqual(train_step_flops(16), 16968474624)
        # The parameter count PyTorch reports for the same layers (bench/RESULTS.md).
        self.assertEqual(parameter_count(), 5240774)

    def test_rejects_bad_input(self):
        with self.assertRaises(ValueError):
            train_step_flops(0)
        with self.assertRaises(ValueError):
            train_step_flops(1, Architecture(height=6, width=6, conv_channels=(4, 4)))


def run(*args):
    p = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def table_row(out, header_start, batch, math):
    """The cells of the row (batch, math) in the table whose header starts with header_start."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == str(batch) and cells[1] == math:
            return cells
    raise AssertionError(f"no row batch {batch}, {math} after {header_start!r} in:\n{out}")


SPEED = "| batch | math | ser samples/s"
FLOOR = "| batch | math | ser peak MiB"


class TrainTableTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.code, self.out = run("--ser", SER, "--torch", TORCH)

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        path = os.path.join(self.tmp.name, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_speed_row_uses_the_median_and_ratios(self):
        self.assertEqual(self.code, 0, self.out)
        # ser median 12 000 samples/s (the mean aggregate says 99 999); eager 3000, graphs 8000.
        row = table_row(self.out, SPEED, 16, "fp32")
        self.assertEqual(row[2:5], ["12000", "3000", "8000"])
        self.assertTrue(row[5].startswith("error"), row[5])  # torch.compile failed in the fixture
        self.assertEqual(row[6:10], ["4.00x", "1.50x", "0.833", "1.250"])
        self.assertEqual(table_row(self.out, SPEED, 64, "fp32")[2:8],
                         ["32000", "8000", "16000", "20000", "4.00x", "2.00x"])

    def test_graphs_off_case_is_reported_apart(self):
        # The fixture's graphs:off row (4000 samples/s) must not replace the graph figure.
        self.assertEqual(table_row(self.out, SPEED, 16, "fp32")[2], "12000")
        self.assertIn("ser without CUDA graphs (eager device steps), batch 16, fp32: 4,000 samples/s (3.00x", self.out)

    def test_floor_is_step_flops_over_sgemm_rate(self):
        # 16 968 474 624 FLOP / 50 TFLOP/s = 0.339 ms; ser 1.333 ms = 3.9x; graphs 2 ms = 5.9x.
        self.assertEqual(table_row(self.out, FLOOR, 16, "fp32")[2:10],
                         ["1024", "1536", "2048", "16.97", "50.0", "0.339", "1.333 (3.9)", "2.000 (5.9)"])
        # TF32 uses its own ceiling (400 TFLOP/s): 0.042 ms.
        self.assertEqual(table_row(self.out, FLOOR, 16, "tf32")[6:8], ["400.0", "0.042"])

    def test_failures_and_skips_are_footnoted(self):
        compile_cell = table_row(self.out, SPEED, 16, "fp32")[5]
        number = compile_cell.split()[-1]  # "(1)"
        self.assertIn(f"{number} torch compile batch 16, fp32: BackendCompilerFailed", self.out)
        ser_cell = table_row(self.out, SPEED, 256, "tf32")[2]
        self.assertTrue(ser_cell.startswith("error"), ser_cell)
        self.assertIn(f"{ser_cell.split()[-1]} ser batch 256, tf32: cudaErrorMemoryAllocation", self.out)
        graphs_cell = table_row(self.out, SPEED, 16, "tf32")[4]
        self.assertTrue(graphs_cell.startswith("skipped"), graphs_cell)
        self.assertEqual(table_row(self.out, SPEED, 16, "tf32")[7], "-")  # no ser/graphs ratio

    def test_step_flops_mismatch_is_reported(self):
        self.assertIn("step_flops counter 1e+09 differs from seed_flops.py", self.out)
        self.assertNotIn("batch 16, fp32: step_flops", self.out)

    def test_rows_from_either_file_and_ceilings_line(self):
        self.assertEqual(table_row(self.out, SPEED, 256, "fp32")[2:4], ["-", "10000"])  # torch only
        self.assertIn("SGEMM FP32 50.0 TFLOP/s, SGEMM TF32 400.0 TFLOP/s, D2D copy 3000 GB/s", self.out)
        self.assertIn("NVIDIA H100 80GB HBM3", self.out)

    def test_without_torch_file(self):
        code, out = run("--ser", SER)
        self.assertEqual(code, 0, out)
        self.assertEqual(table_row(out, SPEED, 16, "fp32")[2:7], ["12000", "-", "-", "-", "-"])

    def test_torch_run_on_cpu_is_flagged(self):
        self.assertNotIn("WARNING", self.out)
        with open(TORCH, encoding="utf-8") as f:
            doc = json.load(f)
        doc["environment"]["device"] = "cpu"
        code, out = run("--ser", SER, "--torch", self.write("cpu.json", json.dumps(doc)))
        self.assertEqual(code, 0, out)
        self.assertIn("WARNING: PyTorch ran on cpu", out)

    def test_unreadable_or_wrong_input_exits_2(self):
        code, out = run("--ser", self.write("bad.json", "{not json"))
        self.assertEqual(code, 2, out)
        self.assertIn("bad.json", out)
        no_train = self.write("empty.json", json.dumps({"context": {}, "benchmarks": []}))
        code, out = run("--ser", no_train)
        self.assertEqual(code, 2, out)
        self.assertIn("no BM_TrainStepGpu", out)
        code, out = run("--ser", SER, "--torch", self.write("t.json", json.dumps({"results": [{"mode": "eager"}]})))
        self.assertEqual(code, 2, out)
        self.assertIn("torch_train_step.py", out)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""PyTorch baseline of the GPU training benchmark (issue 5, "Speed and memory"): training
throughput of the seed network, to set beside ser_bench's BM_TrainStepGpu/batch:B/math:M.

Network: torch_cpu_step.seed_network() (the layers of engine/nn/architecture.cpp), input
x: (B, 1, 128, 128) NCHW float32, 6 classes; cross-entropy (mean); Adam(lr 1e-3, eps 1e-7).
Data: the whole set (default 10 000 random N(0, 1) images, i.e. already z-normalised, and
uniform labels in [0, 6)) resident on the device:
    data: (N, 1, 128, 128) float32, labels: (N,) int64.
Each step gathers its batch by index_select with a slice of a permutation that lives on the
device (torch.randperm on the device, redrawn when an epoch's full batches are used up; the
last partial batch of an epoch is dropped), then forward, loss, backward, Adam. Loss sum and
correct count are accumulated on the device and read once after timing, like ser's trainer:
no host synchronisation inside the timed loop.

Modes:
  eager    plain PyTorch (Adam's default implementation for the device: foreach on CUDA).
  graphs   the whole step (forward, loss, backward, Adam with capturable=True, the on-device
           loss/accuracy sums) captured once with torch.cuda.CUDAGraph and replayed; before
           each replay the batch is gathered by index_select(out=) into static buffers.
  compile  torch.compile(model + loss, mode="reduce-overhead") (Inductor kernels, forward and
           backward replayed as CUDA graphs); Adam runs eagerly (foreach). If compilation
           fails, the error string is recorded instead.
Math: fp32 = torch.backends.cuda.matmul.allow_tf32 = False, torch.backends.cudnn.allow_tf32 =
False, torch.set_float32_matmul_precision("highest"); tf32 = True, True, "high".
torch.backends.cudnn.benchmark = True (cuDNN picks algorithms by measurement, as ser does).

Timing: --warmup steps, then CUDA events around --steps consecutive steps; when those took
less than --min-time seconds the run is repeated with proportionally more steps.
Memory: torch.cuda.max_memory_allocated() after reset_peak_memory_stats(), i.e. the peak of
PyTorch's caching allocator's live allocations during setup, warm-up and timing, resident
dataset included (the CUDA context and library handles are not counted). Each run starts
after releasing the previous one (resident_before_bytes: what was allocated at its start).
--device cpu runs eager fp32 only (a smoke test; graphs, compile and tf32 are recorded as
skipped with their reason).

Run:  python3 bench/torch_train_step.py --out torch_train.json            (GPU, everything)
      /usr/bin/python3 bench/torch_train_step.py --device cpu --samples 64 --steps 3
"""

import argparse
import datetime
import gc
import json
import math
import os
import platform
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_cpu_step import seed_network  # noqa: E402  (the same layer list as the CPU comparison)

IMAGE_SHAPE = (1, 128, 128)
CLASSES = 6
MODES = ("eager", "graphs", "compile")
MATHS = ("fp32", "tf32")
MEMORY_NOTE = ("peak_allocated_bytes = torch.cuda.max_memory_allocated() after reset_peak_memory_stats(): "
               "the caching allocator's live allocations (resident dataset, model, Adam state, activations, "
               "cuDNN/cuBLAS workspaces requested through it, CUDA-graph pools); not the CUDA context or "
               "library handles. peak_reserved_bytes: the allocator's reserved segments.")


def set_math(math_mode):
    """Sets PyTorch's FP32/TF32 switches for matmul (cuBLAS) and convolution (cuDNN)."""
    tf32 = math_mode == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.set_float32_matmul_precision("high" if tf32 else "highest")


class BatchSampler:
    """Batch indices (B,) int64 on the device: consecutive slices of a device permutation of
    range(N), redrawn on the device when fewer than B unused indices remain."""

    def __init__(self, samples, batch, device):
        self.samples, self.batch, self.device = samples, batch, device
        self.perm = torch.randperm(samples, device=device)
        self.pos = 0

    def next(self):
        if self.pos + self.batch > self.samples:
            self.perm = torch.randperm(self.samples, device=self.device)
            self.pos = 0
        idx = self.perm[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return idx


class Sums:
    """Loss sum and correct count accumulated on the device; read once after timing."""

    def __init__(self, device):
        self.loss = torch.zeros((), device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)

    def add(self, loss, logits, y):
        self.loss.add_(loss.detach())
        self.correct.add_((logits.detach().argmax(dim=1) == y).sum())

    def zero(self):
        self.loss.zero_()
        self.correct.zero_()


class ModelWithLoss(torch.nn.Module):
    """forward(x (B,1,128,128), y (B,)) -> (mean cross-entropy (), logits (B, classes)):
    the unit torch.compile sees, so that the loss is compiled with the network."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x, y):
        logits = self.model(x)
        return F.cross_entropy(logits, y), logits


def eager_step_fn(model, opt, data, labels, sampler, sums):
    def step():
        idx = sampler.next()
        x, y = data.index_select(0, idx), labels.index_select(0, idx)  # (B,1,128,128), (B,)
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        opt.step()
        sums.add(loss, logits, y)
    return step


def graphs_step_fn(model, opt, data, labels, sampler, sums):
    """Captures forward, loss, backward, Adam and the sums as one CUDA graph (after three
    warm-up steps on a side stream, as torch.cuda.graphs requires); the returned step
    gathers the next batch into the static buffers and replays the graph."""
    batch = sampler.batch
    static_x = torch.empty((batch,) + IMAGE_SHAPE, device=data.device)  # (B, 1, 128, 128)
    static_y = torch.empty((batch,), dtype=torch.int64, device=data.device)  # (B,)

    def gather():
        idx = sampler.next()
        torch.index_select(data, 0, idx, out=static_x)
        torch.index_select(labels, 0, idx, out=static_y)

    def body():
        logits = model(static_x)
        loss = F.cross_entropy(logits, static_y)
        loss.backward()
        opt.step()
        sums.add(loss, logits, static_y)

    gather()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            body()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)  # backward inside the capture allocates the grads from the graph's pool
    with torch.cuda.graph(graph):
        body()

    def step():
        gather()
        graph.replay()
    step.graph = graph  # keeps the graph (and its memory pool) alive as long as the step
    return step


def compile_step_fn(model, opt, data, labels, sampler, sums):
    if not hasattr(torch, "compile"):
        raise RuntimeError(f"torch.compile needs PyTorch >= 2.0 (this is {torch.__version__})")
    compiled = torch.compile(ModelWithLoss(model), mode="reduce-overhead")
    mark_step = getattr(getattr(torch, "compiler", None), "cudagraph_mark_step_begin", None)

    def step():
        if mark_step is not None:
            mark_step()  # a new iteration: cudagraph trees may reuse the last step's outputs
        idx = sampler.next()
        x, y = data.index_select(0, idx), labels.index_select(0, idx)  # (B,1,128,128), (B,)
        opt.zero_grad(set_to_none=True)
        loss, logits = compiled(x, y)
        loss.backward()
        opt.step()
        sums.add(loss, logits, y)
    return step


STEP_BUILDERS = {"eager": eager_step_fn, "graphs": graphs_step_fn, "compile": compile_step_fn}


def timed_seconds(step, steps, device):
    """Seconds of `steps` consecutive steps: CUDA events on a GPU, perf_counter on the CPU."""
    if device.type == "cuda":
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(steps):
            step()
        stop.record()
        stop.synchronize()
        return start.elapsed_time(stop) * 1e-3
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - t0


def skip_reason(mode, math_mode, batch, args, device):
    if batch > args.samples:
        return f"batch {batch} is larger than the dataset ({args.samples} samples)"
    if device.type != "cuda":
        if mode == "graphs":
            return "CUDA graphs need a CUDA device"
        if mode == "compile":
            return "mode='reduce-overhead' replays CUDA graphs: needs a CUDA device"
        if math_mode == "tf32":
            return "TF32 is a CUDA tensor-core setting"
    return None


def release_previous_run():
    """Frees what an earlier run may still hold on the device: compiled code and the memory
    pools of torch.compile's CUDA graphs (torch._dynamo.reset), unreferenced tensors and graphs
    (gc), and the allocator's cached blocks, so that each run's peak starts from the dataset."""
    dynamo = getattr(torch, "_dynamo", None)
    if dynamo is not None:
        dynamo.reset()
    gc.collect()
    torch.cuda.empty_cache()


def measure(mode, batch, math_mode, data, labels, args, device):
    """One (mode, batch, math) run: a fresh model and optimiser, warm-up, timing, memory."""
    torch.manual_seed(args.seed)
    set_math(math_mode)
    resident_before = None
    if device.type == "cuda":
        release_previous_run()
        torch.cuda.reset_peak_memory_stats()
        resident_before = torch.cuda.memory_allocated()  # the dataset, unless a run leaked memory
    model = seed_network(CLASSES).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, capturable=(mode == "graphs"))
    sampler = BatchSampler(args.samples, batch, device)
    sums = Sums(device)
    step = STEP_BUILDERS[mode](model, opt, data, labels, sampler, sums)
    for _ in range(args.warmup):
        step()
    sums.zero()
    steps = args.steps
    seconds = timed_seconds(step, steps, device)
    if seconds < args.min_time:
        steps = max(steps + 1, math.ceil(steps * args.min_time / max(seconds, 1e-9) * 1.05))
        sums.zero()
        seconds = timed_seconds(step, steps, device)
    mean_loss = sums.loss.item() / steps
    accuracy = sums.correct.item() / (steps * batch)
    if not math.isfinite(mean_loss):
        raise RuntimeError(f"the mean training loss is {mean_loss} (not finite)")
    result = {
        "status": "ok",
        "steps_timed": steps,
        "seconds": seconds,
        "ms_per_step": seconds / steps * 1e3,
        "samples_per_s": steps * batch / seconds,
        "epoch10k_s": 10000 * seconds / (steps * batch),
        "mean_loss": mean_loss,
        "train_accuracy": accuracy,
    }
    if device.type == "cuda":
        result["resident_before_bytes"] = resident_before
        result["peak_allocated_bytes"] = torch.cuda.max_memory_allocated()
        result["peak_reserved_bytes"] = torch.cuda.max_memory_reserved()
    return result


def run_one(mode, batch, math_mode, data, labels, args, device):
    row = {"mode": mode, "batch": batch, "math": math_mode}
    reason = skip_reason(mode, math_mode, batch, args, device)
    if reason is not None:
        row.update(status="skipped", reason=reason)
        return row
    try:
        row.update(measure(mode, batch, math_mode, data, labels, args, device))
    except Exception as e:  # a failing mode (e.g. torch.compile) is recorded, the others still run
        message = f"{type(e).__name__}: {e}".strip().splitlines()
        row.update(status="error", error=" | ".join(message[:3])[:600])
    return row


def environment(args, device, dataset_bytes):
    env = {
        "script": "bench/torch_train_step.py",
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": device.type,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
        "samples": args.samples,
        "dataset_bytes": dataset_bytes,
        "warmup_steps": args.warmup,
        "min_time_s": args.min_time,
        "network": "seed: 4 x [conv3x3 valid, ReLU, BN, maxpool2], dense 512, 256, 6; input 1x128x128",
        "optimizer": ("Adam(lr=1e-3, eps=1e-7), PyTorch's default implementation for the device (foreach on "
                      "CUDA); graphs mode: capturable=True"),
        "timing": ("CUDA events around consecutive steps, no host sync inside" if device.type == "cuda"
                   else "time.perf_counter around consecutive steps"),
    }
    if device.type == "cuda":
        env["cuda_version"] = torch.version.cuda
        env["cudnn_version"] = torch.backends.cudnn.version()
        env["cudnn_benchmark"] = torch.backends.cudnn.benchmark
        env["memory_note"] = MEMORY_NOTE
    else:
        env["threads"] = torch.get_num_threads()
    return env


def print_table(doc):
    env = doc["environment"]
    print(f"torch {env['torch_version']} on {env['device']} ({env['device_name']}), {env['date']}, "
          f"{env['samples']} samples resident ({env['dataset_bytes'] / 2**20:.0f} MiB)")
    if env["device"] == "cuda":
        print(f"cudnn.benchmark = {env['cudnn_benchmark']}; memory: max_memory_allocated "
              "(caching allocator, dataset included)")
    print(f"{'mode':8s} {'batch':>5s} {'math':4s} {'samples/s':>10s} {'ms/step':>8s} {'epoch10k s':>10s} "
          f"{'peak MiB':>9s} {'loss':>6s}  status")
    for r in doc["results"]:
        if r["status"] != "ok":
            detail = r.get("reason") or r.get("error")
            print(f"{r['mode']:8s} {r['batch']:5d} {r['math']:4s} {'-':>10s} {'-':>8s} {'-':>10s} {'-':>9s} "
                  f"{'-':>6s}  {r['status']}: {detail}")
            continue
        peak = r.get("peak_allocated_bytes")
        peak_text = f"{peak / 2**20:.0f}" if peak is not None else "-"
        print(f"{r['mode']:8s} {r['batch']:5d} {r['math']:4s} {r['samples_per_s']:10.1f} {r['ms_per_step']:8.3f} "
              f"{r['epoch10k_s']:10.3f} {peak_text:>9s} {r['mean_loss']:6.3f}  ok ({r['steps_timed']} steps)")


def csv_list(text, allowed=None, cast=str):
    items = [cast(t) for t in text.split(",") if t]
    if allowed is not None:
        bad = [t for t in items if t not in allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"{bad} not in {list(allowed)}")
    return items


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--modes", type=lambda s: csv_list(s, MODES), default=list(MODES))
    p.add_argument("--batches", type=lambda s: csv_list(s, cast=int), default=[16, 64, 256])
    p.add_argument("--math", type=lambda s: csv_list(s, MATHS), default=list(MATHS))
    p.add_argument("--samples", type=int, default=10000, help="images resident on the device")
    p.add_argument("--warmup", type=int, default=20, help="untimed steps before timing")
    p.add_argument("--steps", type=int, default=200, help="timed steps (more when they take < --min-time)")
    p.add_argument("--min-time", type=float, default=1.0, help="seconds the timed steps must at least take")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="JSON file for the results (bench/train_table.py --torch reads it)")
    args = p.parse_args(argv)
    if args.samples < 1 or args.steps < 1 or args.warmup < 0 or min(args.batches) < 1:
        p.error("--samples, --steps and every batch must be >= 1, --warmup >= 0")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("torch_train_step.py: no CUDA device visible to PyTorch (use --device cpu for a smoke test)",
              file=sys.stderr)
        return 2
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    generator = torch.Generator().manual_seed(args.seed)
    data = torch.randn((args.samples,) + IMAGE_SHAPE, generator=generator).to(device)  # (N, 1, 128, 128)
    labels = torch.randint(0, CLASSES, (args.samples,), generator=generator).to(device)  # (N,)
    dataset_bytes = data.element_size() * data.nelement() + labels.element_size() * labels.nelement()
    results = [run_one(mode, batch, math_mode, data, labels, args, device)
               for math_mode in args.math for batch in args.batches for mode in args.modes]
    doc = {"environment": environment(args, device, dataset_bytes), "results": results}
    print_table(doc)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""PyTorch 2.x on the CPU beside ser_bench's BM_<recipe>_train_step_cpu and BM_<recipe>_epoch_cpu
(bench/bench_train_cpu.cpp): the same network, recipe, batch and data sizes, one line each.

Recipes (engine/train/recipe.cpp), 6 classes, float32, NCHW:
  general  4 x [Conv3x3 valid + ReLU -> BatchNorm(eps 1e-3, momentum 0.1 = Keras 0.9) -> MaxPool 2x2],
           global average pool, Dense 6; AdamW(lr 2e-3, weight decay 1e-2, eps 1e-7) with a
           one-cycle schedule (60 epochs, warm-up 0.3); cross-entropy with label smoothing 0.1;
           each training image (1, 128, 256) cut to a random 128-column window, then 2 time and
           2 frequency masks of width uniform in [0, 16] (zero fill) and a circular time shift
           in [-16, 16]; balanced sampling (one corpus: a class uniformly, then an image of it,
           704 draws); batch 32 (22 steps). Validation: the mean logits of the windows at
           columns 0, 64 and 128.
  seed     torch_cpu_step.seed_network() (flatten head, Dense 512/256 with dropout 0.5),
           Adam(lr 1e-3, eps 1e-7), plain cross-entropy, 128x128 images, a permutation per
           epoch, batch 16 (44 steps).
Data: synthetic, as engine/train/synthetic.h: 704 training and 88 validation images uniform
in [-sqrt 3, sqrt 3) (mean 0, std 1), labels in RAVDESS's per-actor mix (44 clips: 4 neutral,
8 of each other class).

step: median wall time of --steps steps on one fixed batch (masks applied each step, like
ser's step case) after --warmup steps. epoch: the training loop alone (order, crops, masks,
gather, every step), median of --epochs timed epochs after one warm-up epoch; val: the
evaluation pass, timed apart. --compile: the same with torch.compile(model) (Inductor; its
compilation happens in the warm-up and is not timed).

Run (a venv from PyPI, see bench/README.md):
  /work/torch-venv/bin/python bench/torch_compare.py --threads 2 [--recipe general|seed|both] [--compile]
Prints, per recipe and mode:
  torch 2.15.0 eager general: step 250.1 ms, epoch 5.61 s (22 steps, 255.0 ms/step), val 0.41 s, threads 2
"""

import argparse
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from epoch_lines import result_line  # noqa: E402  (the line format shared with ser's)
from torch_cpu_step import seed_network  # noqa: E402  (the seed's layer list)

CLASSES = 6
TRAIN_IMAGES, VAL_IMAGES = 704, 88
HEIGHT, WINDOW = 128, 128


class Recipe:
    """What one recipe needs here: the network builder, optimiser, loss and data sizes."""

    def __init__(self, name, batch, stored_width, masks, label_smoothing, balanced):
        self.name, self.batch, self.stored_width = name, batch, stored_width
        self.masks, self.label_smoothing, self.balanced = masks, label_smoothing, balanced

    def steps(self, images=TRAIN_IMAGES):
        return (images + self.batch - 1) // self.batch


RECIPES = {
    "general": Recipe("general", 32, 256, masks=True, label_smoothing=0.1, balanced=True),
    "seed": Recipe("seed", 16, 128, masks=False, label_smoothing=0.0, balanced=False),
}


def general_network(classes=CLASSES):
    layers, cin = [], 1
    for cout in (32, 64, 128, 256):
        layers += [nn.Conv2d(cin, cout, 3), nn.ReLU(), nn.BatchNorm2d(cout, eps=1e-3, momentum=0.1),
                   nn.MaxPool2d(2)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def make_model(recipe):
    return (general_network() if recipe.name == "general" else seed_network(CLASSES)).train()


def make_optimizer(recipe, model):
    """AdamW one-cycle for general (schedule over 60 epochs), Adam for seed; (optimizer, scheduler)."""
    if recipe.name != "general":
        return torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7), None
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2, eps=1e-7)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=recipe.steps() * 60, pct_start=0.3,
                                                cycle_momentum=False)  # ser cycles the rate only
    return opt, sched


def ravdess_like_labels(count, classes=CLASSES):
    """(count,) int64: per 4 + 8 (classes - 1) rows, 4 of class 0 then 8 of each other class."""
    per_actor = 4 + 8 * (classes - 1)
    k = torch.arange(count) % per_actor
    return torch.where(k < 4, torch.zeros_like(k), 1 + (k - 4) // 8)


def synthetic_images(count, width, seed):
    """(count, 1, 128, width) float32 uniform in [-sqrt 3, sqrt 3)."""
    g = torch.Generator().manual_seed(seed)
    a = math.sqrt(3.0)
    return torch.rand(count, 1, HEIGHT, width, generator=g) * (2 * a) - a


def epoch_order(recipe, labels):
    """The rows of one epoch: balanced draws with replacement, or a permutation."""
    n = labels.numel()
    if not recipe.balanced:
        return torch.randperm(n)
    classes = torch.randint(CLASSES, (n,))
    order = torch.empty(n, dtype=torch.int64)
    for c in range(CLASSES):
        rows = (labels == c).nonzero().flatten()
        pick = classes == c
        order[pick] = rows[torch.randint(rows.numel(), (int(pick.sum()),))]
    return order


def random_crops(x, window=WINDOW):
    """(N, 1, H, W) -> (N, 1, H, window): one random column offset per image."""
    n, width = x.shape[0], x.shape[3]
    if width == window:
        return x
    offsets = torch.randint(width - window + 1, (n,))
    cols = offsets[:, None] + torch.arange(window)[None, :]
    return x.gather(3, cols[:, None, None, :].expand(n, 1, x.shape[2], window))


def band_mask(n, size, masks, widest):
    """(n, size) bool: `masks` bands of width uniform in [0, widest] at uniform starts."""
    pos = torch.arange(size)[None, :]
    out = torch.zeros(n, size, dtype=torch.bool)
    for _ in range(masks):
        width = torch.randint(widest + 1, (n, 1))
        start = (torch.rand(n, 1) * (size - width + 1)).long()
        out |= (pos >= start) & (pos < start + width)
    return out


def augment(x, masks=2, widest=16, shift=16):
    """Circular time shift in [-shift, shift], then time and frequency masks (zero fill)."""
    n, _, h, w = x.shape
    s = torch.randint(-shift, shift + 1, (n, 1))
    cols = (torch.arange(w)[None, :] - s) % w
    x = x.gather(3, cols[:, None, None, :].expand(n, 1, h, w))
    keep = ~(band_mask(n, w, masks, widest)[:, None, None, :] | band_mask(n, h, masks, widest)[:, None, :, None])
    return x * keep


class Runner:
    """One recipe's model (eager or compiled), optimiser and loss; step(x, y) -> loss tensor."""

    def __init__(self, recipe, compiled):
        torch.manual_seed(0)
        self.recipe = recipe
        self.model = make_model(recipe)
        self.opt, self.sched = make_optimizer(recipe, self.model)
        self.forward = torch.compile(self.model) if compiled else self.model

    def step(self, x, y):
        if self.recipe.masks:
            x = augment(x)
        self.opt.zero_grad(set_to_none=False)
        logits = self.forward(x)
        loss = F.cross_entropy(logits, y, label_smoothing=self.recipe.label_smoothing)
        loss.backward()
        self.opt.step()
        if self.sched is not None:
            self.sched.step()
        return loss


def median_step_seconds(runner, warmup, steps):
    x = synthetic_images(runner.recipe.batch, WINDOW, 1)
    y = ravdess_like_labels(runner.recipe.batch)
    for _ in range(warmup):
        runner.step(x, y).item()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        runner.step(x, y).item()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def train_epoch_seconds(runner, images, labels):
    t0 = time.perf_counter()
    order = epoch_order(runner.recipe, labels)
    b = runner.recipe.batch
    for begin in range(0, order.numel(), b):
        rows = order[begin:begin + b]
        x = random_crops(images.index_select(0, rows))
        runner.step(x, labels.index_select(0, rows)).item()
    return time.perf_counter() - t0


def validation_seconds(runner, images, batch=64):
    """Eval-mode pass; images wider than the window: mean logits of windows at 0, W/2, ..."""
    t0 = time.perf_counter()
    runner.model.eval()
    offsets = list(range(0, images.shape[3] - WINDOW + 1, WINDOW // 2))
    with torch.no_grad():
        for begin in range(0, images.shape[0], batch):
            x = images[begin:begin + batch]
            logits = sum(runner.forward(x[..., o:o + WINDOW].contiguous()) for o in offsets) / len(offsets)
            logits.argmax(dim=1)
    runner.model.train()
    return time.perf_counter() - t0


def measure(recipe, compiled, args):
    """{'step': s, 'epoch': s, 'val': s} of one recipe and mode."""
    runner = Runner(recipe, compiled)
    step = median_step_seconds(runner, args.warmup, args.steps)
    runner = Runner(recipe, compiled)  # a fresh optimiser: the epochs start at schedule step 0
    train = synthetic_images(args.train_images, recipe.stored_width, 2)
    val = synthetic_images(args.val_images, recipe.stored_width, 3)
    labels = ravdess_like_labels(args.train_images)
    train_epoch_seconds(runner, train, labels)  # warm-up (and, compiled, the compilation)
    validation_seconds(runner, val)
    epochs, vals = [], []
    for _ in range(args.epochs):
        epochs.append(train_epoch_seconds(runner, train, labels))
        vals.append(validation_seconds(runner, val))
    return {"step": step, "epoch": statistics.median(epochs), "val": statistics.median(vals)}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--recipe", choices=("general", "seed", "both"), default="both")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--compile", action="store_true", help="also torch.compile(model)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up epoch)")
    p.add_argument("--train-images", type=int, default=TRAIN_IMAGES)
    p.add_argument("--val-images", type=int, default=VAL_IMAGES)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    names = ("general", "seed") if args.recipe == "both" else (args.recipe,)
    modes = (False, True) if args.compile else (False,)
    for name in names:
        recipe = RECIPES[name]
        for compiled in modes:
            r = measure(recipe, compiled, args)
            engine = f"torch {torch.__version__.split('+')[0]} {'compile' if compiled else 'eager'}"
            print(result_line(engine, name, r, recipe.steps(args.train_images), torch.get_num_threads()), flush=True)


if __name__ == "__main__":
    main()

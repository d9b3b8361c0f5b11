#!/usr/bin/python3
"""PyTorch CPU time of one training step of the seed network, for comparison with
BM_seed_train_step_cpu (bench/bench_train_cpu.cpp): batch 16 x 1 x 128 x 128, 6 classes,
4 x [Conv3x3 valid + ReLU -> BatchNorm(eps 1e-3, momentum 0.01 in PyTorch terms) -> MaxPool 2x2],
Flatten, Dense 512 ReLU, Dropout .5, Dense 256 ReLU, Dropout .5, Dense 6; softmax cross-entropy
(mean); Adam (lr 1e-3, eps 1e-7). float32, eager mode, default threads (= cores).

Run: /usr/bin/python3 bench/torch_cpu_step.py [--threads N] [--steps S]
(Debian's PyTorch 1.13 was its baseline, now retired: bench/torch_compare.py runs both recipes'
step and epoch in PyTorch 2.x from PyPI, see bench/README.md.)
"""
import argparse
import statistics
import time

import torch
from torch import nn


def seed_network(classes=6):
    layers, cin = [], 1
    for cout in (32, 64, 128, 256):
        layers += [nn.Conv2d(cin, cout, 3), nn.ReLU(), nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01),
                   nn.MaxPool2d(2)]
        cin = cout
    layers += [nn.Flatten(), nn.Linear(256 * 6 * 6, 512), nn.ReLU(), nn.Dropout(0.5),
               nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, classes)]
    return nn.Sequential(*layers)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: default)")
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = seed_network().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(16, 1, 128, 128)
    y = torch.arange(16) % 6

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(5):  # warm-up
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    params = sum(p.numel() for p in model.parameters())
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, parameters {params}")
    print(f"seed train step (batch 16): median {statistics.median(times) * 1e3:.1f} ms, "
          f"mean {statistics.mean(times) * 1e3:.1f} ms, min {min(times) * 1e3:.1f} ms over {args.steps} steps")


if __name__ == "__main__":
    main()

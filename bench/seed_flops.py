#!/usr/bin/env python3
"""Analytic arithmetic of one training step of the seed network (or any Architecture of
engine/nn/architecture.h), for the "floor" of the GPU training benchmark:

    floor time of a step = train_step_flops(B) / measured SGEMM FLOP/s of that math mode.

Layers walked as in architecture.h: per entry of conv_channels a block
    Conv2d 3x3 valid (+bias) -> ReLU -> BatchNorm2d -> MaxPool 2x2 (floor),
Flatten (C, H, W), per entry of dense_units a Dense -> ReLU -> Dropout, and a Dense with
`classes` outputs. Input x: (B, in_channels, height, width), NCHW.

Counted: multiply-accumulates (MACs) of the convolutions and dense layers only, 2 FLOPs per
MAC; every elementwise op, BN, pooling, the loss and Adam are ignored (they are
memory-bound, so the floor is a lower bound of the compute time only). A training step does
per layer the forward pass, the weight gradient (backward-filter) and the input gradient
(backward-data), each with the forward's MAC count, except that the first convolution needs
no input gradient (nothing before it learns).

Python 3 standard library only (CI imports it without PyTorch).
"""

from dataclasses import dataclass
from typing import List, Tuple


@dataclass(frozen=True)
class Architecture:
    """Mirror of ser::nn::Architecture (engine/nn/architecture.h); defaults = the seed network."""
    in_channels: int = 1
    height: int = 128
    width: int = 128
    conv_channels: Tuple[int, ...] = (32, 64, 128, 256)
    dense_units: Tuple[int, ...] = (512, 256)
    classes: int = 6


@dataclass
class Layer:
    """One weighted layer: its name, MACs of its forward pass per sample, parameter count,
    and whether the training step computes its input gradient."""
    name: str
    macs_per_sample: int
    parameters: int
    needs_input_grad: bool


def weighted_layers(arch: Architecture = Architecture()) -> List[Layer]:
    """The conv and dense layers of `arch` with their per-sample forward MACs and parameters
    (BatchNorm's gamma and beta are added to the conv layer they follow)."""
    layers = []
    c, h, w = arch.in_channels, arch.height, arch.width
    for i, cout in enumerate(arch.conv_channels):
        ho, wo = h - 2, w - 2  # 3x3 valid convolution
        if ho < 2 or wo < 2:
            raise ValueError(f"seed_flops: input {arch.height}x{arch.width} is too small for block {i + 1} "
                             f"({ho}x{wo} after its convolution)")
        macs = cout * ho * wo * c * 9
        params = cout * (c * 9 + 1) + 2 * cout  # OIHW weight + bias, BN gamma + beta
        layers.append(Layer(f"conv{i + 1} {c}->{cout} {h}x{w}", macs, params, needs_input_grad=(i > 0)))
        c, h, w = cout, ho // 2, wo // 2  # 2x2 max pooling, floor
    features = c * h * w
    for j, units in enumerate(list(arch.dense_units) + [arch.classes]):
        layers.append(Layer(f"dense{j + 1} {features}->{units}", features * units, units * (features + 1),
                            needs_input_grad=True))
        features = units
    return layers


def train_step_flops(batch: int, arch: Architecture = Architecture()) -> int:
    """FLOPs (2 per MAC) of forward + backward-filter + backward-data of every conv and dense
    layer at batch size `batch`; no backward-data for the first convolution."""
    if batch < 1:
        raise ValueError(f"seed_flops: batch must be >= 1, got {batch}")
    total_macs = 0
    for layer in weighted_layers(arch):
        passes = 3 if layer.needs_input_grad else 2
        total_macs += passes * layer.macs_per_sample
    return 2 * batch * total_macs


def parameter_count(arch: Architecture = Architecture()) -> int:
    """Trainable parameters (conv and dense weights and biases, BN gamma and beta)."""
    return sum(layer.parameters for layer in weighted_layers(arch))


if __name__ == "__main__":
    for layer in weighted_layers():
        print(f"{layer.name:28s} {layer.macs_per_sample / 1e6:10.2f} MMAC/sample  {layer.parameters:9d} params")
    print(f"parameters: {parameter_count()}")
    for b in (16, 64, 256):
        print(f"batch {b:3d}: {train_step_flops(b) / 1e9:.2f} GFLOP per training step")

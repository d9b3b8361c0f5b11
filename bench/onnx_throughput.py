"""Throughput of the exported ONNX graph under onnxruntime (CPU execution provider, --threads
intra-op threads) against Model.forward_images of the engine, on the same batch of images:
windows of ser.logmel images of real recordings (--data, a folder of audio files) or, without
one, of generated noise. Prints the median of --repeats timed runs after one warm-up each, in
images per second, and the largest probability difference. bench/RESULTS.md has the figures.

    PYTHONPATH=build-cpu/python:python .venv/bin/python bench/onnx_throughput.py \
        --data ../shared/data/ravdess-dev/Actor_01 --batch 64 --threads 2
The engine's threads: SER_CPU_THREADS and OPENBLAS_NUM_THREADS (default: every core).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

import ser


def images_of(model, data, count):
    w = model.architecture["width"]
    out = []
    files = sorted(p for p in Path(data).rglob("*") if p.suffix.lower() in (".wav", ".flac")) if data else []
    rng = np.random.default_rng(1)
    while len(out) < count:
        y = ser.load_audio(files[len(out) % len(files)]) if files else rng.standard_normal(40000).astype(np.float32)
        image = ser.logmel(y, 16000, model.features)
        out += [image[None, :, o:o + w] for o in range(0, image.shape[1] - w + 1, max(1, w // 2))]
    return np.stack(out[:count]).astype(np.float32)


def timed(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model")
    p.add_argument("--data")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    model = ser.load_model(a.model)
    images = images_of(model, a.data, a.batch)
    with tempfile.TemporaryDirectory() as tmp:
        path = ser.export_onnx(model, os.path.join(tmp, "m.onnx"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = a.threads
        options.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        run_ort = lambda: sess.run(["probabilities"], {"image": images})[0]  # noqa: E731
        run_ser = lambda: model.forward_images(images)  # noqa: E731
        diff = np.abs(run_ort() - run_ser()).max()
        t_ort, t_ser = timed(run_ort, a.repeats), timed(run_ser, a.repeats)
    print(f"model {model.path}; batch {a.batch} x {images.shape[1:]}; onnxruntime {ort.__version__} "
          f"({a.threads} threads); load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print(f"onnxruntime: {a.batch / t_ort:8.1f} images/s ({t_ort * 1e3:.1f} ms / batch, median of {a.repeats})")
    print(f"ser engine:  {a.batch / t_ser:8.1f} images/s ({t_ser * 1e3:.1f} ms / batch, median of {a.repeats})")
    print(f"max |p_onnxruntime - p_engine| = {diff:.3g}")


if __name__ == "__main__":
    main()

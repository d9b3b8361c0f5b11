"""Files per second of `ser predict --json` (one process, every core) against
ser.dask.predict_files on a LocalCluster of --workers single-thread worker processes
(SER_CPU_THREADS=1 each), on the same files and the same machine. The files: the audio
files of --data (a folder, walked as ser predict walks it) or, without one, --count
generated clips of --seconds s (16 kHz mono WAV: harmonics with a wandering pitch, noise).
Timed: the command line from start to exit (model load included); the Dask job from the
call to the last row on the client, after the cluster started and a warm-up job loaded the
model on every worker. Prints one line with both rates; details go to stderr.

    PYTHONPATH=build-cpu/python:python SER_CLI=build-cpu/apps/ser .venv/bin/python \\
        bench/dask_throughput.py --data ../shared/data/ravdess-dev/Actor_01
"""

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
from distributed import Client, LocalCluster

import ser
import ser.dask


def write_clips(folder, count, seconds, rate=16000):
    """`count` deterministic speech-like clips: 16-bit mono WAV at `rate`."""
    rng = np.random.default_rng(22)
    t = np.arange(int(seconds * rate)) / rate
    paths = []
    for i in range(count):
        f0 = 120 + 80 * rng.random() + 30 * np.sin(2 * np.pi * (0.5 + rng.random()) * t)
        phase = 2 * np.pi * np.cumsum(f0) / rate
        y = sum(np.sin(k * phase) / k for k in range(1, 8)) * np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None)
        y = 0.3 * y / np.abs(y).max() + 0.003 * rng.standard_normal(len(t))
        path = Path(folder) / f"clip_{i:05d}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(np.round(y * 32767).astype("<i2").tobytes())
        paths.append(str(path))
    return paths


def find_cli(given):
    for candidate in (given, os.environ.get("SER_CLI"), "build-cpu/apps/ser", "build/apps/ser"):
        if candidate and Path(candidate).is_file():
            return candidate
    sys.exit("dask_throughput: no `ser` binary: pass --cli or set SER_CLI")


def time_cli(cli, model, files, folder):
    """Seconds of one `ser predict --json --files-from LIST` run, and its labels by file."""
    listing = Path(folder) / "files.txt"
    listing.write_text("".join(f + "\n" for f in files))
    start = time.perf_counter()
    done = subprocess.run([cli, "predict", "--model", model, "--json", "--files-from", str(listing)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"dask_throughput: ser predict exited {done.returncode}: {done.stderr}")
    rows = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return seconds, {r["file"]: r.get("emotion", r.get("error")) for r in rows}


def time_dask(client, model, files, partition_size):
    """Seconds of predict_files(...).compute() on the cluster, and its labels by file."""
    ser.dask.predict_files(files[:2], client=client, model=model, partition_size=1).compute()  # warm-up
    start = time.perf_counter()
    rows = ser.dask.predict_files(files, client=client, model=model, partition_size=partition_size).compute()
    seconds = time.perf_counter() - start
    labels = rows.label.where(rows.error.isna(), rows.error)
    return seconds, dict(zip(rows.path, labels))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model file (default: ser.default_model_path())")
    p.add_argument("--data", help="a folder of audio files (default: generated clips)")
    p.add_argument("--count", type=int, default=200, help="generated clips (without --data)")
    p.add_argument("--seconds", type=float, default=3.0, help="length of a generated clip")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--partition-size", type=int, default=16)
    p.add_argument("--cli", help="the ser binary (default: $SER_CLI, build-cpu/apps/ser)")
    a = p.parse_args()
    cli, model = find_cli(a.cli), a.model or ser.default_model_path()
    with tempfile.TemporaryDirectory() as tmp:
        files = ser.dask._expand([a.data]) if a.data else write_clips(tmp, a.count, a.seconds)
        t_cli, cli_labels = time_cli(cli, model, files, tmp)
        cluster = LocalCluster(n_workers=a.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               env={"SER_CPU_THREADS": "1"}, silence_logs=logging.ERROR)
        with cluster, Client(cluster) as client:
            t_dask, dask_labels = time_dask(client, model, files, a.partition_size)
    agree = "same labels" if cli_labels == dask_labels else "LABELS DIFFER"
    print(f"model {model}; cli {cli}", file=sys.stderr)
    print(f"{len(files)} files: ser predict {len(files) / t_cli:.1f} files/s ({t_cli:.2f} s); ser.dask "
          f"{a.workers} workers x 1 thread, partitions of {a.partition_size}: {len(files) / t_dask:.1f} files/s "
          f"({t_dask:.2f} s); {agree}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

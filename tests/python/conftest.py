"""Fixtures of the Python package's tests (tests/python, run by ctest's `python` entry):
the shipped model, the `ser` command line of the same build, generated WAV files and, when
present, real speech from ../shared/data.

The generated speech-like signal (deterministic): a glottal pulse train with a wandering
pitch through three formant resonances, cut into syllables, as 16-bit stereo WAV at
22050 Hz, so that every comparison goes through channel mixing and resampling. Two files:
`clip` (2.5 s: one image for the shipped model) and `long` (14 s with 2 s of digital silence
in the middle: a timeline with silent windows).

Environment: SER_CLI (the `ser` binary; ctest sets it), else SER_BUILD_DIR/apps/ser, else
build-cpu/ or build/ of the source tree; SER_SHARED_DATA (default <source>/../shared/data).
"""

import json
import os
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

SOURCE = Path(__file__).resolve().parents[2]
MODEL = SOURCE / "models" / "default.safetensors"
RATE = 22050


def speech_like(seconds, rng, silence=None):
    """(frames, 2) int16 of a synthetic voiced signal; `silence` = (start, end) s of zeros."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    f0 = 170 + 40 * np.sin(2 * np.pi * 0.7 * t) + 15 * rng.standard_normal(n).cumsum() / np.sqrt(n)
    phase = np.cumsum(f0 / RATE)
    source = (np.diff(np.floor(phase), prepend=0.0) > 0).astype(np.float64)  # one pulse a period
    spectrum = np.fft.rfft(source)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    formants = sum(np.exp(-0.5 * ((freqs - f) / bw) ** 2) for f, bw in ((700, 130), (1200, 150), (2600, 250)))
    voiced = np.fft.irfft(spectrum * formants, n)
    syllables = np.clip(np.sin(2 * np.pi * 2.2 * t), 0, None) ** 0.5
    y = voiced * syllables + 0.003 * rng.standard_normal(n)
    if silence is not None:
        y[int(silence[0] * RATE):int(silence[1] * RATE)] = 0
    y = 0.5 * y / np.abs(y).max()
    right = 0.8 * y + 0.002 * rng.standard_normal(n)
    if silence is not None:
        right[int(silence[0] * RATE):int(silence[1] * RATE)] = 0
    return np.round(np.stack([y, right], axis=1) * 32767).astype(np.int16)


def write_wav(path, frames):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames.tobytes())


def read_wav(path):
    """(frames, channels) int16 and the rate, with Python's wave module."""
    with wave.open(str(path), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data.reshape(-1, w.getnchannels()), w.getframerate()


@pytest.fixture(scope="session")
def wavs(tmp_path_factory):
    """{"clip": path, "long": path} of the generated WAV files."""
    folder = tmp_path_factory.mktemp("wav")
    rng = np.random.default_rng(22)
    out = {"clip": folder / "clip.wav", "long": folder / "long.wav"}
    write_wav(out["clip"], speech_like(2.5, rng))
    write_wav(out["long"], speech_like(14.0, rng, silence=(6.0, 8.0)))
    return out


def find_cli():
    candidates = []
    if os.environ.get("SER_CLI"):
        candidates.append(Path(os.environ["SER_CLI"]))
    if os.environ.get("SER_BUILD_DIR"):
        candidates.append(Path(os.environ["SER_BUILD_DIR"]) / "apps" / "ser")
    candidates += [SOURCE / "build-cpu" / "apps" / "ser", SOURCE / "build" / "apps" / "ser"]
    return next((c for c in candidates if c.is_file()), None)


@pytest.fixture(scope="session")
def cli():
    """A function running `ser ARGS...` and returning its stdout (it must exit 0)."""
    binary = find_cli()
    if binary is None:
        pytest.skip("no `ser` binary to compare with (set SER_CLI or build build-cpu/)")

    def run(*args):
        done = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
        assert done.returncode == 0, f"ser {' '.join(map(str, args))} exited {done.returncode}: {done.stderr}"
        return done.stdout

    return run


@pytest.fixture(scope="session")
def cli_predict(cli):
    """`ser predict --json` of files with the shipped model: one dict per file, in order."""
    def run(*files):
        out = cli("predict", "--model", MODEL, "--json", *files)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    return run


@pytest.fixture(scope="session")
def cli_features(cli, tmp_path_factory):
    """`ser features --frontend NAME` of files: its images.npy, (N, H, W), in file order."""
    def run(files, frontend):
        folder = tmp_path_factory.mktemp("features")
        labels = folder / "labels.csv"
        labels.write_text("".join(f"{Path(f).resolve()},happy\n" for f in files))
        cli("features", "--labels", labels, "--classes", "6", "--out", folder / "out", "--frontend", frontend,
            "--cache", "none", "--quiet")
        return np.load(folder / "out" / "images.npy")

    return run


def shared_data():
    env = os.environ.get("SER_SHARED_DATA")
    return Path(env) if env else (SOURCE / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def real_files():
    """Three real recordings: two RAVDESS actors' and one TESS speaker's (skips without them)."""
    root = shared_data()
    picks = [root / "ravdess-dev" / "Actor_01" / "03-01-05-01-01-01-01.flac",
             root / "ravdess-dev" / "Actor_18" / "03-01-03-02-02-01-18.flac",
             root / "tess" / "OAF_angry" / "OAF_bar_angry.flac"]
    missing = [p for p in picks if not p.is_file()]
    if missing:
        pytest.skip(f"real speech absent ({missing[0]}; set SER_SHARED_DATA): real-file comparisons skipped")
    return picks

"""The package against the command line of the same build: model.predict on arrays and
model.predict_files on files give what `ser predict --json` gives for the same samples, and
ser.logmel the images `ser features` writes, on the generated WAV files and on three real
recordings. The command line prints 4 decimals; the package keeps every digit, so its values
rounded as the command line rounds (half away from zero) must match within 1e-6, and the
in-memory and file paths of the package must agree within 1e-6 at full precision."""

import math

import numpy as np
import pytest

import ser
from conftest import MODEL, read_wav


@pytest.fixture(scope="session")
def model():
    return ser.load_model(MODEL)


def cli_rounded(v):
    return math.copysign(math.floor(abs(v) * 1e4 + 0.5), v) / 1e4


def assert_same(py, cli, where="result", tol=1e-6, rounded=True):
    """py (every digit) against cli (4 decimals when rounded) key by key, recursively."""
    if isinstance(cli, dict):
        assert isinstance(py, dict), where
        assert set(py) == set(cli), f"{where}: keys {sorted(py)} != {sorted(cli)}"
        for k in cli:
            assert_same(py[k], cli[k], f"{where}.{k}", tol, rounded)
    elif isinstance(cli, list):
        assert isinstance(py, list) and len(py) == len(cli), f"{where}: {len(py)} != {len(cli)} items"
        for i, (a, b) in enumerate(zip(py, cli)):
            assert_same(a, b, f"{where}[{i}]", tol, rounded)
    elif isinstance(cli, bool) or isinstance(cli, str):
        assert py == cli, f"{where}: {py!r} != {cli!r}"
    elif isinstance(cli, (int, float)):
        value = cli_rounded(py) if rounded else py
        assert abs(value - cli) <= tol, f"{where}: {py} ({value}) != {cli}"
    else:
        assert py == cli, where


def without_label(r):
    assert r["label"] == r["emotion"]
    return {k: v for k, v in r.items() if k != "label"}


def test_generated_wavs_as_arrays_match_the_cli(model, wavs, cli_predict):
    cli = cli_predict(wavs["clip"], wavs["long"])
    assert cli[0]["whole"] is True and cli[1]["whole"] is False
    assert any(w["silent"] for w in cli[1]["windows"]), "the long file's gap should be a silent window"
    for name, expected in zip(("clip", "long"), cli):
        frames, rate = read_wav(wavs[name])
        got = model.predict(frames, rate)
        assert_same(without_label(got), {k: v for k, v in expected.items() if k != "file"}, name)
        # The same samples as float32 and float64 (code / 32768) give the same result.
        for dtype in (np.float32, np.float64):
            again = model.predict((frames / 32768.0).astype(dtype), rate)
            assert_same(again, got, f"{name} as {dtype.__name__}", rounded=False, tol=0)


def test_generated_wavs_as_files_match_the_cli_and_the_arrays(model, wavs, cli_predict):
    files = [wavs["clip"], wavs["long"]]
    cli = cli_predict(*files)
    got = list(model.predict_files([str(f) for f in files], batch=4))
    assert [r["file"] for r in got] == [str(f) for f in files]
    for r, expected, f in zip(got, cli, files):
        assert_same(without_label(r), expected, f.name)
        frames, rate = read_wav(f)
        in_memory = model.predict(frames, rate)
        assert_same({k: v for k, v in r.items() if k != "file"}, in_memory, f"{f.name} file vs array",
                    rounded=False)


def test_logmel_matches_ser_features_exactly(wavs, cli_features):
    files = [wavs["clip"], wavs["long"]]
    for frontend in ("fixed", "resize"):
        images = cli_features(files, frontend)
        for i, f in enumerate(files):
            frames, rate = read_wav(f)
            image = ser.logmel(frames, rate, frontend)
            assert image.dtype == np.float32 and image.shape == images[i].shape
            assert np.array_equal(image, images[i]), f"{f.name} {frontend}: max diff {np.abs(image - images[i]).max()}"


def test_load_audio_decodes_as_the_front_end(wavs):
    frames, rate = read_wav(wavs["clip"])
    native = ser.load_audio(wavs["clip"], rate)
    code = frames.astype(np.float32) / np.float32(32768)
    assert native.dtype == np.float32 and native.shape == (len(frames),)
    assert np.array_equal(native, (code[:, 0] + code[:, 1]) / np.float32(2))
    at_16k = ser.load_audio(wavs["clip"])
    assert at_16k.shape == (math.ceil(len(frames) * 16000 / rate),)
    assert np.array_equal(ser.logmel(at_16k, 16000), ser.logmel(frames, rate))
    assert ser.audio_info(wavs["clip"]) == {"sample_rate": rate, "channels": 2, "frames": len(frames),
                                            "seconds": len(frames) / rate}


def test_real_files_match_the_cli(model, real_files, cli_predict, cli_features):
    cli = cli_predict(*real_files)
    got = list(model.predict_files(real_files))
    images = cli_features(real_files, "fixed")
    for r, expected, f, image in zip(got, cli, real_files, images):
        assert_same(without_label(r), expected, f.name)
        rate = ser.audio_info(f)["sample_rate"]
        samples = ser.load_audio(f, rate)
        assert_same({k: v for k, v in model.predict(samples, rate).items() if k != "file"},
                    {k: v for k, v in r.items() if k != "file"}, f"{f.name} array vs file", rounded=False)
        assert np.array_equal(ser.logmel(samples, rate, "fixed"), image), f.name


def test_predict_files_walks_folders_and_streams_in_batches(model, wavs):
    folder = wavs["clip"].parent
    results = model.predict_files(folder, batch=1)
    first = next(results)  # a generator: the first result comes before the rest are scored
    assert first["file"] == str(folder / "clip.wav")
    assert [r["file"] for r in results] == [str(folder / "long.wav")]


def test_model_attributes(model):
    assert model.classes == ["neutral", "happy", "sad", "angry", "fearful", "disgust"]
    assert model.features["time_axis"] == "fixed"
    for key in ("sample_rate", "n_fft", "hop_length", "n_mels", "fmin", "fmax", "time_axis", "clip_norm"):
        assert key in model.features
    assert model.metadata["format"] == "ser-model-1"
    assert model.metadata["classes"] == model.classes
    assert isinstance(model.recipe, dict) and "epochs" in model.recipe
    assert ser.logmel(np.zeros(100, np.float32) + 0.1, 16000, model.features).shape == (128, 256)

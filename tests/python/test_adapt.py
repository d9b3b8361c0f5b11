"""Model.adapt and Model.save against `ser adapt`: the same batch-norm statistics from the same
files, weights untouched, predictions of the adapted Model = `ser predict` with the adapted
file, and the errors (a missing path, nothing that decodes)."""

import json

import numpy as np
import pytest

import ser
from conftest import MODEL, speech_like, write_wav


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """A folder of 8 generated recordings (another 'microphone': louder, with more noise)."""
    folder = tmp_path_factory.mktemp("adapt")
    rng = np.random.default_rng(7)
    for i in range(8):
        frames = speech_like(2.0 + 0.2 * i, rng).astype(np.float64)
        frames += 900 * rng.standard_normal(frames.shape)
        write_wav(folder / f"r{i}.wav", np.clip(frames, -32768, 32767).astype(np.int16))
    return folder


def test_adapt_matches_cli_and_keeps_weights(recordings, cli, tmp_path):
    model = ser.load_model(MODEL)
    before = model.state()
    report = model.adapt(recordings, cache="none")
    assert report["files"] == 8 and report["windows"] >= 8 and report["failures"] == []
    assert set(report["shifts"]) == {k[: -len(".moving_mean")] for k in before if k.endswith(".moving_mean")}
    assert all(v > 0 for v in report["shifts"].values())
    after = model.state()
    for name, value in before.items():
        if ".moving_" in name:
            continue
        np.testing.assert_array_equal(after[name], value, err_msg=name)  # weights untouched
    assert any(not np.array_equal(after[n], before[n]) for n in before if ".moving_" in n)

    cli("adapt", "--model", MODEL, recordings, "--cache", "none", "--out", tmp_path / "cli.safetensors")
    from_cli = ser.load_model(tmp_path / "cli.safetensors").state()
    for name, value in after.items():
        np.testing.assert_array_equal(from_cli[name], value, err_msg=name)  # bit for bit

    model.save(tmp_path / "py.safetensors")
    saved = ser.load_model(tmp_path / "py.safetensors")
    assert saved.metadata["training"]["adapted_bn"]["files"] == 8
    files = sorted(str(p) for p in recordings.iterdir())
    ours = [r["probabilities"] for r in model.predict_files(files)]
    out = cli("predict", "--model", tmp_path / "cli.safetensors", "--json", *files)
    theirs = [json.loads(line)["probabilities"] for line in out.splitlines() if line.strip()]
    for a, b in zip(ours, theirs):
        for k in a:
            assert abs(a[k] - b[k]) <= 5e-5  # the command line prints 4 decimals


def test_adapt_errors(recordings, tmp_path):
    model = ser.load_model(MODEL)
    with pytest.raises(FileNotFoundError):
        model.adapt([recordings, tmp_path / "nowhere"], cache="none")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.wav").write_bytes(b"RIFF not audio")
    with pytest.raises(ValueError, match="none of the 1 files gave an image"):
        model.adapt(tmp_path / "junk", cache="none")
    with pytest.raises(ValueError):
        model.adapt([], cache="none")

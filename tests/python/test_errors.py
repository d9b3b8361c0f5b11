"""Bad inputs raise Python exceptions with the core's messages, never crash: arrays of the
wrong dtype (TypeError), shape, emptiness, NaN/Inf samples, sample rates <= 0 (ValueError);
paths that do not exist (FileNotFoundError, or with predict_files(missing="report") the
command line's error entry); a truncated model file and an undecodable audio
file (ValueError, or the file's error entry in predict_files); and the GIL is let go while
the core works."""

import json
import subprocess
import threading

import numpy as np
import pytest

import ser
from conftest import MODEL, find_cli, read_wav


@pytest.fixture(scope="session")
def model():
    return ser.load_model(MODEL)


GOOD = np.sin(np.arange(16000) * 0.05).astype(np.float32)


@pytest.mark.parametrize("fn", ["predict", "logmel"])
def test_bad_arrays(model, fn):
    call = model.predict if fn == "predict" else ser.logmel
    with pytest.raises(ValueError, match="NaN/Inf"):
        call(np.where(np.arange(16000) == 5, np.nan, GOOD).astype(np.float32), 16000)
    with pytest.raises(ValueError, match="NaN/Inf"):
        call(np.full((100, 2), np.inf), 16000)
    with pytest.raises(ValueError, match="NaN/Inf"):
        call(np.full(100, 1e300), 16000)  # float64 beyond float32's range
    with pytest.raises(ValueError, match="empty"):
        call(np.zeros(0, np.float32), 16000)
    with pytest.raises(ValueError, match="empty"):
        call(np.zeros((0, 2), np.float32), 16000)
    with pytest.raises(TypeError, match="float32, float64 or int16"):
        call(np.zeros(1000, np.int32), 16000)
    with pytest.raises(TypeError):
        call(GOOD.tolist(), 16000)
    with pytest.raises(ValueError, match="dimensions"):
        call(np.zeros((10, 10, 2), np.float32), 16000)
    with pytest.raises(ValueError, match="audio.T"):
        call(np.zeros((2, 16000), np.float32), 16000)
    for rate in (0, -16000):
        with pytest.raises(ValueError, match="sample_rate"):
            call(GOOD, rate)


def test_strided_and_read_only_arrays_are_read_as_they_are(model):
    stereo = np.stack([GOOD, GOOD], axis=1)
    view = stereo[::2]  # every other frame: a strided view
    view.flags.writeable = False
    assert np.array_equal(ser.logmel(view, 8000), ser.logmel(np.ascontiguousarray(GOOD[::2]), 8000))


def test_bad_options(model):
    with pytest.raises(ValueError, match="whole"):
        model.predict(GOOD, 16000, whole=True, window=2.0)
    with pytest.raises(ValueError, match="batch"):
        model.predict(GOOD, 16000, batch=0)
    with pytest.raises(ValueError, match="longer than the window"):
        model.predict(np.tile(GOOD, 10), 16000, window=1.0, hop=2.0)
    with pytest.raises(ValueError, match="shorter than one --window"):
        model.predict(GOOD, 16000, window=3.0)
    with pytest.raises(TypeError):
        ser.logmel(GOOD, 16000, frontend=3)
    with pytest.raises(ValueError, match="resize"):
        ser.logmel(GOOD, 16000, frontend="no-such-front-end")


def test_missing_paths(model, tmp_path):
    missing = tmp_path / "nothing.wav"
    with pytest.raises(FileNotFoundError) as e:
        ser.load_audio(missing)
    assert e.value.filename == str(missing)
    with pytest.raises(FileNotFoundError):
        ser.load_model(tmp_path / "no-model.safetensors")
    with pytest.raises(FileNotFoundError):
        ser.audio_info(missing)
    with pytest.raises(FileNotFoundError):
        list(model.predict_files([missing]))


def test_missing_file_in_predict_files_comes_after_the_files_before_it(model, wavs, tmp_path):
    results = model.predict_files([wavs["clip"], tmp_path / "gone.wav", wavs["long"]])
    assert next(results)["file"] == str(wavs["clip"])
    with pytest.raises(FileNotFoundError):
        next(results)


def test_missing_files_reported_as_the_cli_reports_them(model, wavs, tmp_path):
    binary = find_cli()
    if binary is None:
        pytest.skip("no `ser` binary to compare with (set SER_CLI or build build-cpu/)")
    files = [str(wavs["clip"]), str(tmp_path / "gone.wav"), str(wavs["long"])]
    results = list(model.predict_files(files, missing="report"))
    assert [r["file"] for r in results] == files
    assert "error" not in results[0] and "error" not in results[2]
    done = subprocess.run([str(binary), "predict", "--model", str(MODEL), "--json", files[1]],
                          capture_output=True, text=True)
    assert done.returncode == 1 and results[1] == json.loads(done.stdout), done.stdout
    with pytest.raises(ValueError, match="missing must be"):
        list(model.predict_files(files, missing="skip"))


def test_truncated_and_foreign_model_files(tmp_path):
    data = MODEL.read_bytes()
    for name, content in (("truncated", data[: len(data) // 2]), ("header-only", data[:40]), ("text", b"hello"),
                          ("empty", b"")):
        path = tmp_path / f"{name}.safetensors"
        path.write_bytes(content)
        with pytest.raises(ValueError):
            ser.load_model(path)
    with pytest.raises(ValueError, match="without model.safetensors"):
        ser.load_model(tmp_path)  # a folder that is no run folder


def test_undecodable_audio(model, tmp_path, wavs):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really")
    with pytest.raises(ValueError, match="bad.wav"):
        ser.load_audio(bad)
    results = list(model.predict_files([bad, wavs["clip"]]))
    assert results[0]["file"] == str(bad) and "error" in results[0]
    assert results[1]["label"] in model.classes


def test_the_gil_is_released_while_predicting(model, wavs):
    frames, rate = read_wav(wavs["long"])
    done = []
    worker = threading.Thread(target=lambda: done.append(model.predict(frames, rate)))
    spins = 0
    worker.start()
    while worker.is_alive():
        spins += 1
    worker.join()
    assert done and spins > 1000, f"the main thread ran {spins} loops during the prediction"


def test_one_model_from_two_threads(model, wavs):
    frames, rate = read_wav(wavs["clip"])
    alone = model.predict(frames, rate)
    results = [None, None]

    def work(i):
        results[i] = model.predict(frames, rate)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [alone, alone]

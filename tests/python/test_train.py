"""ser.train runs `ser train` in the process: on a tiny generated corpus (--corpus folders:
DATA/CLASS/clip.wav) and a narrow network, 2 epochs in a second or two. The progress callback
comes once per epoch with that epoch's numbers; the model it leaves loads and predicts; the run
is the command line's with the same options and seed, weight for weight (the trainer is
deterministic on one machine: tests/reliability/test_kill_resume.cpp); a bad option is a
ValueError with the command line's message, a missing path FileNotFoundError; an exception in
the callback stops the run and propagates; KeyboardInterrupt, raised by the callback or by a
SIGINT, stops it after the epoch's checkpoint, and resume= continues it to the same model as an
uninterrupted run; the GIL is released while it trains."""

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import ser
from conftest import MODEL, find_cli, read_wav, speech_like, write_wav

CLASSES = ["angry", "happy", "sad"]
OPTIONS = {"corpus": "folders", "protocol": "seed", "cache": "none", "quiet": True, "seed": 1}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """DATA/CLASS/clip.wav: 3 classes x 6 generated clips of 1.0-1.5 s, a level per class."""
    root = tmp_path_factory.mktemp("folders")
    rng = np.random.default_rng(5)
    for k, name in enumerate(CLASSES):
        (root / name).mkdir()
        for i in range(6):
            frames = (speech_like(1.0 + 0.1 * i, rng) * (0.2 + 0.3 * k)).astype(np.int16)
            write_wav(root / name / f"clip{i}.wav", frames)
    return root


@pytest.fixture(scope="session")
def speakers(tmp_path_factory):
    """DATA/SPEAKER/CLASS/clip.wav: Actor_01..Actor_04 x 3 classes x 2 generated clips."""
    root = tmp_path_factory.mktemp("speakers")
    rng = np.random.default_rng(6)
    for actor in range(1, 5):
        for k, name in enumerate(CLASSES):
            (root / f"Actor_{actor:02d}" / name).mkdir(parents=True)
            for i in range(2):
                frames = (speech_like(1.0 + 0.2 * i, rng) * (0.2 + 0.3 * k)).astype(np.int16)
                write_wav(root / f"Actor_{actor:02d}" / name / f"clip{i}.wav", frames)
    return root


@pytest.fixture(scope="session")
def recipe(tmp_path_factory):
    """The seed recipe's loop on a narrow network (conv 4, 8; dense 8), whole-clip images."""
    r = {**ser.load_model(MODEL).recipe, "name": "python-test", "augment": "none", "batch": 8, "epochs": 2,
         "frontend": "resize", "keep": "last", "label_smoothing": 0.0, "lr": 1e-3, "lr_schedule": "constant",
         "patience": 50, "sampling": "shuffle", "wave_augment": "none", "wave_copies": 0, "weight_decay": 0.0}
    r["architecture"] = {**r["architecture"], "conv_channels": [4, 8], "dense_units": [8], "head": "flatten",
                         "block": "conv-relu-bn"}
    path = tmp_path_factory.mktemp("recipe") / "recipe.json"
    path.write_text(json.dumps(r))
    return path


@pytest.fixture(scope="session")
def trained(corpus, recipe, tmp_path_factory):
    """ser.train for 2 epochs, and the callback's dicts."""
    calls = []
    result = ser.train(corpus, tmp_path_factory.mktemp("py") / "run", recipe, progress=calls.append, **OPTIONS)
    return result, calls


def checkpoint_epochs(run):
    """The epochs a run folder's checkpoint holds (its safetensors metadata's train_state)."""
    data = (run / "checkpoint.safetensors").read_bytes()
    header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    return json.loads(header["__metadata__"]["train_state"])["epochs_done"]


def same_state(a, b):
    sa, sb = a.state(), b.state()
    return list(sa) == list(sb) and all(np.array_equal(sa[k], sb[k]) for k in sa)


def test_the_callback_comes_once_per_epoch_with_its_numbers(trained):
    result, calls = trained
    assert [c["epoch"] for c in calls] == [1, 2]
    for c, h in zip(calls, result.history):
        assert c["phase"] == "train" and c["epochs"] == 2
        assert np.isfinite(c["loss"]) and c["loss"] > 0 and np.isfinite(c["val_loss"])
        assert 0 <= c["acc"] <= 1 and 0 <= c["val_acc"] <= 1
        assert c["seconds"] > 0 and c["samples_per_second"] > 0
        assert 1 <= c["best_epoch"] <= c["epoch"] and c["stopped_early"] is False
        assert (c["loss"], c["acc"], c["val_loss"], c["val_acc"]) == (h["train_loss"], h["train_accuracy"],
                                                                      h["val_loss"], h["val_accuracy"])


def test_the_result_is_the_run_folder_and_its_model_predicts(trained, corpus, wavs):
    result, _ = trained
    assert result.trained and result.evaluated_on == "test"
    assert os.path.isfile(result.model_path) and os.path.isfile(result.report_path)
    assert os.path.dirname(result.model_path) == result.run
    assert result.metrics["accuracy"] == result.accuracy and result.metrics["macro_f1"] == result.macro_f1
    assert "finished 2 epochs" in result.why
    assert result.model.classes == CLASSES and result.model.recipe["name"] == "python-test"
    assert same_state(result.model, ser.load_model(result.run))
    frames, rate = read_wav(wavs["clip"])
    r = result.model.predict(frames, rate)
    assert r["label"] in CLASSES and abs(sum(r["probabilities"].values()) - 1) < 1e-5


def test_the_same_run_as_the_command_line(trained, corpus, recipe, tmp_path):
    result, _ = trained
    binary = find_cli()
    if binary is None:
        pytest.skip("no `ser` binary to compare with (set SER_CLI or build build-cpu/)")
    out = tmp_path / "cli"
    # The command line re-executes itself with other BLAS kernels on some CPUs (engine/cpu/
    # blas_setup.h): the same kernels as this process, for the same rounding.
    env = {**os.environ, "OPENBLAS_CORETYPE": ser._ser.blas_core_name()}
    done = subprocess.run([str(binary), "train", "--data", corpus, "--out", out, "--recipe", recipe, "--corpus",
                           "folders", "--protocol", "seed", "--cache", "none", "--quiet", "--seed", "1"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert same_state(result.model, ser.load_model(out))
    cli_metrics = json.loads((out / "metrics.json").read_text())
    assert {k: v for k, v in cli_metrics.items() if k != "run"} == \
        {k: v for k, v in result.metrics.items() if k != "run"}
    timing = ("seconds", "samples_per_second")
    assert [{k: v for k, v in e.items() if k not in timing} for e in json.loads((out / "history.json").read_text())] == \
        [{k: v for k, v in e.items() if k not in timing} for e in result.history]
    assert (out / "predictions.tsv").read_text() == (Path(result.run) / "predictions.tsv").read_text()


def test_keywords_are_the_command_lines_options(speakers, tmp_path):
    """The default recipe by name, a speaker split named as --val-speakers and --test-speakers."""
    result = ser.train([speakers], tmp_path / "run", "general", epochs=1, val_speakers="Actor_04",
                       test_speakers="Actor_01..Actor_01", seed=3, corpus="folders", cache="none", quiet=True)
    run = result.metrics["run"]
    assert run["recipe"]["name"] == "general" and run["recipe"]["epochs"] == 1
    assert run["protocol"] == "speaker" and run["seed"] == 3  # the protocol --val-speakers implies
    assert run["split"] == {"train": 12, "validation": 6, "test": 6}
    assert result.evaluated_on == "test" and [e["epoch"] for e in result.history] == [1]


def test_bad_options_are_value_errors_with_the_command_lines_message(corpus, recipe, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=r"^--epochs: must be an integer in \[1, 100000\], got '0' \(see ser train "
                                         r"--help\)$"):
        ser.train(corpus, out, recipe, epochs=0, **OPTIONS)
    with pytest.raises(ValueError, match="--no-such-option"):
        ser.train(corpus, out, recipe, no_such_option=1, **OPTIONS)
    with pytest.raises(ValueError, match="cannot be combined with --protocol seed"):
        ser.train(corpus, out, recipe, val_speakers="Actor_17..Actor_20", **OPTIONS)
    with pytest.raises(ValueError, match="unknown recipe 'nonsense'"):
        ser.train(corpus, out, "nonsense", **OPTIONS)
    with pytest.raises(TypeError, match="progress"):
        ser.train(corpus, out, recipe, progress=3, **OPTIONS)
    assert not out.exists()


def test_missing_paths_are_file_not_found_errors(corpus, recipe, tmp_path):
    missing, out = tmp_path / "nothing", tmp_path / "run"
    json_file = tmp_path / "nothing.json"
    for call, path, message in (
            (lambda: ser.train(missing, out, recipe, **OPTIONS), missing, f"--data {missing}: no such folder"),
            (lambda: ser.train(corpus, out, recipe, labels=missing, **OPTIONS), missing,
             f"--labels {missing}: cannot open the file"),
            (lambda: ser.train(corpus, out, json_file, **OPTIONS), json_file, f"--recipe {json_file}: cannot open"),
            (lambda: ser.train(resume=missing, quiet=True), missing, f"--resume {missing}: no such folder")):
        with pytest.raises(FileNotFoundError) as e:
            call()
        assert message in str(e.value) and e.value.filename == str(path)
    assert not out.exists()


def test_an_exception_in_the_callback_stops_the_run_and_propagates(corpus, recipe, tmp_path):
    calls = []

    def fail_at_epoch_1(report):
        calls.append(report["epoch"])
        raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        ser.train(corpus, tmp_path / "run", recipe, epochs=3, progress=fail_at_epoch_1, **OPTIONS)
    assert calls == [1]
    assert checkpoint_epochs(tmp_path / "run") == 1 and not (tmp_path / "run" / "model.safetensors").exists()


def test_keyboard_interrupt_from_the_callback_stops_resumably(trained, corpus, recipe, tmp_path):
    run = tmp_path / "run"

    def interrupt(report):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt, match=f"^interrupted after epoch 1; continue with `ser train --resume {run}`$"):
        ser.train(corpus, run, recipe, progress=interrupt, **OPTIONS)
    assert checkpoint_epochs(run) == 1 and not (run / "model.safetensors").exists()
    calls = []
    resumed = ser.train(resume=run, quiet=True, progress=calls.append)
    assert [c["epoch"] for c in calls] == [2]
    assert same_state(resumed.model, trained[0].model), "the resumed run differs from the uninterrupted one"


def test_sigint_stops_the_run_after_an_epochs_checkpoint(corpus, recipe, tmp_path):
    run = tmp_path / "run"
    timers = []

    def interrupt_soon(report):
        if not timers:  # SIGINT to this process a little later, during epoch 2 (or the callback)
            timers.append(threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)))
            timers[0].start()

    with pytest.raises(KeyboardInterrupt, match="^interrupted after epoch [0-9]+; continue with") as e:
        ser.train(corpus, run, recipe, epochs=1000, progress=interrupt_soon, **OPTIONS)
    timers[0].join()
    epoch = int(str(e.value).split()[3].rstrip(";"))
    assert epoch < 1000 and checkpoint_epochs(run) == epoch and not (run / "model.safetensors").exists()


def test_the_gil_is_released_while_training(corpus, recipe, tmp_path):
    done = []
    worker = threading.Thread(target=lambda: done.append(ser.train(corpus, tmp_path / "run", recipe, **OPTIONS)))
    ticks = 0
    worker.start()
    start = time.monotonic()
    while worker.is_alive():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    elapsed = time.monotonic() - start
    assert done and ticks > 0.2 * elapsed / 0.001, f"{ticks} ticks of 1 ms in {elapsed:.2f} s of training"

"""ser.dask.predict_files on a LocalCluster of two single-thread worker processes against
`ser predict --json` of the same build on the same files: every row (label, class
probabilities, duration, error, the whole JSON object) is the command line's, rounded as it
rounds (test_against_cli.assert_same), for generated WAVs and, when present, real speech; a
truncated WAV, a garbage .wav and a missing path are reported in their rows with the
command line's message and the other files are scored; the JSONL files hold the rows; each
worker process loads the model once; and a worker killed (SIGKILL, by a worker plugin) while
it runs a partition leaves every file exactly once in the frame and in the JSONL.
Skips, saying why, without dask[dataframe] and distributed."""

import json
import logging
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from conftest import MODEL, RATE, find_cli, speech_like, write_wav
from test_against_cli import assert_same

try:
    import cloudpickle
    import distributed
    import pandas as pd
    import ser.dask
except ImportError as e:  # absent, or installed but broken
    pytest.skip(f"Dask tests skipped: {e} (bash scripts/python-env adds dask[dataframe] and distributed to .venv)",
                allow_module_level=True)

# The worker plugin below is defined here: the workers cannot import this file, so it travels by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client():
    """Two worker processes of one thread each; the engine's pool one thread too (2 cores)."""
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       env={"SER_CPU_THREADS": "1"}, silence_logs=logging.CRITICAL)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def good_files(wavs, tmp_path_factory):
    """The conftest WAVs, two more speech-like clips, white noise and a tone (which the shipped
    model calls angry and sad: not every row the same label) and digital silence (a row
    without probabilities, with the command line's warning): 7 files."""
    folder = tmp_path_factory.mktemp("dask-wav")
    rng = np.random.default_rng(7)
    t = np.arange(int(1.5 * RATE)) / RATE
    signals = {"speech0": speech_like(1.2, rng), "speech1": speech_like(3.1, rng),
               "noise": 3000 * rng.standard_normal((2 * RATE, 2)),
               "tone": np.repeat(8000 * np.sin(2 * np.pi * 220 * t)[:, None], 2, axis=1),
               "silence": np.zeros((int(1.4 * RATE), 2))}
    for name, frames in signals.items():
        write_wav(folder / f"{name}.wav", np.round(frames).astype(np.int16))
    return [str(wavs["clip"]), str(wavs["long"])] + [str(folder / f"{name}.wav") for name in signals]


@pytest.fixture(scope="module")
def bad_files(wavs, tmp_path_factory):
    """{"truncated": a WAV cut inside its header, "garbage": random bytes, "missing": no file}."""
    folder = tmp_path_factory.mktemp("dask-bad")
    truncated, garbage = folder / "truncated.wav", folder / "garbage.wav"
    truncated.write_bytes(wavs["clip"].read_bytes()[:30])
    garbage.write_bytes(np.random.default_rng(3).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    return {"truncated": str(truncated), "garbage": str(garbage), "missing": str(folder / "missing.wav")}


@pytest.fixture(scope="module")
def cli_json():
    """`ser predict --json ARGS...` with the shipped model: one dict per file (exit 1 allowed:
    failed files)."""
    binary = find_cli()
    if binary is None:
        pytest.skip("no `ser` binary to compare with (set SER_CLI or build build-cpu/)")

    def run(*args):
        done = subprocess.run([str(binary), "predict", "--model", str(MODEL), "--json", *map(str, args)],
                              capture_output=True, text=True)
        assert done.returncode in (0, 1), f"ser predict exited {done.returncode}: {done.stderr}"
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    return run


def assert_rows_match(frame, cli, classes):
    """Each row of the computed frame against the command line's object for its file."""
    assert frame.path.tolist() == [c["file"] for c in cli]
    assert frame.index.tolist() == list(range(len(cli)))
    for (_, row), expected in zip(frame.iterrows(), cli):
        got = json.loads(row.result)
        assert_same(got, expected, row.path)
        assert same_value(row.warning, expected.get("warning")), f"{row.path}: warning {row.warning!r}"
        if "error" in expected:
            assert row.error == expected["error"] and pd.isna(row.label) and np.isnan(row.duration), row.path
            continue
        assert pd.isna(row.error) and row.label == got["emotion"] and row.duration == got["seconds"], row.path
        for c in classes:
            p = got.get("probabilities", {}).get(c)  # none for a file silent throughout
            assert same_value(row[f"p_{c}"], p), f"{row.path} p_{c}: {row[f'p_{c}']} != {p}"


def same_value(cell, value):
    """A frame cell against a JSON value; None (absent from the JSON) is a missing cell."""
    return pd.isna(cell) if value is None else cell == value


def read_jsonl(folder):
    """{part file name: [objects]} of a jsonl folder."""
    return {p.name: [json.loads(line) for line in p.read_text().splitlines()] for p in sorted(folder.iterdir())}


def test_generated_files_match_the_cli_and_the_jsonl(client, good_files, cli_json, tmp_path):
    frame = ser.dask.predict_files(good_files, client=client, model=MODEL, partition_size=2, jsonl=tmp_path)
    assert frame.npartitions == 4
    rows = frame.compute()
    classes = ser.load_model(MODEL).classes
    assert_rows_match(rows, cli_json(*good_files), classes)
    parts = read_jsonl(tmp_path)
    assert list(parts) == [f"part-{k:05d}.jsonl" for k in range(4)]
    assert [r for part in parts.values() for r in part] == [json.loads(t) for t in rows.result]


def test_real_files_match_the_cli(client, real_files, cli_json):
    files = [str(f) for f in real_files]
    rows = ser.dask.predict_files(files, client=client, model=MODEL, partition_size=2).compute()
    assert_rows_match(rows, cli_json(*files), ser.load_model(MODEL).classes)


def test_each_worker_loads_the_model_once(client, good_files):
    def cached():
        return {path: id(model) for path, model in ser.dask._MODELS.items()}

    ser.dask.predict_files(good_files, client=client, model=MODEL, partition_size=1).compute()
    first = client.run(cached)
    assert any(first.values()), "no worker holds a model"
    assert all(list(models) in ([], [str(MODEL)]) for models in first.values()), first
    ser.dask.predict_files(good_files[::-1], client=client, model=MODEL, partition_size=1).compute()
    again = client.run(cached)
    assert all(again[w] == models for w, models in first.items() if models), (first, again)


def test_failing_files_are_reported_in_their_rows(client, good_files, bad_files, cli_json):
    files = [good_files[0], bad_files["truncated"], good_files[2], bad_files["missing"], bad_files["garbage"],
             good_files[3]]
    rows = ser.dask.predict_files(files, client=client, model=MODEL, partition_size=2).compute()
    cli = cli_json(*files)
    assert [c["file"] for c in cli if "error" in c] == [bad_files[k] for k in ("truncated", "missing", "garbage")]
    assert_rows_match(rows, cli, ser.load_model(MODEL).classes)
    assert rows.error.isna().tolist() == [True, False, True, False, False, True]


def test_options_reach_the_core_and_bad_ones_fail_at_once(client, good_files, cli_json):
    long = good_files[1]
    rows = ser.dask.predict_files([long], client=client, model=MODEL, window=2.0, hop=1.0).compute()
    assert_rows_match(rows, cli_json("--window", 2, "--hop", 1, long), ser.load_model(MODEL).classes)
    assert len(json.loads(rows.result[0])["windows"]) > 10
    with pytest.raises(ValueError, match="longer than the window"):
        ser.dask.predict_files([long], client=client, model=MODEL, window=1.0, hop=2.0)


def test_a_shipped_model_gives_the_same_rows(client, good_files):
    direct = ser.dask.predict_files(good_files[:3], client=client, model=MODEL).compute()
    shipped = ser.dask.predict_files(good_files[:3], client=client, model=MODEL, ship_model=True).compute()
    assert shipped.result.tolist() == direct.result.tolist()
    def shipped_here(dask_worker):
        """The uploaded model files in this worker's folder, and those of them it loaded."""
        folder = dask_worker.local_directory
        return ([n for n in os.listdir(folder) if n.startswith("ser-model-")],
                [os.path.basename(p) for p in ser.dask._MODELS if p.startswith(folder)])

    where = client.run(shipped_here)
    assert all(len(names) == 1 for names, _ in where.values()), f"every worker should have the file: {where}"
    assert any(loaded for _, loaded in where.values()), f"no worker loaded the shipped file: {where}"
    assert all(set(loaded) <= set(names) for names, loaded in where.values()), where


class KillOnce(distributed.WorkerPlugin):
    """SIGKILLs its worker process when the `nth` partition task starts on it, once per
    cluster: the first worker to get there claims the marker file (O_EXCL) and dies."""

    def __init__(self, marker, nth):
        self.marker, self.nth = marker, nth

    def setup(self, worker):
        self.started = 0

    def transition(self, key, start, finish, **kwargs):
        if finish != "executing" or ser.dask.LABEL not in str(key):
            return
        self.started += 1
        if self.started < self.nth:
            return
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_worker_killed_mid_job_leaves_every_file_once(client, good_files, cli_json, tmp_path):
    marker, out = tmp_path / "killed", tmp_path / "jsonl"
    before = client.run(os.getpid)
    client.register_plugin(KillOnce(str(marker), nth=2), name="kill-once")
    try:
        rows = ser.dask.predict_files(good_files, client=client, model=MODEL, partition_size=1, jsonl=out).compute()
    finally:
        client.unregister_worker_plugin("kill-once")
    assert marker.exists(), "no worker was killed: the test did not test anything"
    killed = int(marker.read_text())
    assert killed in before.values()
    client.wait_for_workers(2, timeout=60)
    assert killed not in client.run(os.getpid).values()
    assert_rows_match(rows, cli_json(*good_files), ser.load_model(MODEL).classes)
    parts = read_jsonl(out)
    assert list(parts) == [f"part-{k:05d}.jsonl" for k in range(len(good_files))]
    assert sorted(r["file"] for part in parts.values() for r in part) == sorted(good_files)

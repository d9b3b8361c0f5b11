"""ser.dask: `ser predict --json` over many files on a Dask cluster (docs/SCALE.md).

predict_files() cuts the file list (folders walked on the client, as the command line does)
into partitions of partition_size files and maps them over the workers as the partitions of
a Dask DataFrame. Each worker process loads the model once (_MODELS, keyed by the model
file's path on that worker) and scores its partitions with Model.predict_files: the C++
core's batched prediction, the one `ser predict` runs, so a row holds what the command line
says of that file, with every digit kept (the command line prints 4 decimals).

One row per file, in input order (index: the file's number in the list):
    path       the file, as given (the result's "file")
    label      the emotion ("silent" when nothing was voiced); missing for a failed file
    p_<class>  the probability of each class, in the model's class order (NaN for a failed
               file and for one silent throughout, which the command line gives none)
    duration   the file's length in seconds (the result's "seconds"; NaN if failed)
    error      the command line's message for a file that failed (missing when it did not)
    warning    the command line's warning (a file silent throughout), else missing
    result     the whole `ser predict --json` object as JSON text (timeline included)
A file that fails (undecodable, missing) is reported in its row; the rest go on.

A partition is a pure function of its files, and its JSONL file (jsonl=DIR) is written
whole or not at all (a temporary file renamed), so when a worker dies mid-job and the
scheduler reruns its partitions elsewhere every file still ends up once in the frame and
once in DIR.
"""

import hashlib
import json
import os
import shutil
import socket
import tempfile
import threading
import uuid

try:
    import dask.dataframe as dd
    import distributed
    import pandas as pd
except ImportError as e:  # dask, distributed and pandas are an optional group of scripts/python-env
    raise ImportError(f"ser.dask needs dask[dataframe] and distributed ({e}): run bash scripts/python-env, "
                      "or pip install 'dask[dataframe]' distributed") from e

import ser

__all__ = ["predict_files"]

LABEL = "ser-predict"  # the name of the partitions' tasks: ser-predict-<token>, i

_MODELS = {}  # {model file path on this worker: ser.Model}: one load per worker process
_MODELS_LOCK = threading.Lock()


def predict_files(paths, client=None, model=None, partition_size=64, *, jsonl=None, ship_model=False,
                  window=None, hop=None, whole=False, min_level=35.0, batch=16, threads=1):
    """A Dask DataFrame of `ser predict --json` for every file of `paths` (module docstring).

    paths: audio files and folders (walked here, sorted, as the command line does), or one
        path. A path that does not exist is a row with the command line's error. Workers
        open the paths as given (rows name them so): on several machines, absolute paths
        on storage every worker sees.
    client: a distributed.Client; the frame is then persisted on its cluster (the work starts
        now, the rows stay on the workers). None: a lazy frame, run by whatever scheduler
        computes it (the default client when there is one).
    model: a model file or run folder (None: ser.default_model_path()). It is loaded here
        for its classes; workers open the same path (shared storage) unless ship_model.
    partition_size: files per partition (one task each).
    jsonl: a folder (on storage the workers share) to write part-NNNNN.jsonl in, one
        `ser predict --json` object a line per file of partition NNNNN.
    ship_model: send the model file to every worker (client.upload_file), also to workers
        that join later, instead of reading it from the same path there. Needs client.
    window, hop, whole, min_level, batch, threads: `ser predict`'s --window, --hop, --whole,
        --min-level, --batch, --threads. threads defaults to 1 (one core a task: the workers
        are the parallelism); the network's threads are SER_CPU_THREADS of the worker.
    Options the core refuses raise ValueError here, before any task runs."""
    if int(partition_size) < 1:
        raise ValueError(f"partition_size must be at least 1, got {partition_size}")
    if ship_model and client is None:
        raise ValueError("ship_model=True sends the model with client.upload_file: pass client")
    local = ser.load_model(model)
    options = dict(window=window, hop=hop, whole=whole, min_level=min_level, batch=batch, threads=threads)
    _check_options(local, options)
    files = _expand(paths)
    if not files:
        raise ValueError("nothing to predict: paths names no file")
    where = _ship(client, local.path) if ship_model else ("path", os.path.abspath(local.path))
    if jsonl is not None:
        jsonl = os.path.abspath(os.fspath(jsonl))
        os.makedirs(jsonl, exist_ok=True)
    frame = _frame_of_partitions(files, int(partition_size), local.classes, where, options, jsonl)
    return client.persist(frame) if client is not None else frame


def _check_options(model, options):
    """The core's refusal of the options (ValueError with the command line's message), now:
    a predictor is made for no file (package-internal: ser's own Options)."""
    model._native.predict_files([], ser._options(**options))


def _expand(paths):
    """The files of `paths` as the command line lists them: folders walked (sorted audio
    files; a folder without any raises ValueError), files and missing paths as given."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = []
    for given in paths:
        text = os.fspath(given)
        files += ser._files_of(text)
    return files


def _ship(client, path):
    """Uploads the model file to every worker under a name of its content's hash (two models
    called model.safetensors do not meet); returns where the workers find it."""
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    name = f"ser-model-{digest}.safetensors"
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, name)
        shutil.copyfile(path, copy)
        client.upload_file(copy, load=False)
    return ("shipped", name)


def _frame_of_partitions(files, size, classes, where, options, jsonl):
    """The lazy frame: partition k scores files[k * size:(k + 1) * size]."""
    starts = list(range(0, len(files), size))
    parts = [(k, start, files[start:start + size]) for k, start in enumerate(starts)]
    divisions = tuple(starts) + (len(files) - 1,)
    return dd.from_map(_predict_partition, parts, classes=classes, where=where, options=options, jsonl=jsonl,
                       meta=_frame([], classes, 0), divisions=divisions, label=LABEL, enforce_metadata=False)


def _predict_partition(part, classes, where, options, jsonl):
    """On a worker: one partition's rows (and its JSONL file)."""
    number, start, files = part
    model = _worker_model(_model_path(where))
    if model.classes != classes:
        raise ValueError(f"the model on this worker ({model.path}) has classes {model.classes}, "
                         f"the client's {classes}: not the same model file")
    results = [_cli_object(r) for r in model.predict_files(files, missing="report", **options)]
    if jsonl is not None:
        _write_jsonl(results, os.path.join(jsonl, f"part-{number:05d}.jsonl"))
    return _frame(results, classes, start)


def _model_path(where):
    """The model file on this worker: the client's path, or where upload_file put it."""
    kind, value = where
    if kind == "shipped":
        return os.path.join(distributed.get_worker().local_directory, value)
    return value


def _worker_model(path):
    """The model at `path`, loaded once per process."""
    with _MODELS_LOCK:
        if path not in _MODELS:
            if not os.path.exists(path):
                raise FileNotFoundError(f"model file {path} is not on the worker at {socket.gethostname()}: "
                                        "put it on storage every worker sees, or pass ship_model=True")
            _MODELS[path] = ser.Model(path)
        return _MODELS[path]


def _cli_object(result):
    """A predict_files result as the command line's JSON object (its keys: no "label")."""
    return {k: v for k, v in result.items() if k != "label"}


def _write_jsonl(results, path):
    """One object a line, written to a temporary file then renamed: whole or not at all."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    with open(tmp, "w") as f:
        for r in results:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    os.replace(tmp, path)


def _frame(results, classes, start):
    """The pandas rows of `results` (module docstring), indexed start, start + 1, ..."""
    columns = {"path": [], "label": [], **{f"p_{c}": [] for c in classes}, "duration": [], "error": [],
               "warning": [], "result": []}
    nan = float("nan")
    for r in results:
        probabilities = r.get("probabilities", {})
        columns["path"].append(r["file"])
        columns["label"].append(r.get("emotion"))
        for c in classes:
            columns[f"p_{c}"].append(probabilities.get(c, nan))
        columns["duration"].append(r.get("seconds", nan))
        columns["error"].append(r.get("error"))
        columns["warning"].append(r.get("warning"))
        columns["result"].append(json.dumps(r))
    text, number = pd.StringDtype(), "float64"
    dtypes = {k: number if k.startswith("p_") or k == "duration" else text for k in columns}
    index = pd.RangeIndex(start, start + len(results))
    return pd.DataFrame({k: pd.Series(v, index=index, dtype=dtypes[k]) for k, v in columns.items()})

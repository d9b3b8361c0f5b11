"""ser: speech emotion recognition, the Python face of the C++ engine (docs/PYTHON.md).

Every computation is the C++ core's, through the extension module ser._ser
(python/ser_module.cpp): the decoder and resampler, the log-mel front end and the network
are those of the `ser` command line, so that a result here is the one `ser predict --json`
gives for the same samples and an image the row `ser features` writes. This file only turns
arguments into the core's and its JSON results into dicts.

Arrays in: audio is a NumPy array (N,) mono or (frames, channels), float32, float64 or int16
(read as code / 32768, as a PCM_16 file is), at any sample rate; channels are averaged and
the signal resampled as the command line does for a file. Arrays out: float32,
load_audio (N,), logmel (H, W) = (mel bands low to high, time columns) in dB.

train(...) runs `ser train` in this process: its keyword arguments are the command line's
options, parsed and checked by the same code, so that each means what `ser train --help` says.

Errors: the core's (a bad file, a bad model, a bad training option) raise ValueError with the
command line's message; a path that does not exist raises FileNotFoundError; an interrupted
training run KeyboardInterrupt with the line that says how to continue; an array of another
dtype TypeError, of another shape, empty or holding NaN/Inf, or a sample rate <= 0 ValueError.
"""

import errno
import json
import os
import pkgutil
from pathlib import Path

# A build tree keeps the extension module in <build>/python/ser/ and this file in python/ser/:
# with both on PYTHONPATH, the package is the two folders together (python/CMakeLists.txt).
__path__ = pkgutil.extend_path(__path__, __name__)

from . import _ser  # noqa: E402

__version__ = _ser.__version__
__all__ = ["Model", "TrainResult", "audio_info", "default_model_path", "export_onnx", "load_audio", "load_model",
           "logmel", "train"]

_PACKAGED_MODEL = Path(__file__).resolve().parent / "models" / "default.safetensors"


def _path_argument(path):
    """The text of a path argument; FileNotFoundError when nothing is there."""
    text = os.fspath(path)
    if not os.path.exists(text):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), text)
    return text


def load_audio(path, sample_rate=16000):
    """The file's samples as the front end reads them: decoded (libsndfile), channels averaged,
    resampled to sample_rate (libsoxr HQ, librosa's length). Returns float32 (N,)."""
    return _ser.load_audio(_path_argument(path), sample_rate)


def audio_info(path):
    """What the file's header declares, without decoding it: {"sample_rate", "channels",
    "frames", "seconds"} (ints but seconds)."""
    info = _ser.audio_info(_path_argument(path))
    return {"sample_rate": int(info["sample_rate"]), "channels": int(info["channels"]),
            "frames": int(info["frames"]), "seconds": info["seconds"]}


def _frontend_json(frontend):
    if isinstance(frontend, str):
        return _ser.frontend_config(frontend)
    if isinstance(frontend, dict):
        return json.dumps(frontend)
    raise TypeError("frontend must be a front-end name (resize, fixed, fixed-cmn) or a dict of its parameters "
                    "(Model.features)")


def logmel(audio, sample_rate, frontend="fixed"):
    """The log-mel image of audio at sample_rate, exactly as `ser features --frontend NAME` writes
    a file of those samples: float32 (H, W), mel bands low to high, dB before normalisation.
    frontend: a name (resize, fixed, fixed-cmn) or a dict of parameters such as Model.features."""
    return _ser.logmel(audio, sample_rate, _frontend_json(frontend))


def default_model_path():
    """The model load_model() takes without a path: $SER_MODEL when set, else the one installed
    with the package, else the source tree's models/default.safetensors."""
    if not os.environ.get("SER_MODEL") and _PACKAGED_MODEL.is_file():
        return str(_PACKAGED_MODEL)
    return _ser.default_model_file()


def load_model(path=None):
    """A model file of `ser train` or its run folder (None: default_model_path())."""
    return Model(default_model_path() if path is None else _path_argument(path))


def _metadata_value(text):
    """A metadata value: its JSON when it is an object or a list, else the text as stored."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (dict, list)) else text


def _options(window=None, hop=None, whole=False, min_level=35.0, batch=16, threads=0):
    o = _ser.Options()
    o.window = 0.0 if window is None else float(window)
    o.hop = 0.0 if hop is None else float(hop)
    o.whole = bool(whole)
    o.min_level = float(min_level)
    o.batch = int(batch)
    o.threads = int(threads)
    return o


def _result(text):
    """A prediction's dict: the `ser predict --json` object, every digit kept, with "label"
    (the emotion's name, "silent" when nothing was voiced) in front."""
    r = json.loads(text)
    if "error" in r:
        return r
    return {"label": r["emotion"], **r}


def export_onnx(model, path, opset=17):
    """Writes the network of `model` (a Model or a model path) as an ONNX graph to `path`:
    input "image" (N, C, H, W) float32 dB -> outputs "probabilities" and "logits" (N, classes).
    See ser/onnx_export.py and docs/PYTHON.md "ONNX export". Needs the onnx package."""
    from .onnx_export import export_onnx as export
    return export(model, path, opset=opset)


class Model:
    """A loaded model. Attributes: path (the model file), classes (list of names, in output
    order), features (dict, every front-end parameter), recipe (dict: how it was trained, from
    the file or its run folder's run.json; {} when neither says), metadata (dict: the file's
    safetensors metadata, JSON values parsed), architecture (dict: the network, as the file's
    "architecture"), normalization ({"mean", "std"}: the network sees (image - mean) / std).

    One Model predicts one call at a time; threads that want to predict in parallel use one
    Model each (the GIL is released while the core works)."""

    def __init__(self, path):
        self._native = _ser.Model(os.fspath(path))
        self.path = self._native.file
        self.classes = list(self._native.classes)
        self.features = json.loads(self._native.features_json)
        self.metadata = {k: _metadata_value(v) for k, v in self._native.metadata.items()}
        self.recipe = self._find_recipe()
        self.architecture = json.loads(self._native.architecture_json)
        self.normalization = dict(self._native.normalization)

    def _find_recipe(self):
        training = self.metadata.get("training")
        if isinstance(training, dict) and isinstance(training.get("recipe"), dict):
            return training["recipe"]
        run_json = Path(self.path).parent / "run.json"
        try:
            recipe = json.loads(run_json.read_text()).get("recipe")
        except (OSError, ValueError, AttributeError):
            return {}
        return recipe if isinstance(recipe, dict) else {}

    def __repr__(self):
        return f"ser.Model({self.path!r}, classes={self.classes})"

    def state(self):
        """Copies of the network's tensors as float32 NumPy arrays, {name: array} in the network's
        order: conv{i}.weight (Cout, Cin, 3, 3) OIHW, conv{i}.bias, bn{i}.gamma, bn{i}.beta,
        fc{k}.weight (out, in), fc{k}.bias, out.weight, out.bias, then bn{i}.moving_mean and
        bn{i}.moving_var (docs/PYTHON.md "The model file, for porting")."""
        return dict(self._native.state())

    def forward_images(self, images):
        """The engine's eval-mode forward pass: images (N, C, H, W) float32 in dB before
        normalisation (ser.logmel's values, cut to windows of the network's width:
        architecture["width"] columns) -> softmax probabilities (N, classes) float32.
        One window per image: for an image wider than the network, predict() averages the
        windows' logits (docs/PYTHON.md). A shape other than the network's, NaN/Inf or N = 0
        raise ValueError, a dtype other than float32 TypeError."""
        return self._native.forward_images(images)

    def predict(self, audio, sample_rate, *, window=None, hop=None, whole=False, min_level=35.0, batch=16,
                threads=0):
        """The emotion of one recording in memory, as `ser predict --json` says it for a file of
        the same samples (same options, same keys, every digit): "label" (= "emotion"),
        "probabilities" {class: p}, "seconds", "whole"; a recording longer than the clips the
        model was trained on is a timeline: "window", "hop", "windows" [{start, end, silent,
        probabilities}], "segments" [{start, end, emotion, windows, probabilities}]. Options as
        the command line's --window, --hop, --whole, --min-level, --batch, --threads.
        Raises ValueError for what the command line reports as the file's error."""
        text = self._native.predict(audio, sample_rate,
                                    _options(window, hop, whole, min_level, batch, threads))
        r = _result(text)
        if "error" in r:
            raise ValueError(r["error"])
        del r["file"]
        return r

    def predict_files(self, paths, batch=16, *, window=None, hop=None, whole=False, min_level=35.0, threads=0,
                      missing="raise"):
        """A generator of one result per file, in input order, as `ser predict --json` gives
        them: a dict as predict()'s with "file" first, or {"file", "error"} for a file that
        does not decode (the rest go on). paths: files and folders (walked for audio files,
        sorted, as the command line does), or one path. Files go through the core `batch`
        at a time, so memory holds one batch's results whatever the number of files.
        A path that does not exist raises FileNotFoundError when the generator reaches it;
        with missing="report" it is a {"file", "error"} result in its place, the command
        line's (the core's message), and the rest go on."""
        if missing not in ("raise", "report"):
            raise ValueError(f"missing must be 'raise' or 'report', got {missing!r}")
        options = _options(window, hop, whole, min_level, batch, threads)
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        chunk = []
        for given in paths:
            text = os.fspath(given)
            if not os.path.exists(text) and missing == "raise":
                yield from self._run_files(chunk, options)
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), text)
            for f in _files_of(text):
                chunk.append(f)
                if len(chunk) == options.batch:
                    yield from self._run_files(chunk, options)
                    chunk = []
        yield from self._run_files(chunk, options)

    def adapt(self, paths, *, threads=0, cache=None):
        """`ser adapt` on this model, in place: its batch-norm statistics re-estimated on the
        recordings of `paths` (files and folders, or one path; labels never read; weights kept),
        for recordings of one new microphone, room or corpus (a few hundred, of mixed
        emotions). Later predictions use the adapted statistics; save() writes the model.
        Returns {"files", "windows", "shifts" {layer: mean shift in the training corpus's
        standard deviations}, "failures" [{"file", "error"}]}. A path that does not exist
        raises FileNotFoundError, a set where no file decodes ValueError. cache: the feature
        cache folder as `ser adapt --cache` takes it (None: the default one, "none": no cache)."""
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        texts = [_path_argument(p) for p in paths]
        if not texts:
            raise ValueError("adapt: no paths given")
        return json.loads(self._native.adapt(texts, int(threads), "" if cache is None else os.fspath(cache)))

    def save(self, path):
        """Writes the model as it is now (adapted or not) as a model file, for `ser predict
        --model` or load_model; what it was adapted on is recorded in its metadata."""
        self._native.save(os.fspath(path))

    def _run_files(self, files, options):
        if not files:
            return
        for text in self._native.predict_files(files, options):
            yield _result(text)


def _files_of(text):
    """The files a path names, as the command line lists them: a folder walked (its audio files,
    sorted; one without any raises ValueError), anything else as given."""
    return _ser.collect_inputs([text]) if os.path.isdir(text) else [text]


def _option_text(value):
    return os.fspath(value) if isinstance(value, os.PathLike) else str(value)


def _train_arguments(options):
    """`ser train` arguments of keyword arguments: name -> --name ("_" as "-"); True is the flag
    alone, False and None leave the option out, a list or tuple repeats it (--data, --labels)."""
    args = []
    for name, value in options.items():
        if value is None or value is False:
            continue
        option = "--" + name.replace("_", "-")
        if value is True:
            args.append(option)
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            args += [option, _option_text(v)]
    return args


def train(data=None, out=None, recipe=None, *, progress=None, **options):
    """Trains a model as `ser train` does, in this process, and returns a TrainResult.

    data: a corpus folder or a list of them (--data); out: the run folder (--out; None: a new
    folder runs/DATE-TIME, as the command line makes); recipe: general, robust, seed or a recipe
    .json file (--recipe; None: the command line's default, general). Every other keyword is the
    command line's option of that name with "-" written "_": epochs=3, val_speakers="Actor_17..
    Actor_20", seed=1, corpus="folders", cache="none", quiet=True, force=True, resume=RUN (with
    no data, out or recipe), ...; values mean what `ser train --help` says.

    progress: None, or a callable called after each epoch, once its checkpoint is written, with
    {"phase": "train", "epoch", "epochs" (the maximum), "loss", "acc", "val_loss", "val_acc",
    "seconds", "samples_per_second", "best_epoch", "stopped_early"}. An exception it raises
    stops the run and propagates (the epoch's checkpoint stays: resume=RUN continues).

    Ctrl-C (KeyboardInterrupt, also raised by progress) stops the run as it stops `ser train`:
    before training, nothing is written; during training, after the current epoch's checkpoint,
    and KeyboardInterrupt carries the command line's line saying how to resume. The GIL is
    released while the core works. Errors: ValueError with the command line's message for a bad
    option; FileNotFoundError for a data folder, label list, recipe file or run that is not there."""
    if progress is not None and not callable(progress):
        raise TypeError("progress must be a callable taking the epoch's dict, or None")
    arguments = _train_arguments({"data": data, "out": out, "recipe": recipe, **options})
    return TrainResult(_ser.train(arguments, progress))


class TrainResult:
    """What train() returns. run (the run folder), model_path, report_path (report.html), why
    (one line: why training stopped), evaluated_on ("test", or "validation" without a test part),
    accuracy and macro_f1 (on that split), trained (False: a resumed run with nothing left to do),
    metrics (the run's metrics.json), history (history.json: one dict per epoch), model (the
    trained model, loaded)."""

    def __init__(self, outcome):
        self.run = outcome["run"]
        self.model_path = outcome["model"]
        self.report_path = outcome["report"]
        self.why = outcome["why"]
        self.evaluated_on = outcome["evaluated_on"]
        self.accuracy = outcome["accuracy"]
        self.macro_f1 = outcome["macro_f1"]
        self.trained = outcome["trained"]
        self.metrics = json.loads((Path(self.run) / "metrics.json").read_text())
        self.history = json.loads((Path(self.run) / "history.json").read_text())
        self.model = Model(self.model_path)

    def __repr__(self):
        return f"ser.TrainResult({self.run!r}, {self.evaluated_on} accuracy {self.accuracy:.4f})"

"""ONNX export (ser.export_onnx, python -m ser.export, ser export) against the engine: for the
shipped model (gap head, fixed time axis) and a small seed-architecture model (flatten head,
two dense layers; `ser train` of a tiny generated corpus, a few seconds), onnxruntime's
probabilities are within 1e-5 of Model.forward_images on the same windows (generated audio
and, when present, real speech), the windows' logits averaged give model.predict's
probabilities within 1e-5, the graph passes onnx.checker with opset >= 17 and its metadata
holds the classes and the front end. Skips, saying why, without onnx or onnxruntime."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import ser
from conftest import MODEL, RATE, find_cli, read_wav, speech_like, write_wav

try:
    import onnx
    import onnxruntime as ort
except ImportError as e:  # absent, or installed but broken
    pytest.skip(f"ONNX export tests skipped: {e} (bash scripts/python-env adds onnx and onnxruntime to .venv)",
                allow_module_level=True)

TOL = 1e-5  # float32 engines summing in different orders; measured: at most 2e-6 (docs/PYTHON.md)
RAVDESS_CODES = ["01", "03", "04", "05", "06", "07"]  # the six classes' emotion field


def window_offsets(width, window):
    """engine/train/trainer.h window_offsets: 0, W/2, W, ..., and one flush with the end."""
    hop = max(1, window // 2)
    offsets = list(range(0, width - window + 1, hop))
    if offsets[-1] + window < width:
        offsets.append(width - window)
    return offsets


def windows(model, image):
    """(windows, 1, H, W) float32 of one ser.logmel image, at the network's width."""
    w = model.architecture["width"]
    return np.stack([image[None, :, o:o + w] for o in window_offsets(image.shape[1], w)])


def session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """3 speakers x 6 classes x 2 generated clips of 1.2-1.7 s, RAVDESS names."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(17)
    for actor in (1, 2, 3):
        folder = root / f"Actor_{actor:02d}"
        folder.mkdir()
        for k, code in enumerate(RAVDESS_CODES):
            for rep in (1, 2):
                frames = (speech_like(1.2 + 0.1 * k, rng) * (0.3 + 0.1 * k)).astype(np.int16)  # a level per class
                write_wav(folder / f"03-01-{code}-01-01-{rep:02d}-{actor:02d}.wav", frames)
    return root


def train(corpus, out, frontend, **architecture):
    """`ser train` for 2 epochs of a small network (a second or so): trained BN statistics."""
    binary = find_cli()
    if binary is None:
        pytest.skip("no `ser` binary to train the small models with (set SER_CLI or build build-cpu/)")
    recipe = {**ser.load_model(MODEL).recipe, "name": "onnx-test", "augment": "none", "batch": 8, "epochs": 2,
              "frontend": frontend, "keep": "last", "label_smoothing": 0.0, "lr": 1e-3, "lr_schedule": "constant",
              "patience": 2, "sampling": "shuffle", "wave_augment": "none", "wave_copies": 0, "weight_decay": 0.0}
    recipe["architecture"] = {**recipe["architecture"], "bn_momentum": 0.5, **architecture}
    out.mkdir()
    (out / "recipe.json").write_text(json.dumps(recipe))
    done = subprocess.run([str(binary), "train", "--data", corpus, "--out", out / "run", "--recipe",
                           out / "recipe.json", "--protocol", "seed", "--cache", "none", "--quiet"],
                          capture_output=True, text=True)
    assert done.returncode == 0, f"ser train: {done.stderr}"
    return ser.load_model(out / "run")


@pytest.fixture(scope="session")
def seed_model(corpus, tmp_path_factory):
    """The seed architecture, smaller: conv-relu-bn blocks, flatten head, two dense layers,
    whole-clip 128x128 images (front end "resize")."""
    return train(corpus, tmp_path_factory.mktemp("seed") / "m", "resize", conv_channels=[8, 16, 16],
                 dense_units=[32, 16], head="flatten", block="conv-relu-bn")


@pytest.fixture(scope="session")
def bn_relu_model(corpus, tmp_path_factory):
    """The other block order and a dense layer after the gap head, on the fixed time axis."""
    return train(corpus, tmp_path_factory.mktemp("bn-relu") / "m", "fixed", conv_channels=[8, 16],
                 dense_units=[16], head="gap", block="conv-bn-relu")


@pytest.fixture(scope="session")
def shipped():
    return ser.load_model(MODEL)


@pytest.fixture(scope="session", params=["shipped", "seed_model", "bn_relu_model"])
def exported(request, tmp_path_factory):
    """(model, path of its ONNX file, onnxruntime session)."""
    model = request.getfixturevalue(request.param)
    path = tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx"
    assert ser.export_onnx(model, path) == str(path)
    return model, path, session(path)


def generated_images(model, wavs):
    """Windows of the generated clip, the long file and a noise burst, as ser.logmel makes them."""
    rng = np.random.default_rng(5)
    signals = [read_wav(wavs["clip"]), read_wav(wavs["long"]),
               ((rng.standard_normal(RATE) * 0.05).astype(np.float32), RATE)]
    return np.concatenate([windows(model, ser.logmel(y, rate, model.features)) for y, rate in signals])


def assert_runtime_matches_engine(model, sess, images):
    got, logits = sess.run(["probabilities", "logits"], {"image": images})
    want = model.forward_images(images)
    assert got.shape == want.shape == (len(images), len(model.classes))
    diff = np.abs(got - want).max()
    assert diff <= TOL, f"onnxruntime vs forward_images: max |dp| {diff:.3g}"
    assert np.abs(softmax(logits.astype(np.float64)) - got).max() <= 1e-6
    return diff


def test_graph_checks_and_describes_the_model(exported):
    model, path, _ = exported
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [17]
    arch = model.architecture
    shape = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert proto.graph.input[0].name == "image" and shape == ["N", 1, arch["height"], arch["width"]]
    assert [o.name for o in proto.graph.output] == ["probabilities", "logits"]
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["classes"]) == model.classes
    assert json.loads(props["features"]) == model.features
    assert json.loads(props["architecture"]) == arch
    block = {"conv-relu-bn": ["Conv", "Relu", "BatchNormalization", "MaxPool"],
             "conv-bn-relu": ["Conv", "BatchNormalization", "Relu", "MaxPool"]}[arch["block"]]
    head = ["GlobalAveragePool", "Flatten"] if arch["head"] == "gap" else ["Flatten"]
    ops = ["Sub", "Mul"] + block * len(arch["conv_channels"]) + head + ["Gemm", "Relu"] * len(arch["dense_units"])
    assert [n.op_type for n in proto.graph.node] == ops + ["Gemm", "Softmax"]
    bn = [n for n in proto.graph.node if n.op_type == "BatchNormalization"]
    assert {a.f for n in bn for a in n.attribute if a.name == "epsilon"} == {float(np.float32(1e-3))}


def test_runtime_matches_forward_images_on_generated_audio(exported, wavs):
    model, _, sess = exported
    assert_runtime_matches_engine(model, sess, generated_images(model, wavs))


def test_runtime_matches_forward_images_on_real_speech(exported, real_files):
    model, _, sess = exported
    images = np.concatenate([windows(model, ser.logmel(ser.load_audio(f), 16000, model.features)) for f in real_files])
    assert_runtime_matches_engine(model, sess, images)


def test_averaged_windows_give_predict(exported, wavs):
    """predict() of a clip as one image (whole=True: the small models' training clips are shorter
    than it) = softmax of the mean of its windows' logits (trainer.h forward_windowed)."""
    model, _, sess = exported
    frames, rate = read_wav(wavs["clip"])
    r = model.predict(frames, rate, whole=True)
    images = windows(model, ser.logmel(frames, rate, model.features))
    if model.features["time_axis"] == "fixed":
        assert len(images) > 1
    logits = sess.run(["logits"], {"image": images})[0].astype(np.float64)
    p = softmax(logits.mean(axis=0, keepdims=True))[0]
    want = np.array([r["probabilities"][c] for c in model.classes])
    assert np.abs(p - want).max() <= TOL, f"max |dp| {np.abs(p - want).max():.3g}"


def test_forward_images_checks_its_input(shipped):
    a = shipped.architecture
    good = np.full((2, 1, a["height"], a["width"]), -50.0, np.float32)
    p = shipped.forward_images(good)
    assert p.dtype == np.float32 and p.shape == (2, 6) and np.allclose(p.sum(axis=1), 1, atol=1e-6)
    assert np.array_equal(shipped.forward_images(np.asfortranarray(good)), p)  # any strides
    with pytest.raises(ValueError, match=r"images must be \(N, 1, 128, 128\)"):
        shipped.forward_images(good[:, :, :, :100])
    with pytest.raises(ValueError, match="empty"):
        shipped.forward_images(good[:0])
    with pytest.raises(ValueError, match="NaN"):
        shipped.forward_images(np.where(good == good.flat[0], np.nan, good).astype(np.float32))
    with pytest.raises(TypeError, match="float32"):
        shipped.forward_images(good.astype(np.float64))
    state = shipped.state()
    assert state["conv1.weight"].shape == (32, 1, 3, 3) and list(state)[-1] == "bn4.moving_var"
    assert shipped.normalization["std"] > 0


def test_export_refuses_what_it_cannot_express(shipped, tmp_path):
    from ser import onnx_export

    class Changed:
        def __init__(self, **fields):
            self.__dict__.update({k: getattr(shipped, k) for k in ("path", "classes", "features", "metadata",
                                                                    "normalization")})
            self.architecture = {**shipped.architecture, **fields}
            self.state = shipped.state

    with pytest.raises(ValueError, match="block 'conv-pool' is not supported"):
        onnx_export.build_onnx(Changed(block="conv-pool"))
    with pytest.raises(ValueError, match="head 'attention' is not supported"):
        onnx_export.build_onnx(Changed(head="attention"))
    with pytest.raises(ValueError, match="do not match its architecture"):
        onnx_export.build_onnx(Changed(dense_units=[64]))
    with pytest.raises(ValueError, match="opset must be an integer from 17"):
        ser.export_onnx(shipped, tmp_path / "x.onnx", opset=13)
    assert not (tmp_path / "x.onnx").exists()


def test_export_commands(seed_model, tmp_path):
    """python -m ser.export and `ser export` write the same graph as ser.export_onnx."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    py = subprocess.run([sys.executable, "-m", "ser.export", "--model", seed_model.path, "--onnx",
                         tmp_path / "py.onnx"], capture_output=True, text=True, env=env)
    assert py.returncode == 0, py.stderr
    assert "wrote" in py.stdout and "probabilities (N, 6)" in py.stdout
    ser.export_onnx(seed_model, tmp_path / "api.onnx")
    assert (tmp_path / "py.onnx").read_bytes() == (tmp_path / "api.onnx").read_bytes()
    bad = subprocess.run([sys.executable, "-m", "ser.export", "--model", tmp_path / "py.onnx", "--onnx",
                          tmp_path / "no.onnx"], capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and bad.stderr.startswith("ser export: error: ") and bad.stderr.count("\n") == 1
    # Without onnx (a stand-in package that fails to import): one line saying how to get it.
    (tmp_path / "no-onnx" / "onnx").mkdir(parents=True)
    (tmp_path / "no-onnx" / "onnx" / "__init__.py").write_text("raise ImportError('no onnx in this test')\n")
    no_onnx = subprocess.run([sys.executable, "-m", "ser.export", "--onnx", tmp_path / "n.onnx"], capture_output=True,
                             text=True, env={**env, "PYTHONPATH": os.pathsep.join([str(tmp_path / "no-onnx"),
                                                                                    *sys.path])})
    assert no_onnx.returncode == 1 and "needs the onnx package" in no_onnx.stderr
    assert "scripts/python-env" in no_onnx.stderr and not (tmp_path / "n.onnx").exists()
    binary = find_cli()
    if binary is None:
        pytest.skip("no `ser` binary for `ser export` (set SER_CLI)")
    # The interpreter and package folders this build was configured with (SER_PYTHON unset).
    build_env = {k: v for k, v in os.environ.items() if k != "SER_PYTHON"}
    cli = subprocess.run([str(binary), "export", "--model", seed_model.path, "--onnx", tmp_path / "cli.onnx"],
                         capture_output=True, text=True, env=build_env)
    assert cli.returncode == 0, cli.stderr
    assert (tmp_path / "cli.onnx").read_bytes() == (tmp_path / "api.onnx").read_bytes()
    missing = subprocess.run([str(binary), "export", "--onnx", tmp_path / "m.onnx"], capture_output=True, text=True,
                             env={**os.environ, "SER_PYTHON": str(tmp_path / "nopython")})
    assert missing.returncode == 1 and "nopython not found" in missing.stderr and "scripts/python-env" in missing.stderr

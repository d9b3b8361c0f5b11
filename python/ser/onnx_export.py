"""ONNX export of a ser model's network (docs/PYTHON.md "ONNX export"), built with onnx.helper.

The graph is the engine's eval-mode forward pass, layer for layer (engine/nn/architecture.h,
engine/nn/network.h), with the model file's own tensors under their own names:

    image (N, C, H, W) float32, dB as ser.logmel returns it, H x W the network's input
      -> Sub(mean) -> Mul(1 / std)                 the file's normalisation, as normalize_in_place
      -> per block i: Conv(conv{i}, 3x3, valid) -> Relu -> BatchNormalization(bn{i}) -> MaxPool(2x2)
         ("conv-relu-bn"; "conv-bn-relu" puts BatchNormalization before Relu); the batch norm in
         its inference form: the moving statistics, epsilon 1e-3 (Keras', the engine's)
      -> GlobalAveragePool -> Flatten (head "gap") or Flatten, C-H-W order (head "flatten")
      -> per dense_units entry: Gemm(fc{k}, transB) -> Relu (Dropout: training only, omitted)
      -> Gemm(out, transB) = "logits" (N, classes) -> Softmax(axis 1) = "probabilities" (N, classes)

N is free; C, H, W and the classes are fixed by the architecture. The front end (waveform ->
log-mel image) stays outside the graph, and so does the fixed time axis's windowing: an image
wider than the network is cut into windows at offsets 0, W/2, W, ... (the last flush with its
end) whose LOGITS are averaged before the softmax, which is why "logits" is an output too.
The model's metadata_props carry the class names, the front end's JSON and the rest.
"""

import json
import os

import numpy as np

MIN_OPSET = 17
BN_EPSILON = 1e-3  # engine/nn/layers.h BatchNorm2d::kKerasEpsilon; not stored in the file
BLOCKS = ("conv-relu-bn", "conv-bn-relu")
HEADS = ("gap", "flatten")
INSTALL_HINT = ("bash scripts/python-env adds onnx and onnxruntime to the repository's .venv; "
                "elsewhere: pip install 'onnx>=1.15'")


def _onnx():
    try:
        import onnx
    except ImportError as e:
        raise ImportError(f"ONNX export needs the onnx package, which this Python ({e}) lacks: {INSTALL_HINT}") from e
    return onnx


def _architecture(arch):
    """The architecture's fields the graph depends on; ValueError for what it cannot express."""
    block, head = arch.get("block"), arch.get("head")
    if block not in BLOCKS:
        raise ValueError(f"ONNX export: block {block!r} is not supported (supported: {', '.join(BLOCKS)})")
    if head not in HEADS:
        raise ValueError(f"ONNX export: head {head!r} is not supported (supported: {', '.join(HEADS)})")
    for key in ("in_channels", "height", "width", "classes"):
        if not isinstance(arch.get(key), int) or arch[key] < 1:
            raise ValueError(f"ONNX export: architecture field {key!r} = {arch.get(key)!r} is not a positive integer")
    for key in ("conv_channels", "dense_units"):
        if not isinstance(arch.get(key), list):
            raise ValueError(f"ONNX export: architecture field {key!r} is missing")
    if not arch["conv_channels"]:
        raise ValueError("ONNX export: an architecture without conv blocks is not supported")
    return arch


def _expected_shapes(arch):
    """{name: shape} of every tensor the network has (engine/nn/network.h)."""
    shapes = {}
    cin = arch["in_channels"]
    h, w = arch["height"], arch["width"]
    for i, cout in enumerate(arch["conv_channels"], start=1):
        shapes[f"conv{i}.weight"] = (cout, cin, 3, 3)
        for name in ("conv{}.bias", "bn{}.gamma", "bn{}.beta", "bn{}.moving_mean", "bn{}.moving_var"):
            shapes[name.format(i)] = (cout,)
        cin, h, w = cout, (h - 2) // 2, (w - 2) // 2
    if h < 1 or w < 1:
        raise ValueError(f"ONNX export: {arch['height']}x{arch['width']} images vanish after "
                         f"{len(arch['conv_channels'])} blocks")
    features = cin if arch["head"] == "gap" else cin * h * w
    for k, units in enumerate(arch["dense_units"], start=1):
        shapes[f"fc{k}.weight"] = (units, features)
        shapes[f"fc{k}.bias"] = (units,)
        features = units
    shapes["out.weight"] = (arch["classes"], features)
    shapes["out.bias"] = (arch["classes"],)
    return shapes


def build_onnx(model, opset=MIN_OPSET):
    """The onnx.ModelProto of `model` (a ser.Model), checked by onnx.checker (full check)."""
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    latest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= latest:
        raise ValueError(f"ONNX export: opset must be an integer from {MIN_OPSET} to {latest} (this onnx's "
                         f"newest), got {opset!r}")
    arch = _architecture(model.architecture)
    state = model.state()
    expected = _expected_shapes(arch)
    if set(state) != set(expected):
        raise ValueError(f"ONNX export: the model's tensors {sorted(set(state) ^ set(expected))} do not match its "
                         "architecture")
    for name, shape in expected.items():
        if tuple(state[name].shape) != shape:
            raise ValueError(f"ONNX export: {name} has shape {tuple(state[name].shape)}, expected {shape}")

    initializers = [numpy_helper.from_array(np.ascontiguousarray(state[name], dtype=np.float32), name)
                    for name in expected]
    # normalize_in_place: (x - float(mean)) * float(1 / std), the same float32 operations.
    norm = model.normalization
    initializers += [numpy_helper.from_array(np.array(norm["mean"], dtype=np.float32), "normalization.mean"),
                     numpy_helper.from_array(np.array(1.0 / norm["std"], dtype=np.float32), "normalization.inv_std")]

    nodes = [helper.make_node("Sub", ["image", "normalization.mean"], ["centred"], name="normalize_sub"),
             helper.make_node("Mul", ["centred", "normalization.inv_std"], ["normalized"], name="normalize_mul")]
    x = "normalized"

    def add(op, name, inputs, **attributes):
        nonlocal x
        out = f"{name}_out"
        nodes.append(helper.make_node(op, [x, *inputs], [out], name=name, **attributes))
        x = out

    for i in range(1, len(arch["conv_channels"]) + 1):
        add("Conv", f"conv{i}", [f"conv{i}.weight", f"conv{i}.bias"], kernel_shape=[3, 3], strides=[1, 1],
            pads=[0, 0, 0, 0], dilations=[1, 1])
        bn_inputs = [f"bn{i}.gamma", f"bn{i}.beta", f"bn{i}.moving_mean", f"bn{i}.moving_var"]
        if arch["block"] == "conv-relu-bn":
            add("Relu", f"relu{i}", [])
            add("BatchNormalization", f"bn{i}", bn_inputs, epsilon=BN_EPSILON)
        else:
            add("BatchNormalization", f"bn{i}", bn_inputs, epsilon=BN_EPSILON)
            add("Relu", f"relu{i}", [])
        add("MaxPool", f"pool{i}", [], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=0)
    if arch["head"] == "gap":
        add("GlobalAveragePool", "gap", [])
    add("Flatten", "flatten", [], axis=1)
    for k in range(1, len(arch["dense_units"]) + 1):
        add("Gemm", f"fc{k}", [f"fc{k}.weight", f"fc{k}.bias"], transB=1)
        add("Relu", f"fc{k}_relu", [])
    nodes.append(helper.make_node("Gemm", [x, "out.weight", "out.bias"], ["logits"], name="out", transB=1))
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1))

    classes = arch["classes"]
    graph = helper.make_graph(
        nodes, "ser",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                       ["N", arch["in_channels"], arch["height"], arch["width"]])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", classes]),
         helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])],
        initializer=initializers,
        doc_string="image: log-mel windows in dB before normalisation (ser.logmel, cut to the network's width) "
                   "-> probabilities: softmax of logits, in the order of metadata 'classes'")
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="ser",
                              producer_version=str(model.metadata.get("ser_version", "")),
                              doc_string=f"ser speech emotion recognition network from {os.path.basename(model.path)}")
    proto.ir_version = helper.find_min_ir_version_for(opsets)  # the oldest runtimes that know the opset load it
    window = {"network_width": arch["width"], "image_width": model.features.get("image_width"),
              "time_axis": model.features.get("time_axis"),
              "rule": "offsets 0, W/2, W, ... and one flush with the image's end; average the logits, then softmax"}
    helper.set_model_props(proto, {
        "classes": json.dumps(model.classes),
        "features": json.dumps(model.features, sort_keys=True),
        "architecture": json.dumps(arch, sort_keys=True),
        "normalization": json.dumps({**norm, "in_graph": True}),
        "windows": json.dumps(window),
        "ser_format": str(model.metadata.get("format", "")),
        "ser_version": str(model.metadata.get("ser_version", "")),
    })
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, path, opset=MIN_OPSET):
    """Writes build_onnx(model, opset) to `path` (a ser.Model or a model file / run folder path);
    returns the path written."""
    if not hasattr(model, "state"):
        from . import load_model
        model = load_model(model)
    proto = build_onnx(model, opset)
    onnx = _onnx()
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        onnx.save_model(proto, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path

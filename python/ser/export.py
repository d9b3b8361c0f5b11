"""`python -m ser.export --model M --onnx OUT.onnx [--opset 17]`: writes a model's network as an
ONNX graph (ser/onnx_export.py; docs/PYTHON.md "ONNX export"). `ser export` on the command line
runs this module. Without --model: the default model (ser.default_model_path()). Errors are one
line "ser export: error: ..." on stderr and exit status 1; 2 for bad arguments (argparse)."""

import argparse
import sys

import ser
from ser import onnx_export


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ser export", description="Write a ser model's network as an ONNX graph: "
                                     "input 'image' (N, C, H, W) float32 log-mel dB before normalisation, outputs "
                                     "'probabilities' and 'logits' (N, classes). The front end stays outside.")
    parser.add_argument("--model", help="a model file or run folder of `ser train` (default: the shipped model, "
                        "or $SER_MODEL)")
    parser.add_argument("--onnx", required=True, help="the ONNX file to write")
    parser.add_argument("--opset", type=int, default=onnx_export.MIN_OPSET,
                        help=f"ONNX opset (default and minimum {onnx_export.MIN_OPSET})")
    args = parser.parse_args(argv)
    try:
        model = ser.load_model(args.model)
        path = onnx_export.export_onnx(model, args.onnx, opset=args.opset)
    except (ImportError, OSError, ValueError) as e:
        print(f"ser export: error: {e}", file=sys.stderr)
        return 1
    a = model.architecture
    print(f"ser export: wrote {path} (opset {args.opset}): image (N, {a['in_channels']}, {a['height']}, "
          f"{a['width']}) dB -> probabilities (N, {a['classes']}) {', '.join(model.classes)}; from {model.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

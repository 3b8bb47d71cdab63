"""Export a detector (backbone + neck + head raw outputs) to ONNX.

    python tools/deployment/export_onnx.py CONFIG [CHECKPOINT] OUT.onnx
        [--size N] [--cfg-options k=v ...] [--force]

Checks the file with onnx, runs it in onnxruntime and prints the largest
difference to PyTorch beside the largest output. A checkpoint that does not
fit the config's model (another num_classes, another backbone) is refused
with every key that does not fit. Box decoding and NMS are not in the
graph (see mixdet/deployment.py).
"""

import argparse
import os
import sys

from mmengine.config import Config

import mixdet  # noqa: F401  (registers modules, applies the fixes)
from mixdet.cli import ConfigError
from mixdet.cli.checkpoint_fit import build_model_quietly, fitting_state_dict
from mixdet.cli.tool_config import add_cfg_options_argument
from mixdet.deployment import export_onnx, onnx_max_diff
from mixdet.engine.atomic import check_output_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('files', nargs='+', metavar='[CHECKPOINT] OUT.onnx')
    parser.add_argument(
        '--size',
        type=int,
        default=None,
        help='input side (default: the config input_size or 320)',
    )
    parser.add_argument('--opset', type=int, default=17)
    add_cfg_options_argument(parser)
    parser.add_argument(
        '--force',
        action='store_true',
        help='replace OUT.onnx if it exists (never an input file)',
    )
    args = parser.parse_args(argv)
    if len(args.files) > 2 or not args.files[-1].endswith('.onnx'):
        print('error: expected [CHECKPOINT] OUT.onnx', file=sys.stderr)
        return 2
    checkpoint = args.files[0] if len(args.files) == 2 else None
    try:
        if not os.path.isfile(args.config):
            raise ValueError(f'config {args.config!r} does not exist')
        check_output_path(
            args.files[-1], (args.config, checkpoint), args.force, 'OUT.onnx'
        )
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        model = build_model_quietly(cfg.model)
        if checkpoint:
            state, _ = fitting_state_dict(model, checkpoint, args.config)
            model.load_state_dict(state, strict=True)
    except (ValueError, ConfigError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    size = args.size or cfg.get('input_size', 320)
    out = export_onnx(model, args.files[-1], size, args.opset)
    diff, scale = onnx_max_diff(model, out, size)
    weights = checkpoint or 'random init: no checkpoint given'
    print(
        f'wrote {out} ({size}x{size}, weights: {weights}); onnxruntime vs '
        f'PyTorch max abs diff {diff:.2e} (largest output {scale:.2e})'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())

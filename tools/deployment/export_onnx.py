"""Export a detector (backbone + neck + head raw outputs) to ONNX.

    python tools/deployment/export_onnx.py CONFIG [CHECKPOINT] OUT.onnx

Checks the file with onnx, runs it in onnxruntime and prints the largest
difference to PyTorch. Box decoding and NMS are not in the graph (see
mixdet/deployment.py).
"""

import argparse
import os
import sys

from mmengine.config import Config

import mixdet  # noqa: F401  (registers modules, applies the fixes)
from mixdet.deployment import export_onnx, onnx_max_diff
from mixdet.utils.atomic import check_output_path


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
    for path, what in ((args.config, 'config'), (checkpoint, 'checkpoint')):
        if path is not None and not os.path.isfile(path):
            print(f'error: {what} {path!r} does not exist', file=sys.stderr)
            return 2
    try:
        check_output_path(
            args.files[-1], (args.config, checkpoint), args.force, 'OUT.onnx'
        )
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2

    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.runner import load_checkpoint

    register_all_modules()
    cfg = Config.fromfile(args.config)
    size = args.size or cfg.get('input_size', 320)
    model = MODELS.build(cfg.model)
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu')
    else:
        model.init_weights()
    out = export_onnx(model, args.files[-1], size, args.opset)
    diff = onnx_max_diff(model, out, size)
    print(
        f'wrote {out} ({size}x{size}); onnxruntime vs PyTorch max abs '
        f'diff {diff:.2e}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Evaluate an exported end-to-end detector on the config's test set.

    python tools/deployment/test_onnx.py CONFIG MODEL.onnx
        [--runtime onnxruntime|openvino] [--limit N] [--cfg-options k=v ...]

MODEL.onnx is a graph from ``export_onnx.py --end2end`` (float or INT8);
the runtime runs it on every test image (as the test pipeline loads and
resizes it) and the config's test evaluator (mmdet's ``CocoMetric``)
scores what it finds: the numbers ``tools/test.py`` gives for the PyTorch
model, for the deployed graph.
"""

import argparse
import os
import sys

from mmengine.config import Config

import mixdet  # noqa: F401  (registers modules, applies the fixes)
from mixdet.cli import ConfigError, check_config
from mixdet.cli.tool_config import add_cfg_options_argument
from mixdet.ops.export_policy import RUNTIMES


def check_end_to_end(onnx_file: str, name: str = 'MODEL.onnx') -> None:
    """Raise ValueError unless ``onnx_file`` is an end-to-end graph."""
    import onnx

    if not os.path.isfile(onnx_file):
        raise ValueError(f'{name} {onnx_file!r} does not exist')
    graph = onnx.load(onnx_file, load_external_data=False).graph
    outputs = [o.name for o in graph.output]
    if [i.name for i in graph.input] != ['image'] or outputs != [
        'dets',
        'labels',
    ]:
        raise ValueError(
            f'{name} {onnx_file!r} has outputs {outputs}, not an end-to-end '
            "detector's ['dets', 'labels']: export it with export_onnx.py "
            '--end2end'
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('model', metavar='MODEL.onnx')
    parser.add_argument('--runtime', choices=RUNTIMES, default='onnxruntime')
    parser.add_argument(
        '--limit', type=int, default=None, help='only the first N images'
    )
    add_cfg_options_argument(parser)
    args = parser.parse_args(argv)
    try:
        if not os.path.isfile(args.config):
            raise ValueError(f'config {args.config!r} does not exist')
        check_end_to_end(args.model)
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        check_config(cfg, training=False)
        from mixdet.evaluate_onnx import evaluate_onnx

        metrics = evaluate_onnx(cfg, args.model, args.runtime, args.limit)
    except (ValueError, ConfigError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    print(
        f'{args.model} in {args.runtime}: '
        + ', '.join(f'{k} {v}' for k, v in metrics.items())
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Evaluate an exported end-to-end detector on the config's test set.

    python tools/deployment/evaluate_onnx.py CONFIG MODEL.onnx
        [--runtime onnxruntime|openvino] [--cfg-options k=v ...]

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
from mixdet.cli import check_config
from mixdet.cli.tool_config import (
    add_cfg_options_argument,
    add_own_data_arguments,
    apply_own_data_arguments,
)
from mixdet.deploy.evaluate import check_end_to_end, evaluate_onnx
from mixdet.deploy.export_rules import RUNTIMES
from mixdet.utils import ConfigError


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config', help='the config the graph was exported from'
    )
    parser.add_argument(
        'model',
        metavar='MODEL.onnx',
        help='a graph of export_onnx.py --end2end (float or INT8)',
    )
    parser.add_argument(
        '--runtime',
        choices=RUNTIMES,
        default='onnxruntime',
        help='the runtime that runs the graph (default onnxruntime)',
    )
    add_cfg_options_argument(parser)
    add_own_data_arguments(parser, training=False)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if not os.path.isfile(args.config):
            raise ValueError(f'config {args.config!r} does not exist')
        check_end_to_end(args.model)
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        apply_own_data_arguments(cfg, args)
        check_config(cfg, training=False)
        metrics = evaluate_onnx(cfg, args.model, args.runtime)
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

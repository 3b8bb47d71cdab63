"""Quantize an end-to-end detector to INT8 (static, post-training).

    python tools/deployment/quantize_onnx.py CONFIG FLOAT.onnx INT8.onnx
        [--calib-images 32] [--keep-float none|depthwise|stem|head ...]
        [--method minmax|entropy|percentile] [--compare]
        [--runtimes onnxruntime openvino] [--cfg-options k=v ...] [--force]

FLOAT.onnx comes from ``export_onnx.py --end2end``. ONNX Runtime's
``quantize_static`` writes INT8.onnx: every op of the network it can
quantize (QDQ: conv weights int8 per channel, activations uint8 per
tensor; box decoding and NMS stay float), with ranges calibrated on
``--calib-images`` images of the config's training set through its test
pipeline; the convs of the ``--keep-float`` groups stay float
(mixdet/deploy/quantize.py). With
``--compare``: the COCO metrics of both graphs on the test set (the
config's evaluator, as tools/deployment/evaluate_onnx.py) and their latency
in each runtime, interleaved, in one table.
"""

import argparse
import os
import statistics
import sys

import numpy as np
from mmengine.config import Config

import mixdet  # noqa: F401  (registers modules, applies the fixes)
from mixdet.checkpoint.atomic import check_output_path
from mixdet.cli import check_config
from mixdet.cli.timing import interleaved
from mixdet.cli.tool_config import (
    add_cfg_options_argument,
    add_force_argument,
    add_own_data_arguments,
    apply_own_data_arguments,
)
from mixdet.deploy.evaluate import check_end_to_end
from mixdet.deploy.export_rules import RUNTIMES
from mixdet.deploy.quantize import KEEP_FLOAT
from mixdet.utils import ConfigError


def compare(cfg, graphs: dict, runtimes: list, rounds: int = 100) -> None:
    """Print mAP and latency of each graph in each runtime."""
    from mixdet.deploy import runtime_session
    from mixdet.deploy.evaluate import evaluate_onnx, graph_input_size

    h, w = graph_input_size(next(iter(graphs.values())))
    x = np.random.default_rng(0).random((1, 3, h, w), np.float32) * 255
    runs, metrics = {}, {}
    for runtime in runtimes:
        for name, path in graphs.items():
            metrics[(runtime, name)] = evaluate_onnx(cfg, path, runtime)
            run = runtime_session(runtime, path, spin=False)
            runs[(runtime, name)] = lambda run=run: run(x)
    for run in runs.values():
        run()  # warm up
    times = interleaved(runs, rounds)
    print(
        f'\n| runtime | graph | bbox mAP | mAP@0.5 | ms ({h}x{w}, batch 1, '
        f'median of {rounds} interleaved) |\n|---|---|---:|---:|---:|'
    )
    for (runtime, name), m in metrics.items():
        ms = 1e3 * statistics.median(times[(runtime, name)])
        print(
            f'| {runtime} | {name} | {m["coco/bbox_mAP"]:.3f} | '
            f'{m["coco/bbox_mAP_50"]:.3f} | {ms:.2f} |'
        )


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config', help='the config the graph was exported from'
    )
    parser.add_argument(
        'float_model',
        metavar='FLOAT.onnx',
        help='the float graph of export_onnx.py --end2end',
    )
    parser.add_argument('out', metavar='INT8.onnx', help='the graph to write')
    parser.add_argument(
        '--calib-images',
        type=int,
        default=32,
        help='training images that calibrate the ranges (default 32)',
    )
    parser.add_argument(
        '--keep-float',
        nargs='+',
        choices=list(KEEP_FLOAT),
        default=['none'],
        help='conv groups left float: '
        + '; '.join(f'{k}: {v}' for k, v in KEEP_FLOAT.items()),
    )
    parser.add_argument(
        '--method',
        choices=['minmax', 'entropy', 'percentile'],
        default='minmax',
        help='how ranges are calibrated (default minmax)',
    )
    parser.add_argument(
        '--compare',
        action='store_true',
        help='then COCO mAP and latency of float vs INT8 per runtime',
    )
    parser.add_argument(
        '--runtimes',
        nargs='+',
        choices=RUNTIMES,
        default=['onnxruntime'],
        help='the runtimes --compare measures',
    )
    add_cfg_options_argument(parser)
    add_own_data_arguments(parser, training=True)
    add_force_argument(parser, 'INT8.onnx')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if not os.path.isfile(args.config):
            raise ValueError(f'config {args.config!r} does not exist')
        check_end_to_end(args.float_model, 'FLOAT.onnx')
        check_output_path(
            args.out, (args.config, args.float_model), args.force, 'INT8.onnx'
        )
        if args.calib_images < 1:
            raise ValueError(
                f'--calib-images {args.calib_images}: expected at least 1'
            )
        cfg = Config.fromfile(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        apply_own_data_arguments(cfg, args)
        check_config(cfg, training=True)
        from mixdet.deploy.quantize import quantize_int8

        kept = quantize_int8(
            cfg,
            args.float_model,
            args.out,
            args.calib_images,
            args.keep_float,
            args.method,
        )
    except (ValueError, ConfigError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    print(
        f'wrote {args.out}: INT8 network, calibrated on {args.calib_images} '
        f'training images ({args.method}); {len(kept)} convs kept float '
        f'({", ".join(args.keep_float)})'
    )
    if args.compare:
        graphs = {'float': args.float_model, 'INT8': args.out}
        compare(cfg, graphs, args.runtimes)
    return 0


if __name__ == '__main__':
    sys.exit(main())

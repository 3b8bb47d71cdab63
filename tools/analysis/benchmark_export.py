"""Which ONNX graph of a MixNet detector a runtime runs fastest, measured.

    python tools/analysis/benchmark_export.py [--runtimes onnxruntime
        openvino] [--models SSDLite-MixNet-S SSDLite-MixNet-M]
        [--max-kernels 0 5 7 9 11] [--rounds 60]

For each runtime (on this CPU, float32, batch 1, 320x320, BN folded) and
each MixNet detector, every export choice of ``mixdet.deploy.ExportRule``:
MixConvs fused (one conv, kernels zero-padded) up to a largest kernel and
split above it (``--max-kernels``; 0: all split), grouped 1x1 convs
``grouped`` or ``dense``. All graphs and mmdet's SSDLite-MobileNetV2 run
in interleaved rounds; each is reported as its median latency and the
median over rounds of its latency relative to mmdet's. Ends with the
``ExportRule`` the fastest choice supports (mixdet/deploy/export_rules.py).
"""

import argparse
import os
import statistics
import sys
import tempfile

import numpy as np
import torch

from mixdet import deploy, ops
from mixdet.cli.timing import interleaved
from mixdet.deploy import export_onnx, runtime_session

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchmark import MODELS, build  # noqa: E402

MMDET = 'mmdet SSDLite-MobileNetV2'


def runner(runtime: str, path: str):
    """A function running ``path`` once on this CPU in ``runtime``."""
    x = np.random.default_rng(0).random((1, 3, 320, 320), np.float32)
    run = runtime_session(runtime, path, spin=False)
    return lambda: run(x)


def export(model, path: str, max_kernel: int, pointwise: str) -> str:
    """``model``'s raw outputs exported with that choice (BN folded)."""
    rule = deploy.ExportRule('', '', max_kernel, pointwise, 'measured here')
    return export_onnx(model, path, 320, rule=rule)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--runtimes',
        nargs='+',
        default=list(deploy.RUNTIMES),
        help='runtimes to time the graphs in',
    )
    parser.add_argument(
        '--models',
        nargs='+',
        default=['SSDLite-MixNet-S', 'SSDLite-MixNet-M'],
        help='MixNet detectors to export (names in benchmark.py)',
    )
    parser.add_argument(
        '--max-kernels',
        nargs='+',
        type=int,
        default=[0, 5, 7, 9, 11],
        help='export choices: MixConvs fused up to this kernel (0: all split)',
    )
    parser.add_argument(
        '--rounds',
        type=int,
        default=60,
        help='interleaved timing rounds',
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.manual_seed(0)
    kind = ops.device_kind(torch.device('cpu'))
    print(f'CPU {kind}, {os.cpu_count()} cores, torch {torch.__version__}')
    tmp = tempfile.mkdtemp()
    models = {
        name: build(MODELS[name]).eval() for name in [MMDET, *args.models]
    }
    graphs = {
        MMDET: (export(models[MMDET], f'{tmp}/mmdet.onnx', 0, 'grouped'), None)
    }
    for name in args.models:
        for k in args.max_kernels:
            for pointwise in deploy.POINTWISE:
                label = f'{name} fused<={k} {pointwise}'
                path = f'{tmp}/{len(graphs)}.onnx'
                graphs[label] = (
                    export(models[name], path, k, pointwise),
                    (name, k, pointwise),
                )
    for runtime in args.runtimes:
        runs = {
            label: runner(runtime, path) for label, (path, _) in graphs.items()
        }
        for run in runs.values():
            run()  # warm up
        times = interleaved(runs, args.rounds)
        base = times[MMDET]
        print(f'\n{runtime} (median of {args.rounds} interleaved rounds)')
        print('| graph | ms | vs mmdet |\n|---|---:|---:|')
        ratio = {}
        for label, t in times.items():
            ratio[label] = statistics.median(a / b for a, b in zip(t, base))
            ms = 1e3 * statistics.median(t)
            print(f'| {label} | {ms:.2f} | {ratio[label]:.3f}x |')
        # the choice fastest in total over the models
        totals = {}
        for label, (_, key) in graphs.items():
            if key is not None:
                totals[key[1:]] = totals.get(key[1:], 0) + ratio[label]
        k, pointwise = min(totals, key=totals.get)
        plain, best = totals[(0, 'grouped')], totals[(k, pointwise)]
        print(
            f"ExportRule('{runtime}', '{kind}', {k}, '{pointwise}', "
            f"'{plain / best:.2f}x the plain graph'),"
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())

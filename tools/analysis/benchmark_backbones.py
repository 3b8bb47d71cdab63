"""Backbone training and inference speed, on any device and precision.

    python tools/analysis/benchmark_backbones.py [--device cuda] \
        [--amp bf16] [--channels-last] [--batch 64] [--size 320]

For mixdet's MixNet-S and MixMobileNetV2 (3x3 = mmdet's MobileNetV2, and
mixconv357), mmdet's MobileNetV2, and timm's ``mixnet_s`` (features only)
and torchvision's MobileNetV2 features when importable: images/s of
forward + backward (a sum of the feature maps as the loss) and of
inference, and each relative to mmdet's MobileNetV2 round by round. The
models alternate call by call and CUDA is synchronised before every clock
read. ``--mode reference`` runs mixdet's plain paths
(``mixdet.ops.mode``) for every mixdet model; one MixNet-S always runs
them, for a ratio within the run.
"""

import argparse
import statistics
import sys
from contextlib import nullcontext
from typing import Callable

import torch

from mixdet import ops
from mixdet.cli.timing import (
    AMP_DTYPES,
    add_device_arguments,
    interleaved,
    synchronize,
)

BASELINE = 'mmdet MobileNetV2'


class ReferenceOps(torch.nn.Module):
    """A model that always runs mixdet's reference paths."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x):
        with ops.mode('reference'):
            return self.model(x)


def build_models(size: int) -> dict[str, torch.nn.Module]:
    """Name -> backbone returning a tuple of feature maps."""
    from mmdet.models.backbones import MobileNetV2

    from mixdet.models.backbones import MixMobileNetV2, MixNet

    models = {
        'mixdet MixNet-S': MixNet('s', out_indices=(2, 3, 4)),
        'mixdet MixNet-S, reference ops': ReferenceOps(
            MixNet('s', out_indices=(2, 3, 4))
        ),
        'mixdet MixMobileNetV2(3)': MixMobileNetV2(dw_kernel_sizes=3),
        'mixdet MixMobileNetV2(3,5,7)': MixMobileNetV2(
            dw_kernel_sizes=(3, 5, 7)
        ),
        'mmdet MobileNetV2': MobileNetV2(),
    }
    try:
        import timm

        models['timm mixnet_s'] = timm.create_model(
            'mixnet_s', features_only=True, out_indices=(2, 3, 4)
        )
    except ImportError:
        print('timm not importable: timm mixnet_s skipped')
    try:
        import torchvision

        models['torchvision mobilenet_v2'] = (
            torchvision.models.mobilenet_v2().features
        )
    except ImportError:
        print('torchvision not importable: its MobileNetV2 skipped')
    return models


def loss_of(outputs) -> torch.Tensor:
    if isinstance(outputs, torch.Tensor):
        return outputs.float().mean()
    return sum(o.float().mean() for o in outputs)


def make_calls(
    models: dict,
    x: torch.Tensor,
    train: bool,
    autocast: Callable,
    sync: Callable,
) -> dict[str, Callable]:
    calls = {}
    for name, model in models.items():
        model.train(train)

        def call(model=model):
            if train:
                model.zero_grad(set_to_none=True)
                with autocast():
                    loss = loss_of(model(x))
                loss.backward()
            else:
                with torch.no_grad(), autocast():
                    model(x)
            sync()

        calls[name] = call
    return calls


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    add_device_arguments(parser)
    parser.add_argument(
        '--batch',
        type=int,
        default=8,
        help='images per call',
    )
    parser.add_argument(
        '--size',
        type=int,
        default=320,
        help='side of the square input',
    )
    parser.add_argument(
        '--rounds',
        type=int,
        default=10,
        help='interleaved timing rounds',
    )
    parser.add_argument(
        '--warmup',
        type=int,
        default=3,
        help='untimed calls per model first',
    )
    parser.add_argument(
        '--mode',
        choices=ops.MODES,
        default='fast',
        help="mixdet.ops mode for every mixdet model ('reference': plain ops)",
    )
    parser.add_argument(
        '--compile', action='store_true', help='torch.compile every model'
    )
    parser.add_argument(
        '--only', nargs='+', default=None, help='substrings of model names'
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True

    def sync():
        synchronize(device)

    def autocast():
        if args.amp is None:
            return nullcontext()
        return torch.autocast(device.type, dtype=AMP_DTYPES[args.amp])

    torch.manual_seed(0)
    models = build_models(args.size)
    if args.only:
        models = {
            n: m for n, m in models.items() if any(s in n for s in args.only)
        }
    fmt = (
        torch.channels_last if args.channels_last else torch.contiguous_format
    )
    for name in models:
        model = models[name].to(device, memory_format=fmt)
        models[name] = torch.compile(model) if args.compile else model
    x = torch.randn(args.batch, 3, args.size, args.size, device=device)
    x = x.contiguous(memory_format=fmt)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == 'cuda'
        else f'CPU ({ops.device_kind(device)}, '
        f'{torch.get_num_threads()} threads)'
    )
    print(
        f'{name}, torch {torch.__version__}, batch {args.batch}, '
        f'{args.size}x{args.size}, {args.amp or "fp32"}, '
        f'{"channels_last" if args.channels_last else "NCHW"}, mixdet ops '
        f'mode {args.mode!r}{", compiled" if args.compile else ""}\n'
    )
    base = BASELINE if BASELINE in models else next(iter(models))
    print(f'| model | train img/s | vs {base} | inference img/s | vs {base} |')
    print('|---|---:|---:|---:|---:|')
    results = {}
    with ops.mode(args.mode):
        for train in (True, False):
            calls = make_calls(models, x, train, autocast, sync)
            for call in calls.values():
                for _ in range(args.warmup):
                    call()
            times = interleaved(calls, args.rounds)
            for n, t in times.items():
                # throughput, and its ratio to the baseline's within each
                # round (median): steadier on a noisy machine
                ratio = statistics.median(
                    b / a for a, b in zip(t, times[base])
                )
                results.setdefault(n, []).extend(
                    [args.batch / statistics.median(t), ratio]
                )
    for n, r in results.items():
        print(f'| {n} | {r[0]:.1f} | {r[1]:.2f}x | {r[2]:.1f} | {r[3]:.2f}x |')
    print(
        f'\nimg/s: medians of {args.rounds} interleaved rounds; "vs": the '
        f'median over rounds of the throughput relative to {base} in the '
        'same round (above 1x is faster).'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Every path of mixdet's ops on every layer shape of MixNet-S/M.

    python tools/analysis/benchmark_mixconv.py [--archs s m] [--device cpu]
        [--amp bf16] [--channels-last] [--batch 1] [--size 320]
        [--ops mixconv pointwise grouped_pointwise]

For each op with a fast path (MixConv, 1x1 conv, grouped 1x1 conv) and
each of its layers in
MixNet-S/M at SIZExSIZE: the median time of each path
(``mixdet.ops.prefer``), in inference and in forward + backward, the paths
alternating call by call (CUDA synchronised before every clock read).
Totals per network and op, relative to the reference path, end the
output, with the :class:`mixdet.ops.Rule` lines that this machine's
measurements support (paths faster in total than the reference). With
timm importable, timm's ``MixedConv2d`` is timed beside MixConv.
"""

import argparse
import statistics
import sys
from contextlib import nullcontext

import torch

from mixdet import ops
from mixdet.cli.timing import (
    AMP_DTYPES,
    add_device_arguments,
    interleaved,
    synchronize,
)
from mixdet.models.backbones import MixNet
from mixdet.models.layers import (
    GroupedPointwiseConv2d,
    MixConv2d,
    PointwiseConv2d,
)

# op -> (layer class, the paths to time besides 'reference', phases)
OPS = {
    'mixconv': (MixConv2d, ('fused',), ('infer', 'train')),
    'pointwise': (PointwiseConv2d, ('gemm',), ('infer', 'train')),
    'grouped_pointwise': (
        GroupedPointwiseConv2d,
        ('fused',),
        ('infer', 'train'),
    ),
}


def layers(arch: str, size: int, op: str) -> list[tuple]:
    """(module, input shape, count) of every distinct ``op`` layer of the
    arch; ``count`` layers share that configuration and shape."""
    model = MixNet(arch, out_indices=(5,)).eval()
    cls = OPS[op][0]
    found: dict = {}

    def hook(module, args):
        key = (repr(module), tuple(args[0].shape))
        if key in found:
            found[key][2] += 1
        else:
            found[key] = [module, tuple(args[0].shape[1:]), 1]

    for m in model.modules():
        if type(m) is cls:
            m.register_forward_pre_hook(hook)
    with torch.no_grad(), ops.mode('reference'):
        model(torch.zeros(1, 3, size, size))
    return [tuple(v) for v in found.values()]


def timm_mixconv(module: MixConv2d):
    """timm's MixedConv2d with ``module``'s kernels, or None."""
    try:
        from timm.layers import MixedConv2d
    except ImportError:
        return None
    if module.padding != 'symmetric' or module.dilated:
        return None
    conv = MixedConv2d(
        module.channels,
        module.out_channels,
        list(module.kernel_sizes),
        module.stride,
        padding='',
        depthwise=True,
    )
    conv.load_state_dict(module.state_dict())
    return conv


def bench(module, shape, paths, args, backward: bool, extra=None) -> dict:
    device = torch.device(args.device)
    fmt = (
        torch.channels_last if args.channels_last else torch.contiguous_format
    )
    module = module.to(device)
    if len(shape) == 3:
        module = module.to(memory_format=fmt)
    x = torch.randn(args.batch, *shape, device=device)
    if x.dim() == 4:
        x = x.contiguous(memory_format=fmt)
    x.requires_grad_(backward)

    def autocast():
        if args.amp is None:
            return nullcontext()
        return torch.autocast(device.type, dtype=AMP_DTYPES[args.amp])

    def make(run_module, path):
        def prefer():  # a fresh context manager for every call
            return ops.prefer(**{args.op: path}) if path else nullcontext()

        def run():
            with prefer(), autocast():
                if backward:
                    run_module(x).float().sum().backward()
                else:
                    with torch.no_grad():
                        run_module(x)
            synchronize(device)

        return run

    runs = {p: make(module, p) for p in ('reference', *paths)}
    runs['default'] = make(module, None)  # what mixdet.ops picks here
    if extra is not None:
        runs['timm'] = make(extra.to(device, memory_format=fmt), None)
    for run in runs.values():
        run()  # warm up
    times = interleaved(runs, args.repeats)
    return {p: statistics.median(t) for p, t in times.items()}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--size',
        type=int,
        default=320,
        help='side of the square input to the network',
    )
    parser.add_argument(
        '--batch',
        type=int,
        default=1,
        help='images per call',
    )
    parser.add_argument(
        '--repeats',
        type=int,
        default=20,
        help='interleaved timing rounds',
    )
    parser.add_argument(
        '--archs',
        nargs='+',
        default=['s', 'm'],
        help='MixNet sizes whose MixConv layers are timed',
    )
    add_device_arguments(parser)
    parser.add_argument(
        '--ops',
        nargs='+',
        choices=list(OPS),
        default=list(OPS),
        help='which ops to time',
    )
    parser.add_argument(
        '--per-layer', action='store_true', help='print every layer'
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.manual_seed(0)
    device = torch.device(args.device)
    if device.type == 'cuda':
        torch.backends.cudnn.benchmark = True
    kind = ops.device_kind(device)
    where = (
        torch.cuda.get_device_name(device)
        if device.type == 'cuda'
        else f'CPU {kind}, {torch.get_num_threads()} threads'
    )
    dtype = args.amp and str(AMP_DTYPES[args.amp]).replace('torch.', '')
    dtype = dtype or 'float32'
    layout = 'nhwc' if args.channels_last else 'nchw'
    print(
        f'{where}, torch {torch.__version__}, batch {args.batch}, '
        f'{args.size}x{args.size}, {dtype}, {layout}\n'
    )
    rules = []
    for op in args.ops:
        args.op = op
        _, paths, phases = OPS[op]
        for phase in phases:
            backward = phase == 'train'
            for arch in args.archs:
                totals: dict = {}
                for module, shape, count in layers(arch, args.size, op):
                    extra = timm_mixconv(module) if op == 'mixconv' else None
                    r = bench(module, shape, paths, args, backward, extra)
                    for p, t in r.items():
                        totals[p] = totals.get(p, 0.0) + t * count
                    if args.per_layer:
                        cells = ', '.join(
                            f'{p} {1e3 * t:.3f} ms' for p, t in r.items()
                        )
                        print(
                            f'  {op} {phase} {arch} x{count} '
                            f'[{module.extra_repr()}] {shape}: {cells}'
                        )
                ref = totals['reference']
                cells = ', '.join(
                    f'{p} {1e3 * t:.1f} ms ({ref / t:.2f}x)'
                    for p, t in totals.items()
                )
                print(f'{op:18} {phase:5} MixNet-{arch.upper()}: {cells}')
                if arch == args.archs[0]:
                    best = min(paths, key=lambda p: totals[p])
                    if totals[best] < ref:
                        rules.append(
                            f"Rule('{op}', '{kind}', '{dtype}', '{layout}', "
                            f"'{phase}', '{best}', 'MixNet-{arch.upper()} "
                            f'layers {ref / totals[best]:.2f}x reference, '
                            f"batch {args.batch}'),"
                        )
    print('\nRules these measurements support (mixdet/ops/policy.py):')
    print('\n'.join(rules) if rules else '(none: reference everywhere)')
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""MixConv fused vs split on every MixConv layer shape of MixNet-S/M.

    python tools/analysis/benchmark_mixconv.py [--size 320] [--batch 1]

For each MixConv layer of MixNet-S and MixNet-M at SIZExSIZE: the median
time of the split path (split -> conv per group -> concat) and the fused
path (one depthwise conv over zero-padded kernels), for inference and for
forward+backward, the two paths alternating call by call, and the path
'auto' picks. Totals per network compare split, fused and auto.
"""

import argparse
import statistics
import sys

import torch

from mixdet.models.backbones import MixNet
from mixdet.models.layers import MixConv2d
from mixdet.utils.timing import interleaved


def layer_shapes(arch: str, size: int) -> list[tuple]:
    """(channels, kernels, stride, padding, H, W) of each MixConv layer."""
    model = MixNet(arch, out_indices=(4,)).eval()
    shapes = []

    def hook(module, args):
        shapes.append(
            (
                module.channels,
                module.kernel_sizes,
                module.stride,
                module.padding,
                *args[0].shape[-2:],
            )
        )

    for m in model.modules():
        if isinstance(m, MixConv2d):
            m.register_forward_pre_hook(hook)
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    return shapes


def bench_layer(
    shape: tuple, batch: int, backward: bool, repeats: int
) -> dict[str, float]:
    """Median seconds per call of each path; the two paths alternate call
    by call, so a slow spell of the machine hits both alike."""
    channels, kernels, stride, padding, h, w = shape
    conv = MixConv2d(channels, kernels, stride, padding=padding)
    x = torch.randn(batch, channels, h, w, requires_grad=backward)
    runs = {}
    for path in ('split', 'fused'):
        forward = conv.forward_split if path == 'split' else conv.forward_fused

        def run(forward=forward):
            if backward:
                forward(x).sum().backward()
            else:
                with torch.no_grad():
                    forward(x)

        run()  # warm up
        runs[path] = run
    times = interleaved(runs, repeats)
    result = {path: statistics.median(t) for path, t in times.items()}
    result['auto'] = result['fused'] if conv.use_fused() else result['split']
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=320)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--archs', nargs='+', default=['s', 'm'])
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    print(
        f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
        f'batch {args.batch}, {args.size}x{args.size} input\n'
    )
    for mode in ('inference', 'forward+backward'):
        backward = mode != 'inference'
        print(f'## {mode}\n')
        print(
            '| arch | C | kernels | s | HxW | split ms | fused ms | '
            'speed-up | auto |'
        )
        print('|---|---:|---|---:|---|---:|---:|---:|---|')
        totals = {}
        for arch in args.archs:
            totals[arch] = dict(split=0.0, fused=0.0, auto=0.0)
            for shape in layer_shapes(arch, args.size):
                r = bench_layer(shape, args.batch, backward, args.repeats)
                for k in totals[arch]:
                    totals[arch][k] += r[k]
                c, k, s, _, h, w = shape
                auto = 'fused' if r['auto'] == r['fused'] else 'split'
                print(
                    f'| {arch} | {c} | {".".join(map(str, k))} | {s} | '
                    f'{h}x{w} | {1e3 * r["split"]:.3f} | '
                    f'{1e3 * r["fused"]:.3f} | '
                    f'{r["split"] / r["fused"]:.2f}x | {auto} |'
                )
        print()
        for arch, t in totals.items():
            split, fused, auto = (
                1e3 * t[k] for k in ('split', 'fused', 'auto')
            )
            print(
                f'total MixNet-{arch.upper()}: split {split:.1f} ms, fused '
                f'{fused:.1f} ms, auto {auto:.1f} ms; fused '
                f'{split / fused:.2f}x and auto {split / auto:.2f}x the speed '
                'of split'
            )
        print()
    return 0


if __name__ == '__main__':
    sys.exit(main())

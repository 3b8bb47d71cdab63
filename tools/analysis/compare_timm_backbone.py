"""mixdet's MixNet beside mmpretrain's ``TIMMBackbone``, measured.

    pip install mmpretrain==1.2.0 timm   # see docs/performance.md
    python tools/analysis/compare_timm_backbone.py [--arch s] \
        [--threads 1] [--batches 1 8] [--rounds 20] [--size 320]

The alternative an mmdet user would pick instead of mixdet is
``dict(type='mmpretrain.TIMMBackbone', model_name='mixnet_s',
features_only=True)``. Both backbones here get the same weights (timm's,
converted by mixdet's converter) and the same SSDLite neck and head (out
indices 3 and 4: TIMMBackbone has no out index 5), so the script first
checks that they are one network: equal parameter and multiply-add
counts, equal feature maps, equal detector outputs, and each end-to-end
ONNX graph (``export_onnx.py --end2end``) giving mmdet's detections. It
exits 1 when any of that fails. Then, on ``--threads`` CPU threads, in
interleaved rounds (each pair compared round by round):

1. the backbone's forward (eval, no grad) and training step (forward,
   backward of the features' sum, SGD step), for each of ``--batches``;
2. the end-to-end ONNX graph (batch 1) in ONNX Runtime.

Prints markdown tables; ``mixdet / timm`` below 1 means mixdet is faster.
"""

import argparse
import copy
import os
import statistics
import sys
import tempfile

import torch

from mixdet.cli.timing import interleaved

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
CONFIG = 'configs/mixnet/ssdlite_mixnet-{}_8xb24-600e_coco.py'
OUT_INDICES = (3, 4)  # the two deepest feature maps both backbones have
TOLERANCE = 1e-4


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--arch',
        choices=['s', 'm', 'l'],
        default='s',
        help='MixNet size (timm model mixnet_<arch>)',
    )
    parser.add_argument(
        '--threads', type=int, default=1, help='CPU threads for both'
    )
    parser.add_argument(
        '--batches',
        type=int,
        nargs='+',
        default=[1, 8],
        help='backbone batch sizes to time',
    )
    parser.add_argument(
        '--rounds', type=int, default=20, help='interleaved timing rounds'
    )
    parser.add_argument(
        '--size', type=int, default=320, help='side of the square input'
    )
    args = parser.parse_args(argv)
    for name in ('threads', 'rounds', 'size'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be at least 1')
    if min(args.batches) < 1:
        parser.error('--batches must be at least 1 each')
    return args


def build_pair(arch: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    """SSDLite with mixdet's MixNet and with TIMMBackbone, same weights."""
    from mmengine.config import Config

    from mixdet.cli.checkpoint_fit import build_model_quietly
    from mixdet.converters import convert_timm_mixnet
    from mixdet.swap import swap_backbone

    cfg = Config.fromfile(os.path.join(REPO, CONFIG.format(arch)))
    timm_backbone = dict(
        type='mmpretrain.TIMMBackbone',
        model_name=f'mixnet_{arch}',
        features_only=True,
        pretrained=False,
        out_indices=OUT_INDICES,
    )
    # timm's PyTorch-trained MixNets use BatchNorm eps 1e-5
    mixdet_backbone = dict(
        cfg.model.backbone,
        out_indices=OUT_INDICES,
        norm_cfg=dict(type='BN', eps=1e-5, momentum=0.1),
    )
    # swap_backbone sizes the SSDLite neck and head for these features;
    # timm's levels with other channels would fail the first forward
    mixdet_model = swap_backbone(copy.deepcopy(cfg.model), mixdet_backbone)
    timm_model = copy.deepcopy(mixdet_model)
    timm_model.backbone = timm_backbone
    torch.manual_seed(0)
    timm_det = build_model_quietly(timm_model)
    mixdet_det = build_model_quietly(mixdet_model)
    weights = convert_timm_mixnet(timm_det.backbone.timm_model.state_dict())
    missing, unexpected = mixdet_det.backbone.load_state_dict(
        weights, strict=False
    )
    # the stride-32 head conv (out index 5) is not in a features_only model
    assert not unexpected and all(k.startswith('conv2.') for k in missing)
    mixdet_det.neck.load_state_dict(timm_det.neck.state_dict())
    mixdet_det.bbox_head.load_state_dict(timm_det.bbox_head.state_dict())
    return mixdet_det.eval(), timm_det.eval()


def flat(nest) -> list[torch.Tensor]:
    """The tensors of a nest of tuples and lists, in order."""
    if isinstance(nest, torch.Tensor):
        return [nest]
    return [t for item in nest for t in flat(item)]


def max_diff(a, b) -> float:
    """Largest absolute difference between two nests of tensors."""
    return max(float((x - y).abs().max()) for x, y in zip(flat(a), flat(b)))


def check_same_network(dets: dict, size: int, tmp: str) -> dict[str, str]:
    """Each check's result as text (graphs are written to the folder
    ``tmp``); raises AssertionError on a failure."""
    from mixdet.analysis.complexity import count_madds, count_params
    from mixdet.deploy import export_onnx, onnx_max_diff

    (m, t) = dets.values()
    x = torch.randn(
        2, 3, size, size, generator=torch.Generator().manual_seed(0)
    )
    with torch.no_grad():
        features = max_diff(m.backbone(x), t.backbone(x))
        outputs = [m(x, mode='tensor'), t(x, mode='tensor')]
        scale = max(float(t.abs().max()) for t in flat(outputs[0]))
        outputs = max_diff(*outputs)
    counts = [
        (count_params(d.backbone), count_madds(d.backbone, size))
        for d in dets.values()
    ]
    result = {
        'backbone parameters, multiply-adds': ', '.join(
            f'{n}: {p / 1e6:.3f} M, {a / 1e6:.1f} M'
            for n, (p, a) in zip(dets, counts)
        ),
        'feature maps, max difference': f'{features:.1e}',
        'detector outputs, max difference': (
            f'{outputs:.1e} (outputs up to {scale:.1e})'
        ),
    }
    assert counts[0] == counts[1], f'counts differ: {counts}'
    assert features < TOLERANCE and outputs <= TOLERANCE * scale, result
    image = torch.randint(
        0, 256, (1, 3, size, size), generator=torch.Generator().manual_seed(1)
    ).float()
    for name, det in dets.items():
        raw = export_onnx(det, f'{tmp}/raw.onnx', size)
        diff, scale = onnx_max_diff(det, raw, size)
        result[f'{name} raw ONNX outputs vs PyTorch'] = (
            f'max difference {diff:.1e} (outputs up to {scale:.1e})'
        )
        # relative: the head's outputs are small at initialisation
        assert diff <= TOLERANCE * scale, result
        count, diff = scores_vs_mmdet(det, image, f'{tmp}/check.onnx')
        result[f'{name} end-to-end ONNX vs mmdet predict'] = (
            f'{count[0]} / {count[1]} detections, scores within {diff:.1e}'
        )
        assert count[0] == count[1] and diff < TOLERANCE, result
    return result


def scores_vs_mmdet(
    det: torch.nn.Module, image: torch.Tensor, onnx_file: str
) -> tuple[tuple[int, int], float]:
    """Detection counts of ``det``'s end-to-end graph (written to
    ``onnx_file``) and of mmdet's ``predict`` on ``image``, and the largest
    difference between their scores sorted (random weights give many
    near-equal scores, whose order is noise). With random weights no score
    passes the config's threshold, so both use 0 here."""
    import numpy as np

    from mixdet.deploy import runtime_session
    from mixdet.deploy.end_to_end import (
        detections,
        export_end_to_end,
        mmdet_predictions,
    )

    det = copy.deepcopy(det)
    det.bbox_head.test_cfg.score_thr = 0.0
    export_end_to_end(det, onnx_file, image.shape[-1])
    _, scores, _ = mmdet_predictions(det, image)
    dets, labels = runtime_session('onnxruntime', onnx_file)(image.numpy())
    got = np.sort(detections(dets[0], labels[0])[1])[::-1]
    want = np.sort(scores.numpy())[::-1]
    n = min(len(got), len(want))
    diff = float(abs(got[:n] - want[:n]).max()) if n else 0.0
    return (len(got), len(want)), diff


def backbone_steps(dets: dict, batch: int, size: int) -> dict:
    """``{label: one call}``: forward and training step of each backbone."""
    x = torch.randn(batch, 3, size, size)
    fns = {}
    for name, det in dets.items():
        backbone = det.backbone
        optim = torch.optim.SGD(backbone.parameters(), lr=1e-6)

        def forward(backbone=backbone):
            backbone.eval()
            with torch.no_grad():
                backbone(x)

        def train_step(backbone=backbone, optim=optim):
            backbone.train()
            loss = sum(f.sum() for f in backbone(x))
            optim.zero_grad()
            loss.backward()
            optim.step()

        fns[f'forward, batch {batch}|{name}'] = forward
        fns[f'training step, batch {batch}|{name}'] = train_step
    return fns


def table(times: dict[str, list[float]], names: list[str]) -> list[str]:
    """Markdown rows: each measure's median ms per model and the median
    over rounds of mixdet's time / timm's."""
    rows = [
        f'| measure | {names[0]} ms | {names[1]} ms | mixdet / timm |',
        '|---|---:|---:|---:|',
    ]
    measures = dict.fromkeys(label.split('|')[0] for label in times)
    for measure in measures:
        a, b = (times[f'{measure}|{n}'] for n in names)
        ratio = statistics.median(x / y for x, y in zip(a, b))
        ms = [1e3 * statistics.median(t) for t in (a, b)]
        rows.append(
            f'| {measure} | {ms[0]:.2f} | {ms[1]:.2f} | {ratio:.2f}x |'
        )
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        import mmpretrain.models  # noqa: F401
        import timm
    except ImportError as error:
        print(
            f'compare_timm_backbone.py needs mmpretrain and timm ({error}): '
            'pip install mmpretrain==1.2.0 timm',
            file=sys.stderr,
        )
        return 2
    from mmdet.utils import register_all_modules

    import mixdet  # noqa: F401
    from mixdet import ops
    from mixdet.deploy import runtime_session
    from mixdet.deploy.end_to_end import export_end_to_end

    register_all_modules()
    torch.set_num_threads(args.threads)
    print(
        f'CPU {ops.device_kind(torch.device("cpu"))}, {args.threads} '
        f'thread(s) of {os.cpu_count()}, torch {torch.__version__}, timm '
        f'{timm.__version__}, mmpretrain {mmpretrain.__version__}, '
        f'SSDLite-MixNet-{args.arch.upper()} out indices {OUT_INDICES}, '
        f'{args.size}x{args.size}'
    )
    names = ['mixdet MixNet', 'TIMMBackbone']
    dets = dict(zip(names, build_pair(args.arch)))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            checks = check_same_network(dets, args.size, tmp)
        except AssertionError as error:
            print(f'not the same network: {error}', file=sys.stderr)
            return 1
        print('\nSame network, same weights:')
        for key, value in checks.items():
            print(f'- {key}: {value}')
        import numpy as np

        image = (
            np.random.default_rng(0)
            .integers(0, 256, (1, 3, args.size, args.size))
            .astype(np.float32)
        )
        fns = {}
        for batch in args.batches:
            fns.update(backbone_steps(dets, batch, args.size))
        for i, (name, det) in enumerate(dets.items()):
            path = export_end_to_end(det, f'{tmp}/{i}.onnx', args.size)
            run = runtime_session(
                'onnxruntime', path, spin=False, threads=args.threads
            )
            fns[f'end-to-end ONNX, ONNX Runtime, batch 1|{name}'] = (
                lambda run=run: run(image)
            )
        for fn in fns.values():
            fn()  # warm up
        times = interleaved(fns, args.rounds)
    print(f'\nMedian of {args.rounds} interleaved rounds:')
    print('\n'.join(table(times, names)))
    return 0


if __name__ == '__main__':
    sys.exit(main())

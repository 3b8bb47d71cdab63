"""End-to-end SSDLite benchmarks on this machine (CPU, eager and ONNX).

    python tools/analysis/benchmark.py [--rounds 60]

For SSDLite-MixNet-S/M, mixdet's MobileNetV2 (baseline and mixconv357) and
mmdet's own SSDLite-MobileNetV2, all at 320x320:

1. latency: backbone + neck + head (raw outputs), batch 1, eval mode;
2. training throughput: images/s of loss + backward + SGD step, batch 8;
3. ONNX Runtime latency of the same exported graph, batch 1;
4. peak resident memory of one training step, each model in its own
   process.

Latency and throughput are measured in rounds that call every model once,
in alternating order (interleaved), and each model is compared with mmdet's
SSDLite-MobileNetV2 round by round (the median of the per-round ratios),
so that the machine's slow and fast spells cancel out. Latency is also
given with BatchNorm folded into the convolutions (mmcv's fuse_conv_bn,
applied to every model alike). For MixConv alone, fused vs split,
see tools/analysis/benchmark_mixconv.py.
"""

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile

import torch
from mmengine.logging import MMLogger

from mixdet.utils.timing import interleaved

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SSDLITE = 'configs/ssdlite/ssdlite_{}_8xb24-600e_coco.py'
MODELS = {
    'mmdet SSDLite-MobileNetV2': (
        'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'
    ),
    'SSDLite-MixNet-S': SSDLITE.format('mixnet-s'),
    'SSDLite-MixNet-M': SSDLITE.format('mixnet-m'),
    'SSDLite-MobileNetV2 baseline3x3': SSDLITE.format(
        'mobilenetv2-baseline3x3'
    ),
    'SSDLite-MobileNetV2 mixconv357': SSDLITE.format('mobilenetv2-mixconv357'),
}
BASELINE = 'mmdet SSDLite-MobileNetV2'


def build(config: str):
    """Build a detector from a mixdet config or an ``mmdet::`` name."""
    from mmdet.registry import MODELS as REGISTRY
    from mmdet.utils import register_all_modules

    import mixdet  # noqa: F401
    from mixdet.swap import mmdet_config

    register_all_modules()
    if config.startswith('mmdet::'):
        cfg = mmdet_config(config)
    else:
        from mmengine.config import Config

        cfg = Config.fromfile(os.path.join(REPO, config))
    model = REGISTRY.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # no per-parameter init report
    model.init_weights()
    logger.setLevel(level)
    return model


def train_step_fn(model, batch: int):
    """A closure running one loss + backward + SGD step on a fixed batch."""
    sys.path.insert(0, os.path.join(REPO, 'tests'))
    from helpers import random_det_batch

    model.train()
    data = model.data_preprocessor(
        random_det_batch(batch, 320, 80), training=True
    )
    optim = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

    def step():
        losses = model(**data, mode='loss')
        loss = sum(
            v.sum() if isinstance(v, torch.Tensor) else sum(x.sum() for x in v)
            for k, v in losses.items()
            if 'loss' in k
        )
        optim.zero_grad()
        loss.backward()
        optim.step()

    return step


def peak_memory_mb(config: str, batch: int) -> float:
    """Peak RSS (MiB) of a fresh process that runs two training steps."""
    code = (  # noqa: E501
        f'import sys; sys.path.insert(0, {REPO!r}); '
        'sys.argv = ["x"]; '
        'from tools.analysis.benchmark import build, train_step_fn; '
        f'm = build({config!r}); s = train_step_fn(m, {batch}); '
        's(); s(); '
        # VmHWM: this process's own peak RSS (ru_maxrss would report the
        # parent's, which survives fork + exec on Linux).
        'print([x.split()[1] for x in open("/proc/self/status") '
        'if x.startswith("VmHWM")][0])'
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout
    return int(out.strip().splitlines()[-1]) / 1024


def ratio(times: dict, name: str) -> float:
    """Median over rounds of ``name``'s time / the baseline's time."""
    return statistics.median(
        a / b for a, b in zip(times[name], times[BASELINE])
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--rounds',
        type=int,
        default=60,
        help='interleaved latency rounds (one call per model each)',
    )
    parser.add_argument(
        '--train-rounds',
        type=int,
        default=6,
        help='interleaved training-step rounds',
    )
    parser.add_argument('--train-batch', type=int, default=8)
    parser.add_argument('--no-memory', action='store_true')
    args = parser.parse_args(argv)

    import onnxruntime as ort
    from mmcv.cnn import fuse_conv_bn

    from mixdet.deployment import RawOutputs, export_onnx, fuse_convs

    torch.manual_seed(0)
    print(
        f'torch {torch.__version__} ({torch.get_num_threads()} threads), '
        f'onnxruntime {ort.__version__}, {os.cpu_count()} CPUs\n'
    )
    models = {name: build(cfg) for name, cfg in MODELS.items()}
    x = torch.randn(1, 3, 320, 320)
    feed = {'image': x.numpy()}
    eager, folded, onnx, steps = {}, {}, {}, {}
    tmp = tempfile.mkdtemp()
    for name, model in models.items():
        model.eval()
        eager[name] = RawOutputs(model).eval()
        # BN folded into the convs, as mmcv's fuse_conv_bn does (and ONNX
        # Runtime): both models alike, for reference.
        folded[name] = RawOutputs(
            fuse_conv_bn(fuse_convs(model, plain=False))
        ).eval()
        path = export_onnx(model, os.path.join(tmp, f'{len(onnx)}.onnx'))
        options = ort.SessionOptions()
        # Idle ORT threads spin by default and would slow the next model's
        # call in an interleaved round (measured: 2x on both models).
        options.add_session_config_entry(
            'session.intra_op.allow_spinning', '0'
        )
        session = ort.InferenceSession(
            path, options, providers=['CPUExecutionProvider']
        )
        onnx[name] = lambda s=session: s.run(None, feed)
        steps[name] = train_step_fn(model, args.train_batch)

    def calls(runs: dict) -> dict:
        return {name: lambda run=run: run(x) for name, run in runs.items()}

    for model in models.values():
        model.eval()  # train_step_fn left it in training mode
    with torch.no_grad():
        for run in [*eager.values(), *folded.values()]:
            for _ in range(3):  # warm up (and fill the weight caches)
                run(x)
        times = {
            'eager': interleaved(calls(eager), args.rounds),
            'folded': interleaved(calls(folded), args.rounds),
        }
    for run in onnx.values():
        run()
    times['onnx'] = interleaved(onnx, args.rounds)
    for model in models.values():
        model.train()
    times['train'] = interleaved(steps, args.train_rounds)

    med = {
        kind: {n: statistics.median(v) for n, v in t.items()}
        for kind, t in times.items()
    }
    print(
        '| model | eager ms | vs mmdet | BN folded ms | vs mmdet | '
        'ONNX Runtime ms | eager/ORT | '
        f'train img/s (batch {args.train_batch}) | vs mmdet | '
        'peak MB (train step) |'
    )
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for name in models:
        memory = (
            '-'
            if args.no_memory
            else f'{peak_memory_mb(MODELS[name], args.train_batch):.0f}'
        )
        eager_ms = 1e3 * med['eager'][name]
        onnx_ms = 1e3 * med['onnx'][name]
        print(
            f'| {name} | {eager_ms:.1f} | '
            f'{ratio(times["eager"], name):.2f}x | '
            f'{1e3 * med["folded"][name]:.1f} | '
            f'{ratio(times["folded"], name):.2f}x | {onnx_ms:.1f} | '
            f'{eager_ms / onnx_ms:.2f}x | '
            f'{args.train_batch / med["train"][name]:.1f} | '
            f'{1 / ratio(times["train"], name):.2f}x | {memory} |'
        )
    print(
        f'\nLatency: medians of {args.rounds} interleaved rounds (batch 1); '
        '"vs mmdet" is the median over rounds of the latency relative to '
        'mmdet SSDLite-MobileNetV2 in the same round (below 1x is faster); '
        'for training it is the throughput relative to mmdet '
        f'({args.train_rounds} rounds; above 1x is faster). "BN folded": '
        "mmcv's fuse_conv_bn applied to every model."
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""End-to-end SSDLite benchmarks on this machine (CPU, eager and ONNX).

    python tools/analysis/benchmark.py [--rounds 5]

For SSDLite-MixNet-S/M, mixdet's MobileNetV2 (baseline and mixconv357) and
mmdet's own SSDLite-MobileNetV2, all at 320x320:

1. latency: backbone + neck + head (raw outputs), batch 1, eval mode;
2. training throughput: images/s of loss + backward + SGD step, batch 8;
3. ONNX Runtime latency of the same exported graph, batch 1;
4. peak resident memory of one training step, each model in its own
   process.

Latency and throughput are measured in rounds that visit every model in
turn (interleaved), and the medians are compared with mmdet's
SSDLite-MobileNetV2 in the same run. For MixConv alone, fused vs split,
see tools/analysis/benchmark_mixconv.py.
"""

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
from mmengine.logging import MMLogger

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


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument(
        '--iters',
        type=int,
        default=5,
        help='latency calls per model per round',
    )
    parser.add_argument('--train-batch', type=int, default=8)
    parser.add_argument('--no-memory', action='store_true')
    args = parser.parse_args(argv)

    import onnxruntime as ort

    from mixdet.deployment import RawOutputs, export_onnx

    torch.manual_seed(0)
    print(
        f'torch {torch.__version__} ({torch.get_num_threads()} threads), '
        f'onnxruntime {ort.__version__}, {os.cpu_count()} CPUs\n'
    )
    models = {name: build(cfg) for name, cfg in MODELS.items()}
    x = torch.randn(1, 3, 320, 320)
    eager, sessions, steps = {}, {}, {}
    tmp = tempfile.mkdtemp()
    for name, model in models.items():
        model.eval()
        eager[name] = RawOutputs(model).eval()
        path = export_onnx(model, os.path.join(tmp, f'{len(sessions)}.onnx'))
        sessions[name] = ort.InferenceSession(
            path, providers=['CPUExecutionProvider']
        )
        steps[name] = train_step_fn(model, args.train_batch)
    feed = {'image': x.numpy()}
    results = {n: dict(eager=[], onnx=[], train=[]) for n in models}
    for _ in range(2):  # warm up
        for name in models:
            models[name].eval()
            with torch.no_grad():
                eager[name](x)
            sessions[name].run(None, feed)
    for _ in range(args.rounds):
        for name in models:  # interleaved: one model after the other
            with torch.no_grad():
                models[name].eval()
                run = eager[name]
                results[name]['eager'] += [
                    timed(lambda run=run: run(x)) for _ in range(args.iters)
                ]
            session = sessions[name]
            results[name]['onnx'] += [
                timed(lambda s=session: s.run(None, feed))
                for _ in range(args.iters)
            ]
            models[name].train()
            results[name]['train'].append(timed(steps[name]))
    med = {
        n: {k: statistics.median(v) for k, v in r.items()}
        for n, r in results.items()
    }
    base = med[BASELINE]
    print(
        '| model | eager ms | vs mmdet | ONNX Runtime ms | eager/ORT | '
        f'train img/s (batch {args.train_batch}) | vs mmdet | '
        'peak MB (train step) |'
    )
    print('|---|---:|---:|---:|---:|---:|---:|---:|')
    for name, m in med.items():
        ips = args.train_batch / m['train']
        base_ips = args.train_batch / base['train']
        memory = (
            '-'
            if args.no_memory
            else f'{peak_memory_mb(MODELS[name], args.train_batch):.0f}'
        )
        print(
            f'| {name} | {1e3 * m["eager"]:.1f} | '
            f'{m["eager"] / base["eager"]:.2f}x | {1e3 * m["onnx"]:.1f} | '
            f'{m["eager"] / m["onnx"]:.2f}x | {ips:.1f} | '
            f'{ips / base_ips:.2f}x | {memory} |'
        )
    print(
        f'\nmedians of {args.rounds} interleaved rounds '
        f'({args.iters} latency calls each); "vs mmdet" is latency (or '
        'throughput) relative to mmdet SSDLite-MobileNetV2: below 1x '
        'latency is faster.'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())

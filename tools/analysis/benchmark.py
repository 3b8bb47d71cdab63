"""End-to-end SSDLite benchmarks (eager, BN folded, ONNX Runtime).

    python tools/analysis/benchmark.py [--rounds 60] [--device cuda]
        [--amp {fp16,bf16}] [--channels-last] [--batch 1]
        [--train-batch 8] [--breakdown 8]

For SSDLite-MixNet-S/M, mixdet's MobileNetV2 (baseline and mixconv357) and
mmdet's own SSDLite-MobileNetV2, all at 320x320:

1. latency: backbone + neck + head (raw outputs), batch ``--batch``, eval;
2. training throughput: images/s of loss + backward + SGD step, batch
   ``--train-batch`` (with ``--amp``: autocast, and a gradient scaler for
   fp16);
3. on CPU: the latency of the exported graph (raw outputs, batch 1) in
   ONNX Runtime, both the graph ``mixdet.deploy.EXPORT_RULES`` picks for this
   CPU and the plain one (every MixConv split), and in OpenVINO (f32) if
   installed;
4. peak memory of one training step: on CPU the resident memory of a
   fresh process per model, on CUDA ``max_memory_allocated``;
5. with ``--breakdown N``: where the eager latency goes, the self time per
   call of each model's N costliest ops (torch.profiler).

CUDA is synchronised before every clock read.

Latency and throughput are measured in rounds that call every model once,
in alternating order (interleaved), and each model is compared with mmdet's
SSDLite-MobileNetV2 round by round (the median of the per-round ratios),
so that the machine's slow and fast spells cancel out. Latency is also
given with BatchNorm folded into the convolutions (mmcv's fuse_conv_bn,
applied to every model alike). For MixConv alone, fused vs split,
see tools/analysis/benchmark_mixconv.py.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

import torch

from mixdet.cli.timing import (
    AMP_DTYPES,
    add_device_arguments,
    interleaved,
    op_breakdown,
    synchronize,
)
from mixdet.testing import random_det_batch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SSDLITE = 'configs/{}/ssdlite_{}_8xb24-600e_coco.py'
MODELS = {
    'mmdet SSDLite-MobileNetV2': (
        'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'
    ),
    'SSDLite-MixNet-S': SSDLITE.format('mixnet', 'mixnet-s'),
    'SSDLite-MixNet-M': SSDLITE.format('mixnet', 'mixnet-m'),
    'SSDLite-MobileNetV2 baseline3x3': SSDLITE.format(
        'mixconv_mobilenets', 'mobilenetv2-baseline3x3'
    ),
    'SSDLite-MobileNetV2 mixconv357': SSDLITE.format(
        'mixconv_mobilenets', 'mobilenetv2-mixconv357'
    ),
}
BASELINE = 'mmdet SSDLite-MobileNetV2'


def build(config: str):
    """Build a detector from a mixdet config or an ``mmdet::`` name."""
    from mmdet.utils import register_all_modules

    import mixdet  # noqa: F401
    from mixdet.cli.checkpoint_fit import build_model_quietly
    from mixdet.swap import mmdet_config

    register_all_modules()
    if config.startswith('mmdet::'):
        cfg = mmdet_config(config)
    else:
        from mmengine.config import Config

        cfg = Config.fromfile(os.path.join(REPO, config))
    return build_model_quietly(cfg.model)


def train_step_fn(model, batch: int, amp=None):
    """A closure running one loss + backward + SGD step on a fixed batch
    (under autocast to ``amp``, a dtype, if given)."""
    model.train()
    data = model.data_preprocessor(
        random_det_batch(batch, 320, 80), training=True
    )
    optim = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    device = next(model.parameters()).device
    scaler = torch.amp.GradScaler(device.type, enabled=amp is torch.float16)

    def step():
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        optim.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optim)
        scaler.update()
        synchronize(device)

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


def parse_args(argv=None) -> argparse.Namespace:
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
    add_device_arguments(parser)
    parser.add_argument(
        '--batch',
        type=int,
        default=1,
        help='images per latency call',
    )
    parser.add_argument(
        '--train-batch',
        type=int,
        default=8,
        help='images per training step',
    )
    parser.add_argument(
        '--no-memory',
        action='store_true',
        help='skip the peak-memory measurement (a process per model)',
    )
    parser.add_argument(
        '--no-onnx',
        action='store_true',
        help='skip the ONNX Runtime / OpenVINO latency',
    )
    parser.add_argument(
        '--breakdown',
        type=int,
        default=0,
        metavar='N',
        help='also print the N costliest ops of each eager model',
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    amp = AMP_DTYPES.get(args.amp)
    cuda = device.type == 'cuda'
    use_onnx = not (args.no_onnx or cuda)
    fmt = (
        torch.channels_last if args.channels_last else torch.contiguous_format
    )
    if cuda:
        torch.backends.cudnn.benchmark = True

    from mixdet.deploy import RawOutputs, fold_bn

    torch.manual_seed(0)
    where = (
        torch.cuda.get_device_name(device)
        if cuda
        else f'CPU ({torch.get_num_threads()} threads, {os.cpu_count()} CPUs)'
    )
    print(
        f'{where}, torch {torch.__version__}, {args.amp or "fp32"}, '
        f'{"channels_last" if args.channels_last else "NCHW"}, latency batch '
        f'{args.batch}, train batch {args.train_batch}\n'
    )
    models = {name: build(cfg) for name, cfg in MODELS.items()}
    x = torch.randn(args.batch, 3, 320, 320, device=device)
    x = x.contiguous(memory_format=fmt)
    eager, folded, onnx, steps, memory = {}, {}, {}, {}, {}
    tmp = tempfile.mkdtemp()
    for name, model in models.items():
        model.eval()
        if use_onnx:
            onnx.update(deployed(model, name, tmp))
        model.to(device, memory_format=fmt)
        eager[name] = RawOutputs(model).eval()
        # BN folded into the convs (mmcv's fuse_conv_bn, and group by
        # group for mixdet's MixConv and grouped 1x1): every model alike.
        folded[name] = RawOutputs(fold_bn(model)).eval()
        steps[name] = train_step_fn(model, args.train_batch, amp)
        if cuda and not args.no_memory:
            torch.cuda.reset_peak_memory_stats(device)
            steps[name]()
            memory[name] = torch.cuda.max_memory_allocated(device) / 2**20

    def calls(runs: dict) -> dict:
        def call(run):
            with torch.autocast(
                device.type, dtype=amp, enabled=amp is not None
            ):
                run(x)
            if cuda:
                torch.cuda.synchronize(device)

        return {name: lambda run=run: call(run) for name, run in runs.items()}

    for model in models.values():
        model.eval()  # train_step_fn left it in training mode
    times = {}
    with torch.no_grad():
        for run in [*calls(eager).values(), *calls(folded).values()]:
            for _ in range(3):  # warm up
                run()
        times['eager'] = interleaved(calls(eager), args.rounds)
        times['folded'] = interleaved(calls(folded), args.rounds)
    if use_onnx:
        for run in onnx.values():
            run()
        onnx_times = interleaved(onnx, args.rounds)
    for model in models.values():
        model.train()
    for step in steps.values():
        step()  # warm up
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
        if args.no_memory:
            peak = '-'
        elif cuda:
            peak = f'{memory[name]:.0f}'
        else:
            peak = f'{peak_memory_mb(MODELS[name], args.train_batch):.0f}'
        eager_ms = 1e3 * med['eager'][name]
        onnx_cells = '- | -'
        if use_onnx:  # the graph of this CPU's export rule
            onnx_ms = 1e3 * statistics.median(onnx_times[(name, GRAPHS[0][0])])
            onnx_cells = f'{onnx_ms:.1f} | {eager_ms / onnx_ms:.2f}x'
        print(
            f'| {name} | {eager_ms:.1f} | '
            f'{ratio(times["eager"], name):.2f}x | '
            f'{1e3 * med["folded"][name]:.1f} | '
            f'{ratio(times["folded"], name):.2f}x | {onnx_cells} | '
            f'{args.train_batch / med["train"][name]:.1f} | '
            f'{1 / ratio(times["train"], name):.2f}x | {peak} |'
        )
    print(
        f'\nLatency: medians of {args.rounds} interleaved rounds; "vs '
        'mmdet" is the median over rounds of the latency relative to mmdet '
        'SSDLite-MobileNetV2 in the same round (below 1x is faster); for '
        'training it is the throughput relative to mmdet '
        f'({args.train_rounds} rounds; above 1x is faster). "BN folded": '
        'BatchNorm folded into the convs of every model '
        '(mixdet.deploy.fold_bn).'
    )
    if use_onnx:
        print_deployed(onnx_times, list(models), args.rounds)
    if args.breakdown:
        for model in models.values():
            model.eval()
        print_breakdown(calls(eager), args.breakdown)
    return 0


# the exported graphs timed per model: (column, runtime, rule or None)
GRAPHS = (
    ('ORT, rule', 'onnxruntime', 'rule'),
    ('ORT, plain (split)', 'onnxruntime', 'plain'),
    ('OpenVINO, rule', 'openvino', 'rule'),
)


def deployed(model, name: str, tmp: str) -> dict:
    """(model name, column) -> a function running that exported graph of
    ``model`` once on a random 1x3x320x320 image; OpenVINO only if
    installed, the plain graph only where it differs (MixConvs)."""
    import importlib.util

    import numpy as np

    from mixdet.deploy import export_onnx, export_rule, runtime_session
    from mixdet.models.layers import MixConv2d

    x = np.random.default_rng(0).random((1, 3, 320, 320), np.float32)
    mixed = any(isinstance(m, MixConv2d) for m in model.modules())
    runs = {}
    for column, runtime, which in GRAPHS:
        if runtime == 'openvino' and not importlib.util.find_spec(runtime):
            continue
        if which == 'plain' and not mixed:
            continue
        rule = export_rule(runtime)
        if which == 'plain':
            rule = rule._replace(mixconv_max_kernel=0, pointwise='grouped')
        path = export_onnx(
            model, os.path.join(tmp, f'{len(os.listdir(tmp))}.onnx'),
            rule=rule,
        )  # fmt: skip
        run = runtime_session(runtime, path, spin=False)
        runs[(name, column)] = lambda run=run: run(x)
    return runs


def print_deployed(times: dict, names: list, rounds: int) -> None:
    """The table of exported-graph latencies, each beside mmdet's."""
    columns = [c for c, _, _ in GRAPHS if any(k[1] == c for k in times)]
    print('\nExported graphs (raw outputs, batch 1, float32, BN folded): ms '
          'and the median over rounds of the latency relative to mmdet '
          f'SSDLite-MobileNetV2 in the same runtime ({rounds} interleaved '
          'rounds)\n')  # fmt: skip
    cells = ' | '.join(f'{c} ms | vs mmdet' for c in columns)
    print(f'| model | {cells} |')
    print('|---|' + '---:|---:|' * len(columns))
    base = names[0]
    for name in names:
        cells = []
        for column in columns:
            t = times.get((name, column))
            if t is None:
                cells.append('- | -')
                continue
            ref = times.get((base, column)) or times[(base, 'ORT, rule')]
            rel = statistics.median(a / b for a, b in zip(t, ref))
            cells.append(f'{1e3 * statistics.median(t):.1f} | {rel:.2f}x')
        print(f'| {name} | ' + ' | '.join(cells) + ' |')


def print_breakdown(runs: dict, top: int, count: int = 10) -> None:
    """A table of the ms per call each model spends in its costliest
    ops (eval, no autograd), and in all ops."""
    with torch.no_grad():
        table = op_breakdown(runs, calls=count, top=top)
    print(
        f'\nEager latency by op: self time per call in ms ({count} calls '
        f"under torch.profiler; each model's {top} costliest ops)\n"
    )
    print('| op | ' + ' | '.join(runs) + ' |')
    print('|---|' + '---:|' * len(runs))
    for op, ms in table.items():
        print(f'| {op} | ' + ' | '.join(f'{ms[n]:.1f}' for n in runs) + ' |')


if __name__ == '__main__':
    sys.exit(main())

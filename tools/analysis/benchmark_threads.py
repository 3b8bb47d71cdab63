"""Training on a shared CPU: seconds per step beside another process.

    python tools/analysis/benchmark_threads.py [--steps 8] [--batch 16]

Trains the demo model (SSDLite-MixNet-S at 192x192, a random batch) in a
fresh process for each setting: OpenMP's wait policy (torch's default,
threads that spin while they wait, or ``OMP_WAIT_POLICY=PASSIVE``, threads
that sleep), torch's thread count, and an idle machine or one where
another process runs a 2-thread matmul loop (the competitor starts first).
Prints the median seconds per step over interleaved rounds, the ratio
to the idle run of the same setting and to the fastest idle setting. The
competitor is stopped after each measurement.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
DEMO = os.path.join(REPO, 'configs/demo/ssdlite_mixnet-s_1xb16-10e_shapes.py')

STEPS = """
import json, statistics, sys, time
import torch
from mmengine.config import Config
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
import mixdet
from mixdet.testing import random_det_batch
register_all_modules()
steps, batch = int(sys.argv[1]), int(sys.argv[2])
from mixdet.cli.checkpoint_fit import build_model_quietly
model = build_model_quietly(Config.fromfile(sys.argv[3]).model)
optim = torch.optim.AdamW(model.parameters(), lr=1e-4)
data = model.data_preprocessor(random_det_batch(batch, 192, 4), True)
times = []
for _ in range(steps + 1):
    start = time.perf_counter()
    losses = model.loss(data['inputs'], data['data_samples'])
    loss, _ = model.parse_losses(losses)
    optim.zero_grad()
    loss.backward()
    optim.step()
    times.append(time.perf_counter() - start)
print(json.dumps(statistics.median(times[1:])))
"""

COMPETITOR = """
import torch
a = torch.randn(512, 512)
while True:
    a = torch.tanh(a @ a)
"""


def policy_env(policy: str) -> dict:
    """The environment of a wait policy: ``spin`` (OpenMP's default),
    ``passive``, or ``spin=N`` (GOMP_SPINCOUNT=N: spin N times, then
    sleep)."""
    if policy == 'spin':
        return {}
    if policy == 'passive':
        return {'OMP_WAIT_POLICY': 'PASSIVE'}
    return {'GOMP_SPINCOUNT': policy.split('=', 1)[1]}


def step_seconds(
    policy: str, threads: int, busy: bool, steps: int, batch: int
) -> float:
    """Median seconds of a training step in a fresh process."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    env.pop('OMP_WAIT_POLICY', None)
    env.pop('GOMP_SPINCOUNT', None)
    env.update(policy_env(policy))
    other = None
    if busy:
        other = subprocess.Popen(
            [sys.executable, '-c', COMPETITOR],
            env=dict(os.environ, OMP_NUM_THREADS='2'),
        )
        time.sleep(2)
    try:
        out = subprocess.run(
            [sys.executable, '-c', STEPS, str(steps), str(batch), DEMO],
            env=env, capture_output=True, text=True, check=True, cwd=REPO,
        )  # fmt: skip
    finally:
        if other is not None:
            other.kill()
            other.wait()
    return json.loads(out.stdout.strip().splitlines()[-1])


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--steps', type=int, default=8, help='timed steps')
    parser.add_argument('--batch', type=int, default=16, help='images a step')
    parser.add_argument(
        '--threads', type=int, nargs='+', default=[2, 1],
        help='torch thread counts to measure',
    )  # fmt: skip
    parser.add_argument(
        '--policies', nargs='+', default=['spin', 'passive'],
        help="OpenMP wait policies: spin (the default), passive, spin=N "
        '(GOMP_SPINCOUNT=N)',
    )  # fmt: skip
    parser.add_argument(
        '--rounds', type=int, default=3,
        help='rounds; each measures every setting once, in alternating '
        'order (the machine is noisy: medians over rounds are printed)',
    )  # fmt: skip
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    print(
        f'{os.cpu_count()} cores; {args.steps} steps of batch {args.batch}, '
        f'median of {args.rounds} interleaved rounds'
    )
    settings = [
        (policy, threads, busy)
        for busy in (False, True)
        for policy in args.policies
        for threads in args.threads
    ]
    times = {setting: [] for setting in settings}
    for r in range(args.rounds):
        for setting in settings if r % 2 == 0 else settings[::-1]:
            times[setting].append(
                step_seconds(*setting, args.steps, args.batch)
            )
    idle_best = min(
        statistics.median(t) for (_, _, busy), t in times.items() if not busy
    )
    print(
        '| wait policy | threads | idle s/step | busy s/step | busy / idle '
        '| busy / best idle |'
    )
    print('|---|---:|---:|---:|---:|---:|')
    for policy in args.policies:
        for threads in args.threads:
            idle = statistics.median(times[policy, threads, False])
            busy = statistics.median(times[policy, threads, True])
            print(
                f'| {policy} | {threads} | {idle:.2f} | {busy:.2f} | '
                f'{busy / idle:.2f} | {busy / idle_best:.2f} |'
            )
    return 0


if __name__ == '__main__':
    sys.exit(main())

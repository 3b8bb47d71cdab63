"""Plot the loss and mAP curves of a training run into a PNG.

    python tools/analysis/plot_curves.py work_dirs/demo [--out curves.png]

Reads the newest ``WORK_DIR/<timestamp>/vis_data/scalars.json`` written by
mmengine's ``LocalVisBackend``.
"""

import argparse
import glob
import io
import json
import os
import sys

from mixdet.checkpoint.atomic import atomic_write_bytes, check_output_path
from mixdet.cli.tool_config import add_force_argument


def find_scalars(work_dir: str) -> str:
    """The newest run's scalars.json in ``work_dir``."""
    paths = sorted(
        glob.glob(os.path.join(work_dir, '*', 'vis_data', 'scalars.json'))
    )
    if not paths:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json in {work_dir!r}: is it the '
            '--work-dir of a tools/train.py run?'
        )
    return paths[-1]


def read_scalars(path: str) -> tuple[list, list]:
    """(train records, val records) of a scalars.json."""
    train, val = [], []
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if 'loss' in record:
                train.append(record)
            elif any(k.startswith('coco/') for k in record):
                val.append(record)
    return train, val


def plot_curves(train: list, val: list, out: str) -> None:
    """Loss terms against iterations, mAP against iterations."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=110)
    steps = [r['step'] for r in train]
    for key in ('loss', 'loss_cls', 'loss_bbox'):
        if train and key in train[0]:
            ax1.plot(steps, [r[key] for r in train], label=key)
    ax1.set_xlabel('iteration')
    ax1.set_title('training loss')
    ax1.legend()
    ax1.grid(alpha=0.3)
    # Validation records are stepped by epoch; place them at iterations.
    iters_per_epoch = max(
        (r['iter'] / r['epoch'] for r in train if r.get('epoch')), default=1
    )
    for key, label in (
        ('coco/bbox_mAP_50', 'mAP@0.5'),
        ('coco/bbox_mAP', 'mAP@[.5:.95]'),
    ):
        points = [
            (r['step'] * iters_per_epoch, r[key]) for r in val if key in r
        ]
        if points:
            ax2.plot(*zip(*points), 'o-', label=label)
    ax2.set_ylim(0, 1)
    ax2.set_xlabel('iteration')
    ax2.set_title('validation bbox mAP')
    ax2.legend()
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    picture = io.BytesIO()
    fig.savefig(picture, format='png')
    plt.close(fig)
    atomic_write_bytes(out, picture.getvalue())


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'work_dir',
        help="a training's work dir (its newest vis_data/scalars.json)",
    )
    parser.add_argument('--out', help='PNG (default WORK_DIR/curves.png)')
    add_force_argument(parser, '--out')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out or os.path.join(args.work_dir, 'curves.png')
    try:
        path = find_scalars(args.work_dir)
        check_output_path(out, (path,), args.force, '--out')
    except (FileNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    train, val = read_scalars(path)
    try:
        plot_curves(train, val, out)
    except OSError as error:  # a full disk: the old picture stays
        print(f'error: --out {out!r} not written: {error}', file=sys.stderr)
        return 1
    print(f'wrote {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

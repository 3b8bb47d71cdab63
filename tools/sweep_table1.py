"""Train and test every Table-1 config, then make the table with your mAP.

    python tools/sweep_table1.py --gpus 8                       # this node
    python tools/sweep_table1.py --launcher slurm --partition P --gpus 8
    python tools/sweep_table1.py --dry-run                      # print only

For each config (the paper-faithful ``ssdlite-tfodapi_*`` and the
mmdet-convention ``ssdlite_*`` MobileNet rows, 20 in all; ``--detector``
picks one kind, ``--only`` filters by name) it runs ``tools/dist_train.sh``
(or ``tools/slurm_train.sh``) into ``WORK_ROOT/<config name>``, then tests
the last checkpoint with ``tools/dist_test.sh`` (``slurm_test.sh``), which
writes ``WORK_ROOT/<config name>/metrics.json``. It ends with
``tools/analysis/model_table.py --results`` over every ``metrics.json``,
writing the table (``table1.md``, ``table1.json``) and the plot
(``table1.png``) into ``WORK_ROOT``.

Run it again after an interruption: a config with a ``metrics.json`` is
skipped, and training resumes from the newest complete checkpoint.
"""

import argparse
import glob
import os
import shlex
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = 'configs/mixconv_mobilenets'
DETECTORS = {'tfodapi': 'ssdlite-tfodapi_', 'mmdet': 'ssdlite_'}


def table1_configs(detector: str = 'both', only: str = '') -> list[str]:
    """The Table-1 configs (relative to the repo) to sweep."""
    prefixes = (
        tuple(DETECTORS.values())
        if detector == 'both'
        else (DETECTORS[detector],)
    )
    paths = glob.glob(os.path.join(REPO, FOLDER, '*.py'))
    names = sorted(
        os.path.basename(p)
        for p in paths
        if os.path.basename(p).startswith(prefixes) and only in p
    )
    return [f'{FOLDER}/{name}' for name in names]


def train_command(args, config: str, work_dir: str) -> list[str]:
    name = os.path.splitext(os.path.basename(config))[0]
    extra = ['--resume', *args.train_args]
    if args.launcher == 'slurm':
        return [
            'tools/slurm_train.sh',
            args.partition,
            name,
            config,
            work_dir,
            *extra,
        ]
    return [
        'tools/dist_train.sh',
        config,
        str(args.gpus),
        '--work-dir',
        work_dir,
        *extra,
    ]


def test_command(args, config: str, work_dir: str, checkpoint: str):
    name = os.path.splitext(os.path.basename(config))[0]
    extra = ['--work-dir', work_dir]
    if args.launcher == 'slurm':
        return [
            'tools/slurm_test.sh',
            args.partition,
            f'{name}-test',
            config,
            checkpoint,
            *extra,
        ]
    return ['tools/dist_test.sh', config, checkpoint, str(args.gpus), *extra]


def table_command(work_root: str, results: list[str]) -> list[str]:
    return [
        sys.executable,
        'tools/analysis/model_table.py',
        '--out-png',
        f'{work_root}/table1.png',
        '--json',
        f'{work_root}/table1.json',
        '--results',
        *results,
    ]


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint mmengine named in ``work_dir/last_checkpoint``."""
    path = os.path.join(work_dir, 'last_checkpoint')
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        raise SystemExit(
            f'error: training wrote no {path}; see the logs in {work_dir}'
        ) from None


def shell_line(command: list[str]) -> str:
    """``command`` as a shell line; ``$(...)`` and globs stay live."""
    return ' '.join(
        f'"{word}"'
        if word.startswith('$(')
        else word
        if '*' in word
        else shlex.quote(word)
        for word in command
    )


def run(command: list[str], env: dict, dry_run: bool, out=None) -> None:
    print('+ ' + shell_line(command), flush=True)
    if dry_run:
        return
    code = subprocess.call(command, cwd=REPO, env=env, stdout=out)
    if code != 0:
        raise SystemExit(f'error: exit {code} from: {shell_line(command)}')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n', 1)[1],
    )
    parser.add_argument(
        '--launcher',
        choices=['dist', 'slurm'],
        default='dist',
        help='tools/dist_*.sh on this node (default) or tools/slurm_*.sh',
    )
    parser.add_argument('--gpus', type=int, default=8, help='GPUs per job')
    parser.add_argument('--partition', help='Slurm partition (slurm only)')
    parser.add_argument(
        '--detector',
        choices=['both', *DETECTORS],
        default='both',
        help="tfodapi: the paper's detector; mmdet: mmdet's SSDLite",
    )
    parser.add_argument(
        '--only', default='', help='only configs whose name contains this'
    )
    parser.add_argument(
        '--work-root',
        default='work_dirs/table1',
        help='one work dir per config is made under it',
    )
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='print the commands, run nothing',
    )
    parser.add_argument(
        'train_args',
        nargs=argparse.REMAINDER,
        help='after --: more tools/train.py arguments, e.g. -- --amp',
    )
    args = parser.parse_args(argv)
    if args.train_args[:1] == ['--']:
        args.train_args = args.train_args[1:]
    if args.gpus < 1:
        parser.error(f'--gpus must be >= 1, got {args.gpus}')
    if args.launcher == 'slurm' and not args.partition:
        parser.error('--launcher slurm needs --partition')
    configs = table1_configs(args.detector, args.only)
    if not configs:
        parser.error(f'no Table-1 config matches --only {args.only!r}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    configs = table1_configs(args.detector, args.only)

    env = dict(os.environ, GPUS=str(args.gpus))
    env.setdefault('GPUS_PER_NODE', str(min(args.gpus, 8)))
    work_root = args.work_root.rstrip('/')
    for config in configs:
        name = os.path.splitext(os.path.basename(config))[0]
        work_dir = f'{work_root}/{name}'
        if os.path.exists(os.path.join(REPO, work_dir, 'metrics.json')):
            print(f'# {name}: tested already ({work_dir}/metrics.json)')
            continue
        print(f'# {name}')
        run(train_command(args, config, work_dir), env, args.dry_run)
        checkpoint = (
            f'$(cat {work_dir}/last_checkpoint)'
            if args.dry_run
            else last_checkpoint(os.path.join(REPO, work_dir))
        )
        run(
            test_command(args, config, work_dir, checkpoint), env, args.dry_run
        )
    if args.dry_run:
        run(
            table_command(work_root, [f'{work_root}/*/metrics.json']),
            env,
            True,
        )
        return 0
    results = glob.glob(os.path.join(REPO, work_root, '*', 'metrics.json'))
    command = table_command(work_root, sorted(results))
    os.makedirs(os.path.join(REPO, work_root), exist_ok=True)
    with open(os.path.join(REPO, work_root, 'table1.md'), 'w') as out:
        run(command, env, False, out=out)
    print(f'wrote {work_root}/table1.md, table1.json, table1.png')
    return 0


if __name__ == '__main__':
    sys.exit(main())

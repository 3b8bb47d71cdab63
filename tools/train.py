"""Train a detector (mmdet's tools/train.py, with mixdet and its checks).

python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
    [--auto-scale-lr] [--cfg-options k=v ...] [--launcher pytorch]
"""

import os

# Before the imports below load torch and its OpenMP: threads that sleep
# while they wait, not spin, so that a CPU run beside other work slows
# about 2x instead of 4-7x (tools/analysis/benchmark_threads.py,
# docs/performance.md). OMP_WAIT_POLICY=ACTIVE in the environment chooses
# spinning.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse
import os.path as osp
import sys

import torch
from mmengine.config import Config

import mixdet  # noqa: F401  (registers modules, applies the fixes)
from mixdet.cli import load_tool_config, prepare_cpu_distributed
from mixdet.cli.checkpoint_fit import check_copyable
from mixdet.cli.number_check import check_numbers
from mixdet.cli.run_plan import plan_training
from mixdet.cli.tool_config import (
    add_own_data_arguments,
    apply_own_data_arguments,
    build_runner,
    check_tool_config,
    parse_tool_args,
    tool_parser,
)
from mixdet.engine import (
    ResumeError,
    find_resume_checkpoint,
    read_problem,
    seed_resumably,
)
from mixdet.utils import ConfigError


def parse_args(argv=None) -> argparse.Namespace:
    parser = tool_parser('Train a detector', 'the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='automatic mixed precision on CUDA (fp16 with a dynamic loss '
        'scale; bf16: --cfg-options optim_wrapper.dtype=bfloat16)',
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='enable automatically scaling LR',
    )
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or without a path from the '
        'newest complete checkpoint in the work dir',
    )
    add_own_data_arguments(parser, training=True)
    return parse_tool_args(parser, argv)


def build_config(args: argparse.Namespace) -> Config:
    """The config with the command line applied (mmdet's rules)."""
    cfg = load_tool_config(
        args.config, args.cfg_options, args.work_dir, args.launcher
    )
    apply_own_data_arguments(cfg, args)
    check_numbers(cfg)  # before plan_training reads them
    plan_training(cfg, args.cfg_options)
    # draws keyed by (seed, epoch, sample) and (seed, iter): a resumed run
    # replays the run it continues
    seed_resumably(cfg)
    if args.amp:
        if not torch.cuda.is_available():
            raise ConfigError(
                "--amp needs a CUDA GPU (mmengine's AmpOptimWrapper); "
                'no GPU is visible here'
            )
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ConfigError(
                '--auto-scale-lr needs '
                'auto_scale_lr.base_batch_size in the config'
            )
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        # The newest readable checkpoint; never one that would later be
        # overwritten unread.
        try:
            found, note = find_resume_checkpoint(
                cfg.work_dir, checkpoint_dir(cfg)
            )
        except ResumeError as error:
            raise ConfigError(str(error)) from None
        if note:
            print(f'--resume: {note}')
        cfg.resume = found is not None
        cfg.load_from = found
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise ConfigError(
                f'--resume checkpoint {args.resume!r} does not exist'
            )
        problem = read_problem(args.resume)
        if problem is not None:
            raise ConfigError(
                f'--resume checkpoint {args.resume!r} cannot be read '
                f'({problem}); pass --resume alone to take the newest '
                'readable one'
            )
        cfg.resume = True
        cfg.load_from = args.resume
    if cfg.get('load_from'):
        # mmengine loads non-strictly: a tensor it cannot copy in keeps
        # its random init with only a logged warning
        check_copyable(cfg.load_from, 'load_from')
    return cfg


def checkpoint_dir(cfg: Config) -> str:
    """Where the config's checkpoint hook writes (mmengine's rule: its
    ``out_dir`` joined with the work dir's name, else the work dir; plus
    the folder part of ``filename_tmpl``)."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    folder = cfg.work_dir
    if hook.get('out_dir'):
        folder = osp.join(hook['out_dir'], osp.basename(cfg.work_dir))
    template = hook.get('filename_tmpl') or ''
    return osp.join(folder, osp.dirname(template))


def main(argv=None) -> int:
    args = parse_args(argv)
    try:  # every check before anything is written: one line, exit 2
        cfg = build_config(args)
        check_tool_config(args, cfg, training=True)
        prepare_cpu_distributed(cfg, args.launcher)
    except ConfigError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    runner = build_runner(cfg)
    runner.train()
    return 0


if __name__ == '__main__':
    sys.exit(main())

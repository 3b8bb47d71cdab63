"""Test (evaluate) a detector (mmdet's tools/test.py, with mixdet).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out X.pkl]
        [--show-dir DIR] [--tta] [--cfg-options k=v ...] [--launcher ...]

The metrics are also written to ``WORK_DIR/metrics.json`` (read by
``tools/analysis/model_table.py --results``).
"""

import os

# Before the imports below load torch and its OpenMP: threads that sleep
# while they wait, not spin, so that a CPU run beside other work slows
# about 2x instead of 4-7x (tools/analysis/benchmark_threads.py,
# docs/performance.md). OMP_WAIT_POLICY=ACTIVE in the environment chooses
# spinning.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import argparse
import json
import os.path as osp
import sys

from mmengine.config import Config, ConfigDict
from mmengine.evaluator import DumpResults
from mmengine.runner import Runner

import mixdet  # noqa: F401  (registers modules, applies the fixes)
from mixdet.checkpoint.atomic import (
    atomic_write_bytes,
    atomic_write_text,
    check_output_path,
)
from mixdet.cli import load_tool_config, prepare_cpu_distributed
from mixdet.cli.checkpoint_fit import build_model_quietly, fitting_state_dict
from mixdet.cli.run_plan import plan_threads
from mixdet.cli.tool_config import (
    add_force_argument,
    add_own_data_arguments,
    apply_own_data_arguments,
    build_runner,
    check_tool_config,
    parse_tool_args,
    tool_parser,
)
from mixdet.utils import ConfigError, inner_dataset


def parse_args(argv=None) -> argparse.Namespace:
    parser = tool_parser(
        'Test (and eval) a model', 'where to save the metrics'
    )
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', type=str, help='dump predictions to a pickle file (.pkl)'
    )
    add_force_argument(parser, '--out')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results'
    )
    parser.add_argument(
        '--show-dir', help='save painted images into WORK_DIR/TIME/DIR'
    )
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)'
    )
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation (needs tta_model and '
        'tta_pipeline in the config)',
    )
    add_own_data_arguments(parser, training=False)
    return parse_tool_args(parser, argv)


def build_config(args: argparse.Namespace) -> Config:
    """The config with the command line applied (mmdet's rules)."""
    if not osp.isfile(args.checkpoint):
        raise ConfigError(f'checkpoint {args.checkpoint!r} does not exist')
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ConfigError(
                f'--out must end with .pkl or .pickle, got {args.out!r}'
            )
        try:
            check_output_path(
                args.out, (args.checkpoint, args.config), args.force, '--out'
            )
        except ValueError as error:
            raise ConfigError(str(error)) from None
    cfg = load_tool_config(
        args.config, args.cfg_options, args.work_dir, args.launcher
    )
    apply_own_data_arguments(cfg, args)
    plan_threads()
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        hooks = cfg.default_hooks
        if 'visualization' not in hooks:
            raise ConfigError(
                '--show/--show-dir need '
                'default_hooks.visualization in the config'
            )
        hooks.visualization.draw = True
        if args.show:
            hooks.visualization.show = True
            hooks.visualization.wait_time = args.wait_time
        if args.show_dir:
            hooks.visualization.test_out_dir = args.show_dir
    if args.tta:
        if 'tta_model' not in cfg or 'tta_pipeline' not in cfg:
            raise ConfigError(
                '--tta needs tta_model and tta_pipeline in the config'
            )
        cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
        inner_dataset(cfg, 'test_dataloader')[0].pipeline = cfg.tta_pipeline
    return cfg


class AtomicDumpResults(DumpResults):
    """mmengine's ``DumpResults``, written all or nothing (a failed write
    leaves the old file)."""

    def compute_metrics(self, results: list) -> dict:
        import pickle

        atomic_write_bytes(self.out_file_path, pickle.dumps(results))
        print(f'Results has been saved to {self.out_file_path}.')
        return {}


def test_and_save_metrics(
    args: argparse.Namespace, runner: Runner, cfg: Config
) -> None:
    """Run the test loop; write ``metrics.json`` into the work dir."""
    if args.out is not None:
        runner.test_evaluator.metrics.append(
            AtomicDumpResults(out_file_path=args.out)
        )
    metrics = runner.test()
    if runner.rank == 0:
        # the work dir's own record, replaced each run: all or nothing,
        # and never through a symbolic link
        path = osp.join(cfg.work_dir, 'metrics.json')
        record = dict(
            config=args.config,
            checkpoint=args.checkpoint,
            metrics={
                k: float(v)
                for k, v in metrics.items()
                if isinstance(v, (int, float))
            },
        )
        atomic_write_text(path, json.dumps(record, indent=2))
        print(f'metrics written to {path}')


def check_checkpoint_fits(cfg: Config, args: argparse.Namespace) -> None:
    """mmengine's Runner loads non-strictly: refuse a checkpoint that does
    not fit before it evaluates a half-random model."""
    model = build_model_quietly(cfg.model)
    fitting_state_dict(model, args.checkpoint, args.config)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:  # every check before anything is written: one line, exit 2
        cfg = build_config(args)
        check_tool_config(args, cfg, training=False)
        check_checkpoint_fits(cfg, args)
        prepare_cpu_distributed(cfg, args.launcher)
    except ConfigError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    runner = build_runner(cfg)
    test_and_save_metrics(args, runner, cfg)
    return 0


if __name__ == '__main__':
    sys.exit(main())

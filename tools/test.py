"""Test (evaluate) a detector (mmdet's tools/test.py, with mixdet).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out X.pkl]
        [--show-dir DIR] [--tta] [--cfg-options k=v ...] [--launcher ...]

The metrics are also written to ``WORK_DIR/metrics.json`` (read by
``tools/analysis/model_table.py --results``).
"""

import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import Config, ConfigDict, DictAction
from mmengine.evaluator import DumpResults

import mixdet  # noqa: F401  (registers modules, applies the fixes)
from mixdet.utils import (
    ConfigError,
    build_runner,
    check_config,
    load_tool_config,
    prepare_cpu_distributed,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where to save the metrics')
    parser.add_argument(
        '--out', type=str, help='dump predictions to a pickle file (.pkl)'
    )
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
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings, xxx=yyy',
    )
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation (needs tta_model and '
        'tta_pipeline in the config)',
    )
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_config(args: argparse.Namespace) -> Config:
    """The config with the command line applied (mmdet's rules)."""
    if not osp.isfile(args.checkpoint):
        raise ConfigError(f'checkpoint {args.checkpoint!r} does not exist')
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        raise ConfigError(
            f'--out must end with .pkl or .pickle, got {args.out!r}'
        )
    cfg = load_tool_config(
        args.config, args.cfg_options, args.work_dir, args.launcher
    )
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
        test_data_cfg = cfg.test_dataloader.dataset
        while 'dataset' in test_data_cfg:
            test_data_cfg = test_data_cfg['dataset']
        test_data_cfg.pipeline = cfg.tta_pipeline
    return cfg


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg = build_config(args)
        check_config(cfg, training=False)
        prepare_cpu_distributed(cfg, args.launcher)
    except ConfigError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    runner = build_runner(cfg)
    if args.out is not None:
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out)
        )
    metrics = runner.test()
    if runner.rank == 0:
        path = osp.join(cfg.work_dir, 'metrics.json')
        with open(path, 'w') as f:
            json.dump(
                dict(
                    config=args.config,
                    checkpoint=args.checkpoint,
                    metrics={
                        k: float(v)
                        for k, v in metrics.items()
                        if isinstance(v, (int, float))
                    },
                ),
                f,
                indent=2,
            )
        print(f'metrics written to {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""What tools/train.py and tools/test.py do alike (mmdet's rules)."""

import argparse
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..utils import ConfigError
from .config_check import check_config


def add_cfg_options_argument(parser: argparse.ArgumentParser) -> None:
    """mmdet's ``--cfg-options k=v ...``, merged into the config."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings, xxx=yyy, merged into the config',
    )


def add_force_argument(parser: argparse.ArgumentParser, out: str) -> None:
    """``--force``: replace the existing output ``out`` (how the tool names
    it); never an input file, never through a symbolic link
    (:func:`mixdet.checkpoint.atomic.check_output_path`)."""
    parser.add_argument(
        '--force',
        action='store_true',
        help=f'replace {out} if it exists (never an input file, never '
        'through a symbolic link)',
    )


def tool_parser(
    description: str, work_dir_help: str
) -> argparse.ArgumentParser:
    """The arguments train.py and test.py share: ``config``,
    ``--work-dir``, ``--cfg-options``, ``--launcher``, ``--local-rank``.
    The tool adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help=work_dir_help)
    add_cfg_options_argument(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher',
    )
    parser.add_argument(
        '--local_rank',
        '--local-rank',
        type=int,
        default=0,
        help="set by torch's launcher (torchrun passes LOCAL_RANK instead)",
    )
    return parser


def add_own_data_arguments(
    parser: argparse.ArgumentParser, training: bool
) -> None:
    """``--data-root`` and friends: train / evaluate any config on your own
    COCO-format data (see :func:`mixdet.cli.own_data.use_own_data`)."""
    group = parser.add_argument_group(
        "your own COCO-format data (instead of the config's)"
    )
    group.add_argument('--data-root', help='the dataset folder')
    if training:
        group.add_argument(
            '--train-ann', help='training annotations, in --data-root'
        )
    group.add_argument(
        '--val-ann', help='validation/test annotations, in --data-root'
    )
    group.add_argument(
        '--img-prefix',
        default='',
        help='image folder in --data-root that file_name is relative to',
    )
    group.add_argument(
        '--classes',
        nargs='+',
        help="class names (default: the annotation file's categories)",
    )


def apply_own_data_arguments(cfg: Config, args: argparse.Namespace) -> None:
    """Apply ``--data-root`` & co. (a no-op without ``--data-root``)."""
    from .own_data import use_own_data

    train_ann = getattr(args, 'train_ann', None)
    own = [args.val_ann, train_ann, args.img_prefix, args.classes]
    if args.data_root is None:
        if any(own):
            raise ConfigError(
                '--train-ann, --val-ann, --img-prefix and --classes need '
                '--data-root'
            )
        return
    needed = ['--val-ann'] + (
        ['--train-ann'] if hasattr(args, 'train_ann') else []
    )
    missing = [
        n for n in needed if getattr(args, n[2:].replace('-', '_')) is None
    ]
    if missing:
        raise ConfigError(f'--data-root needs {" and ".join(missing)}')
    classes = use_own_data(
        cfg,
        args.data_root,
        train_ann,
        args.val_ann,
        args.img_prefix,
        args.classes,
    )
    print(f'own data: {args.data_root}, {len(classes)} classes {classes}')


def parse_tool_args(
    parser: argparse.ArgumentParser, argv: Optional[list] = None
) -> argparse.Namespace:
    """Parse, and set ``LOCAL_RANK`` from ``--local-rank`` as mmdet does."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def check_tool_config(
    args: argparse.Namespace, cfg: Config, training: bool
) -> None:
    """The start-up checks of ``tools/train.py`` and ``tools/test.py``,
    before anything is written: the work dir keeps the user's config, and
    :func:`check_config`.

    Raises:
        ConfigError: The first problem, in one line.
    """
    check_config_kept(args.config, cfg.work_dir)
    check_config(cfg, training=training)


def check_config_kept(config: str, work_dir: str) -> None:
    """Raise if mmengine's config dump (``WORK_DIR/<config name>``) would
    replace the user's own config file (``--work-dir`` = its folder)."""
    dump = osp.join(work_dir, osp.basename(config))
    if osp.islink(dump):
        raise ConfigError(
            f'--work-dir {work_dir!r}: mmengine writes its config dump to '
            f'{dump}, a symbolic link it would write through; remove the '
            'link or use another work dir'
        )
    if osp.exists(dump) and osp.samefile(dump, config):
        raise ConfigError(
            f'--work-dir {work_dir!r}: mmengine writes its config dump to '
            f'{dump}, which is your config {config!r}; use another work dir'
        )


def load_tool_config(
    path: str,
    cfg_options: Optional[dict],
    work_dir: Optional[str],
    launcher: str,
) -> Config:
    """Load ``path`` and apply ``--cfg-options``, ``--work-dir`` (else the
    config's, else ``./work_dirs/<config name>``) and ``--launcher``."""
    if not osp.isfile(path):
        raise ConfigError(f'config {path!r} does not exist')
    cfg = Config.fromfile(path)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join(
            './work_dirs', osp.splitext(osp.basename(path))[0]
        )
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if isinstance(hook, dict) and hook.get('type') == 'CheckpointHook':
        # mmengine's hook writes in place: a kill can leave no complete
        # checkpoint. Same arguments, atomic saves.
        hook['type'] = 'AtomicCheckpointHook'
    return cfg


def build_runner(cfg: Config) -> Runner:
    """mmengine's Runner, or the config's ``runner_type``."""
    return (
        Runner.from_cfg(cfg)
        if 'runner_type' not in cfg
        else RUNNERS.build(cfg)
    )

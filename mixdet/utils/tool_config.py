"""What tools/train.py and tools/test.py do alike (mmdet's rules)."""

import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from .config_check import ConfigError


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

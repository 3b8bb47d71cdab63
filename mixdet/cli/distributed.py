"""Distributed training on CPUs with mmengine 0.10.

mmengine's ``init_dist`` calls ``torch.cuda.set_device`` and its DDP
wrapper passes ``device_ids=[LOCAL_RANK]``; both fail without GPUs. On a
machine without CUDA we start the gloo process group ourselves (the Runner
then skips ``init_dist``) and wrap the model with ``device_ids=None``.
"""

import torch
import torch.distributed as dist
from mmengine.config import Config

from ..utils import ConfigError


def prepare_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Make ``--launcher pytorch`` work on CPUs; no-op with CUDA or none."""
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise ConfigError(
            f'--launcher {launcher} needs GPUs; on CPUs use '
            '--launcher pytorch (tools/dist_train.sh)'
        )
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')  # env:// set by torchrun
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False),
    )

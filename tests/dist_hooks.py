"""A hook for the distributed test: every rank saves its final weights."""

import os

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DumpRankWeightsHook(Hook):
    """Save each rank's parameters (not buffers: without SyncBN every rank
    keeps its own BN statistics) as ``weights_rank{rank}.pth``."""

    def after_train(self, runner) -> None:
        model = (
            runner.model.module
            if hasattr(runner.model, 'module')
            else runner.model
        )
        params = {k: p.detach() for k, p in model.named_parameters()}
        torch.save(
            params,
            os.path.join(runner.work_dir, f'weights_rank{runner.rank}.pth'),
        )

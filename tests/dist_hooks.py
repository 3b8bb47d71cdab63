"""A hook for the distributed test: every rank saves its final weights."""

import os

import torch
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DumpRankWeightsHook(Hook):
    """Save ``weights_rank{rank}.pth`` into the work dir after training."""

    def after_train(self, runner) -> None:
        model = (
            runner.model.module
            if hasattr(runner.model, 'module')
            else runner.model
        )
        torch.save(
            model.state_dict(),
            os.path.join(runner.work_dir, f'weights_rank{runner.rank}.pth'),
        )

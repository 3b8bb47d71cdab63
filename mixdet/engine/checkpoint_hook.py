"""mmengine's CheckpointHook with saves that survive a kill."""

import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from ..checkpoint.atomic import (
    atomic_write_text,
    partial_name,
    remove_stale_partials,
)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose periodic saves are atomic.

    mmengine writes ``iter_N.pth`` in place and, with ``max_keep_ckpts``,
    deletes the oldest checkpoint *before* writing the new one: a kill
    during the save leaves a truncated file, or none at all. Here each
    checkpoint is written to a hidden ``.iter_N.pth.<host>-<pid>.part``
    file beside it (in the template's subfolder, if any) and renamed into
    place once complete; ``last_checkpoint`` is then replaced atomically,
    and only after that are old checkpoints removed. So ``last_checkpoint``
    always names a complete file. A save that fails (a full disk) removes
    its partial file; a killed save's is removed at the next save, or by
    ``--resume``, once its writer is gone. Two runs in one work dir never
    touch each other's partial files.

    Takes exactly ``CheckpointHook``'s arguments. Other storage backends
    than local files fall back to mmengine's behaviour.
    """

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)
        outdated = None
        if self.max_keep_ckpts > 0 and not (
            self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step
        ):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info(
                'keep_ckpt_ids', list(self.keep_ckpt_ids)
            )
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        partial = partial_name(self.last_ckpt)
        if is_main_process():
            os.makedirs(osp.dirname(partial), exist_ok=True)
            remove_stale_partials(osp.dirname(partial))
        try:
            runner.save_checkpoint(
                self.out_dir,
                osp.relpath(partial, self.out_dir),
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args,
            )
            if not is_main_process():
                return
            with open(partial, 'rb') as f:
                os.fsync(f.fileno())
            os.replace(partial, self.last_ckpt)
        finally:
            if is_main_process() and osp.exists(partial):
                os.remove(partial)  # a failed save (e.g. a full disk)
        atomic_write_text(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt
        )
        if outdated is not None:
            old = osp.join(self.out_dir, self.filename_tmpl.format(outdated))
            if osp.isfile(old) and old != self.last_ckpt:
                os.remove(old)

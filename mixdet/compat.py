"""Fixes for three upstream problems, applied once when mixdet is imported.

1. mmengine 0.10.7 loads checkpoints with ``torch.load(f)``. Since torch 2.6
   that means ``weights_only=True``, which refuses the numpy arrays and
   mmengine ``HistoryBuffer`` objects in every Runner checkpoint, so
   ``resume``, ``load_from`` and ``tools/test.py`` fail. mixdet routes
   mmengine's local (and s3/petrel) checkpoint loads through
   :func:`mixdet.engine.load_checkpoint_file`, which reads those as
   validated plain data and never runs code from the file (nor the
   ``meta['config']`` text that ``Runner.resume`` would execute). torch's
   own ``torch.load`` is left as it is for every other caller.
2. mmdet 3.3.0's ``SSDHead.__init__`` skips ``AnchorHead.__init__`` and
   never sets ``loss_cls``, which ``predict`` reads. We give it the loss it
   actually computes: softmax cross-entropy over ``num_classes + 1``.
3. An unreadable image fails with its path and a pointer to
   ``tools/misc/check_dataset.py`` (mmcv's ``LoadImageFromFile``).
"""

import functools
import os.path as osp
import warnings

_applied = False


def load_from_local(filename: str, map_location=None):
    """mmengine's local-file checkpoint loader, through the safe loader."""
    from .engine import load_checkpoint_file

    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return load_checkpoint_file(filename, map_location)


def load_from_ceph(filename: str, map_location=None, backend='petrel'):
    """mmengine's s3/petrel checkpoint loader, through the safe loader."""
    from mmengine.fileio import get_file_backend

    from .engine import load_checkpoint_bytes

    file_backend = get_file_backend(
        filename, backend_args={'backend': backend}
    )
    return load_checkpoint_bytes(file_backend.get(filename), map_location)


def route_checkpoint_loads() -> None:
    """Make mmengine's ``load_checkpoint`` / ``Runner`` use the safe
    loader for files (its other schemes download and call ``torch.load``,
    whose default is ``weights_only=True``)."""
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme('', load_from_local, force=True)
    CheckpointLoader.register_scheme(
        [r'(\S+\:)?s3://', r'(\S+\:)?petrel://'], load_from_ceph, force=True
    )


def fix_ssd_head_loss_cls() -> None:
    """Give mmdet's ``SSDHead`` the ``loss_cls`` its ``predict`` reads."""
    from mmdet.models.dense_heads import SSDHead
    from mmdet.registry import MODELS

    original_init = SSDHead.__init__
    if getattr(original_init, '_mixdet_fixed', False):
        return

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        if 'loss_cls' not in self._modules:
            # SSDHead.loss_by_feat computes exactly this loss itself.
            self.loss_cls = MODELS.build(
                dict(type='CrossEntropyLoss', use_sigmoid=False)
            )

    __init__._mixdet_fixed = True
    SSDHead.__init__ = __init__


def name_unreadable_images() -> None:
    """Make an image that cannot be read during training or testing fail
    with its path and a pointer to the dataset checker, instead of a bare
    ``AssertionError`` or ``cv2.error``."""
    from mmcv.transforms import LoadImageFromFile

    original = LoadImageFromFile.transform
    if getattr(original, '_mixdet_fixed', False):
        return

    @functools.wraps(original)
    def transform(self, results: dict):
        try:
            return original(self, results)
        except Exception as error:
            from .utils.coco_check import CHECKER

            raise RuntimeError(
                f'cannot read image {results.get("img_path")!r} '
                f'({type(error).__name__}: {error}); run python {CHECKER} '
                'CONFIG to list every unreadable image'
            ) from error

    transform._mixdet_fixed = True
    LoadImageFromFile.transform = transform


def quiet_pkg_resources_warning() -> None:
    """mmengine's ``is_installed`` (run for every ``mmdet::`` config) imports
    and reloads setuptools' deprecated ``pkg_resources``, which warns twice
    per process; the warning is about mmengine, not the user's work."""
    warnings.filterwarnings(
        'ignore', message='pkg_resources is deprecated', category=UserWarning
    )


def apply() -> None:
    """Apply every fix once."""
    global _applied
    if _applied:
        return
    quiet_pkg_resources_warning()
    route_checkpoint_loads()
    fix_ssd_head_loss_cls()
    name_unreadable_images()
    _applied = True

"""Fixes for upstream problems, applied once when mixdet is imported.

Each fix is listed in :data:`FIXES` with the package versions it fixes; it
is applied only to those versions (another version gets a one-line
warning naming the fix), and any of them can be turned off before mixdet
is imported: ``MIXDET_DISABLE_FIXES=ssd_head_loss_cls,...`` (or ``all``).
:func:`applied` lists what was applied in this process.

1. ``checkpoint_loads``: mmengine 0.10.7 loads checkpoints with
   ``torch.load(f)``. Since torch 2.6 that means ``weights_only=True``,
   which refuses the numpy arrays and mmengine ``HistoryBuffer`` objects
   in every Runner checkpoint, so ``resume``, ``load_from`` and
   ``tools/test.py`` fail; its http(s) loads use ``weights_only=False``.
   mixdet routes every checkpoint load of mmengine's (every scheme)
   through :func:`mixdet.engine.load_checkpoint_file`, which reads Runner
   checkpoints as validated plain data, never runs code from the file and
   drops the config text mmengine would execute. torch's own
   ``torch.load`` is left as it is for every other caller.
2. ``config_from_checkpoint``: mmengine's inferencers, given no config,
   run the config text of the checkpoint: with mixdet they say to pass
   the config file instead.
3. ``ssd_head_loss_cls``: mmdet 3.3.0's ``SSDHead.__init__`` skips
   ``AnchorHead.__init__`` and never sets ``loss_cls``, which ``predict``
   reads. We give it the loss it actually computes: softmax cross-entropy
   over ``num_classes + 1``.
4. ``unreadable_images``: an unreadable image keeps mmcv's exception,
   with a note naming the image and ``tools/misc/check_dataset.py``
   (``LoadImageFromFile``).
5. ``pkg_resources_warning``: mmengine's ``is_installed`` warns about the
   deprecated ``pkg_resources`` twice per process; that message is
   silenced while mmengine's functions run (not for other packages).
6. ``mmdeploy_onnx_exporter`` (only where mmdeploy is installed): mmdeploy
   1.3 calls ``torch.onnx.export`` without ``dynamo=``, which since torch
   2.9 means the dynamo exporter: it needs onnxscript and ignores
   mmdeploy's rewriters. mmdeploy's export module gets the TorchScript
   exporter it was written for, whenever it is imported.
"""

import functools
import importlib.abc
import importlib.metadata
import importlib.util
import os
import sys
import types
import warnings
from typing import Callable, NamedTuple

from packaging.specifiers import SpecifierSet
from packaging.version import Version

DISABLE_ENV = 'MIXDET_DISABLE_FIXES'
_applied: list[str] = []
_done = False


class TorchForCheckpoints(types.ModuleType):
    """``torch`` as mmengine's checkpoint module sees it: every attribute is
    torch's, except ``load``, which is mixdet's restricted loader (whatever
    ``weights_only`` the caller asks for)."""

    def __getattr__(self, name: str):
        import torch

        return getattr(torch, name)

    @staticmethod
    def load(f, map_location=None, **kwargs):
        from .checkpoint import load_checkpoint_file

        return load_checkpoint_file(f, map_location)


def route_checkpoint_loads() -> None:
    """Every checkpoint mmengine loads (``load_checkpoint``, ``Runner``
    ``load_from`` / ``resume``, ``init_cfg=dict(type='Pretrained')``,
    inferencers), whatever its scheme (a path, http(s), s3/petrel,
    torchvision://, open-mmlab://, mmcls://, pavi://), goes through
    :func:`mixdet.engine.load_checkpoint_file`: each scheme's loader in
    ``mmengine.runner.checkpoint`` reads with that module's ``torch.load``
    or ``load_url`` (http, which downloads and then calls
    ``torch.load(weights_only=False)``), and those two are replaced there,
    and only there."""
    from mmengine.runner import checkpoint

    from .checkpoint import load_checkpoint_url

    checkpoint.torch = TorchForCheckpoints('torch')
    checkpoint.load_url = load_checkpoint_url


def refuse_config_from_checkpoint() -> None:
    """mmengine's inferencers, given no config (``DetInferencer(model=None,
    weights=CKPT)``), run the config text a checkpoint carries. mixdet's
    loader drops that text; this says in one line to pass the config file,
    before anything is loaded."""
    from mmengine.infer import BaseInferencer

    original = BaseInferencer._init_model
    if getattr(original, '_mixdet_fixed', False):
        return

    @functools.wraps(original)
    def _init_model(self, cfg, weights, device='cpu'):
        if not cfg:
            name = type(self).__name__
            raise ValueError(
                f'{name}(model=None, weights={weights!r}): mixdet never runs '
                'the config text inside a checkpoint; pass the config file, '
                f"e.g. {name}(model='CONFIG.py', weights={weights!r})"
            )
        return original(self, cfg, weights, device)

    _init_model._mixdet_fixed = True
    BaseInferencer._init_model = _init_model


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
            from .scope import mmdet_scope

            # SSDHead.loss_by_feat computes exactly this loss itself.
            with mmdet_scope():
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
            # The same exception (callers catch FileNotFoundError, OSError),
            # with a note that names the image and the checker.
            error.add_note(
                f'mixdet: cannot read image {results.get("img_path")!r}; '
                'run python tools/misc/check_dataset.py CONFIG to list every '
                'unreadable image'
            )
            raise

    transform._mixdet_fixed = True
    LoadImageFromFile.transform = transform


def quiet_pkg_resources_warning() -> None:
    """mmengine's ``is_installed`` (run for every ``mmdet::`` config) imports
    and reloads setuptools' deprecated ``pkg_resources``, which warns twice
    per process; the warning is about mmengine, not the user's work. Only
    mmengine's functions that import it are silenced, while they run:
    other packages' imports of ``pkg_resources`` still warn."""
    from mmengine.utils import package_utils

    for name in ('is_installed', 'get_installed_path', 'package2module'):
        original = getattr(package_utils, name)
        if getattr(original, '_mixdet', False):
            continue
        quiet = _without_pkg_resources_warning(original)
        for module in list(sys.modules.values()):
            if (getattr(module, '__name__', '') or '').startswith(
                'mmengine'
            ) and getattr(module, name, None) is original:
                setattr(module, name, quiet)


def _without_pkg_resources_warning(function: Callable) -> Callable:
    @functools.wraps(function)
    def quiet(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.filterwarnings(
                'ignore',
                message='pkg_resources is deprecated',
                category=UserWarning,
            )
            return function(*args, **kwargs)

    quiet._mixdet = True
    return quiet


class TorchScriptOnnx(types.ModuleType):
    """``torch.onnx`` whose ``export`` defaults to ``dynamo=False``."""

    def __getattr__(self, name: str):
        import torch.onnx

        return getattr(torch.onnx, name)

    @staticmethod
    def export(*args, **kwargs):
        import torch.onnx

        kwargs.setdefault('dynamo', False)
        return torch.onnx.export(*args, **kwargs)


class TorchForMmdeploy(types.ModuleType):
    """``torch`` as mmdeploy's ONNX export module sees it: torch's, but
    ``torch.onnx.export`` is the TorchScript exporter."""

    onnx = TorchScriptOnnx('torch.onnx')

    def __getattr__(self, name: str):
        import torch

        return getattr(torch, name)


class AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``then(module)`` right after module ``name`` is executed."""

    def __init__(self, name: str, then: Callable) -> None:
        self.name, self.then = name, then

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        run = spec.loader.exec_module

        def exec_module(module: types.ModuleType) -> None:
            run(module)
            self.then(module)

        spec.loader.exec_module = exec_module
        return spec


def after_import(name: str, then: Callable) -> None:
    """``then(module)`` now if module ``name`` is imported, else right after
    it is."""
    if name in sys.modules:
        then(sys.modules[name])
    else:
        sys.meta_path.insert(0, AfterImport(name, then))


def mmdeploy_uses_torchscript_exporter() -> None:
    """mmdeploy's ``torch2onnx`` exports with the TorchScript exporter."""

    def fix(module: types.ModuleType) -> None:
        module.torch = TorchForMmdeploy('torch')

    after_import('mmdeploy.apis.onnx.export', fix)


class Fix(NamedTuple):
    """One upstream fix: its name, the package and versions it fixes."""

    name: str
    package: str
    versions: str  # a PEP 440 specifier, e.g. '>=0.10,<0.11'
    apply: Callable[[], None]


FIXES: tuple[Fix, ...] = (
    Fix('pkg_resources_warning', 'mmengine', '>=0.10,<0.11',
        quiet_pkg_resources_warning),
    Fix('checkpoint_loads', 'mmengine', '>=0.10,<0.11',
        route_checkpoint_loads),
    Fix('config_from_checkpoint', 'mmengine', '>=0.10,<0.11',
        refuse_config_from_checkpoint),
    Fix('ssd_head_loss_cls', 'mmdet', '>=3.0,<3.4', fix_ssd_head_loss_cls),
    Fix('unreadable_images', 'mmcv', '>=2.0.0rc4,<2.2',
        name_unreadable_images),
    Fix('mmdeploy_onnx_exporter', 'mmdeploy', '>=1.0,<1.4',
        mmdeploy_uses_torchscript_exporter),
)  # fmt: skip
# Fixes for packages mixdet does not need: skipped where not installed.
OPTIONAL = {'mmdeploy'}


def disabled() -> set[str]:
    """The fixes ``MIXDET_DISABLE_FIXES`` turns off (``all``: every one).
    Raises ValueError naming the known fixes for an unknown name."""
    names = {n.strip() for n in os.environ.get(DISABLE_ENV, '').split(',')}
    names.discard('')
    known = {fix.name for fix in FIXES}
    if 'all' in names:
        return known
    if names - known:
        raise ValueError(
            f'{DISABLE_ENV} names unknown fixes {sorted(names - known)}; '
            f"known: {sorted(known)} or 'all'"
        )
    return names


def installed(package: str) -> bool:
    """Whether ``package`` is installed (every non-optional one must be)."""
    if package not in OPTIONAL:
        return True
    try:
        importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def applies_to(fix: Fix) -> bool:
    """Whether the installed ``fix.package`` is a version ``fix`` fixes."""
    installed = Version(importlib.metadata.version(fix.package))
    return SpecifierSet(fix.versions).contains(installed, prereleases=True)


def apply() -> None:
    """Apply every fix that is not disabled, to the versions it fixes."""
    global _done
    if _done:
        return
    off = disabled()
    for fix in FIXES:
        if fix.name in off or not installed(fix.package):
            continue
        if not applies_to(fix):
            version = importlib.metadata.version(fix.package)
            warnings.warn(
                f'mixdet: fix {fix.name!r} is for {fix.package}'
                f'{fix.versions}, not {version}: not applied',
                stacklevel=2,
            )
            continue
        fix.apply()
        _applied.append(fix.name)
    _done = True


def applied() -> list[str]:
    """The fixes applied in this process, in order."""
    return list(_applied)

"""Catch bad detection configs before a Runner creates anything.

mmengine reports a missing annotation file, a class-count mismatch or an
unknown model type deep inside dataset or model building, after the work
dir exists. :func:`check_config` reports each at once, in one sentence.
"""

import json
import os
from typing import Iterator, Optional, Sequence

from mmengine.config import Config

from ..models.backbones import mixdet_backbones
from ..scope import mmdet_scope
from ..utils import ConfigError
from .coco_check import CHEAP, CHECKER, ERRORS, scan_coco

DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
WRAPPERS = (
    'RepeatDataset',
    'ClassBalancedDataset',
    'MultiImageMixDataset',
    'SeededDataset',
)


def _datasets(cfg: Config) -> Iterator[tuple[str, dict]]:
    """(where, dataset config) for every leaf dataset in the dataloaders."""
    for loader in DATALOADERS:
        if not cfg.get(loader):
            continue
        stack = [(f'{loader}.dataset', cfg[loader].get('dataset'))]
        while stack:
            where, dataset = stack.pop()
            if not dataset:
                continue
            if dataset.get('type') in WRAPPERS:
                stack.append((f'{where}.dataset', dataset.get('dataset')))
            elif dataset.get('type') == 'ConcatDataset':
                stack += [
                    (f'{where}.datasets[{i}]', d)
                    for i, d in enumerate(dataset.get('datasets', []))
                ]
            else:
                yield where, dataset


def _paths(dataset: dict) -> tuple[str, str]:
    """(annotation file, image dir) of a COCO-style dataset config."""
    root = dataset.get('data_root') or ''
    img = (dataset.get('data_prefix') or {}).get('img', '')
    return os.path.join(root, dataset['ann_file']), os.path.join(root, img)


def training_filter(dataset: dict) -> Optional[dict]:
    """The ``filter_cfg`` mmdet applies to ``dataset`` (none in test
    mode)."""
    return None if dataset.get('test_mode') else dataset.get('filter_cfg')


def applies_exif(dataset: dict) -> bool:
    """Whether the dataset's pipeline decodes images with their EXIF
    orientation applied (mmcv's default ``color_type='color'``)."""
    for step in dataset.get('pipeline') or []:
        if isinstance(step, dict) and 'LoadImage' in str(step.get('type')):
            return 'ignore_orientation' not in str(
                step.get('color_type', 'color')
            )
    return True


def dataset_sources(
    cfg: Config, splits: Sequence[str] = ('train', 'val', 'test')
) -> list[tuple[str, str, str, Optional[dict], bool]]:
    """(where, annotation file, image dir, filter_cfg, EXIF applied) of
    each dataset of ``splits``."""
    return [
        (
            where,
            *_paths(dataset),
            training_filter(dataset),
            applies_exif(dataset),
        )
        for where, dataset in _datasets(cfg)
        if where.split('_')[0] in splits and dataset.get('ann_file')
    ]


def _num_classes(model: dict) -> Optional[int]:
    for head in (
        model.get('bbox_head'),
        (model.get('roi_head') or {}).get('bbox_head'),
    ):
        if isinstance(head, dict) and 'num_classes' in head:
            return head['num_classes']
        if (
            isinstance(head, (list, tuple))
            and head
            and 'num_classes' in head[0]
        ):
            return head[0]['num_classes']
    return None


def check_coco_file(path: str, where: str) -> dict:
    """Load a COCO annotation file or raise a :class:`ConfigError`."""
    if not os.path.isfile(path):
        raise ConfigError(f'{where}: annotation file {path!r} does not exist')
    try:
        with open(path) as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(
            f'{where}: annotation file {path!r} is not valid JSON ({error})'
        ) from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), list)
        for k in ('images', 'annotations', 'categories')
    ):
        raise ConfigError(
            f'{where}: annotation file {path!r} is not COCO format (needs '
            "'images', 'annotations' and 'categories' lists)"
        )
    return data


def check_coco_data(
    data: dict,
    ann: str,
    img_dir: str,
    where: str,
    filter_cfg: Optional[dict] = None,
    exif: bool = True,
) -> None:
    """Raise for the faults found without decoding an image
    (:data:`CHEAP`): an empty split, malformed entries and ids, missing
    image files, EXIF-turned images (headers only), malformed boxes,
    dangling image ids, a split mmdet would empty."""
    report = scan_coco(
        data, ann, img_dir, decode=False, filter_cfg=filter_cfg, exif=exif
    )
    cheap = {k: v for k, v in report.errors.items() if k in CHEAP}
    if cheap:
        kind, examples = next(iter(cheap.items()))
        more = f' and {len(examples) - 1} more' if len(examples) > 1 else ''
        raise ConfigError(
            f'{where}: {ERRORS[kind]}: {examples[0]}{more} ({ann}); run '
            f'python {CHECKER} on the config for every fault'
        )


def check_model_type(cfg: Config) -> None:
    """Raise if the backbone (or any model part) type is not registered."""
    from mmdet.registry import MODELS

    import mixdet.models  # noqa: F401

    for part in ('backbone', 'neck', 'bbox_head', 'rpn_head', 'roi_head'):
        module = cfg.model.get(part)
        if not isinstance(module, dict) or 'type' not in module:
            continue
        if MODELS.get(module['type']) is None:
            ours = mixdet_backbones()
            raise ConfigError(
                f'model.{part}.type {module["type"]!r} is not a registered '
                f"model; mixdet's backbones are {', '.join(ours)}"
            )
    if MODELS.get(cfg.model.get('type', '')) is None:
        raise ConfigError(
            f'model.type {cfg.model.get("type")!r} is not a registered model'
        )


def check_checkpoint_file(path: str, where: str) -> None:
    """Raise unless a local checkpoint ``path`` exists and, if it is a zip
    (every torch save since 1.6), is complete. URLs and ``scheme://``
    names are left to mmengine."""
    from ..checkpoint import is_complete_checkpoint

    if not isinstance(path, str) or '://' in path:
        return
    if not os.path.isfile(path):
        raise ConfigError(f'{where} {path!r} does not exist')
    with open(path, 'rb') as f:
        is_zip = f.read(4) == b'PK\x03\x04'
    if is_zip and not is_complete_checkpoint(path):
        raise ConfigError(
            f'{where} {path!r} is incomplete or damaged (a save or copy '
            'that was cut short?)'
        )


def _init_cfgs(node, where: str) -> Iterator[tuple[str, dict]]:
    """Every ``init_cfg`` entry in a model config, with its key path."""
    if isinstance(node, dict):
        for key, value in node.items():
            path = f'{where}.{key}'
            if key == 'init_cfg':
                items = value if isinstance(value, (list, tuple)) else [value]
                for i, item in enumerate(items):
                    if isinstance(item, dict):
                        yield (
                            (path if len(items) == 1 else f'{path}[{i}]'),
                            item,
                        )
            else:
                yield from _init_cfgs(value, path)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _init_cfgs(value, f'{where}[{i}]')


def check_checkpoints(cfg: Config) -> None:
    """Raise if ``load_from`` or a ``Pretrained`` init's checkpoint is a
    local file that is missing or cut short."""
    if cfg.get('load_from'):
        check_checkpoint_file(cfg.load_from, 'load_from')
    for where, init in _init_cfgs(cfg.model, 'model'):
        if init.get('type') == 'Pretrained' and 'checkpoint' in init:
            check_checkpoint_file(init['checkpoint'], f'{where}.checkpoint')


def check_config(cfg: Config, training: bool = True) -> None:
    """Raise :class:`ConfigError` for the first problem found.

    Checks that model types are registered, that checkpoint files
    (``load_from``, ``Pretrained`` inits) exist whole, that the neck takes
    the channels a mixdet backbone gives, that every dataset's
    ``data_root`` and COCO annotation file exist and parse, and that the
    class list matches the head's ``num_classes``.

    Args:
        cfg: The full config.
        training: Check the train dataloader too.
    """
    with mmdet_scope():
        _check_config(cfg, training)


def _check_config(cfg: Config, training: bool) -> None:
    from ..swap import (
        backbone_outputs,
        check_neck_channels,
        check_ssd_neck,
        is_mixdet_backbone,
    )
    from .number_check import check_numbers

    check_numbers(cfg, training)
    check_model_type(cfg)
    check_checkpoints(cfg)
    backbone, neck = cfg.model.get('backbone'), cfg.model.get('neck')
    if isinstance(neck, (list, tuple)):
        neck = neck[0] if neck else None
    try:
        # build the backbone once for both neck checks, and only when
        # they need it (a neck with in_channels; only mixdet's say)
        outputs = (
            backbone_outputs(backbone)
            if isinstance(backbone, dict)
            and is_mixdet_backbone(backbone.get('type'))
            and isinstance(neck, dict)
            and 'in_channels' in neck
            else None
        )
        check_neck_channels(cfg.model, outputs)
        check_ssd_neck(cfg.model, outputs)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    num_classes = _num_classes(cfg.model)
    for where, dataset in _datasets(cfg):
        if not training and where.startswith('train_'):
            continue
        root = dataset.get('data_root') or ''
        if root and not os.path.isdir(root):
            raise ConfigError(f'{where}.data_root {root!r} does not exist')
        if dataset.get('ann_file') is None:
            continue
        ann, img_dir = _paths(dataset)
        data = check_coco_file(ann, f'{where}.ann_file')
        check_coco_data(
            data,
            ann,
            img_dir,
            where,
            training_filter(dataset),
            applies_exif(dataset),
        )
        classes = (dataset.get('metainfo') or {}).get('classes')
        if classes is None:
            # Without metainfo mmdet's CocoDataset uses the 80 COCO classes.
            from mmdet.datasets import CocoDataset

            classes = CocoDataset.METAINFO['classes']
        names = {c.get('name') for c in data['categories']}
        unknown = [c for c in classes if c not in names]
        if unknown and len(unknown) == len(classes):
            raise ConfigError(
                f'{where}.metainfo.classes {tuple(classes)} do not occur in '
                f'{ann} (its categories: {sorted(names)})'
            )
        if num_classes is not None and len(classes) != num_classes:
            raise ConfigError(
                f'{where} has {len(classes)} classes but the head has '
                f'num_classes={num_classes}; set model.bbox_head.num_classes'
                f'={len(classes)} or fix metainfo.classes'
            )
    for name in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(name)
        metrics = (
            evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
        )
        for metric in metrics:
            if isinstance(metric, dict) and metric.get('ann_file'):
                data = check_coco_file(metric['ann_file'], f'{name}.ann_file')
                if not data['images'] or not data['annotations']:
                    raise ConfigError(
                        f'{name}.ann_file {metric["ann_file"]!r} has '
                        f'{len(data["images"])} images and '
                        f'{len(data["annotations"])} annotations: COCO mAP '
                        'is undefined on an empty set'
                    )

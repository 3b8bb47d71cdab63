"""Point any detection config at your own COCO-format data: what the
tools' ``--data-root`` / ``--train-ann`` / ``--val-ann`` / ``--classes``
options do."""

import os
from typing import Optional, Sequence

from mmengine.config import Config

from ..utils import ConfigError
from .config_check import _datasets, check_coco_file


def categories(ann_file: str) -> tuple[str, ...]:
    """The category names of a COCO file, in id order."""
    data = check_coco_file(ann_file, '--train-ann')
    cats = sorted(data['categories'], key=lambda c: c.get('id', 0))
    names = tuple(str(c.get('name')) for c in cats)
    if not names:
        raise ConfigError(f'--train-ann {ann_file!r} lists no categories')
    return names


def set_num_classes(model: dict, num_classes: int) -> None:
    """Set ``num_classes`` on every head that has one."""
    heads = [model.get('bbox_head'), (model.get('roi_head') or {})]
    heads.append(heads[1].get('bbox_head') if heads[1] else None)
    for head in heads:
        items = head if isinstance(head, (list, tuple)) else [head]
        for item in items:
            if isinstance(item, dict) and 'num_classes' in item:
                item['num_classes'] = num_classes


def use_own_data(
    cfg: Config,
    data_root: str,
    train_ann: Optional[str],
    val_ann: str,
    img_prefix: str = '',
    classes: Optional[Sequence[str]] = None,
) -> tuple[str, ...]:
    """Make ``cfg`` train (with ``train_ann``) and evaluate (``val_ann``)
    on a COCO-format dataset, keeping its model, pipelines and schedule.

    Args:
        cfg: The config, changed in place.
        data_root: The dataset's folder.
        train_ann: Training annotations, relative to ``data_root`` (None:
            the train split is left alone, as ``tools/test.py`` needs).
        val_ann: Validation / test annotations, relative to ``data_root``.
        img_prefix: Image folder in ``data_root`` the files are relative
            to.
        classes: Class names; default: the annotation file's categories.

    Returns:
        The classes; every head's ``num_classes`` is set to their number.
    """
    if not os.path.isdir(data_root):
        raise ConfigError(f'--data-root {data_root!r} does not exist')
    first = train_ann if train_ann is not None else val_ann
    available = categories(os.path.join(data_root, first))
    if classes:
        unknown = [c for c in classes if c not in available]
        if unknown:
            raise ConfigError(
                f'--classes {unknown} are not categories of {first!r} '
                f'(their boxes would be dropped); it has {list(available)}'
            )
    classes = tuple(classes or available)
    twice = sorted({c for c in classes if classes.count(c) > 1})
    if twice:
        raise ConfigError(
            f'--classes names {twice} more than once (CocoMetric and the '
            'label map need each class once); give each class once'
        )
    anns = {'train': train_ann, 'val': val_ann, 'test': val_ann}
    for where, dataset in _datasets(cfg):
        split = where.split('_')[0]
        if anns.get(split) is None:
            continue
        if '.datasets[' in where:
            raise ConfigError(
                f'{where}: --data-root cannot replace a ConcatDataset; '
                'edit the config'
            )
        dataset.data_root = data_root
        dataset.ann_file = anns[split]
        dataset.data_prefix = dict(img=img_prefix)
        dataset.metainfo = dict(classes=classes)
    for name in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(name)
        metrics = (
            evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
        )
        for metric in metrics:
            if isinstance(metric, dict) and 'ann_file' in metric:
                metric['ann_file'] = os.path.join(data_root, val_ann)
    set_num_classes(cfg.model, len(classes))
    return classes

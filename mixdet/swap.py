"""Put a mixdet backbone into any mmdet detector config.

    from mixdet.swap import mmdet_config, swap_backbone
    cfg = mmdet_config('retinanet/retinanet_r50_fpn_1x_coco.py')
    swap_backbone(cfg, dict(type='MixNet', arch='m', out_indices=(1, 2, 3, 4)))

The neck's ``in_channels`` come from the backbone itself, in the order the
neck expects (FPN-like necks: shallow to deep; ``YOLOV3Neck``: deep to
shallow; ``SSDNeck``: also the head's first levels).
"""

import os
from typing import Union

from mmengine.config import Config, ConfigDict

from .models.backbones import is_mixdet_backbone


def mmdet_config(name: str) -> Config:
    """Load a config shipped inside the mmdet package, e.g.
    ``'retinanet/retinanet_r50_fpn_1x_coco.py'`` (``mmdet::`` optional)."""
    import mmdet

    name = name.removeprefix('mmdet::')
    path = os.path.join(
        os.path.dirname(mmdet.__file__), '.mim', 'configs', name
    )
    if not os.path.isfile(path):
        raise FileNotFoundError(f'mmdet ships no config {name!r}')
    return Config.fromfile(path)


# Necks that list their input channels deepest first.
DEEP_FIRST_NECKS = ('YOLOV3Neck',)


def backbone_out_channels(backbone: dict) -> tuple[int, ...]:
    """The channels of a backbone config's outputs (it is built once)."""
    from mmdet.registry import MODELS

    import mixdet.models  # noqa: F401

    cfg = dict(backbone)
    cfg.pop('init_cfg', None)  # no weights needed to count channels
    model = MODELS.build(cfg)
    channels = getattr(model, 'out_channels', None)
    if channels is None:
        raise ValueError(
            f'backbone {backbone.get("type")!r} does not '
            'expose out_channels; set the neck by hand'
        )
    return tuple(channels)


def neck_in_channels(neck: dict, channels: tuple[int, ...]) -> list[int]:
    """The ``in_channels`` a neck of this type needs for ``channels``."""
    if neck.get('type') in DEEP_FIRST_NECKS:
        return list(reversed(channels))
    return list(channels)


def check_neck_channels(model: dict) -> None:
    """Raise ``ValueError`` naming both numbers if the neck's
    ``in_channels`` do not match the backbone's output channels."""
    neck = model.get('neck')
    backbone = model.get('backbone')
    if isinstance(neck, (list, tuple)):
        neck = neck[0] if neck else None
    if (
        not isinstance(neck, dict)
        or 'in_channels' not in neck
        or not isinstance(backbone, dict)
    ):
        return
    if not is_mixdet_backbone(backbone.get('type')):
        return  # only mixdet's backbones report their channels up front
    channels = backbone_out_channels(backbone)
    expected = neck_in_channels(neck, channels)
    given = neck['in_channels']
    given = list(given) if isinstance(given, (list, tuple)) else [given]
    if given != expected:
        raise ValueError(
            f'model.neck.in_channels {given} do not match the channels '
            f'{expected} of model.backbone ({backbone.get("type")}, '
            f'out_indices={tuple(backbone.get("out_indices", ()))}); '
            f'set in_channels={expected}'
        )


def swap_backbone(
    cfg: Union[Config, ConfigDict, dict], backbone: dict
) -> Union[Config, ConfigDict, dict]:
    """Replace ``cfg.model.backbone`` and fix the neck's ``in_channels``.

    Args:
        cfg: A full config (with ``model``) or a model config.
        backbone: The new backbone config, e.g.
            ``dict(type='MixNet', arch='m', out_indices=(2, 3, 4))``.

    Returns:
        ``cfg``, changed in place.
    """
    model = cfg['model'] if 'model' in cfg else cfg
    model['backbone'] = ConfigDict(backbone)
    channels = backbone_out_channels(backbone)
    neck = model.get('neck')
    if isinstance(neck, dict) and 'in_channels' in neck:
        neck['in_channels'] = neck_in_channels(neck, channels)
        if neck.get('type') == 'SSDNeck':
            out = list(neck['out_channels'])
            out[: len(channels)] = channels
            neck['out_channels'] = out
            model['bbox_head']['in_channels'] = out
    return cfg

"""Put a mixdet backbone into any mmdet detector config.

    from mixdet.swap import mmdet_config, swap_backbone
    cfg = mmdet_config('retinanet/retinanet_r50_fpn_1x_coco.py')
    swap_backbone(cfg, dict(type='MixNet', arch='m', out_indices=(1, 2, 3, 4)))

The neck's ``in_channels`` come from the backbone itself, in the order the
neck expects (FPN-like necks: shallow to deep; ``YOLOV3Neck``: deep to
shallow; ``SSDNeck``: also the head's first levels).
"""

import os
from typing import NamedTuple, Optional, Union

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


class BackboneOutputs(NamedTuple):
    """What a backbone config gives the neck."""

    channels: Optional[tuple[int, ...]]  # None: it does not say
    strides: tuple[int, ...]


def backbone_outputs(backbone: dict) -> BackboneOutputs:
    """The channels and strides of a backbone config's outputs: the
    backbone is built (no init weights) and run once on a 64x64 input."""
    import torch
    from mmdet.registry import MODELS

    from .scope import mmdet_scope

    cfg = dict(backbone)
    cfg.pop('init_cfg', None)  # no weights needed to count channels
    with mmdet_scope():
        model = MODELS.build(cfg).eval()
    with torch.no_grad():
        outs = model(torch.zeros(1, 3, 64, 64))
    channels = getattr(model, 'out_channels', None)
    return BackboneOutputs(
        None if channels is None else tuple(channels),
        tuple(64 // out.shape[-1] for out in outs),
    )


def backbone_out_channels(
    backbone: dict, outputs: Optional[BackboneOutputs] = None
) -> tuple[int, ...]:
    """The channels of a backbone config's outputs (from ``outputs`` when
    given)."""
    channels = (outputs or backbone_outputs(backbone)).channels
    if channels is None:
        raise ValueError(
            f'backbone {backbone.get("type")!r} does not '
            'expose out_channels; set the neck by hand'
        )
    return channels


def neck_in_channels(neck: dict, channels: tuple[int, ...]) -> list[int]:
    """The ``in_channels`` a neck of this type needs for ``channels``."""
    if neck.get('type') in DEEP_FIRST_NECKS:
        return list(reversed(channels))
    return list(channels)


def check_neck_channels(
    model: dict, outputs: Optional[BackboneOutputs] = None
) -> None:
    """Raise ``ValueError`` naming both numbers if the neck's
    ``in_channels`` do not match the backbone's output channels
    (``outputs``: the backbone's, when known)."""
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
    channels = backbone_out_channels(backbone, outputs)
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


def check_ssd_neck(
    model: dict, outputs: Optional[BackboneOutputs] = None
) -> None:
    """Raise ``ValueError`` naming the keys when an ``SSDNeck`` does not
    fit its backbone or head: its ``out_channels`` must start with its
    ``in_channels`` and be the head's ``in_channels``, and a mixdet
    backbone must give the strides the head's anchors start with
    (``outputs``: the backbone's, when known)."""
    neck, head = model.get('neck'), model.get('bbox_head')
    if not isinstance(neck, dict) or neck.get('type') != 'SSDNeck':
        return
    given, out = list(neck['in_channels']), list(neck['out_channels'])
    fixed = given + out[len(given) :]
    hint = 'or let mixdet.swap.swap_backbone set all three'
    if out[: len(given)] != given:
        raise ValueError(
            f'model.neck.out_channels {out} must start with '
            f'model.neck.in_channels {given} (SSDNeck passes the backbone '
            f'levels through): set model.neck.out_channels={fixed} and '
            f'model.bbox_head.in_channels={fixed}, {hint}'
        )
    if isinstance(head, dict) and list(head.get('in_channels', out)) != out:
        raise ValueError(
            f'model.bbox_head.in_channels {list(head["in_channels"])} must '
            f'be model.neck.out_channels {out}, {hint}'
        )
    extra = len(out) - len(given)
    if len(neck.get('level_strides', ())) != extra:
        raise ValueError(
            f'model.neck.level_strides has {len(neck["level_strides"])} '
            f'entries but model.neck.out_channels adds {extra} levels'
        )
    backbone = model.get('backbone')
    anchors = (head or {}).get('anchor_generator') or {}
    if not is_mixdet_backbone((backbone or {}).get('type')) or not anchors:
        return
    strides = (outputs or backbone_outputs(backbone)).strides
    wanted = tuple(anchors['strides'][: len(strides)])
    if strides != wanted:
        raise ValueError(
            f'model.backbone ({backbone.get("type")}, out_indices='
            f'{tuple(backbone.get("out_indices", ()))}) gives features at '
            f'strides {strides}, but model.bbox_head.anchor_generator.'
            f'strides start with {wanted}: pick out_indices with those '
            'strides (SSD300: 8 and 16, e.g. MixNet out_indices=(2, 3); '
            'SSDLite: 16 and 32, e.g. (3, 5))'
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
    outputs = backbone_outputs(backbone)
    channels = backbone_out_channels(backbone, outputs)
    neck = model.get('neck')
    if isinstance(neck, dict) and 'in_channels' in neck:
        neck['in_channels'] = neck_in_channels(neck, channels)
        if neck.get('type') == 'SSDNeck':
            out = list(neck['out_channels'])
            out[: len(channels)] = channels
            neck['out_channels'] = out
            model['bbox_head']['in_channels'] = out
            check_ssd_neck(model, outputs)
    return cfg

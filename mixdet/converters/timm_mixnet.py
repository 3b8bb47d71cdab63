"""Key map from timm's ``mixnet_*`` / ``tf_mixnet_*`` to mixdet's MixNet.

Pure functions over state dicts. timm groups blocks in six stages; mixdet
groups them by output stride in five (timm's stages 3 and 4 both run at
stride 16), so timm block ``blocks.{s}.{j}`` becomes ``layer{S}.{J}``.
"""

import re
from collections import OrderedDict

import torch

# timm stage -> mixdet stage (layer1 ... layer5).
TIMM_TO_MIXDET_STAGE = (1, 2, 3, 4, 4, 5)

TOP_LEVEL = {
    'conv_stem.': 'conv1.conv.',
    'bn1.': 'conv1.bn.',
    'conv_head.': 'conv2.conv.',
    'bn2.': 'conv2.bn.',
}

# Inside a block; the depthwise-separable first block (no conv_pwl) numbers
# its layers differently from the inverted-residual blocks.
INVERTED_RESIDUAL = {
    'conv_pw.': 'expand_conv.conv.',
    'bn1.': 'expand_conv.bn.',
    'conv_dw.': 'depthwise_conv.conv.',
    'bn2.': 'depthwise_conv.bn.',
    'se.conv_reduce.': 'se.reduce.',
    'se.conv_expand.': 'se.expand.',
    'conv_pwl.': 'linear_conv.conv.',
    'bn3.': 'linear_conv.bn.',
}
DEPTHWISE_SEPARABLE = {
    'conv_dw.': 'depthwise_conv.conv.',
    'bn1.': 'depthwise_conv.bn.',
    'se.conv_reduce.': 'se.reduce.',
    'se.conv_expand.': 'se.expand.',
    'conv_pw.': 'linear_conv.conv.',
    'bn2.': 'linear_conv.bn.',
}
CLASSIFIER = 'classifier.'
_BLOCK = re.compile(r'^blocks\.(\d+)\.(\d+)\.(.+)$')


class ConversionError(ValueError):
    """Keys that cannot be mapped, listed in the message."""


def _rename(rest: str, table: dict) -> str | None:
    for old, new in table.items():
        if rest.startswith(old):
            return new + rest[len(old) :]
    return None


def _block_offsets(keys) -> dict[tuple[int, int], tuple[int, int]]:
    """(timm stage, block) -> (mixdet stage, block)."""
    counts: dict[int, int] = {}
    for key in keys:
        match = _BLOCK.match(key)
        if match:
            stage, block = int(match[1]), int(match[2])
            counts[stage] = max(counts.get(stage, 0), block + 1)
    mapping, filled = {}, [0] * (max(TIMM_TO_MIXDET_STAGE) + 1)
    for stage in sorted(counts):
        if stage >= len(TIMM_TO_MIXDET_STAGE):
            continue  # reported as an unknown key
        target = TIMM_TO_MIXDET_STAGE[stage]
        for block in range(counts[stage]):
            mapping[stage, block] = (target, filled[target] + block)
        filled[target] += counts[stage]
    return mapping


def convert_timm_mixnet(
    state_dict: dict, keep_classifier: bool = False
) -> OrderedDict:
    """Rename a timm MixNet state dict to mixdet's ``MixNet`` keys.

    Args:
        state_dict: timm ``mixnet_*`` / ``tf_mixnet_*`` weights.
        keep_classifier: Keep ``classifier.*`` (not part of the backbone).

    Returns:
        The renamed state dict (same tensors).

    Raises:
        ConversionError: Some keys are not MixNet keys; all are listed.
    """
    blocks = _block_offsets(state_dict)
    is_ir = {
        (int(m[1]), int(m[2]))
        for m in map(_BLOCK.match, state_dict)
        if m and m[3].startswith('conv_pwl.')
    }
    out, unknown = OrderedDict(), []
    for key, value in state_dict.items():
        new = None
        match = _BLOCK.match(key)
        if match:
            timm_block = (int(match[1]), int(match[2]))
            table = (
                INVERTED_RESIDUAL
                if timm_block in is_ir
                else DEPTHWISE_SEPARABLE
            )
            rest = _rename(match[3], table)
            if rest is not None and timm_block in blocks:
                stage, block = blocks[timm_block]
                new = f'layer{stage}.{block}.{rest}'
        elif key.startswith(CLASSIFIER):
            if not keep_classifier:
                continue
            new = key
        else:
            new = _rename(key, TOP_LEVEL)
        if new is None:
            unknown.append(key)
        else:
            out[new] = value
    if unknown:
        raise ConversionError(
            f'{len(unknown)} keys are not timm MixNet keys: '
            f'{", ".join(unknown)}'
        )
    return out


def extract_state_dict(checkpoint: dict) -> dict:
    """The state dict inside a checkpoint: bare, or under ``state_dict`` or
    ``model``; a ``module.`` prefix (DataParallel) is removed."""
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    if not checkpoint or not all(
        isinstance(v, torch.Tensor) for v in checkpoint.values()
    ):
        raise ConversionError(
            'checkpoint holds no state dict (expected a dict of tensors, '
            "bare or under 'state_dict' or 'model')"
        )
    return OrderedDict(
        (k[len('module.') :] if k.startswith('module.') else k, v)
        for k, v in checkpoint.items()
    )


def timm_key(key: str, timm_keys) -> str:
    """The timm key that becomes mixdet's ``key`` in a conversion of
    ``timm_keys`` (for messages in the user's names); ``key`` itself when
    there is none."""
    blocks = {v: k for k, v in _block_offsets(timm_keys).items()}
    match = re.match(r'^layer(\d+)\.(\d+)\.(.+)$', key)
    if match:
        source = blocks.get((int(match[1]), int(match[2])))
        if source is not None:
            ir = any(
                k.startswith(f'blocks.{source[0]}.{source[1]}.conv_pwl.')
                for k in timm_keys
            )
            table = INVERTED_RESIDUAL if ir else DEPTHWISE_SEPARABLE
            rest = _rename(match[3], {v: k for k, v in table.items()})
            if rest is not None:
                return f'blocks.{source[0]}.{source[1]}.{rest}'
        return key
    rest = _rename(key, {v: k for k, v in TOP_LEVEL.items()})
    return key if rest is None else rest

"""Does a state dict fit a model? Keys, shapes, and values a model can
copy in (mmengine logs a failed copy and keeps the random init)."""

from typing import Callable

import torch


def uncopyable_keys(expected: dict, actual: dict) -> list[str]:
    """Keys of both whose value a model cannot copy in: mmengine then logs
    "While copying the parameter ..." and keeps the random init. Not a
    tensor; a meta, sparse or quantized tensor; a complex or non-float
    value for a float parameter."""

    def fits(value, target) -> bool:
        if not isinstance(value, torch.Tensor):
            return False
        if (
            value.is_meta
            or value.is_quantized
            or value.layout != torch.strided
        ):
            return False
        if value.is_complex() and not target.is_complex():
            return False
        if target.is_floating_point() and not value.is_floating_point():
            return False
        return True

    return sorted(
        k
        for k in set(expected) & set(actual)
        if isinstance(expected[k], torch.Tensor)
        and not fits(actual[k], expected[k])
    )


def compare_keys(
    expected: dict, actual: dict, name: Callable[[str], str] = str
) -> list[str]:
    """Differences between two state dicts' keys, shapes and values that
    cannot be copied in, as sentences (empty when they match).

    Args:
        expected: The model's state dict.
        actual: The weights to load.
        name: How to name a key in the messages (a converter names it as
            the user's file does).
    """

    missing = sorted(name(k) for k in set(expected) - set(actual))
    unexpected = sorted(name(k) for k in set(actual) - set(expected))
    shapes = sorted(
        f'{name(k)}: {tuple(actual[k].shape)} vs {tuple(expected[k].shape)}'
        for k in set(expected) & set(actual)
        if tuple(expected[k].shape) != tuple(getattr(actual[k], 'shape', ()))
    )
    uncopyable = sorted(name(k) for k in uncopyable_keys(expected, actual))
    problems = []
    for kind, items in (
        ('missing', missing),
        ('unexpected', unexpected),
        ('wrong shape', shapes),
        ('not plain dense tensors of a real dtype', uncopyable),
    ):
        if items:
            problems.append(f'{len(items)} {kind}: {", ".join(items)}')
    return problems

"""The deterministic weight rule behind the timm golden files.

Every tensor of a timm state dict is drawn from its own generator, seeded by
the CRC32 of its key, so anyone holding only the key names and shapes can
rebuild exactly the weights the golden outputs were computed with.
"""

import math
import zlib

import torch


def seeded_tensor(key: str, shape) -> torch.Tensor:
    shape = tuple(shape)
    if key.endswith('num_batches_tracked'):
        return torch.tensor(0, dtype=torch.long)
    g = torch.Generator().manual_seed(zlib.crc32(key.encode('utf-8')))
    if key.endswith('running_var'):
        return torch.rand(shape, generator=g) + 0.5
    if key.endswith('running_mean'):
        return torch.randn(shape, generator=g) * 0.1
    if len(shape) == 1:
        if key.endswith('weight'):  # norm scale
            return torch.rand(shape, generator=g) + 0.5
        return torch.randn(shape, generator=g) * 0.1  # any bias
    fan_in = math.prod(shape[1:])
    return torch.randn(shape, generator=g) / math.sqrt(fan_in)


def seeded_state_dict(shapes: dict) -> dict:
    """shapes: {timm key: shape list} -> {timm key: tensor}."""
    return {k: seeded_tensor(k, s) for k, s in shapes.items()}


def seeded_input(batch: int, height: int, width: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, height, width, generator=g)

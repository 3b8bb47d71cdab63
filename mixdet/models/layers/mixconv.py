"""MixConv: a depthwise convolution with a different kernel size per group.

Tan & Le, "MixConv: Mixed Depthwise Convolutional Kernels", BMVC 2019.
"""

import numbers
from typing import Iterable, Sequence, Union

import torch
from mmdet.registry import MODELS
from torch import nn

from ...ops import mixconv2d
from .arg_checks import check_int
from .channel_split import SplitType, split_channels
from .padding import check_padding_mode, make_conv2d

KernelSizes = Union[int, Sequence[int]]


def check_kernel_sizes(
    kernel_sizes: KernelSizes, name: str = 'kernel_sizes'
) -> tuple[int, ...]:
    """Return ``kernel_sizes`` as a tuple of positive odd ints or raise."""
    error = ValueError(
        f'{name} must be a positive odd int (1, 3, 5, ...) or a list of at '
        f'least one of them, got {kernel_sizes!r}'
    )
    if isinstance(kernel_sizes, numbers.Integral):
        kernel_sizes = (kernel_sizes,)
    if isinstance(kernel_sizes, (str, bytes)) or not isinstance(
        kernel_sizes, Iterable
    ):
        raise error
    sizes = tuple(kernel_sizes)
    if not sizes or any(
        isinstance(k, bool)
        or not isinstance(k, numbers.Integral)
        or k < 1
        or k % 2 == 0
        for k in sizes
    ):
        raise error
    return tuple(int(k) for k in sizes)


@MODELS.register_module()
class MixConv2d(nn.Module):
    """Mixed depthwise convolution.

    The channels are split into ``len(kernel_sizes)`` groups; group ``i`` is
    convolved depthwise with a ``kernel_sizes[i]`` square kernel and the
    results are concatenated in group order. Group ``i``'s conv is the child
    module ``str(i)``, so its weight is stored as ``'{i}.weight'`` exactly as
    timm's ``MixedConv2d``.

    Args:
        channels: Input channels.
        kernel_sizes: One odd kernel size per group (an int means one group).
        stride: Stride of every group.
        channel_multiplier: Output channels per input channel.
        split: ``'equal'``, ``'exponential'`` or a list of channel counts,
            see :func:`split_channels`.
        dilated: Replace a k x k kernel (k > 3) by a 3 x 3 kernel with
            dilation (k - 1) / 2. Stride 1 only.
        padding: ``'symmetric'`` (k // 2 on every side, as PyTorch-trained
            weights) or ``'same'`` (TensorFlow's, asymmetric for stride 2).
        bias: Add a bias to every group.

    How the groups run (split, or one conv over zero-padded kernels) is
    decided by :func:`mixdet.ops.mixconv2d` per device, dtype and layout.
    """

    def __init__(
        self,
        channels: int,
        kernel_sizes: KernelSizes = 3,
        stride: int = 1,
        channel_multiplier: int = 1,
        split: SplitType = 'equal',
        dilated: bool = False,
        padding: str = 'symmetric',
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_sizes = check_kernel_sizes(kernel_sizes)
        channels = check_int(channels, 'channels')
        stride = check_int(stride, 'stride')
        channel_multiplier = check_int(
            channel_multiplier, 'channel_multiplier'
        )
        if dilated and stride != 1:
            raise ValueError(
                'dilated=True needs stride=1 (the paper dilates '
                f'stride-1 layers only), got stride={stride}'
            )
        self.padding = check_padding_mode(padding)
        self.channels = channels
        self.out_channels = channels * channel_multiplier
        self.stride = stride
        self.dilated = dilated
        self.splits = split_channels(channels, len(self.kernel_sizes), split)
        for i, (k, c) in enumerate(zip(self.kernel_sizes, self.splits)):
            size, dilation = (3, (k - 1) // 2) if dilated and k > 3 else (k, 1)
            self.add_module(
                str(i),
                make_conv2d(
                    c,
                    c * channel_multiplier,
                    size,
                    stride,
                    dilation=dilation,
                    groups=c,
                    bias=bias,
                    padding=padding,
                ),
            )

    @property
    def convs(self) -> list[nn.Conv2d]:
        """The per-group convolutions, in group order."""
        return [getattr(self, str(i)) for i in range(len(self.splits))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        convs = self.convs
        return mixconv2d(
            x,
            [c.weight for c in convs],
            [c.bias for c in convs],
            self.splits,
            self.stride,
            self.padding,
            [c.dilation[0] for c in convs],
        )

    def extra_repr(self) -> str:
        return (
            f'channels={self.channels}, kernel_sizes={self.kernel_sizes}, '
            f'splits={self.splits}, stride={self.stride}, '
            f'padding={self.padding!r}, dilated={self.dilated}'
        )


def make_depthwise_conv(
    channels: int,
    kernel_sizes: KernelSizes,
    stride: int = 1,
    split: SplitType = 'equal',
    dilated: bool = False,
    padding: str = 'symmetric',
) -> nn.Module:
    """A plain depthwise conv for one kernel size, else a :class:`MixConv2d`.

    One kernel size gives an ``nn.Conv2d`` whose state dict (``weight``)
    matches mmdet's and timm's single-kernel layers; several give a
    :class:`MixConv2d` (``0.weight``, ``1.weight``, ...).
    """
    sizes = check_kernel_sizes(kernel_sizes)
    if len(sizes) == 1 and not dilated:
        return make_conv2d(
            channels,
            channels,
            sizes[0],
            stride,
            groups=channels,
            padding=padding,
        )
    return MixConv2d(
        channels, sizes, stride, split=split, dilated=dilated, padding=padding
    )

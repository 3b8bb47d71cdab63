"""MixConv: a depthwise convolution with a different kernel size per group.

Tan & Le, "MixConv: Mixed Depthwise Convolutional Kernels", BMVC 2019.
"""

from typing import Sequence, Union

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import nn

from .channel_split import SplitType, split_channels
from .fused_depthwise import FusedDepthwiseConv, pad_kernels
from .padding import check_padding_mode, make_conv2d, pad_same
from .weight_cache import AssembledWeight, needs_autograd

KernelSizes = Union[int, Sequence[int]]


def check_kernel_sizes(
    kernel_sizes: KernelSizes, name: str = 'kernel_sizes'
) -> tuple[int, ...]:
    """Return ``kernel_sizes`` as a tuple of positive odd ints or raise."""
    sizes = (
        (kernel_sizes,)
        if isinstance(kernel_sizes, int)
        else tuple(kernel_sizes)
    )
    if not sizes:
        raise ValueError(
            f'{name} must hold at least one kernel size, got {kernel_sizes!r}'
        )
    for k in sizes:
        if (
            not isinstance(k, int)
            or isinstance(k, bool)
            or k < 1
            or k % 2 == 0
        ):
            raise ValueError(
                f'{name} must be positive odd ints (1, 3, 5, '
                f'...), got {kernel_sizes!r}'
            )
    return sizes


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
        fused: How to run several groups. ``False``: split the channels, one
            conv per group, concatenate. ``True``: zero-pad every group's
            kernel to the largest size and run ONE depthwise conv (exact,
            the same parameters and gradients). ``'auto'`` (default): fused
            wherever that is exact, see :meth:`use_fused`. Dilated MixConv
            always splits.
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
        fused: Union[bool, str] = 'auto',
    ) -> None:
        super().__init__()
        self.kernel_sizes = check_kernel_sizes(kernel_sizes)
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(
                f'channels must be a positive int, got {channels!r}'
            )
        if not isinstance(stride, int) or stride < 1:
            raise ValueError(f'stride must be a positive int, got {stride!r}')
        if not isinstance(channel_multiplier, int) or channel_multiplier < 1:
            raise ValueError(
                'channel_multiplier must be a positive int, '
                f'got {channel_multiplier!r}'
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
        if fused not in (True, False, 'auto'):
            raise ValueError(
                f"fused must be True, False or 'auto', got {fused!r}"
            )
        if fused is True and not self._can_fuse():
            raise ValueError(
                'fused=True cannot run dilated MixConv, nor a 1x1 group '
                "with padding='same' and stride 2; use fused='auto'"
            )
        self.fused = fused
        self._kernel = AssembledWeight()  # the fused kernel, at inference
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

    def _can_fuse(self) -> bool:
        """Whether one zero-padded kernel gives exactly the split result."""
        if self.dilated:
            return False
        # TF 'same' pads a 1x1 kernel at stride 2 differently from how a
        # zero-padded larger kernel would.
        return not (
            self.padding == 'same'
            and self.stride > 1
            and min(self.kernel_sizes) == 1
            and max(self.kernel_sizes) > 1
        )

    def use_fused(self) -> bool:
        """Whether ``forward`` runs the fused path.

        ``'auto'`` fuses wherever fusing is exact: on the MixNet-S/M layer
        shapes at 320x320 (tools/analysis/benchmark_mixconv.py, batch 1 and
        8, inference and forward+backward) the fused path was faster in
        total, and no layer was reliably slower across repeated runs.
        """
        if len(self.splits) == 1 or self.fused is False:
            return False
        return self._can_fuse()

    def forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        """One depthwise conv with the zero-padded kernel (exact)."""
        convs = self.convs
        size = max(self.kernel_sizes)
        padding = size // 2
        if self.padding == 'same' and self.stride > 1:
            x, padding = pad_same(x, size, self.stride), 0
        weights = [conv.weight for conv in convs]
        if needs_autograd(x, weights):
            out = FusedDepthwiseConv.apply(
                x, self.stride, padding, self.splits, *weights
            )
        else:  # the kernel is kept between calls until a weight changes
            kernel = self._kernel.get(weights, lambda: pad_kernels(weights))
            out = F.conv2d(
                x, kernel, None, self.stride, padding, groups=self.channels
            )
        if convs[0].bias is not None:
            out = out + torch.cat([c.bias for c in convs]).view(1, -1, 1, 1)
        return out

    def forward_split(self, x: torch.Tensor) -> torch.Tensor:
        """Split the channels, one conv per group, concatenate."""
        if len(self.splits) == 1:
            return self.convs[0](x)
        parts = torch.split(x, self.splits, dim=1)
        return torch.cat(
            [conv(part) for conv, part in zip(self.convs, parts)], dim=1
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_fused():
            return self.forward_fused(x)
        return self.forward_split(x)

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

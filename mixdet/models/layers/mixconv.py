"""MixConv: a depthwise convolution with a different kernel size per group.

Tan & Le, "MixConv: Mixed Depthwise Convolutional Kernels", BMVC 2019.
"""

import numbers
from typing import Iterable, Optional, Sequence, Union

import torch
from mmdet.registry import MODELS
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import nn

from ... import ops
from .arg_checks import check_bool, check_int
from .channel_split import SplitType, split_channels
from .group_convs import GroupConvs
from .padding import check_padding_mode, make_conv2d, pad_same

KernelSizes = Union[int, Sequence[int]]


# The paper's largest kernel is 11x11; past 31x31 a depthwise kernel is a
# typo, refused by name before a weight is allocated.
MAX_KERNEL_SIZE = 31


def check_kernel_sizes(
    kernel_sizes: KernelSizes, name: str = 'kernel_sizes'
) -> tuple[int, ...]:
    """Return ``kernel_sizes`` as a tuple of odd ints in 1..31 or raise."""
    error = ValueError(
        f'{name} must be an odd int from 1 to {MAX_KERNEL_SIZE} (1, 3, 5, '
        f'...) or a list of at least one of them, got {kernel_sizes!r}'
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
        or not 1 <= k <= MAX_KERNEL_SIZE
        or k % 2 == 0
        for k in sizes
    ):
        raise error
    return tuple(int(k) for k in sizes)


@MODELS.register_module()
class MixConv2d(GroupConvs):
    """Mixed depthwise convolution, with mmcv's conv signature.

    The channels are split into ``len(kernel_sizes)`` groups; group ``i`` is
    convolved depthwise with a ``kernel_sizes[i]`` square kernel and the
    results are concatenated in group order. Group ``i``'s conv is the child
    module ``str(i)``, so its weight is stored as ``'{i}.weight'`` exactly as
    timm's ``MixedConv2d``.

    It takes the arguments ``build_conv_layer`` passes, so it serves as an
    mmcv conv type: ``ConvModule(c, c, 3, padding=1, groups=c,
    conv_cfg=dict(type='MixConv2d', kernel_sizes=(3, 5, 7)), ...)``.

    Args:
        in_channels: Input channels.
        out_channels: Output channels: ``in_channels`` times the channel
            multiplier.
        kernel_size: One odd kernel size per group (an int means one
            group); ``kernel_sizes`` wins when given.
        stride: Stride of every group.
        padding: ``'symmetric'`` (each group pads its own ``k // 2``, as
            PyTorch-trained weights; an int equal to ``kernel_size // 2``,
            as mmcv passes it, means the same) or ``'same'`` (TensorFlow's,
            asymmetric for stride 2).
        dilation: Must be 1; see ``dilated``.
        groups: ``None`` or ``in_channels``: MixConv is depthwise.
        bias: Add a bias to every group.
        kernel_sizes: The kernel sizes, overriding ``kernel_size`` (the key
            to set in a ``conv_cfg``).
        split: ``'equal'``, ``'exponential'`` or a list of channel counts,
            see :func:`split_channels`.
        dilated: Replace a k x k kernel (k > 3) by a 3 x 3 kernel with
            dilation (k - 1) / 2. Stride 1 only.

    ``forward`` splits the channels, convolves each group and
    concatenates (timm's ``MixedConv2d``). Where :data:`mixdet.ops.RULES`
    measured it faster (per device, dtype, layout and phase), it runs the
    same conv as one depthwise conv over zero-padded kernels instead
    (:meth:`forward_fused`, exact).
    """

    transposed = False
    output_padding = (0, 0)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: KernelSizes = 3,
        stride: int = 1,
        padding: Union[str, int, Sequence[int]] = 'symmetric',
        dilation: Union[int, Sequence[int]] = 1,
        groups: Optional[int] = None,
        bias: bool = False,
        kernel_sizes: Optional[KernelSizes] = None,
        split: SplitType = 'equal',
        dilated: bool = False,
    ) -> None:
        super().__init__()
        if kernel_sizes is None:
            kernel_sizes, name = kernel_size, 'kernel_size'
        else:
            name = 'kernel_sizes'
        self.kernel_sizes = check_kernel_sizes(kernel_sizes, name)
        in_channels = check_int(in_channels, 'in_channels')
        out_channels = check_int(out_channels, 'out_channels')
        stride = check_int(stride, 'stride')
        dilated = check_bool(dilated, 'dilated')
        if out_channels % in_channels:
            raise ValueError(
                f'out_channels must be a multiple of in_channels '
                f'({in_channels}): MixConv2d is depthwise, with out / in '
                f'outputs per channel; got {out_channels}'
            )
        if groups is not None and groups != in_channels:
            raise ValueError(
                f'groups must be None or in_channels ({in_channels}): '
                f'MixConv2d is a depthwise conv; got groups={groups!r}'
            )
        if _pair(dilation) != (1, 1):
            raise ValueError(
                f'dilation must be 1 for MixConv2d (set dilated=True for '
                f'dilated kernels), got {dilation!r}'
            )
        if dilated and stride != 1:
            raise ValueError(
                'dilated=True needs stride=1 (the paper dilates '
                f'stride-1 layers only), got stride={stride}'
            )
        padding = _padding_mode(padding, kernel_size, kernel_sizes)
        self.padding = padding
        self.in_channels = self.channels = in_channels
        self.out_channels = out_channels
        self.groups = in_channels
        self.kernel_size = (max(self.kernel_sizes),) * 2
        self.stride = stride
        self.dilation = (1, 1)
        self.dilated = dilated
        self.splits = split_channels(
            in_channels, len(self.kernel_sizes), split
        )
        multiplier = out_channels // in_channels
        # One zero-padded kernel computes exactly the same (not dilated).
        self.fusable = ops.can_fuse(
            self.kernel_sizes,
            [2 if dilated and k > 3 else 1 for k in self.kernel_sizes],
            stride,
            padding,
        )
        for i, (k, c) in enumerate(zip(self.kernel_sizes, self.splits)):
            size, dilation = (3, (k - 1) // 2) if dilated and k > 3 else (k, 1)
            self.add_module(
                str(i),
                make_conv2d(
                    c,
                    c * multiplier,
                    size,
                    stride,
                    dilation=dilation,
                    groups=c,
                    bias=bias,
                    padding=padding,
                ),
            )

    def init_weights(self) -> None:
        """PyTorch's default init of every group conv, as built. (An
        enclosing ``init_cfg`` with ``layer='Conv2d'`` reaches the group
        convs; mmcv's ``ConvModule`` leaves a conv with ``init_weights``
        alone.)"""
        for conv in self.convs:
            conv.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fusable and self._fast_path(x) == 'fused':
            return self.forward_fused(x)
        xs = torch.split(x, self.splits, dim=1)
        return torch.cat([conv(xi) for conv, xi in zip(self.convs, xs)], 1)

    def _fast_path(self, x: torch.Tensor) -> str:
        weight = self._modules['0'].weight
        return ops.choose('mixconv', x, weight, self.kernel_size[0])

    def forward_fused(self, x: torch.Tensor) -> torch.Tensor:
        """The same conv as one depthwise conv over every group's kernel,
        zero-padded to the largest (only where :attr:`fusable`)."""
        k = self.kernel_size[0]
        if self.padding == 'same' and self.stride > 1:
            x, pad = pad_same(x, k, self.stride), 0
        else:
            pad = k // 2
        train = ops.policy.needs_grad(x, self._modules['0'].weight)
        return ops.fused_mixconv(
            x, self.weights, self.biases, self.splits, self.stride, pad, train
        )

    def extra_repr(self) -> str:
        return (
            f'channels={self.channels}, out_channels={self.out_channels}, '
            f'kernel_sizes={self.kernel_sizes}, '
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
    :class:`MixConv2d` (``0.weight``, ``1.weight``, ...). ``dilated``
    applies to stride-1 convs only, as in the paper: a strided conv keeps
    its large kernels.
    """
    dilated = dilated and stride == 1
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
        channels,
        channels,
        sizes,
        stride,
        padding=padding,
        split=split,
        dilated=dilated,
    )


@MODELS.register_module()
def DepthwiseMixConv2d(  # noqa: N802  (a conv type, named like one)
    in_channels: int,
    out_channels: int,
    kernel_size: KernelSizes,
    stride: int = 1,
    padding: Union[str, int, Sequence[int]] = 0,
    dilation: Union[int, Sequence[int]] = 1,
    groups: int = 1,
    bias: bool = True,
    **mixconv: object,
) -> nn.Module:
    """A conv type that makes the depthwise convs MixConv and leaves the
    others plain.

    For modules that pass one ``conv_cfg`` to all their convs, as mmdet's
    ``SSDNeck`` (a 1x1 conv, then a depthwise-separable conv): with
    ``conv_cfg=dict(type='DepthwiseMixConv2d', kernel_sizes=(3, 5, 7))``
    every conv with ``groups == in_channels > 1`` is a :class:`MixConv2d`
    with ``mixconv`` (``kernel_sizes``, ``split``, ...), every other an
    ``nn.Conv2d``.
    """
    args = (in_channels, out_channels, kernel_size, stride, padding)
    args += (dilation, groups, bias)
    if groups == in_channels > 1:
        return MixConv2d(*args, **mixconv)
    return nn.Conv2d(*args)


# mmcv's build_conv_layer looks conv types up in mmengine's root registry
# when no default scope is set: make both names work there too.
MMENGINE_MODELS.register_module(module=MixConv2d)
MMENGINE_MODELS.register_module(module=DepthwiseMixConv2d)


def _padding_mode(
    padding: Union[str, int, Sequence[int]],
    kernel_size: KernelSizes,
    kernel_sizes: Optional[KernelSizes],
) -> str:
    """``'symmetric'`` or ``'same'``; mmcv's int padding must be the
    positional kernel's ``k // 2``."""
    if isinstance(padding, str):
        return check_padding_mode(padding)
    first = kernel_size if isinstance(kernel_size, numbers.Integral) else None
    if first is None and kernel_sizes is None:
        first = tuple(kernel_size)[0] if kernel_size else None
    if first is not None and _pair(padding) == (first // 2,) * 2:
        return 'symmetric'
    raise ValueError(
        "padding must be 'symmetric', 'same' or kernel_size // 2 (every "
        f'group then pads its own k // 2), got {padding!r} with '
        f'kernel_size={kernel_size!r}'
    )


def _pair(value) -> tuple:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value), int(value))
    return tuple(value) if isinstance(value, Sequence) else (value,)

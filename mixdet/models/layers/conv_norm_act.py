"""Conv -> norm -> activation, keyed like mmcv's ``ConvModule``."""

from typing import Optional, Sequence, Union

from mmcv.cnn import build_activation_layer, build_norm_layer
from torch import nn

# Activations that accept ``inplace``; as mmcv's ConvModule, they run in
# place after the norm layer (its output is not needed by autograd).
INPLACE_ACTS = ('ReLU', 'ReLU6', 'LeakyReLU', 'SiLU', 'ELU', 'Hardswish')


class ConvNormAct(nn.Sequential):
    """Any conv module followed by a norm layer and an optional activation.

    ``forward`` is ``nn.Sequential``'s: conv, norm, activation. Unlike
    ``ConvModule`` it accepts an already-built conv (a
    :class:`MixConv2d`, a grouped 1x1 conv, a TF-'same' conv), while keeping
    ``ConvModule``'s state-dict keys (``conv.*``, ``bn.*``).

    Args:
        conv: The convolution.
        out_channels: Output channels of ``conv``.
        norm_cfg: Norm layer config, e.g. ``dict(type='BN')``.
        act_cfg: Activation config, or None for none. ``inplace``
            defaults to True where the activation takes it.
    """

    def __init__(
        self,
        conv: nn.Module,
        out_channels: int,
        norm_cfg: dict,
        act_cfg: Optional[dict],
    ) -> None:
        super().__init__()
        self.add_module('conv', conv)
        self.norm_name, norm = build_norm_layer(norm_cfg, out_channels)
        self.add_module(self.norm_name, norm)
        if act_cfg is not None:
            act_cfg = dict(act_cfg)
            if act_cfg['type'] in INPLACE_ACTS:
                act_cfg.setdefault('inplace', True)
            self.add_module('activate', build_activation_layer(act_cfg))

    @property
    def norm(self) -> nn.Module:
        return getattr(self, self.norm_name)

    @classmethod
    def depthwise(
        cls,
        channels: int,
        kernel_sizes: Union[int, Sequence[int]],
        stride: int,
        mixconv: dict,
        norm_cfg: dict,
        act_cfg: Optional[dict],
    ) -> 'ConvNormAct':
        """A depthwise conv (MixConv for several kernel sizes, see
        :func:`make_depthwise_conv`; ``mixconv``: its ``split``,
        ``dilated`` and ``padding``), norm and activation."""
        from .mixconv import make_depthwise_conv

        conv = make_depthwise_conv(channels, kernel_sizes, stride, **mixconv)
        return cls(conv, channels, norm_cfg, act_cfg)

"""One depthwise conv over several kernel sizes, with a lean backward.

Forward zero-pads every group's kernel to the largest size and runs one
depthwise conv. Backward takes the input gradient from that one conv, but
each group's weight gradient from its own small kernel: the zero-padded
taps would cost (K/k)^2 times the work for gradients that are thrown away.
The weight gradient is computed one image at a time as a convolution of
the input with the output gradient, which PyTorch's CPU kernels run about
4x faster than its depthwise weight-gradient kernel (measured by
tools/analysis/benchmark_mixconv.py).
"""

import torch
import torch.nn.functional as F

_conv_backward = torch.ops.aten.convolution_backward.default


def pad_kernels(weights: list[torch.Tensor]) -> torch.Tensor:
    """Centre every kernel in the largest size and concatenate them."""
    size = max(w.shape[-1] for w in weights)
    return torch.cat(
        [F.pad(w, [(size - w.shape[-1]) // 2] * 4) for w in weights]
    )


def depthwise_weight_grad(
    x: torch.Tensor,
    grad_out: torch.Tensor,
    kernel_size: int,
    stride: int,
    padding: int,
) -> torch.Tensor:
    """Gradient of a depthwise conv's weight (C*m, 1, k, k).

    For each image, correlate the padded input (one channel per group) with
    the output gradient as kernel (dilated by the stride); sum over images.
    """
    channels = x.shape[1]
    if padding < 0:  # the kernel sits inside a larger padding: crop
        x = x[
            ...,
            -padding : x.shape[-2] + padding,
            -padding : x.shape[-1] + padding,
        ]
        padding = 0
    grad = None
    for n in range(x.shape[0]):
        g = F.conv2d(
            F.pad(x[n : n + 1], [padding] * 4),
            grad_out[n].unsqueeze(1),
            None,
            1,
            0,
            dilation=stride,
            groups=channels,
        )[0, :, :kernel_size, :kernel_size]
        grad = g if grad is None else grad + g
    return grad.unsqueeze(1)


class FusedDepthwiseConv(torch.autograd.Function):
    """``conv2d(x, pad_kernels(weights), stride, padding, groups)``."""

    @staticmethod
    def forward(
        ctx,
        x: torch.Tensor,
        stride: int,
        padding: int,
        in_splits: list[int],
        *weights: torch.Tensor,
    ) -> torch.Tensor:
        weight = pad_kernels(list(weights))
        ctx.save_for_backward(x, weight, *weights)
        ctx.stride, ctx.padding, ctx.in_splits = stride, padding, in_splits
        return F.conv2d(x, weight, None, stride, padding, groups=x.shape[1])

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        x, weight, *weights = ctx.saved_tensors
        stride, padding = ctx.stride, ctx.padding
        size = weight.shape[-1]
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = _conv_backward(
                grad_out,
                x,
                weight,
                None,
                [stride] * 2,
                [padding] * 2,
                [1, 1],
                False,
                [0, 0],
                x.shape[1],
                [True, False, False],
            )[0]
        grads_w = []
        out_splits = [w.shape[0] for w in weights]
        xs = torch.split(x, ctx.in_splits, dim=1)
        gs = torch.split(grad_out, out_splits, dim=1)
        for i, (xi, gi, w) in enumerate(zip(xs, gs, weights)):
            k = w.shape[-1]
            grads_w.append(
                depthwise_weight_grad(
                    xi, gi, k, stride, padding - (size - k) // 2
                )
                if ctx.needs_input_grad[4 + i]
                else None
            )
        return (grad_x, None, None, None, *grads_w)

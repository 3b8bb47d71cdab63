"""One depthwise conv over several kernel sizes, with a lean backward.

Forward zero-pads every group's kernel to the largest size and runs one
depthwise conv. Backward takes the input gradient from that one conv and
each group's weight gradient for its own small kernel only.

Mixed precision: the Function runs in the dtype a conv would run in under
the ambient autocast (weights cast to it, as autocast does), with autocast
off inside; the weight gradients are accumulated in float32 and returned
in each weight's own dtype.
"""

import torch
import torch.nn.functional as F

from .policy import compute_dtype

_conv_backward = torch.ops.aten.convolution_backward.default


def pad_kernels(weights: list[torch.Tensor]) -> torch.Tensor:
    """Centre every kernel in the largest size and concatenate them."""
    size = max(w.shape[-1] for w in weights)
    return torch.cat(
        [F.pad(w, [(size - w.shape[-1]) // 2] * 4) for w in weights]
    )


def depthwise_weight_grad_per_image(
    x: torch.Tensor,
    grad_out: torch.Tensor,
    kernel_size: int,
    stride: int,
    padding: int,
) -> torch.Tensor:
    """Gradient of a depthwise conv's weight (C*m, 1, k, k), CPU style.

    For each image, correlate the padded input (one channel per group) with
    the output gradient as kernel (dilated by the stride); sum over images.
    On the CPUs measured, PyTorch's kernels run this faster than its
    depthwise weight-gradient kernel (``ops.RULES`` says where, by how
    much); on a GPU a per-image loop is slow, so no GPU rule picks it.
    """
    if x.shape[0] == 0:  # an empty batch: no contribution
        return x.new_zeros(grad_out.shape[1], 1, kernel_size, kernel_size)
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
            groups=x.shape[1],
        )[0, :, :kernel_size, :kernel_size]
        grad = g if grad is None else grad + g
    return grad.unsqueeze(1)


def _weight_grads(ctx, x, grad_out, weight) -> list:
    """Each group's weight gradient, accumulated in float32."""
    size, stride, padding = weight.shape[-1], ctx.stride, ctx.padding
    sizes = ctx.kernel_sizes
    if x.device.type == 'cpu':
        xs = torch.split(x.float(), ctx.in_splits, dim=1)
        gs = torch.split(grad_out.float(), ctx.out_splits, dim=1)
        return [
            depthwise_weight_grad_per_image(
                xi, gi, k, stride, padding - (size - k) // 2
            )
            for xi, gi, k in zip(xs, gs, sizes)
        ]
    # Elsewhere: the padded kernel's gradient in one call, then each
    # group's centre.
    full = _conv_backward(
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
        [False, True, False],
    )[1].float()
    grads = torch.split(full, ctx.out_splits, dim=0)
    return [
        g[
            ...,
            (size - k) // 2 : (size + k) // 2,
            (size - k) // 2 : (size + k) // 2,
        ]
        for g, k in zip(grads, sizes)
    ]


class FusedDepthwiseConv(torch.autograd.Function):
    """``conv2d(x, pad_kernels(weights), stride, padding, groups=C)``."""

    @staticmethod
    def forward(ctx, x, stride, padding, in_splits, *weights):
        dtype = compute_dtype(x)
        with torch.autocast(x.device.type, enabled=False):
            xc = x.to(dtype)
            weight = pad_kernels([w.to(dtype) for w in weights])
            out = F.conv2d(
                xc, weight, None, stride, padding, groups=xc.shape[1]
            )
        ctx.save_for_backward(xc, weight)
        ctx.stride, ctx.padding, ctx.in_splits = stride, padding, in_splits
        ctx.out_splits = [w.shape[0] for w in weights]
        ctx.kernel_sizes = [w.shape[-1] for w in weights]
        ctx.dtypes = (x.dtype, [w.dtype for w in weights])
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        x_dtype, weight_dtypes = ctx.dtypes
        grad_out = grad_out.to(x.dtype)
        grad_x = None
        with torch.autocast(x.device.type, enabled=False):
            if ctx.needs_input_grad[0]:
                grad_x = _conv_backward(
                    grad_out,
                    x,
                    weight,
                    None,
                    [ctx.stride] * 2,
                    [ctx.padding] * 2,
                    [1, 1],
                    False,
                    [0, 0],
                    x.shape[1],
                    [True, False, False],
                )[0].to(x_dtype)
            grads_w = [None] * len(weight_dtypes)
            if any(ctx.needs_input_grad[4:]):
                grads_w = [
                    g.to(dtype) if need else None
                    for g, dtype, need in zip(
                        _weight_grads(ctx, x, grad_out, weight),
                        weight_dtypes,
                        ctx.needs_input_grad[4:],
                    )
                ]
        return (grad_x, None, None, None, *grads_w)

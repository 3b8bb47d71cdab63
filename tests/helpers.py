"""Small random inputs for detector tests, and shared assertions."""

import copy

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData


def random_det_batch(
    num_images: int = 2, size: int = 320, num_classes: int = 80, seed: int = 0
) -> dict:
    """A batch as a dataloader gives it: uint8 images and samples with
    a few random ground-truth boxes each."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(num_images):
        inputs.append(
            torch.randint(
                0, 256, (3, size, size), generator=g, dtype=torch.uint8
            )
        )
        xy = torch.rand(3, 2, generator=g) * size * 0.6
        wh = torch.rand(3, 2, generator=g) * size * 0.3 + size * 0.1
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                pad_shape=(size, size),
                scale_factor=(1.0, 1.0),
                batch_input_shape=(size, size),
            )
        )
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh], 1),
            labels=torch.randint(0, num_classes, (3,), generator=g),
        )
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def total_loss(losses: dict) -> torch.Tensor:
    """The sum of a detector's losses (what mmengine's parse_losses sums)."""
    return sum(
        v.sum() if isinstance(v, torch.Tensor) else sum(x.sum() for x in v)
        for k, v in losses.items()
        if 'loss' in k
    )


def amp_loss_backward(
    model, num_classes: int, size: int = 320, dtype=torch.bfloat16
) -> None:
    """Loss + backward under CPU autocast: the loss is finite and close to
    the float32 loss on the same batch, and every gradient is finite and
    in its parameter's dtype.

    Two-stage detectors: mmcv's CPU RoIAlign and NMS have no bf16 kernels
    (its CUDA ones take half), so there only the backbone and neck run
    under autocast on CPU."""
    if getattr(model, 'roi_head', None) is not None:
        return _amp_features_backward(model, size, dtype)
    model.train()
    data = model.data_preprocessor(
        random_det_batch(2, size, num_classes, seed=2), training=True
    )
    with torch.no_grad():
        reference = float(total_loss(model(**data, mode='loss')))
    model.zero_grad()
    with torch.autocast('cpu', dtype=dtype):
        loss = total_loss(model(**data, mode='loss'))
    assert torch.isfinite(loss)
    assert abs(float(loss) - reference) <= 0.05 * abs(reference) + 0.05
    loss.backward()
    params = [p for p in model.parameters() if p.requires_grad]
    assert any(p.grad is not None for p in params)
    for p in params:
        if p.grad is not None:
            assert p.grad.dtype == p.dtype and torch.isfinite(p.grad).all()


def _amp_features_backward(model, size: int, dtype) -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, size, size, generator=g)
    model.eval()  # BN on running statistics: a fair bf16 vs fp32 check
    with torch.no_grad():
        reference = [f.float() for f in model.extract_feat(x)]
        with torch.autocast('cpu', dtype=dtype):
            feats = model.extract_feat(x)
    for f, r in zip(feats, reference):
        assert f.dtype == dtype
        scale = float(r.abs().max())
        assert float((f.float() - r).abs().max()) <= 0.05 * scale + 1e-3
    model.train()
    model.zero_grad()
    with torch.autocast('cpu', dtype=dtype):
        feats = model.extract_feat(x)
    sum(f.float().square().mean() for f in feats).backward()
    for p in model.backbone.parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.dtype == p.dtype
            assert torch.isfinite(p.grad).all()


def loss_backward_predict(model, num_classes: int, size: int = 320) -> list:
    """Run loss + backward and predict on a random batch; check the losses
    are finite and return the predictions."""
    model.train()
    data = model.data_preprocessor(
        random_det_batch(2, size, num_classes), training=True
    )
    total = total_loss(model(**data, mode='loss'))
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    model.eval()
    data = model.data_preprocessor(
        random_det_batch(1, size, num_classes, seed=1), training=False
    )
    with torch.no_grad():
        results = model(**data, mode='predict')
    for result in results:
        pred = result.pred_instances
        n = len(pred)
        assert pred.bboxes.shape == (n, 4)
        assert pred.scores.shape == (n,) and pred.labels.shape == (n,)
        if n:
            assert (
                0 <= int(pred.labels.min())
                and int(pred.labels.max()) < num_classes
            )
    return results


def assert_same_outputs_and_grads(
    a: torch.nn.Module, b: torch.nn.Module, x: torch.Tensor, g: torch.Generator
) -> None:
    """Modules ``a`` and ``b`` holding the same parameters give the same
    output on ``x``, the same input and parameter gradients for a random
    output gradient, and the same output without autograd."""
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out1, out2 = a(x1), b(x2)
    torch.testing.assert_close(out1, out2, rtol=0, atol=1e-5)
    grad = torch.randn(out1.shape, generator=g)
    out1.backward(grad)
    out2.backward(grad)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=0, atol=1e-5)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert pa.shape == pb.shape
        torch.testing.assert_close(pa.grad, pb.grad, rtol=0, atol=1e-4)
    with torch.no_grad():  # inference (no autograd Function)
        torch.testing.assert_close(a(x), b(x), rtol=0, atol=1e-5)


class OnPath(torch.nn.Module):
    """A copy of ``module`` that always runs with ``ops.prefer(**paths)``
    (its own parameters, so gradients of two paths can be compared)."""

    def __init__(self, module: torch.nn.Module, **paths: str) -> None:
        super().__init__()
        self.module = copy.deepcopy(module)
        self.paths = paths

    def forward(self, *args):
        from mixdet import ops

        with ops.prefer(**self.paths):
            return self.module(*args)

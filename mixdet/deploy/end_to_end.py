"""A detector as one graph from images to final detections, for ONNX.

The graph takes BGR images of the export size (B, 3, H, W: pixel values
0-255, as OpenCV loads them, resized to the size) and returns, as
mmdeploy's detectors do, ``dets`` (B, K, 5: x1, y1, x2, y2 in that image,
score) and ``labels`` (B, K), best first; K is the model's
``max_per_img`` and rows past an image's detections are zeros with label
-1. The steps are those of mmdet's ``predict`` for anchor-based dense heads
(SSD, SSDLite, RetinaNet): normalisation, backbone, neck, head, per level
the ``nms_pre`` best (prior, class) scores above ``score_thr``, box
decoding, boxes of zero size dropped, class-wise NMS (ONNX
``NonMaxSuppression``) and ``max_per_img``, all with the model's
``test_cfg``. The batch size is fixed at export or dynamic.
"""

from typing import Optional

import numpy as np
import torch
from torch import nn

from ..utils import wrapped_datasets
from .export_rules import ExportRule


class ClasswiseNMS(torch.autograd.Function):
    """NMS of each image's boxes (classes already moved apart): rows of
    (image, 0, box) like ONNX's ``NonMaxSuppression``, which it becomes
    when exported; mmcv's ``nms`` in PyTorch."""

    @staticmethod
    def forward(ctx, boxes, scores, iou_threshold, score_threshold):
        from mmcv.ops import nms

        rows = []
        for b in range(boxes.shape[0]):
            index = torch.nonzero(scores[b] > score_threshold).flatten()
            if index.numel():
                _, kept = nms(boxes[b, index], scores[b, index], iou_threshold)
                index = index[kept]
            image = torch.full_like(index, b)
            rows.append(torch.stack([image, 0 * index, index], 1))
        return torch.cat(rows)

    @staticmethod
    def symbolic(g, boxes, scores, iou_threshold, score_threshold):
        def const(value, dtype):
            return g.op('Constant', value_t=torch.tensor([value], dtype=dtype))

        return g.op(
            'NonMaxSuppression',
            boxes,
            g.op('Unsqueeze', scores, const(1, torch.long)),
            const(2**31 - 1, torch.long),
            const(iou_threshold, torch.float),
            const(score_threshold, torch.float),
        )


def check_exportable(detector: nn.Module) -> None:
    """Raise ValueError naming the part of ``detector`` that the end-to-end
    graph cannot hold."""
    head = getattr(detector, 'bbox_head', None)
    name = type(head).__name__
    if head is None or getattr(detector, 'roi_head', None) is not None:
        raise ValueError(
            f'{type(detector).__name__}: only single-stage detectors with '
            'an anchor head (SSD, SSDLite, RetinaNet) export end to end'
        )
    coder = type(getattr(head, 'bbox_coder', None)).__name__
    prior = type(getattr(head, 'prior_generator', None)).__name__
    if coder != 'DeltaXYWHBBoxCoder' or 'Anchor' not in prior:
        raise ValueError(
            f'model.bbox_head: {name} (box coder {coder}, priors {prior}) '
            'cannot be exported end to end; it needs anchors and '
            'DeltaXYWHBBoxCoder (SSDHead, RetinaHead)'
        )
    if (
        type(head).predict_by_feat.__qualname__.split('.')[0]
        not in ('BaseDenseHead',)
        or 'centerness' in name.lower()
    ):
        raise ValueError(
            f'model.bbox_head: {name} post-processes in its own way; it '
            'cannot be exported end to end'
        )
    nms = (head.test_cfg or {}).get('nms') or {}
    if nms.get('type', 'nms') != 'nms':
        raise ValueError(
            f"model.test_cfg.nms.type={nms.get('type')!r}: only 'nms' "
            'exports end to end'
        )


def decode(coder, priors, deltas, size):
    """``coder.decode`` (mmdet's ``DeltaXYWHBBoxCoder``) without its ONNX
    branch, which imports a module mmdet 3.3 no longer has."""
    from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import (
        delta2bbox,
    )

    return delta2bbox(
        priors,
        deltas,
        coder.means,
        coder.stds,
        size,
        16 / 1000,
        coder.clip_border,
        coder.add_ctr_clamp,
        coder.ctr_clamp,
    )


class EndToEnd(nn.Module):
    """``detector`` from a BGR image of ``size`` to its final detections.

    Args:
        detector: An mmdet single-stage detector with an anchor head, in
            eval mode (:func:`check_exportable` says which).
        size: (height, width) of the input image.
    """

    def __init__(self, detector: nn.Module, size: tuple[int, int]) -> None:
        super().__init__()
        check_exportable(detector)
        self.detector = detector.eval()
        self.size = tuple(size)
        pre = detector.data_preprocessor
        self.register_buffer('mean', pre.mean.view(1, 3, 1, 1).clone())
        self.register_buffer('std', pre.std.view(1, 3, 1, 1).clone())
        self.bgr_to_rgb = bool(pre._channel_conversion)
        head = detector.bbox_head
        with torch.no_grad():
            cls_scores, _ = detector(torch.zeros(1, 3, *size), mode='tensor')
        sizes = [s.shape[-2:] for s in cls_scores]
        priors = head.prior_generator.grid_priors(sizes, device='cpu')
        for i, p in enumerate(priors):
            self.register_buffer(f'priors_{i}', p.clone())
        self.num_levels = len(priors)
        cfg = head.test_cfg
        self.nms_pre = int(cfg.get('nms_pre', -1))
        self.score_thr = float(cfg.get('score_thr', 0.0))
        self.iou_thr = float(cfg['nms']['iou_threshold'])
        self.max_per_img = int(cfg.get('max_per_img', 100))
        self.min_size = float(cfg.get('min_bbox_size', -1))

    def forward(
        self, image: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = image[:, [2, 1, 0]] if self.bgr_to_rgb else image
        x = (x - self.mean) / self.std
        cls_scores, bbox_preds = self.detector(x, mode='tensor')
        head = self.detector.bbox_head
        classes = head.cls_out_channels
        batch = image.shape[0]
        boxes, scores, labels = [], [], []
        for i in range(self.num_levels):
            logits = cls_scores[i].permute(0, 2, 3, 1)
            logits = logits.reshape(batch, -1, classes)
            if head.use_sigmoid_cls:
                score = logits.sigmoid()
            else:  # softmax; the background is the last class
                score = logits.softmax(-1)[..., :-1]
            deltas = bbox_preds[i].permute(0, 2, 3, 1).reshape(batch, -1, 4)
            # the nms_pre best (prior, class) pairs above score_thr; those
            # at or below it get score 0, which NMS drops
            n = score.shape[-1]
            flat = score.reshape(batch, -1)
            flat = torch.where(flat > self.score_thr, flat, 0.0)
            k = flat.shape[1] if self.nms_pre <= 0 else self.nms_pre
            top, index = flat.topk(min(k, flat.shape[1]), dim=1)
            prior = index // n
            priors = getattr(self, f'priors_{i}')[prior]
            deltas = deltas.gather(1, prior.unsqueeze(-1).expand(-1, -1, 4))
            decoded = decode(
                head.bbox_coder,
                priors.reshape(-1, 4),
                deltas.reshape(-1, 4),
                self.size,
            )
            boxes.append(decoded.reshape(batch, -1, 4))
            scores.append(top)
            labels.append(index % n)
        boxes, scores = torch.cat(boxes, 1), torch.cat(scores, 1)
        labels = torch.cat(labels, 1)
        if self.min_size >= 0:
            w = boxes[..., 2] - boxes[..., 0]
            h = boxes[..., 3] - boxes[..., 1]
            ok = (w > self.min_size) & (h > self.min_size)
            scores = torch.where(ok, scores, 0.0)
        # class-wise NMS: each class's boxes moved apart (mmcv batched_nms)
        largest = boxes.reshape(batch, -1).max(1).values.reshape(batch, 1)
        offsets = labels.to(boxes) * (largest + 1)
        rows = ClasswiseNMS.apply(
            boxes + offsets.unsqueeze(-1), scores, self.iou_thr, self.score_thr
        )
        image_index, box_index = rows[:, 0], rows[:, 2]
        kept = torch.zeros_like(scores).index_put(
            (image_index, box_index), scores[image_index, box_index]
        )
        # the max_per_img best kept, best first; the rest score 0
        top, index = kept.topk(min(self.max_per_img, kept.shape[1]), dim=1)
        found = top > 0
        boxes = boxes.gather(1, index.unsqueeze(-1).expand(-1, -1, 4))
        boxes = torch.where(found.unsqueeze(-1), boxes, 0.0)
        labels = torch.where(found, labels.gather(1, index), -1)
        return torch.cat([boxes, top.unsqueeze(-1)], -1), labels


def export_end_to_end(
    detector: nn.Module,
    out_file: str,
    size: int,
    opset: int = 17,
    dynamic_batch: bool = False,
    rule: Optional[ExportRule] = None,
) -> str:
    """Write ``out_file`` (all or nothing): ``detector`` from BGR images of
    ``size`` x ``size`` to ``dets`` and ``labels`` (a fixed batch of 1, or
    any with ``dynamic_batch``), exported as ``rule`` says
    (:func:`mixdet.deploy.for_runtime`); checked with onnx."""
    from .fold import for_runtime
    from .onnx_export import write_onnx

    model = EndToEnd(for_runtime(detector, rule), (size, size))
    return write_onnx(
        model, out_file, size, ['dets', 'labels'], opset, dynamic_batch
    )


def detections(
    dets: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One image's rows of the graph's outputs without the padding:
    boxes, scores, labels."""
    found = labels >= 0
    return dets[found, :4], dets[found, 4], labels[found]


def mmdet_predictions(
    detector: nn.Module, image: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """mmdet's ``predict`` on a (1, 3, H, W) BGR image: boxes in that
    image, scores, labels."""
    from mmdet.structures import DetDataSample

    h, w = image.shape[-2:]
    meta = dict(
        img_shape=(h, w),
        ori_shape=(h, w),
        scale_factor=(1.0, 1.0),
        pad_shape=(h, w),
        batch_input_shape=(h, w),
    )
    data = detector.data_preprocessor(
        {'inputs': [image[0]], 'data_samples': [DetDataSample(metainfo=meta)]},
        False,
    )
    with torch.no_grad():
        pred = detector.predict(
            data['inputs'], data['data_samples'], rescale=False
        )[0].pred_instances
    return pred.bboxes, pred.scores, pred.labels


def compare_with_mmdet(
    detector: nn.Module, onnx_file: str, image: torch.Tensor
) -> dict:
    """Run ``onnx_file`` in onnxruntime and mmdet's ``predict`` on the same
    BGR image (1, 3, H, W): the detection counts, the largest box
    difference and whether labels agree, in order."""
    from .runtime import runtime_session

    boxes, scores, labels = mmdet_predictions(detector.eval(), image)
    dets, found = runtime_session('onnxruntime', onnx_file)(image.numpy())
    got = detections(dets[0], found[0])
    n = min(len(boxes), len(got[0]))
    return dict(
        onnx=len(got[0]),
        mmdet=len(boxes),
        box_diff=float(abs(got[0][:n] - boxes[:n].numpy()).max()) if n else 0,
        same_labels=bool((got[2][:n] == labels[:n].numpy()).all()),
    )


def pipeline_resize(cfg) -> tuple[Optional[int], Optional[str]]:
    """The square side the config's test pipeline resizes every image to,
    and where its ``Resize`` sits (``test_dataloader.dataset.pipeline.1``).
    ``(None, None)`` when it has no ``Resize``.

    Raises:
        ValueError: The pipeline keeps the aspect ratio (mmdet's 1333x800
            configs), or resizes to a non-square size: a graph of one
            square input would see those images stretched, unlike the model
            that was tested.
    """
    chain = wrapped_datasets(cfg, 'test_dataloader')
    where, dataset = chain[-1] if chain else ('', {})
    for i, step in enumerate(dataset.get('pipeline') or []):
        if not isinstance(step, dict) or 'Resize' not in str(step.get('type')):
            continue
        at = f'{where}.pipeline.{i}'
        scale = step.get('scale')
        if isinstance(scale, int):
            scale = (scale, scale)
        if step.get('keep_ratio', False) or step.get('type') != 'Resize':
            raise ValueError(
                f'the test pipeline resizes keeping the aspect ratio ({at}: '
                f'{step.get("type")} scale={scale}, keep_ratio='
                f'{step.get("keep_ratio", False)}); an exported graph takes '
                'images of one fixed size and would see them stretched. '
                'mixdet exports fixed-size pipelines (SSD); to export this '
                f'model on stretched images, pass --cfg-options {at}.'
                'keep_ratio=False and check its mAP with tools/test.py and '
                'the same option first'
            )
        if not isinstance(scale, (tuple, list)) or scale[0] != scale[1]:
            raise ValueError(
                f'the test pipeline resizes to {scale} ({at}); mixdet '
                'exports square inputs only'
            )
        return int(scale[0]), at
    return None, None

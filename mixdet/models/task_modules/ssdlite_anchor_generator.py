"""SSD anchors with the TF Object Detection API's reduced lowest layer."""

import torch
from mmdet.models.task_modules.prior_generators import SSDAnchorGenerator
from mmdet.registry import TASK_UTILS


@TASK_UTILS.register_module()
class SSDLiteAnchorGenerator(SSDAnchorGenerator):
    """mmdet's ``SSDAnchorGenerator`` with TF's
    ``reduce_boxes_in_lowest_layer``.

    The lowest level gets 3 anchors, as in the TF Object Detection API's
    SSDLite (the MixConv paper's detector): scale ``min_sizes[0] / 2`` with
    aspect ratio 1, and scale ``min_sizes[0]`` with ratios 2 and 1/2. The
    other levels keep mmdet's 6 (or 4) anchors.

    Args:
        reduce_boxes_in_lowest_layer: 3 anchors on the lowest level.
        **kwargs: ``SSDAnchorGenerator``'s arguments.
    """

    def __init__(
        self, reduce_boxes_in_lowest_layer: bool = True, **kwargs
    ) -> None:
        if not isinstance(reduce_boxes_in_lowest_layer, bool):
            raise ValueError(
                'reduce_boxes_in_lowest_layer must be True or False, got '
                f'{reduce_boxes_in_lowest_layer!r}'
            )
        self.reduce_boxes_in_lowest_layer = reduce_boxes_in_lowest_layer
        super().__init__(**kwargs)

    def gen_base_anchors(self) -> list[torch.Tensor]:
        anchors = super().gen_base_anchors()
        if self.reduce_boxes_in_lowest_layer:
            size = float(self.base_sizes[0])
            # (scale, aspect ratio h/w): TF's (0.1, 1.0), (0.2, 2.0),
            # (0.2, 0.5) with min_sizes[0] = 0.2 of the input.
            boxes = [(size / 2, 1.0), (size, 2.0), (size, 0.5)]
            cx, cy = self.centers[0]
            rows = []
            for scale, ratio in boxes:
                w, h = scale / ratio**0.5, scale * ratio**0.5
                rows.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
            anchors[0] = torch.tensor(rows, dtype=anchors[0].dtype)
        return anchors

"""SSDLiteAnchorGenerator: TF's reduce_boxes_in_lowest_layer."""

import math

import pytest
import torch
from mmdet.models.task_modules.prior_generators import SSDAnchorGenerator

from mixdet.models.task_modules import SSDLiteAnchorGenerator

ARGS = dict(
    strides=[16, 32, 64, 107, 160, 320],
    ratios=[[2, 3]] * 6,
    min_sizes=[64, 112, 160, 208, 256, 304],
    max_sizes=[112, 160, 208, 256, 304, 320],
    scale_major=False,
)


def test_lowest_level_has_tf_three_boxes():
    ours = SSDLiteAnchorGenerator(**ARGS)
    mmdet = SSDAnchorGenerator(**ARGS)
    assert ours.num_base_priors == [3, 6, 6, 6, 6, 6]
    boxes = ours.base_anchors[0]
    sizes = torch.stack(
        [boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], 1
    )
    # (scale, aspect ratio) = (0.1, 1), (0.2, 2), (0.2, 1/2) of 320
    root2 = math.sqrt(2)
    expected = [[32, 32], [64 / root2, 64 * root2], [64 * root2, 64 / root2]]
    torch.testing.assert_close(sizes, torch.tensor(expected))
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    torch.testing.assert_close(centres, torch.full((3, 2), 8.0))
    for a, b in zip(ours.base_anchors[1:], mmdet.base_anchors[1:]):
        assert torch.equal(a, b)


def test_anchor_count_of_tf_ssdlite_at_300():
    # TF's ssdlite_mobilenet_v2 at 300x300 has 1917 anchors
    sizes = [(19, 19), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]
    priors = SSDLiteAnchorGenerator(**ARGS).grid_priors(sizes, device='cpu')
    assert sum(len(p) for p in priors) == 1917


def test_off_is_mmdet():
    ours = SSDLiteAnchorGenerator(reduce_boxes_in_lowest_layer=False, **ARGS)
    mmdet = SSDAnchorGenerator(**ARGS)
    for a, b in zip(ours.base_anchors, mmdet.base_anchors):
        assert torch.equal(a, b)


def test_bad_flag():
    with pytest.raises(ValueError, match='reduce_boxes_in_lowest_layer'):
        SSDLiteAnchorGenerator(reduce_boxes_in_lowest_layer='yes', **ARGS)

"""ONNX from image to final detections: onnxruntime finds what mmdet's
``predict`` finds (same boxes within 1e-3, same labels and order)."""

import os

import onnx
import pytest
import torch

from mixdet.end_to_end import (
    EndToEnd,
    compare_with_mmdet,
    export_end_to_end,
    mmdet_predictions,
)

from .helpers import REPO_DIR, load_tool
from .test_deployment import randomised

pytest.importorskip('onnxruntime')

DEMO = 'configs/demo/ssdlite_mixnet-s_1xb16-10e_shapes.py'
RETINANET = 'configs/swap/retinanet_mixnet-m_fpn_1x_coco.py'


def image(size: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, size, size, generator=g) * 255


@pytest.mark.parametrize(
    'config, size', [(DEMO, 192), pytest.param(RETINANET, 256,
                     marks=pytest.mark.slow)]
)  # fmt: skip
def test_onnx_detections_equal_mmdet_predict(config, size, tmp_path):
    model = randomised(config)
    out = export_end_to_end(model, str(tmp_path / 'det.onnx'), size)
    graph = onnx.load(out).graph
    ops = {node.op_type for node in graph.node}
    assert {'NonMaxSuppression', 'TopK'} <= ops
    assert [o.name for o in graph.output] == ['boxes', 'scores', 'labels']
    for seed in (0, 1):
        found = compare_with_mmdet(model, out, image(size, seed))
        assert found['onnx'] == found['mmdet'] > 20, found
        assert found['box_diff'] < 1e-3 and found['same_labels'], found
    # the PyTorch module itself, before export
    ours = EndToEnd(model, (size, size))(image(size))
    ref = mmdet_predictions(model, image(size))
    torch.testing.assert_close(ours[0], ref[0], rtol=0, atol=1e-4)
    assert torch.equal(ours[2], ref[2])


def test_a_head_that_cannot_export_is_one_error_and_no_file(tmp_path, capsys):
    tool = load_tool('deployment', 'export_onnx.py')
    out = tmp_path / 'fcos.onnx'
    config = os.path.join(
        REPO_DIR, 'configs/swap/fcos_mixnet-m_fpn_gn-head_1x_coco.py'
    )
    assert tool.main([config, str(out), '--end2end']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        'error: model.bbox_head: FCOSHead'
    )
    assert not out.exists()

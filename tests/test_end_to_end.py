"""ONNX from image to final detections: onnxruntime finds what mmdet's
``predict`` finds (same boxes within 1e-3, same labels and order)."""

import os

import onnx
import pytest
import torch

from mixdet.deploy import ExportRule
from mixdet.deploy.end_to_end import (
    EndToEnd,
    compare_with_mmdet,
    detections,
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


# the plain graph (MixConvs split, grouped 1x1 grouped) and the other
# extreme (all fused, dense), whatever this CPU's rule picks
PLAIN = ExportRule('onnxruntime', 'test', 0, 'grouped', 'test')
FUSED = ExportRule('onnxruntime', 'test', 99, 'dense', 'test')


@pytest.mark.parametrize(
    'config, size, rule', [(DEMO, 192, PLAIN), (DEMO, 192, FUSED),
                           pytest.param(RETINANET, 256, FUSED,
                                        marks=pytest.mark.slow)]
)  # fmt: skip
def test_onnx_detections_equal_mmdet_predict(config, size, rule, tmp_path):
    model = randomised(config)
    out = export_end_to_end(model, str(tmp_path / 'det.onnx'), size, rule=rule)
    graph = onnx.load(out).graph
    ops = {node.op_type for node in graph.node}
    assert {'NonMaxSuppression', 'TopK'} <= ops
    assert [o.name for o in graph.output] == ['dets', 'labels']
    for seed in (0, 1):
        found = compare_with_mmdet(model, out, image(size, seed))
        assert found['onnx'] == found['mmdet'] > 20, found
        assert found['box_diff'] < 1e-3 and found['same_labels'], found
    # the PyTorch module itself, before export
    with torch.no_grad():
        dets, labels = EndToEnd(model, (size, size))(image(size))
    boxes, scores, labels = detections(dets[0].numpy(), labels[0].numpy())
    ref = mmdet_predictions(model, image(size))
    torch.testing.assert_close(
        torch.from_numpy(boxes), ref[0], rtol=0, atol=1e-4
    )
    assert labels.tolist() == ref[2].tolist()


def test_a_dynamic_batch_detects_each_image_as_mmdet_does(tmp_path):
    import onnxruntime as ort

    model = randomised(DEMO)
    out = export_end_to_end(
        model, str(tmp_path / 'det.onnx'), 192, dynamic_batch=True
    )
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    images = [image(192, seed) for seed in range(3)]
    for batch in (images, images[:1]):
        dets, labels = session.run(None, {'image': torch.cat(batch).numpy()})
        rows = model.bbox_head.test_cfg.max_per_img
        assert dets.shape == (len(batch), rows, 5)
        for i, one in enumerate(batch):
            boxes, scores, found = detections(dets[i], labels[i])
            ref = mmdet_predictions(model, one)
            assert len(boxes) == len(ref[0]) > 20
            assert abs(boxes - ref[0].numpy()).max() < 1e-3
            assert abs(scores - ref[1].numpy()).max() < 1e-5
            assert found.tolist() == ref[2].tolist()
            assert (dets[i, len(boxes) :] == 0).all()  # the padding
            assert (labels[i, len(boxes) :] == -1).all()


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


def test_openvino_runs_the_graph_as_onnxruntime_does(tmp_path):
    """OpenVINO's CPU plugin on the exported file, in f32 (its default on
    CPUs with bf16 support is bf16): the detections of onnxruntime."""
    import onnxruntime as ort

    ov = pytest.importorskip('openvino')
    out = export_end_to_end(
        randomised(DEMO), str(tmp_path / 'det.onnx'), 192, dynamic_batch=True
    )
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    compiled = ov.Core().compile_model(
        out, 'CPU', {'INFERENCE_PRECISION_HINT': 'f32'}
    )
    for batch in (3, 1):
        images = torch.cat([image(192, seed) for seed in range(batch)])
        dets, labels = session.run(None, {'image': images.numpy()})
        result = compiled(images.numpy())
        got = [result[output] for output in compiled.outputs]
        assert (labels >= 0).sum() > 20 * batch
        assert abs(got[0] - dets).max() < 1e-3
        assert (got[1] == labels).all()
    # the docs' snippet, as written
    from .test_readme import snippet

    code = snippet('openvino-detect', 'docs/deployment.md')
    names: dict = {}
    exec(code.replace("'ssdlite_demo.onnx'", repr(out)), names)
    dets, labels = session.run(None, {'image': names['images']})
    assert abs(names['dets'] - dets).max() < 1e-3
    assert (names['labels'] == labels).all()

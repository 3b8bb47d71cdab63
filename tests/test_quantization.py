"""INT8 static quantization of an end-to-end graph: which convs are
quantized, and bad input refused before anything is written."""

import os

import onnx
import pytest
from mmengine.config import Config

from mixdet.deploy import export_onnx
from mixdet.deploy.end_to_end import export_end_to_end
from mixdet.deploy.quantize import conv_groups, quantize_int8
from mixdet.testing.shapes import make_shapes_dataset

from .helpers import DEMO_CONFIG, REPO_DIR, data_options, load_tool
from .test_deployment import randomised

pytest.importorskip('onnxruntime')
DEMO = os.path.relpath(DEMO_CONFIG, REPO_DIR)


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """The demo config on a tiny shapes set, and its float graph."""
    tmp = tmp_path_factory.mktemp('quant')
    root = str(tmp / 'shapes') + '/'
    make_shapes_dataset(root, num_train=6, num_val=2, size=96, seed=1)
    cfg = Config.fromfile(DEMO_CONFIG)
    options = data_options(root)
    cfg.merge_from_dict(dict(o.split('=', 1) for o in options))
    model = randomised(DEMO)
    float_file = export_end_to_end(model, str(tmp / 'float.onnx'), 192)
    return cfg, float_file, options


def weight_is_quantized(graph) -> dict[str, bool]:
    dequantized = {
        n.output[0] for n in graph.node if n.op_type == 'DequantizeLinear'
    }
    return {
        n.name: n.input[1] in dequantized
        for n in graph.node
        if n.op_type == 'Conv'
    }


def test_keep_float_leaves_exactly_those_convs_float(demo, tmp_path):
    cfg, float_file, _ = demo
    depthwise = conv_groups(onnx.load(float_file).graph)['depthwise']
    assert len(depthwise) > 10
    out = str(tmp_path / 'int8.onnx')
    kept = quantize_int8(cfg, float_file, out, 4, ['depthwise'])
    assert kept == sorted(depthwise)
    quantized = weight_is_quantized(onnx.load(out).graph)
    assert {n for n, q in quantized.items() if not q} == set(depthwise)
    assert sum(quantized.values()) > 20


def test_bad_input_is_one_error_and_no_file(demo, tmp_path, capsys):
    cfg, float_file, options = demo
    tool = load_tool('deployment', 'quantize_onnx.py')
    out = tmp_path / 'int8.onnx'
    base = [DEMO_CONFIG, float_file, str(out), '--cfg-options', *options]

    def error(*extra):
        assert tool.main(base[:3] + list(extra) + base[3:]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and not out.exists(), lines
        return lines[0]

    assert 'only 6 images' in error('--calib-images', '7')
    assert 'at least 1' in error('--calib-images', '0')
    base[1] = str(tmp_path / 'missing.onnx')
    missing = error()
    assert missing.startswith('error: FLOAT.onnx') and 'not exist' in missing
    base[1] = export_onnx(randomised(DEMO), str(tmp_path / 'raw.onnx'), 192)
    assert "not an end-to-end detector's ['dets', 'labels']" in error()
    base[1] = float_file
    out.write_bytes(b'keep')
    assert '--force' in tool_error(tool, base, capsys)
    assert out.read_bytes() == b'keep'


def tool_error(tool, args, capsys) -> str:
    assert tool.main(args) == 2
    return capsys.readouterr().err


def test_graphs_that_are_not_ours_are_one_error(demo, tmp_path, capsys):
    """A graph whose nodes are not named /detector/... (onnxruntime would
    quantize NMS and decoding too), a file that is not ONNX, and ops of a
    custom domain: one line each, nothing written."""
    cfg, float_file, options = demo
    tool = load_tool('deployment', 'quantize_onnx.py')
    out = tmp_path / 'int8.onnx'

    def error(model, *extra):
        args = [DEMO_CONFIG, str(model), str(out), *extra, '--cfg-options',
                *options]  # fmt: skip
        assert tool.main(args) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and not out.exists(), lines
        return lines[0]

    model = onnx.load(float_file)
    for node in model.graph.node:
        node.name = node.name.replace('/detector/', '/net/')
    renamed = tmp_path / 'renamed.onnx'
    onnx.save(model, str(renamed))
    assert 'no node of the detector' in error(renamed)
    with pytest.raises(ValueError, match='no node named /detector/'):
        quantize_int8(cfg, str(renamed), str(out), 2)
    text = tmp_path / 'notes.onnx'
    text.write_text('not a graph')
    assert 'is not an ONNX model' in error(text)
    model = onnx.load(float_file)
    model.graph.node[0].domain = 'my.ops'
    custom = tmp_path / 'custom.onnx'
    onnx.save(model, str(custom))
    assert "custom domain(s) ['my.ops']" in error(custom)

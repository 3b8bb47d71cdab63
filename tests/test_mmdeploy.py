"""OpenMMLab's real mmdeploy (1.3.1 from PyPI, installed into a throwaway
folder) deploys a mixdet config to ONNX Runtime, and its detections equal
mmdet's ``inference_detector``. mmdeploy's own deploy configs and
``tools/deploy.py`` are not in its wheel: the test writes mmdeploy's
``detection_onnxruntime_dynamic.py`` (as resolved from its repository) and
calls what ``tools/deploy.py`` calls (``torch2onnx``, ``inference_model``).
"""

import json
import os
import subprocess
import sys

import pytest
import torch

from mixdet.testing.shapes import make_shapes_dataset

from .helpers import REPO_DIR, pip_install_into
from .test_deployment import randomised

pytestmark = pytest.mark.slow  # installs mmdeploy, exports, runs ORT

# mmdeploy 1.3.1 and what its export and ORT inference import; --no-deps:
# it pins protobuf<=3.20.2, which onnx >= 1.15 no longer accepts (unused).
MMDEPLOY_PACKAGES = (
    'mmdeploy==1.3.1 aenum multiprocess dill prettytable terminaltables '
    'wcwidth'
).split()
DEMO = os.path.join(
    REPO_DIR, 'configs', 'demo', 'ssdlite_mixnet-s_1xb16-10e_shapes.py'
)
# mmdeploy's configs/mmdet/detection/detection_onnxruntime_dynamic.py
DEPLOY_CFG = """
backend_config = dict(type='onnxruntime')
codebase_config = dict(
    type='mmdet', task='ObjectDetection', model_type='end2end',
    post_processing=dict(
        score_threshold=0.05, confidence_threshold=0.005, iou_threshold=0.5,
        max_output_boxes_per_class=200, pre_top_k=5000, keep_top_k=100,
        background_label_id=-1))
onnx_config = dict(
    type='onnx', export_params=True, keep_initializers_as_inputs=False,
    opset_version=11, save_file='end2end.onnx', input_names=['input'],
    output_names=['dets', 'labels'], input_shape=None, optimize=True,
    dynamic_axes=dict(
        input={0: 'batch', 2: 'height', 3: 'width'},
        dets={0: 'batch', 1: 'num_dets'},
        labels={0: 'batch', 1: 'num_dets'}))
"""
# what mmdeploy's tools/deploy.py does, importing mixdet first (its fix
# must reach mmdeploy's export module when that is imported later)
SCRIPT = """
import json, sys
import mixdet
from mmdeploy.apis import inference_model, torch2onnx
deploy_cfg, model_cfg, checkpoint, work_dir, *images = sys.argv[1:]
torch2onnx(images[0], work_dir, 'end2end.onnx', deploy_cfg, model_cfg,
           checkpoint, device='cpu')
onnx_file = work_dir + '/end2end.onnx'
found = []
for image in images:
    pred = inference_model(model_cfg, deploy_cfg, [onnx_file], image,
                           'cpu')[0].pred_instances
    found.append([pred.bboxes.tolist(), pred.scores.tolist(),
                  pred.labels.tolist()])
print('RESULT', json.dumps(found))
"""


@pytest.fixture(scope='module')
def mmdeploy_path(tmp_path_factory):
    target = str(tmp_path_factory.mktemp('mmdeploy'))
    return pip_install_into(target, MMDEPLOY_PACKAGES)


def deploy(mmdeploy_path, tmp_path, checkpoint, images, **env):
    (tmp_path / 'deploy_cfg.py').write_text(DEPLOY_CFG)
    return subprocess.run(
        [sys.executable, '-c', SCRIPT, str(tmp_path / 'deploy_cfg.py'),
         DEMO, checkpoint, str(tmp_path), *images],
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
        env=dict(os.environ, PYTHONPATH=mmdeploy_path, **env),
    )  # fmt: skip


def test_mmdeploy_deploys_a_mixdet_config_to_onnxruntime(
    mmdeploy_path, tmp_path
):
    from mmdet.apis import inference_detector, init_detector

    root = str(tmp_path / 'shapes') + '/'
    make_shapes_dataset(root, num_train=1, num_val=3, size=192, seed=3)
    images = [os.path.join(root, 'val', f'{i:05d}.jpg') for i in range(3)]
    checkpoint = str(tmp_path / 'model.pth')
    torch.save({'state_dict': randomised(DEMO).state_dict()}, checkpoint)

    done = deploy(mmdeploy_path, tmp_path, checkpoint, images)
    assert done.returncode == 0, done.stderr[-3000:]
    line = [r for r in done.stdout.splitlines() if r.startswith('RESULT ')]
    found = json.loads(line[0][len('RESULT ') :])

    model = init_detector(DEMO, checkpoint, device='cpu')
    for image, (boxes, scores, labels) in zip(images, found):
        expected = inference_detector(model, image).pred_instances
        # mmdeploy keeps at most 100 (its keep_top_k), mmdet max_per_img
        n = len(expected)
        assert len(boxes) == n > 10
        torch.testing.assert_close(
            torch.tensor(boxes), expected.bboxes, rtol=0, atol=1e-3
        )
        torch.testing.assert_close(
            torch.tensor(scores), expected.scores, rtol=0, atol=1e-5
        )
        assert labels == expected.labels.tolist()

    # without mixdet's fix, torch >= 2.9 picks the dynamo exporter
    if tuple(map(int, torch.__version__.split('.')[:2])) >= (2, 9):
        (tmp_path / 'off').mkdir()
        broken = deploy(
            mmdeploy_path, tmp_path / 'off', checkpoint, images[:1],
            MIXDET_DISABLE_FIXES='mmdeploy_onnx_exporter',
        )  # fmt: skip
        assert broken.returncode != 0
        assert 'onnxscript' in broken.stderr

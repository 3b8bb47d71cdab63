"""Every config under configs/ builds, trains a step (also under bf16
autocast) and predicts."""

import glob
import os

import pytest
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm

from .helpers import REPO_DIR, amp_loss_backward, loss_backward_predict

CONFIGS = sorted(
    os.path.relpath(p, REPO_DIR)
    for p in glob.glob(
        os.path.join(REPO_DIR, 'configs', '**', '*.py'), recursive=True
    )
    if '_base_' not in p.split(os.sep)
)


SIZE = 128


def test_every_promised_config_exists():
    """Each Table-1 row in both SSDLite flavours (mmdet's, TF OD API's)
    and SSDLite-MixNet-S/M/L, named as mmdet names configs."""
    from mixdet.analysis.paper import TABLE1

    names = {os.path.basename(c) for c in CONFIGS}
    expected = {
        f'{head}_{backbone}-{variant}_8xb24-600e_coco.py'
        for backbone, variant in TABLE1
        for head in ('ssdlite', 'ssdlite-tfodapi')
    } | {f'ssdlite_mixnet-{arch}_8xb24-600e_coco.py' for arch in 'sml'}
    assert expected <= names, sorted(expected - names)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds_trains_and_predicts(config):
    register_all_modules()
    cfg = Config.fromfile(os.path.join(REPO_DIR, config))
    assert 'mixdet' in cfg.custom_imports['imports']
    # SyncBN (the paper-faithful configs) becomes BN on one process, as
    # mmengine's Runner does
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    num_classes = (
        cfg.model.bbox_head.get('num_classes')
        if 'bbox_head' in cfg.model
        else cfg.model.roi_head.bbox_head.num_classes
    )
    # small images keep 35 configs quick; 128 px still gives every SSDLite
    # level (8, 4, 2, 1, 1, 1) and every FPN level a feature map
    size = SIZE
    loss_backward_predict(model, num_classes, size=size)
    amp_loss_backward(model, num_classes, size=size)  # --amp, bf16 on CPU


def _without_scope(pipeline: list) -> list:
    return [{k: v for k, v in t.items() if k != '_scope_'} for t in pipeline]


@pytest.mark.parametrize('config', CONFIGS)
def test_top_level_test_pipeline_is_the_one_the_test_loader_uses(config):
    """mmdeploy builds its inputs from ``cfg.test_pipeline``, mmdet's
    ``inference_detector`` from the test loader's: they must agree (a demo
    config once kept the 320 px pipeline of its base at the top level)."""
    from mixdet.utils import inner_dataset

    cfg = Config.fromfile(os.path.join(REPO_DIR, config))
    if 'test_pipeline' not in cfg:
        pytest.skip('no top-level test_pipeline')
    loader_pipeline = inner_dataset(cfg, 'test_dataloader')[0]['pipeline']
    assert _without_scope(cfg.test_pipeline) == _without_scope(loader_pipeline)

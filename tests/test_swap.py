"""Our backbones in mmdet's own configs: shipped swap configs and the
programmatic swap the README shows."""

import glob
import os

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

from mixdet.cli import check_config
from mixdet.swap import (
    backbone_out_channels,
    check_neck_channels,
    check_ssd_neck,
    mmdet_config,
    swap_backbone,
)
from mixdet.utils import ConfigError

from .helpers import REPO_DIR, loss_backward_predict

SWAP_CONFIGS = sorted(
    glob.glob(os.path.join(REPO_DIR, 'configs', 'swap', '*.py'))
)
BACKBONES = {
    'mixnet-m': dict(type='MixNet', arch='m', out_indices=(1, 2, 3, 4)),
    'mixmobilenetv2': dict(
        type='MixMobileNetV2', dw_kernel_sizes=(3, 5), out_indices=(1, 2, 4, 6)
    ),
}
MMDET_CONFIGS = [
    'retinanet/retinanet_r50_fpn_1x_coco.py',
    'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py',
    'atss/atss_r50_fpn_1x_coco.py',
    'cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
]


def num_classes(model_cfg) -> int:
    head = model_cfg.get('bbox_head') or model_cfg.roi_head.bbox_head
    return (head[0] if isinstance(head, list) else head).num_classes


def test_every_detector_family_is_covered():
    names = ' '.join(os.path.basename(p) for p in SWAP_CONFIGS)
    for family in ('retinanet', 'faster-rcnn', 'fcos', 'yolov3'):
        assert f'{family}_mixnet-m' in names
        assert f'{family}_mobilenetv2-mixconv357' in names


@pytest.mark.parametrize(
    'path', SWAP_CONFIGS, ids=[os.path.basename(p) for p in SWAP_CONFIGS]
)
def test_swap_config_channels_match_backbone(path):
    cfg = Config.fromfile(path)
    check_neck_channels(cfg.model)  # raises on a mismatch
    channels = backbone_out_channels(cfg.model.backbone)
    assert sorted(cfg.model.neck.in_channels) == sorted(channels)


@pytest.mark.parametrize(
    'name,backbone',
    [(name, list(BACKBONES)[i % 2]) for i, name in enumerate(MMDET_CONFIGS)],
)
def test_swap_into_any_mmdet_config(name, backbone):
    register_all_modules()
    cfg = mmdet_config(name)
    swap_backbone(cfg, BACKBONES[backbone])
    cfg.model.data_preprocessor.update(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]
    )
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert list(model.neck.in_channels) == list(model.backbone.out_channels)
    loss_backward_predict(model, num_classes(cfg.model), size=192)


def test_swap_into_ssd_and_yolo_follows_their_necks():
    cfg = mmdet_config('yolo/yolov3_mobilenetv2_8xb24-320-300e_coco.py')
    swap_backbone(cfg, dict(type='MixNet', arch='s', out_indices=(2, 3, 4)))
    assert cfg.model.neck.in_channels == [200, 120, 40]  # deepest first
    cfg = mmdet_config('ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py')
    swap_backbone(cfg, dict(type='MixNet', arch='l', out_indices=(3, 5)))
    assert cfg.model.neck.in_channels == [160, 1536]
    assert cfg.model.bbox_head.in_channels[:2] == [160, 1536]
    register_all_modules()
    loss_backward_predict(MODELS.build(cfg.model), 80)


def test_wrong_pairing_names_both_numbers():
    cfg = Config.fromfile(
        os.path.join(
            REPO_DIR, 'configs', 'swap', 'retinanet_mixnet-m_fpn_1x_coco.py'
        )
    )
    cfg.model.backbone.out_indices = (2, 3, 4)
    with pytest.raises(ValueError) as info:
        check_neck_channels(cfg.model)
    message = str(info.value)
    assert '[32, 40, 120, 200]' in message and '[40, 120, 200]' in message
    assert 'out_indices=(2, 3, 4)' in message
    with pytest.raises(ConfigError, match=r'\[40, 120, 200\]'):
        check_config(cfg, training=False)


def test_ssd300_needs_strides_8_and_16():
    register_all_modules()
    cfg = mmdet_config('ssd/ssd300_coco.py')
    with pytest.raises(ValueError) as info:
        swap_backbone(cfg, dict(type='MixNet', arch='s', out_indices=(3, 5)))
    message = str(info.value)
    assert 'strides (16, 32)' in message and 'start with (8, 16)' in message
    assert 'model.bbox_head.anchor_generator.strides' in message
    cfg = mmdet_config('ssd/ssd300_coco.py')
    swap_backbone(cfg, dict(type='MixNet', arch='s', out_indices=(2, 3)))
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, 300, 300))
    assert [f.shape[-1] for f in feats] == [38, 19, 10, 5, 3, 1]


@pytest.mark.parametrize(
    'change, words',
    [
        (
            dict(neck=dict(in_channels=[120, 1536])),
            ['model.neck.out_channels', 'must start with', 'swap_backbone'],
        ),
        (
            dict(bbox_head=dict(in_channels=[120, 1536, 512, 256, 256, 64])),
            ['model.bbox_head.in_channels', 'model.neck.out_channels'],
        ),
    ],
)
def test_ssd_neck_mismatch_names_the_keys(change, words):
    cfg = Config.fromfile(
        os.path.join(
            REPO_DIR, 'configs/mixnet/ssdlite_mixnet-s_8xb24-600e_coco.py'
        )
    )
    if 'neck' in change:  # a neck that was told the new backbone only
        cfg.model.neck.out_channels = [96, 1280, 512, 256, 256, 128]
    cfg.merge_from_dict(dict(model=change))
    with pytest.raises(ValueError) as info:
        check_ssd_neck(cfg.model)
    for word in words:
        assert word in str(info.value)


@pytest.fixture
def foreign_scope():
    """mmengine's default scope as a Runner built earlier leaves it."""
    from mmengine.registry import DefaultScope

    name = 'left-by-a-runner'
    DefaultScope.get_instance(name, scope_name='mmengine')
    yield
    assert DefaultScope.get_current_instance().scope_name == 'mmengine'
    DefaultScope._instance_dict.pop(name)


def test_builds_in_mmdet_scope_whatever_the_process_scope(
    foreign_scope, tmp_path, capsys
):
    """swap_backbone, the config checks and the tools' start-up path look
    mixdet's modules up in mmdet's scope, and leave the scope as found."""
    from .helpers import check_missing_data_root

    cfg = mmdet_config('retinanet/retinanet_r50_fpn_1x_coco.py')
    swap_backbone(cfg, dict(type='MixNet', arch='s', out_indices=(2, 3, 4)))
    assert list(cfg.model.neck.in_channels) == [40, 120, 200]
    loader = dict(
        dataset=dict(
            type='CocoDataset', data_root=str(tmp_path / 'nope'), ann_file='a'
        )
    )
    with pytest.raises(ConfigError, match='does not exist'):
        check_config(Config(dict(model=cfg.model, train_dataloader=loader)))
    check_missing_data_root(tmp_path, capsys)

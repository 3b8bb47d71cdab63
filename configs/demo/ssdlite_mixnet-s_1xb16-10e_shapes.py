# `make demo`: SSDLite-MixNet-S trained from scratch on the embedded shapes
# dataset (tools/misc/make_shapes_dataset.py) on CPU. Only data, classes
# and schedule differ from configs/mixnet/ssdlite_mixnet-s_8xb24-600e_coco.py.
_base_ = '../mixnet/ssdlite_mixnet-s_8xb24-600e_coco.py'

data_root = 'data/shapes/'
metainfo = dict(
    classes=('ellipse', 'rectangle', 'triangle', 'cross'),
    palette=[(220, 20, 60), (0, 130, 200), (60, 180, 75), (245, 130, 48)],
)

# The demo images are 192x192 (so that CPU training fits in minutes); the
# SSDLite anchors follow the input size: the same 6 levels, ratios and
# relative sizes as at 320, scaled by 192 / 320.
input_size = 192
model = dict(
    bbox_head=dict(
        num_classes=4,
        anchor_generator=dict(
            strides=[16, 32, 64, 96, 192, 192],
            min_sizes=[29, 60, 90, 121, 152, 182],
            max_sizes=[60, 90, 121, 152, 182, 192],
        ),
    )
)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        times=1,
        dataset=dict(
            data_root=data_root,
            metainfo=metainfo,
            ann_file='instances_train.json',
            data_prefix=dict(img=''),
            filter_cfg=dict(filter_empty_gt=True, min_size=8),
            pipeline=train_pipeline,
        ),
    ),
)
# mmdeploy builds its inputs from the top-level test_pipeline
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'),
    ),
]
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='instances_val.json',
        data_prefix=dict(img=''),
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'instances_val.json')
test_evaluator = val_evaluator

# A short schedule for CPU. AdamW learns this from scratch much faster than
# SSDLite's SGD recipe (measured on a 2-core CPU: mAP@0.5 0.79 vs 0.55 at
# 12 epochs).
max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=60),
    dict(
        type='CosineAnnealingLR',
        begin=0,
        T_max=max_epochs,
        end=max_epochs,
        by_epoch=True,
        eta_min=0,
    ),
]
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=0.002, weight_decay=1e-4)
)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1),
)
env_cfg = dict(cudnn_benchmark=False)
auto_scale_lr = dict(base_batch_size=16)
randomness = dict(seed=0)

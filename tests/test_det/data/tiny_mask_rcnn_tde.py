# configs/lvis/mask_rcnn_tde.py shrunk to train and test on CPU in seconds: a ResNet-18 with 8
# base channels, 64 px images, 30 proposals, on the generated tiny LVIS v1
# (python -m mmtde.testing.tiny_lvis --out $MMTDE_TINY_LVIS). For tests only.
# Deterministic on purpose (no flip, no shuffle, frozen BN statistics), so that two processes with
# one image each see exactly what one process with two images sees.
_base_ = ['../../../configs/lvis/mask_rcnn_tde.py']

data_root = '{{$MMTDE_TINY_LVIS:data/tiny_lvis}}/'

model = dict(
    backbone=dict(depth=18, base_channels=8, init_cfg=None),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=16),
    rpn_head=dict(in_channels=16, feat_channels=16),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=16),
        bbox_head=dict(in_channels=16, fc_out_channels=32),
        mask_roi_extractor=dict(out_channels=16),
        mask_head=dict(in_channels=16, conv_out_channels=16)),
    # At most 30 proposals: every foreground RoI is sampled (512 * 0.25 > 30 + gts), so the
    # foreground set, and d, do not depend on the sampler's random state. At test time 8
    # proposals x 1203 classes stay under the 10k boxes above which mmcv runs one NMS a class.
    train_cfg=dict(rpn_proposal=dict(nms_pre=200, max_per_img=30)),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=8), rcnn=dict(max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    batch_sampler=None,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/lvis_v1_val.json')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=1, val_interval=10)  # 4 iterations, no validation
default_hooks = dict(logger=dict(interval=1), visualization=dict(draw=False))
randomness = dict(seed=0)

# Emoji-LVIS benchmark, softmax cross-entropy baseline (method 1 of benchmarks/emoji_lvis.py).
# A Mask R-CNN small enough to train on 2 CPU cores in minutes: ResNet-18 with 32 base channels
# (from scratch, BN statistics trained), FPN 64, 128 px images, RoI features 7x7x64 -> 2 fc 256.
# Emoji-LVIS: python -m mmtde.datagen.emoji_lvis --out data/emoji_lvis --cifar10 DIR
# (or point MMTDE_EMOJI_LVIS at another folder). The other methods are deltas of this file.
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', 'mmdet::_base_/default_runtime.py']

custom_imports = dict(imports=['mmtde.det'], allow_failed_imports=False)

num_classes = 200  # Emoji-LVIS --num-classes
data_root = '{{$MMTDE_EMOJI_LVIS:data/emoji_lvis}}/'
max_iters = 800
batch_size = 8

model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(
        depth=18,
        base_channels=32,
        frozen_stages=-1,
        norm_eval=False,  # trained from scratch: BN statistics must learn too
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    # 16-256 px anchors on P2-P6: objects are 16-48 px
    rpn_head=dict(in_channels=64, feat_channels=64, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=num_classes),
        mask_roi_extractor=dict(out_channels=64),
        # class-agnostic masks: 200 class-specific 28x28 mask logits for each of 300 detections
        # an image made the test forward 4.5 min and half of a training step
        mask_head=dict(in_channels=64, conv_out_channels=64, num_classes=num_classes,
                       class_agnostic=True)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128, pos_fraction=0.25))),
    # LVIS test settings (mmdet's LVIS configs): score_thr 1e-4, up to 300 detections an image
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(score_thr=1e-4, max_per_img=300)))

dataset_type = 'EmojiLVISDataset'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=batch_size,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        num_classes=num_classes,
        data_root=data_root,
        ann_file='annotations/lvis_v1_train.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        num_classes=num_classes,
        data_root=data_root,
        ann_file='annotations/lvis_v1_val.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='StrictLVISMetric',
    ann_file=data_root + 'annotations/lvis_v1_val.json',
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator

# lr 0.04 for 8 images (mmdet's 0.02 per 16, doubled: a short schedule from scratch),
# linear warm-up, cosine to 0; validation once, at the end
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.04, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters, eta_min=0)
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=250, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
auto_scale_lr = dict(enable=False, base_batch_size=8)

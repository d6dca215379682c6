# Emoji-LVIS-LT, softmax cross-entropy baseline. The first Emoji-LVIS design's detector,
# re-sized so that it can learn rare classes in about 15 CPU minutes, on the set with LVIS's
# head / rare imbalance. Against mask-rcnn_r18-c32_fpn_800i_emoji-lvis.py:
# - a pretrained trunk (tools/pretrain_emoji_trunk.py: this backbone trained on crops of the
#   object-like emoji that are not Emoji-LVIS classes), loaded as mmdet loads ImageNet weights;
#   stem and first stage frozen and BN statistics kept, as mmdet does with ImageNet weights;
# - the data: 50 classes without thin glyphs, frequent classes in up to 300 images with
#   crowds of themselves (generator command in configs/emoji_lvis/README.md);
# - boxes only: the mask branch was half of a training step (1.6 against 0.8 s at 128 RoIs an
#   image) and TDE changes only the box classifier; class-agnostic box regression (as the
#   paper's Cascade / HTC);
# - lr 0.02, 200 warm-up iterations, gradients clipped at 10, 1200 iterations.
# The other methods are deltas of this file.
_base_ = ['./mask-rcnn_r18-c32_fpn_800i_emoji-lvis.py']

num_classes = 50  # generator's --num-classes
min_fill = 0.35  # generator's --min-fill
data_root = '{{$MMTDE_EMOJI_LVIS_LT:data/emoji_lvis_lt}}/'
trunk = '{{$MMTDE_EMOJI_TRUNK:data/emoji_lvis_lt/trunk_r18-c32.pth}}'
max_iters = 1200

model = dict(
    backbone=dict(
        frozen_stages=1,
        norm_eval=True,
        init_cfg=dict(_delete_=True, type='Pretrained', checkpoint=trunk)),
    roi_head=dict(
        bbox_head=dict(num_classes=num_classes, reg_class_agnostic=True),
        mask_roi_extractor=None,
        mask_head=None))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
emoji_lvis_lt = dict(num_classes=num_classes, min_fill=min_fill, data_root=data_root)
train_dataloader = dict(dataset=dict(**emoji_lvis_lt, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(**emoji_lvis_lt, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/lvis_v1_val.json', metric=['bbox'])
test_evaluator = val_evaluator

train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=0.02), clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=200),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, end=max_iters, eta_min=0)
]

# Cascade Mask R-CNN R101-FPN on LVIS v1 with stock softmax bbox heads: the baseline of
# cascade-mask-rcnn_r101_fpn_causalnorm-tde_ms-20e_lvis-v1.py (the paper's detector). Schedule:
# 20 epochs, lr 0.02 for 16 images, steps at 16 and 19; instance-balanced sampling; 300
# detections per image.
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    '../_base_/datasets/lvis-v1_instance-balanced.py',
    'mmdet::_base_/schedules/schedule_20e.py', 'mmdet::_base_/default_runtime.py'
]

num_classes = 1203  # LVIS v1
# Box-delta scales of the three stages (mmdet's cascade values, IoU 0.5 / 0.6 / 0.7).
stage_target_stds = [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                     [0.033, 0.033, 0.067, 0.067]]
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')),
    roi_head=dict(
        bbox_head=[
            dict(
                type='Shared2FCBBoxHead',
                in_channels=256,
                fc_out_channels=1024,
                roi_feat_size=7,
                num_classes=num_classes,
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder',
                    target_means=[0., 0., 0., 0.],
                    target_stds=stds),
                reg_class_agnostic=True,
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
            for stds in stage_target_stds
        ],
        mask_head=dict(num_classes=num_classes)),
    test_cfg=dict(rcnn=dict(score_thr=0.0001, max_per_img=300)))

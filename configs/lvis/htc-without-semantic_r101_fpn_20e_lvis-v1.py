# HTC without the semantic branch, R101-FPN, on LVIS v1, stock softmax bbox heads: the authors'
# released LVIS detector and recipe (lvis1.0/configs/htc/htc_r101_fpn_20e_causal.py of
# KaihuaTang/Long-Tailed-Recognition.pytorch, on mmdet 2.4) rebuilt on mmdet 3.3's
# htc-without-semantic config, the baseline of htc-without-semantic_r101_fpn_causalnorm-tde_...:
# single-scale 1333x800 training with flip; 20 epochs, lr x0.1 after epochs 16 and 19; SGD lr
# 0.02 for 16 images, momentum 0.9, weight decay 1e-4, 500-iteration linear warm-up from 0.001;
# RoI sampler 512 at 0.25 positives; instance-balanced sampling (no repeat factor sampling);
# test score_thr 1e-5 and 300 detections per image.
_base_ = ['mmdet::htc/htc-without-semantic_r50_fpn_1x_coco.py']

custom_imports = dict(imports=['mmtde.det'], allow_failed_imports=False)

num_classes = 1203  # LVIS v1
# Box-delta scales of the three stages (IoU 0.5 / 0.6 / 0.7), as in mmdet's HTC.
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
        mask_head=[
            dict(
                type='HTCMaskHead',
                with_conv_res=stage > 0,  # no mask information flow into the first stage
                num_convs=4,
                in_channels=256,
                conv_out_channels=256,
                num_classes=num_classes,
                loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))
            for stage in range(3)
        ]),
    test_cfg=dict(rcnn=dict(score_thr=1e-5, max_per_img=300)))

# LVIS v1 in place of COCO; the base's single-scale pipelines stay. LVISV1Dataset reads each
# image's path from its coco_url (train2017/ or val2017/ under data_root).
dataset_type = 'LVISV1Dataset'
data_root = 'data/lvis_v1/'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/lvis_v1_train.json',
        data_prefix=dict(img='')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/lvis_v1_val.json',
        data_prefix=dict(img='')))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='StrictLVISMetric',
    ann_file=data_root + 'annotations/lvis_v1_val.json',
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator

# 20 epochs, steps at 16 and 19 (mmdet's htc_r50_fpn_20e schedule).
max_epochs = 20
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[16, 19],
         gamma=0.1)
]
train_cfg = dict(max_epochs=max_epochs)

# mask_rcnn_tde.py with a ResNeXt-101 64x4d backbone (as mmdet's LVIS X101-64x4d config).
_base_ = ['./mask_rcnn_tde.py']

model = dict(
    backbone=dict(
        type='ResNeXt',
        depth=101,
        groups=64,
        base_width=4,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnext101_64x4d')))

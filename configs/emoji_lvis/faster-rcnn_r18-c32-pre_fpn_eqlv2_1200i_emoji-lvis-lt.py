# Emoji-LVIS-LT, Equalization Loss v2 (Tan et al., CVPR 2021): mmdet 3.3's EQLV2Loss defaults,
# in mmtde's BBoxHeadEQLV2Loss (the flags mmdet's BBoxHead needs to score it with sigmoids).
_base_ = ['./faster-rcnn_r18-c32-pre_fpn_1200i_emoji-lvis-lt.py']

model = dict(
    roi_head=dict(
        bbox_head=dict(
            loss_cls=dict(
                type='BBoxHeadEQLV2Loss', num_classes={{_base_.num_classes}},
                loss_weight=1.0))))

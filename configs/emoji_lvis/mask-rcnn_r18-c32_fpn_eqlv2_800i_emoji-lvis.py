# Emoji-LVIS, Equalization Loss v2 (Tan et al., CVPR 2021): mmdet 3.3's EQLV2Loss with its
# defaults (gamma 12, mu 0.8, alpha 4), in mmtde's BBoxHeadEQLV2Loss, which adds the flags
# mmdet's BBoxHead needs to score it with sigmoids at test time (see its docstring).
_base_ = ['./mask-rcnn_r18-c32_fpn_800i_emoji-lvis.py']

model = dict(
    roi_head=dict(
        bbox_head=dict(
            loss_cls=dict(
                type='BBoxHeadEQLV2Loss', num_classes={{_base_.num_classes}},
                loss_weight=1.0))))

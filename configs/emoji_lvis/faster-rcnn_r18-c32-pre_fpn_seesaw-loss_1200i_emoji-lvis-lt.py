# Emoji-LVIS-LT, Seesaw loss (Wang et al., CVPR 2021) with mmdet's normalised linear classifier
# (mmdet's LVIS recipe: p=0.8, q=2.0, temperature 20; instance-balanced sampling).
_base_ = ['./faster-rcnn_r18-c32-pre_fpn_1200i_emoji-lvis-lt.py']

model = dict(
    roi_head=dict(
        bbox_head=dict(
            cls_predictor_cfg=dict(type='NormedLinear', tempearture=20),
            loss_cls=dict(
                type='SeesawLoss', p=0.8, q=2.0, num_classes={{_base_.num_classes}},
                loss_weight=1.0))))

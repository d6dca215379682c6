# Emoji-LVIS, Seesaw loss (Wang et al., CVPR 2021) with mmdet's normalised linear classifier,
# as in mmdet's seesaw_loss/mask-rcnn_r50_fpn_seesaw-loss_random-ms-2x_lvis-v1.py (its settings:
# p=0.8, q=2.0, temperature 20; instance-balanced sampling, no repeat factors).
_base_ = ['./mask-rcnn_r18-c32_fpn_800i_emoji-lvis.py']

model = dict(
    roi_head=dict(
        bbox_head=dict(
            cls_predictor_cfg=dict(type='NormedLinear', tempearture=20),
            loss_cls=dict(
                type='SeesawLoss', p=0.8, q=2.0, num_classes={{_base_.num_classes}},
                loss_weight=1.0))))

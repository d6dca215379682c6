# Emoji-LVIS-LT, repeat-factor sampling (Gupta et al., LVIS 2019; mmdet's ClassBalancedDataset):
# an image is repeated sqrt(t / f) times for its rarest class of image frequency f < t; t is
# 100 images of the 1,049 of the seed-0 training split (mmdet LVIS: fewer than 100 images).
_base_ = ['./faster-rcnn_r18-c32-pre_fpn_1200i_emoji-lvis-lt.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassBalancedDataset',
        oversample_thr=0.095,
        dataset={{_base_.train_dataloader.dataset}}))

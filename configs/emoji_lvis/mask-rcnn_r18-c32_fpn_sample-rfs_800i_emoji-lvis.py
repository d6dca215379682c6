# Emoji-LVIS, repeat-factor sampling (Gupta et al., LVIS 2019; mmdet's ClassBalancedDataset):
# an image is repeated sqrt(t / f) times for its rarest class of image frequency f < t.
# mmdet's LVIS t = 1e-3 of ~100k images (classes in < 100 images repeat); Emoji-LVIS's
# training split has 2,771 images, so the same 100 images is t = 100 / 2771 = 0.036.
_base_ = ['./mask-rcnn_r18-c32_fpn_800i_emoji-lvis.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassBalancedDataset',
        oversample_thr=0.036,
        dataset={{_base_.train_dataloader.dataset}}))

# Mask R-CNN R50-FPN on LVIS v1, stock softmax bbox head: the baseline of mask_rcnn_tde.py, with
# the same data, schedule (mmdet's 1x: 12 epochs, lr 0.02 for 16 images, steps at 8 and 11) and
# test settings (300 detections per image, score_thr 1e-4, from mmdet's LVIS config).
_base_ = ['mmdet::lvis/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py']

# StrictLVISMetric, and the lvis API patched for numpy >= 1.24.
custom_imports = dict(imports=['mmtde.det'], allow_failed_imports=False)

# Instance-balanced sampling, as TDE is trained: mmdet's LVIS configs wrap the dataset in a
# ClassBalancedDataset (repeat-factor sampling, oversample_thr=1e-3); use the dataset itself.
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type={{_base_.dataset_type}},
        data_root={{_base_.data_root}},
        ann_file='annotations/lvis_v1_train.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline={{_base_.train_pipeline}}))

val_evaluator = dict(type='StrictLVISMetric')
test_evaluator = val_evaluator

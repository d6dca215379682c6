# mask_rcnn_tde.py on LVIS v0.5 (1230 classes) with mmdet's v0.5 schedule (2x: 24 epochs, steps
# at 16 and 22). Images: COCO train2017 / val2017 under data/lvis_v0.5/.
_base_ = ['mmdet::lvis/mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v0.5.py']

custom_imports = dict(imports=['mmtde.det'], allow_failed_imports=False)

model = dict(
    roi_head=dict(
        bbox_head=dict(
            type='CausalNormShared2FCBBoxHead',
            num_head=2,  # K: the 1024-d RoI feature is split into K normalised heads
            tau=16.0,  # temperature of the normalised logits
            gamma=1 / 32,  # weight normalisation w / (|w| + gamma)
            alpha=1.5,  # TDE strength at test time; 0 gives De-confound
            use_tde=True)))  # test-time switch, False is the same as alpha=0

# Instance-balanced sampling: drop mmdet's ClassBalancedDataset (repeat-factor sampling).
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type={{_base_.dataset_type}},
        data_root={{_base_.data_root}},
        ann_file='annotations/lvis_v0.5_train.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline={{_base_.train_pipeline}}))

val_evaluator = dict(type='StrictLVISMetric')
test_evaluator = val_evaluator

# mu: momentum of the moving-average feature d, set on the head every epoch.
custom_hooks = [dict(type='EMAFeatureHook', mu=0.9998)]

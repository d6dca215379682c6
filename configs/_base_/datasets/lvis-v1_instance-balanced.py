# LVIS v1 as in mmdet's lvis_v1_instance.py (COCO 2017 images under data/lvis_v1/, multi-scale
# training), but instance-balanced, as TDE is trained: mmdet wraps the training set in a
# ClassBalancedDataset (repeat-factor sampling, oversample_thr=1e-3); here it is the dataset
# itself. Evaluation: StrictLVISMetric, which refuses an annotation file without LVIS frequency
# groups before anything is predicted.
_base_ = ['mmdet::_base_/datasets/lvis_v1_instance.py']

custom_imports = dict(imports=['mmtde.det'], allow_failed_imports=False)

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

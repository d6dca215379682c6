# mask_rcnn_tde.py on LVIS v0.5 (1230 classes) with mmdet's v0.5 schedule (2x: 24 epochs, steps
# at 16 and 22). Images: COCO train2017 / val2017 under data/lvis_v0.5/.
_base_ = ['./mask_rcnn_tde.py']

num_classes = 1230  # LVIS v0.5
model = dict(
    roi_head=dict(
        bbox_head=dict(num_classes=num_classes), mask_head=dict(num_classes=num_classes)))

dataset_type = 'LVISV05Dataset'
data_root = 'data/lvis_v0.5/'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/lvis_v0.5_train.json',
        data_prefix=dict(img='train2017/')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/lvis_v0.5_val.json',
        data_prefix=dict(img='val2017/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/lvis_v0.5_val.json')
test_evaluator = val_evaluator

# mmdet's schedule_2x.py
train_cfg = dict(max_epochs=24)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=24, by_epoch=True, milestones=[16, 22], gamma=0.1)
]

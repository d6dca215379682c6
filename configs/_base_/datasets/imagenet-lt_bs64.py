# ImageNet-LT (Liu et al., OLTR): 115.8k training images of 1000 classes (1280 ... 5 per class),
# the split lists ImageNet_LT_{train,val,test}.txt under data/imagenet/ (see configs/imagenet_lt).
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs64.py']

data_root = 'data/imagenet'
train_dataloader = dict(
    batch_size=64,
    dataset=dict(type='ImageNetLT', data_root=data_root, ann_file='ImageNet_LT_train.txt',
                 _delete_=True, pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(type='ImageNetLT', data_root=data_root, ann_file='ImageNet_LT_val.txt',
                 _delete_=True, pipeline={{_base_.test_pipeline}}))
test_dataloader = dict(
    batch_size=64,
    dataset=dict(type='ImageNetLT', data_root=data_root, ann_file='ImageNet_LT_test.txt',
                 _delete_=True, pipeline={{_base_.test_pipeline}}))
# Many / medium / few are defined by the training list's class counts.
val_evaluator = dict(
    type='LongTailAccuracy', _delete_=True,
    train_dataset=dict(type='ImageNetLT', data_root=data_root, ann_file='ImageNet_LT_train.txt',
                       check_files=False))
test_evaluator = val_evaluator

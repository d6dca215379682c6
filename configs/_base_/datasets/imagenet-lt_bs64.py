# ImageNet-LT (Liu et al., OLTR): 115.8k training images of 1000 classes (1280 ... 5 per class),
# the split lists ImageNet_LT_{train,val,test}.txt under data/imagenet/ (see configs/imagenet_lt).
# Resizing with Pillow, as torchvision does in the reference code.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs64_pil_resize.py']

data_root = 'data/imagenet'
# The reference augmentation (Decoupling's, kept by the authors): random resized crop, flip and
# colour jitter (brightness, contrast, saturation 0.4, no hue), in that order.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    # The reference runs int(115846 / 512) = 226 steps an epoch: the partial last batch is dropped.
    drop_last=True,
    dataset=dict(type='ImageNetLT', data_root=data_root, ann_file='ImageNet_LT_train.txt',
                 _delete_=True, pipeline=train_pipeline))
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

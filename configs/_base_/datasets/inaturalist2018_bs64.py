# iNaturalist 2018: 437.5k training images of 8142 species (1000 ... 2 per class), 24.4k val
# images (3 per class), the lists iNaturalist18_{train,val}.txt under data/inaturalist2018/ (see
# configs/inaturalist2018). The test labels were never released: val is the reported split.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs64_pil_resize.py']

data_root = 'data/inaturalist2018'
# Decoupling's iNaturalist statistics (data/dataloader.py): mean (0.466, 0.471, 0.380), std
# (0.195, 0.194, 0.192), in 0-255 units.
data_preprocessor = dict(
    num_classes=8142, mean=[118.83, 120.105, 96.9], std=[49.725, 49.47, 48.96])
# Decoupling trains iNaturalist with crop and flip only (no colour jitter): the base pipelines.
train_dataloader = dict(
    batch_size=64,
    drop_last=True,  # Decoupling runs int(N / 512) steps an epoch
    dataset=dict(type='INaturalist2018', data_root=data_root, ann_file='iNaturalist18_train.txt',
                 _delete_=True, pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=64,
    dataset=dict(type='INaturalist2018', data_root=data_root, ann_file='iNaturalist18_val.txt',
                 _delete_=True, pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
# Many / medium / few from the training list's counts, which every split carries.
val_evaluator = dict(type='LongTailAccuracy', _delete_=True)
test_evaluator = val_evaluator

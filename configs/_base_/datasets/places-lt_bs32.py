# Places-LT (Liu et al., OLTR): 62.5k training images of 365 scene classes (4980 ... 5 per
# class), the split lists Places_LT_{train,val,test}.txt under data/places365/ (see
# configs/places_lt). OLTR and Decoupling augment Places-LT as ImageNet-LT (crop, flip, colour
# jitter), so the pipelines, and the dropped partial last batch, are ImageNet-LT's.
_base_ = ['./imagenet-lt_bs64.py']

data_root = 'data/places365'
data_preprocessor = dict(num_classes=365)
train_dataloader = dict(
    batch_size=32,
    dataset=dict(type='PlacesLT', data_root=data_root, ann_file='Places_LT_train.txt',
                 _delete_=True, pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=32,
    dataset=dict(type='PlacesLT', data_root=data_root, ann_file='Places_LT_val.txt',
                 _delete_=True, pipeline={{_base_.test_pipeline}}))
test_dataloader = dict(
    batch_size=32,
    dataset=dict(type='PlacesLT', data_root=data_root, ann_file='Places_LT_test.txt',
                 _delete_=True, pipeline={{_base_.test_pipeline}}))
# Many / medium / few from the training list's counts, which every split carries.
val_evaluator = dict(type='LongTailAccuracy', _delete_=True)
test_evaluator = val_evaluator

# CIFAR-10-LT: the official CIFAR-10 train split subsampled to n_c = n_max (1/IF)^(c/(C-1)),
# the balanced official test split for evaluation. One GPU x 256 as in the reference runs.
_base_ = ['mmpretrain::_base_/datasets/cifar10_bs16.py']

# the folder that holds CIFAR-10 (see docs/en/user_guides/datasets.md): $MMTDE_DATA_DIR, else
# data/cifar10; downloaded there when missing and the network allows
data_root = '{{$MMTDE_DATA_DIR:data/cifar10}}'
imbalance_factor = 100  # IF = n_max / n_min
train_dataloader = dict(
    batch_size=256,
    num_workers=4,
    dataset=dict(
        type='CIFAR10LT', data_root=data_root, imbalance_factor=imbalance_factor,
        seed=0))  # the seed fixes the subset, so every method sees the same images
val_dataloader = dict(
    batch_size=256,
    num_workers=4,
    # test split: balanced; it carries the training subset's class counts for the metric
    dataset=dict(type='CIFAR10LT', data_root=data_root, imbalance_factor=imbalance_factor,
                 seed=0))
test_dataloader = val_dataloader
# overall + many (>100) / medium (20-100) / few (<20) training images
val_evaluator = dict(type='LongTailAccuracy', _delete_=True)
test_evaluator = val_evaluator

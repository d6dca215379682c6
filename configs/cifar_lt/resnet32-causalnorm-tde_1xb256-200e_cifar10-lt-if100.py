_base_ = [
    '../_base_/models/resnet32-bbn_causalnorm.py', '../_base_/datasets/cifar10-lt_bs256.py',
    '../_base_/schedules/cifar-lt_sgd-200e.py', '../_base_/default_runtime.py'
]

# alpha: TDE strength at test time (paper: 1.0 on CIFAR-10-LT). TDE is applied in validation
# too, as in the reference; --cfg-options model.head.alpha=0 (or use_tde=False) gives the
# De-confound numbers from the same checkpoint.
model = dict(head=dict(alpha=1.0))

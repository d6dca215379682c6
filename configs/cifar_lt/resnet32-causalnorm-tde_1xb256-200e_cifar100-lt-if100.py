_base_ = [
    '../_base_/models/resnet32-bbn_causalnorm.py', '../_base_/datasets/cifar100-lt_bs256.py',
    '../_base_/schedules/cifar-lt_sgd-200e.py', '../_base_/default_runtime.py'
]

# alpha: TDE strength at test time (paper: 1.5 on CIFAR-100-LT), see the CIFAR-10 config.
model = dict(head=dict(num_classes=100, alpha=1.5))

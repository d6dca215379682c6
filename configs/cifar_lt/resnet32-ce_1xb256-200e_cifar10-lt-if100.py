_base_ = [
    '../_base_/models/resnet32-bbn_linear.py', '../_base_/datasets/cifar10-lt_bs256.py',
    '../_base_/schedules/cifar-lt_sgd-200e.py', '../_base_/default_runtime.py'
]

_base_ = [
    '../_base_/models/resnet32-bbn_causalnorm.py', '../_base_/datasets/cifar10-lt_bs256.py',
    '../_base_/schedules/cifar-lt_sgd-200e.py', 'mmpretrain::_base_/default_runtime.py'
]

# TDE is applied in validation too, as in the reference. alpha is a test-time knob:
# --cfg-options model.head.alpha=0 (or use_tde=False) gives the De-confound numbers.
model = dict(head=dict(alpha=1.0))

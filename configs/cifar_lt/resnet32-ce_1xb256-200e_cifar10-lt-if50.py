_base_ = ['./resnet32-ce_1xb256-200e_cifar10-lt-if100.py']

imbalance_factor = 50  # the training subset; the test set stays balanced
train_dataloader = dict(dataset=dict(imbalance_factor=imbalance_factor))
val_dataloader = dict(dataset=dict(imbalance_factor=imbalance_factor))
test_dataloader = val_dataloader

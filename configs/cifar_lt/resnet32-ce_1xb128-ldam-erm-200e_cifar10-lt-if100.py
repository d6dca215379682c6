# The canonical cross-entropy baseline of CIFAR-10-LT, as the literature cites it: "ERM" of Cao
# et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss", NeurIPS 2019
# (kaidic/LDAM-DRW, cifar_train.py --loss_type CE --train_rule None). Paper: 70.36 top-1 on
# CIFAR-10-LT IF 100 (29.64 % error, their Table 2), the best of the 200 test-set evaluations.
# The calibration run of mmtde's CIFAR-10-LT figures: our data, precision and script, another
# recipe, so its distance to 70.36 is what this environment costs a plain model.
_base_ = [
    '../_base_/models/resnet32-bbn_linear.py', '../_base_/datasets/cifar10-lt_bs256.py',
    '../_base_/default_runtime.py'
]

model = dict(
    # The plain ResNet-32 of that code: 16/32/64 channels, 5 basic blocks a stage, option-A
    # shortcuts, a 64-d pooled feature. BBNResNet32's one "branch" is stage 3's fifth block.
    backbone=dict(stage_blocks=(5, 5, 4), num_branches=1),
    # nn.Linear with its bias, Kaiming-normal like their convs (bias 0 here, uniform there)
    head=dict(in_channels=64,
              init_cfg=dict(type='Kaiming', layer='Linear', mode='fan_in', nonlinearity='relu',
                            distribution='normal')))
train_dataloader = dict(batch_size=128)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=2e-4, nesterov=False))
param_scheduler = [
    # their warm-up steps once an epoch: lr x 1/5, 2/5, ..., 5/5 over epochs 1-5
    dict(type='LinearLR', start_factor=1 / 5, by_epoch=True, begin=0, end=5),
    # lr x 0.01 from epoch 161, x 0.0001 from epoch 181
    dict(type='MultiStepLR', by_epoch=True, milestones=[160, 180], gamma=0.01),
]
# They test every epoch and report the best; here every 10 epochs, then every epoch from the
# first lr step on (after epochs 160, ..., 200: mmengine's milestone is the next epoch's).
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10, dynamic_intervals=[(161, 1)])
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)

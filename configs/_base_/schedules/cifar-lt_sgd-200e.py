# The reference CIFAR-LT schedule: SGD, lr 0.2 for batch 256, 5-epoch linear warm-up from lr/3,
# lr x 0.01 at epochs 120 and 160, 200 epochs.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=5e-4, nesterov=False))
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, by_epoch=True, begin=0, end=5,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[120, 160], gamma=0.01),
]
# Validated (on the balanced test set) every 10 epochs, then after every epoch from the first lr
# step on: the authors keep the best test epoch, and the log gives that figure beside the last
# epoch's, which is the one tested and published here. mmengine applies a dynamic interval once
# the *next* epoch reaches its milestone, so (121, 1) validates after epochs 120, 121, ..., 200.
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10, dynamic_intervals=[(121, 1)])
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)

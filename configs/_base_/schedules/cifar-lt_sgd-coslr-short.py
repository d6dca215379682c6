# The short CPU schedule of the CIFAR-10-LT demo (tools/demo_cifar10_lt.py) and of
# benchmarks/cifar10_lt_accuracy.py: one epoch of linear warm-up from lr/3 (per iteration), then
# cosine to 0 at the last epoch. Both set the length with train_cfg.max_epochs (the cosine's
# `end` is left to mmengine, which takes the last epoch); a single epoch drops the warm-up and
# starts the cosine at 0. The lr is theirs: 0.1 for batch 128 (SGD of the model's base config).
max_epochs = 8
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, eta_min=0,
         convert_to_iter_based=True),
]
# no validation during training: both score the final checkpoint themselves
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs + 1)

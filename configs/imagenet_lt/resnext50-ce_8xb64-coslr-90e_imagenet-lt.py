# The linear cross-entropy baseline: mmpretrain's ResNeXt-50 32x4d and LinearClsHead, same data
# and schedule as the causal-norm/TDE config.
_base_ = [
    'mmpretrain::_base_/models/resnext50_32x4d.py', '../_base_/datasets/imagenet-lt_bs64.py',
    '../_base_/schedules/imagenet-lt_sgd-coslr-90e.py', '../_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmtde.cls'], allow_failed_imports=False)

# The reference ResNeXt-50 leaves the last BN of each block at weight 1 (mmpretrain: 0).
model = dict(backbone=dict(zero_init_residual=False))
# The reference tests the epoch with the best val top-1; test best_lt_top1_epoch_*.pth.
default_hooks = dict(checkpoint=dict(save_best='lt/top1', rule='greater'))

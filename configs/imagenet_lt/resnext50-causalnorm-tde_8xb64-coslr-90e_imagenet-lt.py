_base_ = [
    'mmpretrain::_base_/models/resnext50_32x4d.py', '../_base_/datasets/imagenet-lt_bs64.py',
    '../_base_/schedules/imagenet-lt_sgd-coslr-90e.py', '../_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmtde.cls'], allow_failed_imports=False)

model = dict(
    # The reference ResNeXt-50 leaves the last BN of each block at weight 1 (mmpretrain: 0).
    backbone=dict(zero_init_residual=False),
    head=dict(
        _delete_=True,
        type='CausalNormHead',
        num_classes=1000,
        in_channels=2048,
        # num_head (K), tau and gamma: CausalNormHead's defaults, which are the paper's
        alpha=3.0,  # TDE strength at test time (paper: 3.0 on ImageNet-LT; 0 = De-confound)
        use_tde=True,  # TDE in predict (validation uses it too, as in the reference)
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
# mu follows the learning rate at each epoch start: 1 - 0.1 * min(50 * lr, 1).
custom_hooks = [dict(type='EMAFeatureHook', mu_policy='lr')]
# The reference tests the epoch with the best val top-1 (TDE on); test best_lt_top1_epoch_*.pth.
default_hooks = dict(checkpoint=dict(save_best='lt/top1', rule='greater'))

# De-confound-TDE on iNaturalist 2018 (8142 classes). The authors never ran it (their issue #3);
# the recipe is Decoupling's (Kang et al., ICLR 2020, config/iNaturalist18/feat_unifrom.yaml of
# facebookresearch/classifier-balancing): ResNet-50 from scratch, instance-balanced sampling,
# 90 epochs, SGD momentum 0.9, lr 0.2 for batch 512 with cosine decay to 0, weight decay 1e-4.
_base_ = [
    'mmpretrain::_base_/models/resnet50.py', '../_base_/datasets/inaturalist2018_bs64.py',
    '../_base_/schedules/imagenet-lt_sgd-coslr-90e.py', '../_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmtde.cls'], allow_failed_imports=False)

optim_wrapper = dict(optimizer=dict(weight_decay=1e-4))
# No held-out split (val is the reported one), so no best-epoch selection: the last epoch is
# tested, validation every 10 epochs is for monitoring only.
train_cfg = dict(val_interval=10)

model = dict(
    # Decoupling's ResNet-50 leaves the last BN of each block at weight 1 (mmpretrain: 0).
    backbone=dict(zero_init_residual=False),
    head=dict(
        _delete_=True,
        type='CausalNormHead',
        num_classes=8142,
        in_channels=2048,
        # num_head (K), tau and gamma: CausalNormHead's defaults, which are the paper's
        alpha=3.0,  # ImageNet-LT's value, untuned; the EMAFeatureHook logs the alpha * cos = 1 rule
        use_tde=True,  # TDE in predict, validation included
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
# mu = 1 - 0.1 * min(50 * lr, 1) at each epoch start, the authors' rule for ImageNet-LT.
custom_hooks = [dict(type='EMAFeatureHook', mu_policy='lr')]

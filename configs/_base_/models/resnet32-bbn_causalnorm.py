# ResNet-32 (BBN variant, 128-d feature) + multi-head normalised classifier, for CIFAR-LT.
custom_imports = dict(imports=['mmtde.cls'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='BBNResNet32'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='CausalNormHead',
        num_classes=10,
        in_channels=128,
        num_head=2,  # K: the 128-d feature is split into the two 64-d branches
        tau=16.0,  # temperature of the normalised logits
        gamma=1 / 32,  # w / (|w| + gamma)
        # alpha (TDE strength at test time) is set per dataset, in the configs that use this
        use_tde=True,  # TDE in predict; a test-time switch, same as alpha=0 when False
        mu=0.9,  # momentum of d (d <- mu d + mean(x)), the paper's for CIFAR-LT
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))
# logs mu and, after each epoch, mean cos(x, d) with the alpha it suggests
custom_hooks = [dict(type='EMAFeatureHook')]

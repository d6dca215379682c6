# ResNet-32 (BBN variant, 128-d feature) + mmpretrain's linear head: the CE baseline.
custom_imports = dict(imports=['mmtde.cls'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='BBNResNet32'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
    ))

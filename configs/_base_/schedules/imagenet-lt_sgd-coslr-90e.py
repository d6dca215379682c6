# The reference ImageNet-LT schedule: SGD, lr 0.2 for batch 512, cosine to 0 over 90 epochs.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='CosineAnnealingLR', T_max=90, by_epoch=True, begin=0, end=90,
                       eta_min=0.0)
# Validated every epoch, as the reference does to keep its best epoch (the leaf configs save it
# with default_hooks.checkpoint.save_best; ImageNet-LT's val list is held out from test).
train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=512)

# The Places-LT fine-tuning schedule of OLTR (Liu et al., CVPR 2019; config/Places_LT/stage_1.py
# of zhmiao/OpenLongTailRecognition-OLTR): an ImageNet-pretrained ResNet-152 trained 30 epochs,
# SGD momentum 0.9, weight decay 5e-4, batch 128, lr 0.1 for the classifier and 0.001 for the
# backbone, both x0.1 every 10 epochs.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.01)}))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[10, 20], gamma=0.1)
# Validated every epoch: the leaf config keeps the best epoch on Places-LT's held-out val list.
train_cfg = dict(by_epoch=True, max_epochs=30, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)

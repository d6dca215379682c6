# The authors' LVIS v1 De-confound-TDE run (lvis1.0/configs/htc/htc_r101_fpn_20e_causal.py of
# KaihuaTang/Long-Tailed-Recognition.pytorch): HTC without the semantic branch, R101-FPN, every
# stage a TDE bbox head with its own moving-average feature d (mu 0.9998, as their
# convfc_bbox_head.py), the stages' background-exempted probabilities averaged by
# TDEHybridTaskCascadeRoIHead. Recipe: htc-without-semantic_r101_fpn_20e_lvis-v1.py.
# De-confound numbers from the same checkpoint: --cfg-options model.roi_head.bbox_head.0.alpha=0
#   model.roi_head.bbox_head.1.alpha=0 model.roi_head.bbox_head.2.alpha=0
_base_ = ['./htc-without-semantic_r101_fpn_20e_lvis-v1.py']

model = dict(
    roi_head=dict(
        type='TDEHybridTaskCascadeRoIHead',
        bbox_head=[
            dict(
                type='CausalNormShared2FCBBoxHead',
                # num_head, tau and gamma: the head's defaults, the paper's (2, 16, 1/32)
                alpha=1.5,  # TDE strength at test time (paper, LVIS); 0 gives De-confound
                use_tde=True,  # test-time switch, False is the same as alpha=0
                mu=0.9998,  # momentum of this stage's d (d <- mu d + mean(x)), paper, LVIS v1
                in_channels=256,
                fc_out_channels=1024,
                roi_feat_size=7,
                num_classes={{_base_.num_classes}},
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder',
                    target_means=[0., 0., 0., 0.],
                    target_stds=stds),
                reg_class_agnostic=True,
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
            for stds in [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                         [0.033, 0.033, 0.067, 0.067]]
        ]))

# logs each epoch's mu and, after it, every stage's mean cos(x, d) with the alpha it suggests
custom_hooks = [dict(type='EMAFeatureHook')]

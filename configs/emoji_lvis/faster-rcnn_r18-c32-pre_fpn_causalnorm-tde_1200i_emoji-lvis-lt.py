# Emoji-LVIS-LT, De-confound-TDE: causal-norm classifier, plain cross-entropy, instance-balanced
# sampling; TDE with background-exempted inference at test time (settings of
# configs/lvis/mask_rcnn_tde.py). De-confound from the same checkpoint: bbox_head.alpha=0.
_base_ = ['./faster-rcnn_r18-c32-pre_fpn_1200i_emoji-lvis-lt.py']

model = dict(
    roi_head=dict(
        bbox_head=dict(
            # the head's defaults are the paper's LVIS settings: K 2 heads of the 256-d RoI
            # feature, tau 16, gamma 1/32, mu 0.9998 (momentum of the moving-average feature d)
            type='CausalNormShared2FCBBoxHead',
            alpha=1.5,  # TDE strength at test time (paper, LVIS); 0 gives De-confound
            use_tde=True)))  # test-time switch, False is the same as alpha=0

custom_hooks = [dict(type='EMAFeatureHook')]  # updates d and logs cos(x, d)

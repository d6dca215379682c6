# Emoji-LVIS-LT, De-confound-TDE: causal-norm classifier, plain cross-entropy, instance-balanced
# sampling; TDE with background-exempted inference at test time (settings of
# configs/lvis/mask_rcnn_tde.py). De-confound from the same checkpoint: bbox_head.alpha=0.
_base_ = ['./faster-rcnn_r18-c32-pre_fpn_1200i_emoji-lvis-lt.py']

model = dict(
    roi_head=dict(
        bbox_head=dict(
            type='CausalNormShared2FCBBoxHead',
            num_head=2,  # K: the 256-d RoI feature is split into K normalised heads
            tau=16.0,  # temperature of the normalised logits
            gamma=1 / 32,  # weight normalisation w / (|w| + gamma)
            alpha=1.5,  # TDE strength at test time (paper, LVIS); 0 gives De-confound
            use_tde=True)))  # test-time switch, False is the same as alpha=0

# mu: momentum of the moving-average feature d (paper, LVIS)
custom_hooks = [dict(type='EMAFeatureHook', mu=0.9998)]

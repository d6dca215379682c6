# Mask R-CNN R50-FPN on LVIS v1 with the De-confound-TDE bbox head (Tang et al., NeurIPS 2020):
# causal-norm classifier trained with plain cross-entropy and instance-balanced sampling, TDE
# with background-exempted inference at test time. Everything else is
# mask-rcnn_r50_fpn_ms-1x_lvis-v1.py.
# De-confound (no TDE) numbers from the same checkpoint:
#   --cfg-options model.roi_head.bbox_head.alpha=0
_base_ = ['./mask-rcnn_r50_fpn_ms-1x_lvis-v1.py']

model = dict(
    roi_head=dict(
        bbox_head=dict(
            type='CausalNormShared2FCBBoxHead',
            num_head=2,  # K: the 1024-d RoI feature is split into K normalised heads
            tau=16.0,  # temperature of the normalised logits
            gamma=1 / 32,  # weight normalisation w / (|w| + gamma)
            alpha=1.5,  # TDE strength at test time (paper, LVIS); 0 gives De-confound
            use_tde=True)))  # test-time switch, False is the same as alpha=0

# mu: momentum of the moving-average feature d, set on the head every epoch.
custom_hooks = [dict(type='EMAFeatureHook', mu=0.9998)]

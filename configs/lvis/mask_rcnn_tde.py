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
            # num_head, tau and gamma: the head's defaults, the paper's (2, 16, 1/32)
            alpha=1.5,  # TDE strength at test time (paper, LVIS); 0 gives De-confound
            use_tde=True,  # test-time switch, False is the same as alpha=0
            mu=0.9998)))  # momentum of d (d <- mu d + mean(x)), paper, LVIS v1

# logs each epoch's mu and, after it, the mean cos(x, d) with the alpha it suggests
custom_hooks = [dict(type='EMAFeatureHook')]

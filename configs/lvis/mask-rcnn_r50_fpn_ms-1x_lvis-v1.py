# Mask R-CNN R50-FPN on LVIS v1, stock softmax bbox head: the baseline of mask_rcnn_tde.py. It is
# mmdet's mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py (schedule 1x: 12 epochs, lr 0.02 for 16
# images, steps at 8 and 11; 300 detections per image, score_thr 1e-4) with instance-balanced
# sampling instead of repeat-factor sampling.
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py', '../_base_/datasets/lvis-v1_instance-balanced.py',
    'mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py'
]

num_classes = 1203  # LVIS v1
model = dict(
    roi_head=dict(
        bbox_head=dict(num_classes=num_classes), mask_head=dict(num_classes=num_classes)),
    test_cfg=dict(rcnn=dict(score_thr=0.0001, max_per_img=300)))  # LVIS allows up to 300

# Copyright (c) mmtde contributors. All rights reserved.
"""NorCal (Pan et al., NeurIPS 2021) as a test-time option of a trained two-stage detector.

Switch a Mask / Faster R-CNN config to it without retraining; the checkpoint loads unchanged
(the RoI head's parameters and their names are mmdet's)::

    model = dict(roi_head=dict(
        type='NorCalRoIHead',
        norcal=dict(gamma=0.6, ann_file='data/lvis_v1/annotations/lvis_v1_train.json')))

Cascade RoI heads: :class:`~mmtde.det.roi_heads.NorCalCascadeRoIHead` (mmdet's cascade
scoring) and :class:`~mmtde.det.roi_heads.NorCalTDECascadeRoIHead` (stage probabilities
averaged, for causal-norm cascades). The maths is
:func:`mmtde.functional.norcal.norcal_log_probs`.
"""
from typing import Optional, Sequence, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.registry import MODELS
from torch import Tensor, nn

from mmtde.evaluation.class_counts import COUNT_SOURCES, COUNT_TYPES, lvis_class_counts
from mmtde.functional.norcal import check_class_counts, check_norcal_gamma, norcal_log_probs

_NORCAL_KEYS = ('gamma', 'ann_file', 'class_counts', 'count', 'source')


def norcal_class_counts(norcal: dict, num_classes: int) -> Tuple[float, Tensor]:
    """``gamma`` and the class counts (C,) that a ``norcal`` config dict describes.

    Args:
        norcal (dict): ``gamma`` and either ``ann_file`` (the training json; ``count`` and
            ``source`` as in :func:`mmtde.evaluation.class_counts.lvis_class_counts`) or
            ``class_counts`` (one count per foreground class, in label order).
        num_classes (int): C, the bbox head's number of foreground classes.

    Returns:
        tuple[float, Tensor]: ``gamma`` and the counts, float64 of shape (C,).
    """
    if not isinstance(norcal, dict) or 'gamma' not in norcal:
        raise ValueError(f'norcal={norcal!r} must be a dict with gamma and ann_file (or '
                         f"class_counts), e.g. norcal=dict(gamma=0.6, ann_file='data/lvis_v1/"
                         f"annotations/lvis_v1_train.json')")
    unknown = sorted(set(norcal) - set(_NORCAL_KEYS))
    if unknown:
        raise ValueError(f'norcal has unknown keys {unknown}; it takes {list(_NORCAL_KEYS)}')
    gamma = check_norcal_gamma(norcal['gamma'])
    ann_file, counts = norcal.get('ann_file'), norcal.get('class_counts')
    if (ann_file is None) == (counts is None):
        raise ValueError('norcal needs exactly one of ann_file (the training annotation file, '
                         'whose per-class counts are read) and class_counts (a list of one '
                         f'count per class); got ann_file={ann_file!r} and class_counts='
                         f'{"None" if counts is None else "a list"}')
    if ann_file is not None:
        count, source = norcal.get('count', 'image'), norcal.get('source', 'annotations')
        if count not in COUNT_TYPES or source not in COUNT_SOURCES:
            raise ValueError(f'norcal count={count!r} must be one of {COUNT_TYPES} and source='
                             f'{source!r} one of {COUNT_SOURCES}')
        _, counts = lvis_class_counts(ann_file, count, source)
        return gamma, check_class_counts(counts, num_classes, f'{count} counts of {ann_file}')
    return gamma, check_class_counts(counts, num_classes, 'norcal.class_counts')


def check_softmax_bbox_head(bbox_head, what: str) -> None:
    """Refuse a bbox head whose class scores are not a softmax over C + 1 classes."""
    use_sigmoid = getattr(getattr(bbox_head, 'loss_cls', None), 'use_sigmoid', None)
    if not getattr(bbox_head, 'with_cls', False) or getattr(bbox_head, 'custom_cls_channels',
                                                             False) or use_sigmoid is not False:
        raise ValueError(
            f'{what} needs a bbox head with a softmax over C foreground classes and a '
            f'background (e.g. Shared2FCBBoxHead with CrossEntropyLoss(use_sigmoid=False), '
            f'or CausalNormShared2FCBBoxHead); {type(bbox_head).__name__} has '
            f'with_cls={getattr(bbox_head, "with_cls", None)}, use_sigmoid={use_sigmoid}, '
            f'custom_cls_channels={getattr(bbox_head, "custom_cls_channels", None)}')


class NorCalMixin:
    """What every NorCal RoI head shares: the ``norcal`` argument, its checks, and
    :meth:`calibrate`. Every bbox head (each cascade stage) must be a softmax head; the counts
    describe the last one's classes."""

    def __init__(self, *args, norcal: Optional[dict] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        heads = self.bbox_head if isinstance(self.bbox_head, nn.ModuleList) else [self.bbox_head]
        for head in heads:
            check_softmax_bbox_head(head, type(self).__name__)
        self.norcal_gamma, counts = norcal_class_counts(norcal, heads[-1].num_classes)
        # Not persistent: the counts come from the config, so checkpoints trained without
        # NorCal load as they are, and a checkpoint never carries stale counts.
        self.register_buffer('norcal_counts', counts, persistent=False)

    def calibrate(self, cls_score: Tensor) -> Tensor:
        """NorCal log-probabilities (N, C + 1) of class scores (N, C + 1)."""
        return norcal_log_probs(cls_score, self.norcal_counts, self.norcal_gamma)


@MODELS.register_module()
class NorCalRoIHead(NorCalMixin, StandardRoIHead):
    """mmdet's ``StandardRoIHead`` that scores detections with NorCal (Pan et al., 2021).

    At test time each RoI's foreground score ``exp(z_c)`` is divided by ``n_c ** gamma`` (the
    class's training count), the background score is kept, and the row is normalised again;
    the bbox head's ``predict_by_feat`` receives ``log`` of these probabilities, so its own
    softmax gives exactly them. Training, box regression, NMS and the mask branch are mmdet's,
    untouched; the head may be any softmax bbox head (a stock ``Shared2FCBBoxHead``, or
    ``CausalNormShared2FCBBoxHead``, whose output at its alpha is calibrated in turn).

    Args:
        norcal (dict): ``gamma`` (> 0; pick it on held-out data with
            ``tools/analysis/norcal_gamma_sweep.py``) and either ``ann_file`` (the training
            annotation file, LVIS / COCO format) with ``count`` (``'image'``, the default, as in
            the authors' code, or ``'instance'``) and ``source`` (``'annotations'``, the
            default, counts them; ``'categories'`` reads LVIS's ``image_count`` /
            ``instance_count``), or ``class_counts`` (a list, one count per class).
        **kwargs: Passed to ``StandardRoIHead``.
    """

    # Only True while predict_bbox runs: _bbox_forward also serves the loss.
    _calibrating = False

    def predict_bbox(self, *args, **kwargs):
        """mmdet's ``predict_bbox``, with the class scores calibrated before post-processing."""
        self._calibrating = True
        try:
            return super().predict_bbox(*args, **kwargs)
        finally:
            self._calibrating = False

    def _bbox_forward(self, x: Sequence[Tensor], rois: Tensor) -> dict:
        results = super()._bbox_forward(x, rois)
        if self._calibrating:
            results['cls_score'] = self.calibrate(results['cls_score'])
        return results

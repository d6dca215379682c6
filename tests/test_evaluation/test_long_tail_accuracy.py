# Copyright (c) mmtde contributors. All rights reserved.
import math

import pytest
import torch
from mmengine.dataset import BaseDataset
from mmengine.registry import DATASETS, METRICS

from mmtde.evaluation import LongTailAccuracy


def _samples(pairs, score_only=False, num_classes=4):
    """mmpretrain-style data samples (as the evaluator hands them over) from (pred, gt)."""
    out = []
    for pred, gt in pairs:
        sample = {'gt_label': torch.tensor([gt])}
        if score_only:
            score = torch.zeros(num_classes)
            score[pred] = 1.0
            sample['pred_score'] = score
        else:
            sample['pred_label'] = torch.tensor([pred])
        out.append(sample)
    return out


# Two test samples per class; class accuracies 100, 50, 0, 50 (%).
BOUNDARY_PAIRS = [(0, 0), (0, 0), (1, 1), (0, 1), (3, 2), (3, 2), (3, 3), (0, 3)]


def _run(metric, pairs, meta=None, **kwargs):
    if meta is not None:
        metric.dataset_meta = meta
    metric.process(None, _samples(pairs, **kwargs))
    return metric.evaluate(len(pairs))


def test_boundaries_101_many_100_and_20_medium_19_few():
    metric = LongTailAccuracy(class_counts=[101, 100, 20, 19], tail_k=0)
    res = _run(metric, BOUNDARY_PAIRS)
    assert metric.groups == {'many': [0], 'medium': [1, 2], 'few': [3]}
    assert res == pytest.approx({
        'lt/top1': 50.0,  # 4 of 8 samples
        'lt/many': 100.0,
        'lt/medium': 25.0,  # mean of 50 and 0
        'lt/few': 50.0,
    })
    assert metric.per_class_accuracy == pytest.approx([100.0, 50.0, 0.0, 50.0])


def test_custom_thresholds_move_the_groups():
    metric = LongTailAccuracy(class_counts=[101, 100, 20, 19], many_thr=99, few_thr=21,
                              tail_k=0)
    _run(metric, BOUNDARY_PAIRS)
    assert metric.groups == {'many': [0, 1], 'medium': [], 'few': [2, 3]}


def test_group_is_class_mean_and_top1_is_sample_mean():
    # Class 0: 2 of 3 right; class 1: 0 of 1. Both many-shot.
    metric = LongTailAccuracy(class_counts=[500, 150], tail_k=0)
    res = _run(metric, [(0, 0), (0, 0), (1, 0), (0, 1)], num_classes=2)
    assert res['lt/top1'] == pytest.approx(50.0)
    assert res['lt/many'] == pytest.approx((200.0 / 3 + 0.0) / 2)


def test_empty_groups_are_left_out_not_numbered():
    metric = LongTailAccuracy(class_counts=[5000, 2997, 50], tail_k=0)
    res = _run(metric, [(0, 0), (1, 1), (0, 2)], num_classes=3)
    assert set(res) == {'lt/top1', 'lt/many', 'lt/medium'}
    assert 'lt/few' not in res
    assert res['lt/medium'] == 0.0
    assert metric.groups['few'] == []


def test_class_without_test_sample_is_nan_and_skipped():
    metric = LongTailAccuracy(class_counts=[500, 50, 5], tail_k=0)
    res = _run(metric, [(0, 0), (1, 1)], num_classes=3)
    assert math.isnan(metric.per_class_accuracy[2])
    assert 'lt/few' not in res  # its only class was never evaluated
    assert res['lt/medium'] == 100.0


def test_tail_k_picks_classes_with_fewest_training_images():
    metric = LongTailAccuracy(class_counts=[101, 100, 20, 19], tail_k=2)
    res = _run(metric, BOUNDARY_PAIRS)
    assert metric.groups['tail'] == [3, 2]
    assert res['lt/tail'] == pytest.approx(25.0)


def test_tail_is_not_reported_when_a_rarest_class_has_no_sample():
    metric = LongTailAccuracy(class_counts=[101, 100, 20, 19], tail_k=2)
    res = _run(metric, [p for p in BOUNDARY_PAIRS if p[1] != 3])  # no test sample of class 3
    assert metric.groups['tail'] == [3, 2]  # still the 2 rarest, not classes 2 and 1
    assert 'lt/tail' not in res and 'lt/few' not in res and res['lt/medium'] == pytest.approx(25.0)


def test_pred_score_is_used_without_pred_label():
    metric = LongTailAccuracy(class_counts=[101, 100, 20, 19], tail_k=0)
    res = _run(metric, BOUNDARY_PAIRS, score_only=True)
    assert res['lt/top1'] == pytest.approx(50.0)


def test_counts_from_dataset_meta_and_argument_wins():
    meta = {'classes': ('a', 'b', 'c', 'd'), 'class_counts': [101, 100, 20, 19]}
    res = _run(LongTailAccuracy(tail_k=0), BOUNDARY_PAIRS, meta=meta)
    assert res['lt/few'] == pytest.approx(50.0)
    # An explicit argument beats the metainfo: every class many-shot now.
    metric = LongTailAccuracy(class_counts=[500] * 4, tail_k=0)
    res = _run(metric, BOUNDARY_PAIRS, meta=meta)
    assert set(res) == {'lt/top1', 'lt/many'}
    assert res['lt/many'] == pytest.approx(50.0)


@DATASETS.register_module(name='_ToyCountsDataset', force=True)
class _ToyCountsDataset(BaseDataset):
    METAINFO = {'classes': ('a', 'b', 'c', 'd')}

    def __init__(self, labels, **kwargs):
        self._labels = labels
        super().__init__(serialize_data=False, **kwargs)

    def load_data_list(self):
        return [{'gt_label': lab} for lab in self._labels]

    def get_cat_ids(self, idx):
        return [self.get_data_info(idx)['gt_label']]


def test_counts_from_train_dataset_config():
    labels = [0] * 101 + [1] * 100 + [2] * 20 + [3] * 19
    metric = LongTailAccuracy(train_dataset=dict(type='_ToyCountsDataset', labels=labels),
                              tail_k=0)
    res = _run(metric, BOUNDARY_PAIRS)
    assert metric.class_counts == [101, 100, 20, 19]
    assert res['lt/medium'] == pytest.approx(25.0)


def test_missing_counts_raise_with_the_fix():
    metric = LongTailAccuracy()
    with pytest.raises(ValueError, match='class_counts=.*train_dataset='):
        _run(metric, BOUNDARY_PAIRS, meta={'classes': ('a', 'b', 'c', 'd')})


def test_counts_length_must_match_classes():
    metric = LongTailAccuracy(class_counts=[101, 100, 20])
    with pytest.raises(ValueError, match='one entry per class'):
        _run(metric, BOUNDARY_PAIRS, meta={'classes': ('a', 'b', 'c', 'd')})
    # Without class names, a label beyond the counts is caught too.
    metric = LongTailAccuracy(class_counts=[101, 100, 20])
    with pytest.raises(ValueError, match='label 3'):
        _run(metric, BOUNDARY_PAIRS)


def test_bad_thresholds_and_registry():
    with pytest.raises(ValueError, match='few_thr'):
        LongTailAccuracy(class_counts=[1], many_thr=10, few_thr=20)
    metric = METRICS.build(dict(type='LongTailAccuracy', class_counts=[3, 2]))
    assert isinstance(metric, LongTailAccuracy) and metric.prefix == 'lt'

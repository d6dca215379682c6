# Copyright (c) mmtde contributors. All rights reserved.
import lvis.eval
import numpy as np
import pytest
from lvis import LVIS, LVISEval, LVISResults

from mmtde.evaluation.lvis.numpy_patch import patch_lvis_numpy
from mmtde.testing import make_tiny_lvis

NUMPY_WITHOUT_ALIASES = tuple(int(v) for v in np.__version__.split('.')[:2]) >= (1, 24)

# Two categories per frequency group are enough: the generator needs nothing else.
CATEGORIES = [dict(id=i + 1, name=f'cat{i + 1}', frequency=f, image_count=1)
              for i, f in enumerate('rrrcccfff')]


@pytest.fixture(scope='module')
def val_ann(tmp_path_factory):
    # 4 images x 2 objects over 6 categories: the first two picked ones (both rare) occur
    # twice, the others once.
    paths = make_tiny_lvis(str(tmp_path_factory.mktemp('lvis')), CATEGORIES, num_train=3,
                           num_val=4)
    return paths['val_ann']


def evaluate(gt, dets, iou_type='bbox'):
    patch_lvis_numpy()
    lvis_eval = LVISEval(gt, LVISResults(gt, dets), iou_type)
    lvis_eval.run()
    return lvis_eval.get_results()


def ground_truth_detections(gt, iou_type):
    """The annotations as detections of score 1 (boxes, or masks as RLE like a detector's)."""
    return [dict(image_id=a['image_id'], category_id=a['category_id'], score=1.0,
                 **(dict(bbox=list(a['bbox'])) if iou_type == 'bbox' else
                    dict(segmentation=gt.ann_to_rle(a))))
            for a in gt.dataset['annotations']]


def test_patch_is_scoped_and_idempotent():
    assert patch_lvis_numpy() == patch_lvis_numpy()
    assert 'lvis.eval' in patch_lvis_numpy()
    proxy = lvis.eval.np
    assert proxy is not np and proxy.float is float
    assert proxy.cumsum is np.cumsum and proxy.ndarray is np.ndarray
    if NUMPY_WITHOUT_ALIASES:
        assert proxy.object is object
        # The process-wide numpy is untouched.
        assert not hasattr(np, 'float') and 'object' not in vars(np)
    assert getattr(np, 'bool', bool) is getattr(proxy, 'bool')  # numpy 2 has np.bool again
    patch_lvis_numpy()
    assert lvis.eval.np is proxy  # not wrapped twice


@pytest.mark.skipif(not NUMPY_WITHOUT_ALIASES, reason='numpy < 1.24 still has np.float')
def test_unpatched_lvis_fails_on_this_numpy(val_ann):
    gt = LVIS(val_ann)
    lvis_eval = LVISEval(gt, LVISResults(gt, ground_truth_detections(gt, 'bbox')), 'bbox')
    patch_lvis_numpy()
    proxy, lvis.eval.np = lvis.eval.np, np
    try:
        lvis_eval.evaluate()
        with pytest.raises(AttributeError, match='float'):
            lvis_eval.accumulate()
    finally:
        lvis.eval.np = proxy


@pytest.mark.parametrize('iou_type', ['bbox', 'segm'])
def test_perfect_detections_give_ap_one(val_ann, iou_type):
    gt = LVIS(val_ann)
    results = evaluate(gt, ground_truth_detections(gt, iou_type), iou_type)
    for key in ('AP', 'AP50', 'AP75', 'APr', 'APc', 'APf', 'AR@300'):
        assert results[key] == pytest.approx(1.0), key


def test_missing_detection_gives_hand_checked_ap(val_ann):
    gt = LVIS(val_ann)
    dets = ground_truth_detections(gt, 'bbox')
    counts = {c: len(gt.cat_img_map[c]) for c in gt.cat_img_map}
    twice = sorted(c for c, n in counts.items() if n == 2)
    assert len(twice) == 2 and all(gt.cats[c]['frequency'] == 'r' for c in twice)
    # Drop one of the two detections of the first rare category: recall 1/2 at precision 1,
    # so 51 of the 101 recall thresholds (0, 0.01, ..., 0.5) have precision 1, the rest 0.
    dropped = next(i for i, d in enumerate(dets) if d['category_id'] == twice[0])
    del dets[dropped]
    results = evaluate(gt, dets)
    half = 51 / 101
    assert results['APr'] == pytest.approx((half + 1) / 2)
    assert results['APc'] == pytest.approx(1.0) and results['APf'] == pytest.approx(1.0)
    assert results['AP'] == pytest.approx((half + 5) / 6)

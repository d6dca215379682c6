# Copyright (c) mmtde contributors. All rights reserved.
"""Which detections LVIS AP scores: 300 an image (LVIS's AP) or K a class (Fixed AP).

**LVIS AP** (lvis-api 0.5.3, ``LVISResults(max_dets=300)``): each image keeps its 300
highest-scoring detections over all classes; then, per class, AP over the images where the
class is verified (positive or negative), at IoU 0.50:0.95 and 101 recall points.

**Fixed AP** (Dave et al., "Evaluating Large-Vocabulary Object Detectors: The Devil is in the
Details", 2021, Sec. 3; their ``scripts/evaluate_ap_fixed.py``): each *class* keeps its K
highest-scoring detections over the whole evaluation set (K = 10,000 for LVIS v1 val) and
images are not capped; AP per class is then computed exactly as above and averaged. Under the
300-an-image cap a class's AP depends on the scores of the *other* classes in the same image:
scaling down the scores of a frequent class lets more rare-class detections into the 300 and
raises AP although no class ranks its own detections differently. With a per-class budget,
each class's AP depends only on its own ranking, so it is unchanged by any increasing
transformation of a class's scores (calibration across classes no longer moves AP).

Ties are broken as both references do (Python's stable ``sorted(..., reverse=True)``): the
detection that comes first in the results (image order, then the detector's order) wins.

This module needs neither mmdet nor lvis.
"""
import numpy as np

#: Detections scored per image by LVIS AP (lvis-api's ``max_dets`` and the LVIS challenge).
MAX_DETS_PER_IMAGE = 300

#: Detections scored per class by Fixed AP on LVIS v1 val (Dave et al., 2021).
FIXED_AP_DETS_PER_CAT = 10000


def top_per_image(scores: np.ndarray, max_dets: int = MAX_DETS_PER_IMAGE) -> np.ndarray:
    """Indices of the ``max_dets`` highest-scoring detections of one image, in input order.

    Args:
        scores (np.ndarray): Scores of the image's detections, shape (N, ).
        max_dets (int): How many to keep. Defaults to :data:`MAX_DETS_PER_IMAGE`.

    Returns:
        np.ndarray: Kept indices (int64), ascending.
    """
    scores = np.asarray(scores)
    if len(scores) <= max_dets:
        return np.arange(len(scores))
    return np.sort(np.argsort(-scores, kind='stable')[:max_dets])


def top_per_category(scores: np.ndarray, labels: np.ndarray, dets_per_cat: int) -> np.ndarray:
    """Which detections are among the ``dets_per_cat`` highest-scoring of their class.

    Args:
        scores (np.ndarray): Scores of every detection of the evaluation set, in results
            order (image by image), shape (N, ).
        labels (np.ndarray): Their classes, shape (N, ).
        dets_per_cat (int): The per-class budget K.

    Returns:
        np.ndarray: Boolean mask of shape (N, ).
    """
    scores, labels = np.asarray(scores), np.asarray(labels)
    # by class, then score descending, then results order (lexsort is stable: last key first)
    order = np.lexsort((np.arange(len(scores)), -scores, labels))
    sorted_labels = labels[order]
    first = np.searchsorted(sorted_labels, sorted_labels, side='left')
    keep = np.zeros(len(scores), dtype=bool)
    keep[order] = np.arange(len(scores)) - first < dets_per_cat
    return keep

# Copyright (c) mmtde contributors. All rights reserved.
"""Per-class LVIS AP: from lvis-api's precision array, to a json and a plot against the class's
training images, so that one can see which rare classes moved.

This module needs neither mmdet nor lvis.
"""
import json
import math
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..plots import pyplot, save_figure

#: LVIS frequency groups by training images: rare 1-10, common 11-100, frequent > 100.
GROUP_EDGES = (10, 100)
_GROUP_STYLE = dict(r=('tab:red', 'rare'), c=('tab:orange', 'common'), f=('tab:blue', 'frequent'))


def per_class_ap(precision: np.ndarray) -> np.ndarray:
    """AP of each category: the mean of its precision over IoU thresholds and recall points.

    The formula of mmdet's ``classwise`` table (area range "all"); a category without ground
    truth (precision -1 everywhere) gets NaN.

    Args:
        precision (np.ndarray): lvis-api's precision, shape (T, R, K, A).

    Returns:
        np.ndarray: Shape (K, ).
    """
    p = precision[:, :, :, 0].reshape(-1, precision.shape[2])
    valid = p > -1
    with np.errstate(invalid='ignore'):
        return np.where(valid.any(0), (p * valid).sum(0) / valid.sum(0), np.nan)


def per_class_rows(categories: Sequence[Mapping], ap: np.ndarray,
                   train_images: Optional[Mapping[int, int]] = None) -> List[dict]:
    """One json-ready row per category: ``id``, ``name``, ``frequency``, ``AP`` (None where
    the category has no ground truth) and, when counts are given, ``train_images``."""
    rows = []
    for cat, value in zip(categories, ap.tolist()):
        row = dict(id=cat['id'], name=cat['name'], frequency=cat.get('frequency'),
                   AP=None if math.isnan(value) else value)
        if train_images is not None:
            row['train_images'] = int(train_images[cat['id']])
        rows.append(row)
    return rows


def write_per_class_json(path: str, payload: Dict) -> None:
    """Write ``payload`` (see ``StrictLVISMetric(per_class_ap=True)``) to ``path``."""
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(payload, f, indent=1)


def plot_per_class_ap(rows: Sequence[Mapping], out_file: str, title: str) -> None:
    """PNG of each class's AP (%) against its training images (log scale), one colour per
    frequency group, with the mean AP of log-spaced bins of training images.

    Classes without ground truth here (AP None) or without training images cannot be placed
    and are counted in the legend instead.
    """
    shown = [r for r in rows if r['AP'] is not None and r['train_images'] > 0]
    fig, ax = pyplot().subplots(figsize=(8, 4.5))
    for group, (colour, name) in _GROUP_STYLE.items():
        pts = [(r['train_images'], 100 * r['AP']) for r in shown if r['frequency'] == group]
        if pts:
            x, y = np.array(pts).T
            ax.scatter(x, y, s=8, alpha=0.5, color=colour, label=f'{name} ({len(pts)} classes)')
    if shown:
        x = np.array([r['train_images'] for r in shown], float)
        y = np.array([100 * r['AP'] for r in shown])
        edges = np.unique(np.geomspace(1, x.max() + 1, 12).round())
        bin_of = np.digitize(x, edges)
        centres = [np.exp(np.log(x[bin_of == b]).mean()) for b in np.unique(bin_of)]
        means = [y[bin_of == b].mean() for b in np.unique(bin_of)]
        ax.plot(centres, means, 'k-o', ms=3, label='mean AP of the bin')
    for edge in GROUP_EDGES:
        ax.axvline(edge + 0.5, color='grey', lw=0.6, ls='--')
    ax.set_xscale('log')
    ax.set_xlabel('training images of the class (log scale; rare | common | frequent)')
    ax.set_ylabel('AP of the class (%)')
    left_out = len(rows) - len(shown)
    if left_out:
        ax.plot([], [], ' ', label=f'{left_out} classes not shown (no ground truth here or no '
                'training image)')
    save_figure(fig, ax, out_file, title)

# Copyright (c) mmtde contributors. All rights reserved.
"""Where the true class ranks among a classifier's scores, by frequency group (numpy only).

A long-tailed classifier's head-class bias shows before any detection threshold or NMS: give
it a ground-truth box and look at the rank of the true class among the foreground scores, and
at which group the top class belongs to. For rare boxes, "top class is frequent" is the bias
TDE (and NorCal, logit adjustment) set out to remove.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np

#: LVIS's groups, by training images of a class: rare <= 10, common <= 100, frequent above.
GROUPS = ('r', 'c', 'f')
RARE_MAX, COMMON_MAX = 10, 100


def frequency_groups(image_counts: Sequence[int]) -> np.ndarray:
    """LVIS's group (``'r'``, ``'c'``, ``'f'``) of each class from its training image count.

    Args:
        image_counts (Sequence[int]): Training images of each class, shape (C,).

    Returns:
        np.ndarray: Shape (C,), dtype ``<U1``.
    """
    counts = np.asarray(image_counts)
    return np.where(counts <= RARE_MAX, 'r', np.where(counts <= COMMON_MAX, 'c', 'f'))


def true_class_ranks(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rank of the true class among the C foreground classes of each row (1 = top).

    The rank is one plus the number of foreground classes scored strictly higher than the true
    one (ties count in its favour); the background column, if any, is left out.

    Args:
        scores (np.ndarray): Class scores, shape (N, C) or (N, C + 1) with background last.
        labels (np.ndarray): True classes, shape (N,), in [0, C).

    Returns:
        np.ndarray: Ranks, int64 of shape (N,), in [1, C].
    """
    scores, labels = np.asarray(scores), np.asarray(labels, dtype=np.int64)
    if scores.ndim != 2 or labels.shape != (scores.shape[0], ):
        raise ValueError(f'scores {scores.shape} and labels {labels.shape} must be (N, C) and '
                         f'(N,)')
    true = scores[np.arange(len(labels)), labels]
    return 1 + (scores > true[:, None]).sum(axis=1)


def summarize_ranks(probs: np.ndarray, labels: np.ndarray, groups: np.ndarray,
                    names: Optional[Sequence[str]] = None, topk: int = 5) -> dict:
    """Rank statistics of ground-truth boxes by the frequency group of their true class.

    Args:
        probs (np.ndarray): Class probabilities, shape (N, C + 1), background last.
        labels (np.ndarray): True class of each box, shape (N,), in [0, C).
        groups (np.ndarray): Group of each foreground class (``'r'``, ``'c'``, ``'f'``), (C,).
        names (Sequence[str], optional): Class names for the per-class rows. Defaults to
            None (``'class {i}'``).
        topk (int): The k of the top-k share. Defaults to 5.

    Returns:
        dict: ``groups``: per group present and ``'all'``, ``boxes``, ``top1`` and
        ``top{k}`` (shares of boxes whose true class ranks 1 / within k), ``median_rank``,
        ``mean_rank``, ``top_group`` (share of boxes whose top foreground class is in each
        group), ``top_is_background`` (share whose highest of all C + 1 scores is the
        background); ``classes``: per class with boxes, ``name``, ``group``, ``boxes``,
        ``top1``, ``median_rank``.
    """
    probs, labels, groups = np.asarray(probs), np.asarray(labels, np.int64), np.asarray(groups)
    num_classes = probs.shape[1] - 1 if probs.ndim == 2 else -1
    if groups.shape != (num_classes, ):
        raise ValueError(f'probs {probs.shape} score {num_classes} foreground classes plus a '
                         f'background, but groups has shape {groups.shape}: give one group '
                         f'per foreground class')
    if len(labels) and not 0 <= labels.min() <= labels.max() < num_classes:
        raise ValueError(f'labels {labels.min()}..{labels.max()} are not all in [0, '
                         f'{num_classes})')
    ranks = true_class_ranks(probs[:, :-1], labels)
    top = probs[:, :-1].argmax(axis=1)
    background_top = probs.argmax(axis=1) == num_classes
    box_groups = groups[labels]

    def stats(sel: np.ndarray) -> dict:
        r = ranks[sel]
        return dict(boxes=int(sel.sum()), top1=float(np.mean(r == 1)),
                    **{f'top{topk}': float(np.mean(r <= topk))},
                    median_rank=float(np.median(r)), mean_rank=float(r.mean()),
                    top_group={g: float(np.mean(groups[top[sel]] == g)) for g in GROUPS},
                    top_is_background=float(background_top[sel].mean()))

    out: Dict[str, dict] = {}
    for g in GROUPS:
        if (box_groups == g).any():
            out[g] = stats(box_groups == g)
    if len(labels):
        out['all'] = stats(np.ones(len(labels), dtype=bool))
    classes: List[dict] = []
    for c in np.unique(labels).tolist():
        r = ranks[labels == c]
        classes.append(dict(label=c, name=names[c] if names is not None else f'class {c}',
                            group=str(groups[c]), boxes=int(r.size),
                            top1=float(np.mean(r == 1)), median_rank=float(np.median(r))))
    return dict(groups=out, classes=classes)


def format_rank_table(summaries: Dict[str, dict], topk: int = 5) -> str:
    """One plain-text table of several variants' :func:`summarize_ranks` results."""
    head = (f'{"variant":<22}{"group":>6}{"boxes":>8}{"top-1 %":>9}{f"top-{topk} %":>9}'
            f'{"median rank":>13}{"mean rank":>11}{"top is r/c/f %":>20}{"top is bg %":>13}')
    lines = [head]
    for variant, summary in summaries.items():
        for g, s in summary['groups'].items():
            share = '/'.join(f'{100 * s["top_group"][k]:.0f}' for k in GROUPS)
            lines.append(f'{variant:<22}{g:>6}{s["boxes"]:>8}{100 * s["top1"]:>9.1f}'
                         f'{100 * s[f"top{topk}"]:>9.1f}{s["median_rank"]:>13g}'
                         f'{s["mean_rank"]:>11.1f}{share:>20}'
                         f'{100 * s["top_is_background"]:>13.1f}')
    return '\n'.join(lines)

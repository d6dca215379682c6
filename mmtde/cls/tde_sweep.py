# Copyright (c) mmtde contributors. All rights reserved.
"""Run a classifier once, keep its pre-classifier features, score any TDE ``alpha`` from them.

``alpha`` only enters at the classifier, so features extracted once (the network's expensive
part) give the exact predictions of ``tools/test.py`` at every ``alpha``: used by
``tools/analysis/tde_alpha_sweep.py``, the demo and the benchmarks.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.utils import ProgressBar

from mmtde.evaluation import LongTailAccuracy
from mmtde.evaluation.plots import pyplot, save_figure

GROUP_KEYS = ('top1', 'many', 'medium', 'few', 'tail')


@torch.no_grad()
def extract_features(model: torch.nn.Module, dataloader,
                     progress: bool = True) -> Tuple[torch.Tensor, torch.Tensor]:
    """Pre-classifier features and labels of a whole split.

    Args:
        model (ImageClassifier): An mmpretrain classifier whose head is a ``CausalNormHead``.
        dataloader (DataLoader): The split to run.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        tuple[Tensor, Tensor]: Features (N, D) float32 and labels (N,).
    """
    model.eval()
    feats, labels = [], []
    bar = ProgressBar(len(dataloader.dataset)) if progress else None
    for data in dataloader:
        data = model.data_preprocessor(data, False)
        x = model.head.pre_logits(model.extract_feat(data['inputs']))
        feats.append(x.float().cpu())
        labels.append(torch.cat([s.gt_label for s in data['data_samples']]).cpu())
        if bar is not None:
            bar.update(x.shape[0])
    if bar is not None:
        print()
    return torch.cat(feats), torch.cat(labels)


def head_logits(head, feats: torch.Tensor, alpha: float) -> torch.Tensor:
    """Test-time logits of a ``CausalNormHead`` at ``alpha`` (no state change).

    Args:
        head (CausalNormHead): Its ``fc`` supplies the weights and ``d``.
        feats (Tensor): Features (N, D).
        alpha (float): TDE strength; 0 gives the causal-norm logits.

    Returns:
        Tensor: Logits (N, C), exactly what ``head.predict`` computes at that ``alpha``.
    """
    return head.fc.tde_logits(feats.to(head.fc.weight.device), alpha)


def score_predictions(preds: torch.Tensor, labels: torch.Tensor,
                      class_counts: Sequence[int], **metric_kwargs) -> Dict:
    """``LongTailAccuracy`` of predicted labels, plus the per-class accuracies.

    Returns:
        dict: ``top1``, ``many``, ``medium``, ``few``, ``tail`` (a group without classes is
        absent) and ``per_class`` (list, % per class).
    """
    metric = LongTailAccuracy(class_counts=class_counts, **metric_kwargs)
    results = metric.compute_metrics(list(zip(preds.tolist(), labels.tolist())))
    results['per_class'] = metric.per_class_accuracy
    return results


def sweep_alpha(head, feats: torch.Tensor, labels: torch.Tensor, alphas: Sequence[float],
                class_counts: Sequence[int], **metric_kwargs) -> List[Dict]:
    """Score every ``alpha`` from cached features: one row per ``alpha``.

    An alias of :func:`mmtde.cls.posthoc_sweep.sweep_correction` with ``correction='tde'``,
    the one sweep path, kept for the tools and benchmarks that call it by this name.
    """
    from .posthoc_sweep import sweep_correction  # that module builds on this one
    return sweep_correction(head, feats, labels, 'tde', alphas, class_counts, **metric_kwargs)


def mean_cosine(head, feats: torch.Tensor) -> torch.Tensor:
    """``cos(x, d)`` per sample, averaged over the heads: shape (N,)."""
    return head.fc.cosine(feats.to(head.fc.weight.device)).mean(dim=1)


def best_value(rows: List[Dict], param: str, key: str = 'top1') -> float:
    """The ``row[param]`` with the best ``key``; ties go to the smallest value (the weakest
    correction)."""
    best = max(rows, key=lambda r: (r.get(key, -math.inf), -r[param]))
    return best[param]


def recommend_alpha(rows: List[Dict], key: str = 'top1') -> float:
    """The ``alpha`` with the best ``key``; ties go to the smallest ``alpha``."""
    return best_value(rows, 'alpha', key)


def format_table(rows: List[Dict], label: str = 'alpha') -> str:
    """Markdown table of the group accuracies; an empty group reads 'no class'."""
    lines = [f'| {label} | overall | many | medium | few | tail |', '|---|---|---|---|---|---|']
    for row in rows:
        name = row['name'] if 'name' in row else f"{row['alpha']:g}"
        cells = [f'{row[k]:.2f}' if k in row else 'no class' for k in GROUP_KEYS]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def plot_sweep(rows: List[Dict], out_file: str, title: str = '') -> None:
    """PNG of overall / many / medium / few accuracy against ``alpha``."""
    alphas = [r['alpha'] for r in rows]
    fig, ax = pyplot().subplots(figsize=(6, 4))
    for key, style in zip(GROUP_KEYS, ('k-o', 'b-s', 'g-^', 'r-v', 'm--x')):
        if all(key in r for r in rows):
            ax.plot(alphas, [r[key] for r in rows], style, label=key)
    best = recommend_alpha(rows)
    ax.axvline(best, color='gray', ls=':', label=f'best overall: {best:g}')
    ax.set_xlabel('alpha (TDE strength)')
    ax.set_ylabel('top-1 accuracy (%)')
    save_figure(fig, ax, out_file, title or 'Accuracy against alpha')


def plot_per_class(curves: Dict[str, Sequence[float]], class_counts: Sequence[int],
                   out_file: str, class_names: Optional[Sequence[str]] = None,
                   title: str = '') -> None:
    """PNG of per-class accuracy against the class's training-set size (log x axis)."""
    counts = np.asarray(class_counts)
    order = np.argsort(-counts, kind='stable')
    fig, ax = pyplot().subplots(figsize=(7, 4))
    for (name, acc), marker in zip(curves.items(), 'osv^dx'):
        ax.plot(counts[order], np.asarray(acc)[order], f'-{marker}', label=name)
    ax.set_xscale('log')
    ax.invert_xaxis()
    ax.set_xlabel('training images of the class (log scale)')
    ax.set_ylabel('test top-1 accuracy (%)')
    if class_names is not None and len(class_names) <= 20:
        for i in order:
            ax.annotate(class_names[i], (counts[i], 2), fontsize=7, rotation=90, ha='center')
    save_figure(fig, ax, out_file, title or 'Per-class accuracy against training-set size')

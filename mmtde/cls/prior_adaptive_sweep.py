# Copyright (c) mmtde contributors. All rights reserved.
"""Score the prior-adaptive choice on many test sets from one feature pass: for every set,
the estimated prior (EM and BBSE) against the true one, and the accuracy of each correction at
the fixed held-out value, at the adaptive value and at the set's best value in hindsight.
Used by ``tools/analysis/tde_alpha_sweep.py --test-priors``.
"""
import math
from typing import Dict, List

import torch
from torch import Tensor

from mmtde.evaluation.plots import pyplot
from mmtde.functional import adjust_logits, total_variation

from .datasets import parse_test_prior
from .posthoc_sweep import PARAM, correction_logits
from .prior_adaptive import ESTIMATORS, PriorAdaptiveSelector

NAMES = {'tde': 'TDE', 'logit_adjustment': 'logit adjustment'}
#: Row order of the table and the figure: (key, label).
CHOICES = (('fixed', 'picked on held-out (fixed)'), ('adaptive_em', 'adaptive, EM prior'),
           ('adaptive_bbse', 'adaptive, BBSE prior'),
           ('estimated_prior_em', 'with the EM prior, tau 1'),
           ('adaptive_true', 'adaptive, true prior (diagnostic)'),
           ('hindsight', 'best in hindsight'))


def _top1(preds: Tensor, labels: Tensor) -> float:
    return 100.0 * (preds == labels).double().mean().item()


@torch.no_grad()
def score_prior_adaptive(selector: PriorAdaptiveSelector, feats: Tensor, labels: Tensor,
                         test_sets: List[Dict]) -> Dict:
    """Estimate, choose and score on every test set (index subsets of one feature pass).

    Args:
        selector (PriorAdaptiveSelector): Built on the held-out split.
        feats (Tensor): Features (N, D) of the full test split.
        labels (Tensor): Its labels (N,): scoring and the true prior only, never the choice.
        test_sets (list[dict]): ``name`` and ``indices`` (None: all of the split).

    Returns:
        dict: ``fixed`` values, ``grids``, the calibration and, per set name, ``true_prior``,
        the EM / BBSE estimates with their total-variation error, and per correction the
        ``value`` and ``top1`` of every choice (``adaptive_true``: re-weighted to the set's
        true prior, a diagnostic that needs the labels).
    """
    labels = labels.cpu()
    preds = {c: torch.stack([correction_logits(selector.head, feats, c, v,
                                               selector.train_log_prior).argmax(1).cpu()
                             for v in values]) for c, values in selector.grids.items()}
    plain = correction_logits(selector.head, feats, 'none') \
        if 'logit_adjustment' in selector.grids else None
    out = dict(fixed=selector.fixed, grids=selector.grids, estimator_classifier=dict(
        correction=selector.base[0], value=selector.base[1]),
        calibration=dict(inv_temperature=selector.calibration.inv_temperature,
                         bias=selector.calibration.bias.tolist()), sets={})
    for test_set in test_sets:
        idx = test_set.get('indices')
        idx = torch.arange(len(labels)) if idx is None else torch.as_tensor(idx)
        set_labels = labels[idx]
        true = torch.bincount(set_labels, minlength=selector.num_classes).double()
        true /= true.sum()
        record = dict(true_prior=true.tolist())
        estimates = {}
        for estimator in ESTIMATORS:
            est = selector.estimate(feats[idx], estimator)
            estimates[estimator] = est
            record[estimator] = dict(prior=est.prior.tolist(), converged=est.converged,
                                     iterations=est.iterations, message=est.message,
                                     tv=total_variation(est.prior, true))
        for correction, values in selector.grids.items():
            accs = [_top1(p[idx], set_labels) for p in preds[correction]]
            choices = dict(fixed=selector.fixed[correction])
            for estimator, est in estimates.items():
                choices[f'adaptive_{estimator}'] = selector.choose(est.prior)[correction]
            # what the held-out re-weighting would pick knowing the prior: separates the
            # estimate's error from the held-out split's own noise
            choices['adaptive_true'] = selector.choose(true)[correction]
            best = max(range(len(values)), key=lambda i: (round(accs[i], 9), -values[i]))
            choices['hindsight'] = values[best]
            rows = {k: dict(value=v, top1=accs[values.index(v)]) for k, v in choices.items()}
            if correction == 'logit_adjustment':
                log_q = estimates['em'].prior.clamp_min(1e-12).log()
                adjusted = adjust_logits(plain[idx], selector.train_log_prior, 1.0, log_q)
                rows['estimated_prior_em'] = dict(value=1.0,
                                                  top1=_top1(adjusted.argmax(1).cpu(),
                                                             set_labels))
            record[correction] = rows
        out['sets'][test_set['name']] = record
    return out


def format_prior_adaptive(result: Dict) -> str:
    """Markdown: a row per correction x choice (``top1 (value)``), a column per test set, then
    the total-variation error of each estimated prior."""
    names = list(result['sets'])
    lines = ['| correction | ' + ' | '.join(names) + ' |', '|---|' + '---|' * len(names)]
    for correction in result['grids']:
        for key, label in CHOICES:
            if key not in result['sets'][names[0]][correction]:
                continue
            cells = [result['sets'][n][correction][key] for n in names]
            text = [f"{c['top1']:.2f}" + ('' if key == 'estimated_prior_em'
                                          else f" ({c['value']:g})") for c in cells]
            lines.append(f'| {NAMES[correction]} {label} | ' + ' | '.join(text) + ' |')
    for estimator in ESTIMATORS:
        cells = [f"{result['sets'][n][estimator]['tv']:.3f}"
                 + ('' if result['sets'][n][estimator]['converged'] else ' (not converged)')
                 for n in names]
        lines.append(f'| TV error of the {estimator.upper()} prior | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def shift_position(name: str) -> float:
    """x of a shifted test set: ``-log10 IF`` forward, 0 uniform, ``+log10 IF`` backward."""
    factor, backward = parse_test_prior(name)
    return (1 if backward else -1) * math.log10(factor)


def plot_prior_adaptive(result: Dict, out_file: str, title: str = '') -> None:
    """PNG, a panel per correction: top-1 against the test prior for each choice (x: the
    signed log10 of the test imbalance, see :func:`shift_position`)."""
    names = list(result['sets'])
    try:
        xs = [shift_position(n) for n in names]
    except ValueError:  # not the protocol's named sets: one position each
        xs = list(range(len(names)))
    corrections = list(result['grids'])
    fig, axes = pyplot().subplots(1, len(corrections), figsize=(6 * len(corrections), 4),
                                  squeeze=False)
    styles = dict(fixed='k--o', adaptive_em='b-s', adaptive_bbse='c:^',
                  estimated_prior_em='m-.v', hindsight='r-x')
    shown = [c for c in CHOICES if c[0] != 'adaptive_true']
    for ax, correction in zip(axes[0], corrections):
        for key, label in shown:
            if key in result['sets'][names[0]][correction]:
                ax.plot(xs, [result['sets'][n][correction][key]['top1'] for n in names],
                        styles[key], label=label, ms=4)
        ax.set_xticks(xs)
        ax.set_xticklabels(names, rotation=60, fontsize=7)
        ax.set_xlabel('test set (forward: head classes frequent, backward: tail classes)')
        ax.set_ylabel('top-1 accuracy (%)')
        ax.set_title(f'{NAMES[correction]} ({PARAM[correction]})')
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file, dpi=120)
    pyplot().close(fig)

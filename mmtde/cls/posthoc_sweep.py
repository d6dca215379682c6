# Copyright (c) mmtde contributors. All rights reserved.
"""TDE, De-confound and the post-hoc baselines, scored on many test sets from cached features.

Every correction here acts on the classifier only, so the pre-classifier features of a split,
extracted once (:func:`mmtde.cls.tde_sweep.extract_features`), give the exact predictions of
each of them, and the shifted test sets of LADE's / SADE's protocol are index subsets of the
full test split's features. Used by ``tools/analysis/tde_alpha_sweep.py --posthoc``.

Corrections (the maths is in :mod:`mmtde.functional`):

* ``'tde'``: TDE at ``alpha`` (0: De-confound); causal-norm heads only.
* ``'logit_adjustment'``: ``logits - tau log pi_train`` (Menon et al. 2021), any head; with
  ``test_prior=True`` the oracle ``logits - log pi_train + log pi_test`` that knows the class
  frequencies of the scored test set.
* ``'tau_norm'``: ``<x, w_i / |w_i| ** tau>`` (Kang et al. 2020), linear heads only.
* ``'none'``: the logits as trained.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from mmtde.functional import (
    CausalNormLinear,
    adjust_logits,
    log_class_prior,
    tau_normalized_logits,
)

from .datasets import TEST_PRIORS, count_labels, parse_test_prior
from .tde_sweep import best_value, score_predictions

#: Why a correction does not apply to a kind of classifier (reported, never silently dropped).
NOT_APPLICABLE = {
    ('linear', 'tde'): 'TDE needs the causal-norm classifier and its moving-average feature d '
    '(CausalNormHead); a linear head has neither',
    ('causal_norm', 'tau_norm'): 'the causal-norm head already divides every weight chunk by '
    'its norm (w_ik / (|w_ik| + gamma)): that is tau-normalisation at tau = 1 up to gamma, so '
    'tau-norm on it would only move gamma between its trained value and 0 (try '
    '--cfg-options model.head.gamma=0 for that), not remove a learnt norm imbalance',
}
CORRECTIONS = ('tde', 'logit_adjustment', 'tau_norm')
#: The parameter each correction sweeps.
PARAM = {'tde': 'alpha', 'logit_adjustment': 'tau', 'tau_norm': 'tau'}


def classifier_kind(head: nn.Module) -> str:
    """``'causal_norm'`` (a ``CausalNormHead``) or ``'linear'`` (mmpretrain ``LinearClsHead``)."""
    if isinstance(getattr(head, 'fc', None), CausalNormLinear):
        return 'causal_norm'
    from mmpretrain.models.heads import LinearClsHead
    if isinstance(head, LinearClsHead) and isinstance(head.fc, nn.Linear):
        return 'linear'
    raise TypeError(f'{type(head).__name__}: the corrections are defined for CausalNormHead '
                    f'and mmpretrain LinearClsHead checkpoints (they act on the classifier '
                    f'weights of one of these)')


def applicable_corrections(head: nn.Module) -> Tuple[List[str], Dict[str, str]]:
    """The corrections that apply to ``head``, and the reason for each that does not."""
    kind = classifier_kind(head)
    skipped = {c: NOT_APPLICABLE[kind, c] for c in CORRECTIONS if (kind, c) in NOT_APPLICABLE}
    return [c for c in CORRECTIONS if c not in skipped], skipped


def plain_logits(head: nn.Module, feats: Tensor) -> Tensor:
    """Logits (N, C) of the classifier as trained (a causal-norm head: De-confound)."""
    feats = feats.to(head.fc.weight.device)
    if classifier_kind(head) == 'causal_norm':
        return head.fc.tde_logits(feats, 0.0)
    return head.fc(feats).float()


def correction_logits(head: nn.Module, feats: Tensor, correction: str, value: float = 0.0,
                      train_log_prior: Optional[Tensor] = None,
                      test_log_prior: Optional[Tensor] = None) -> Tensor:
    """Logits (N, C) of ``head`` on features (N, D) under one correction.

    Args:
        head (nn.Module): A ``CausalNormHead`` or ``LinearClsHead``.
        feats (Tensor): Pre-classifier features (N, D).
        correction (str): ``'none'``, ``'tde'``, ``'logit_adjustment'`` or ``'tau_norm'``.
        value (float): ``alpha`` (TDE) or ``tau``. Defaults to 0.
        train_log_prior (Tensor, optional): ``log pi_train`` (C,); logit adjustment needs it.
        test_log_prior (Tensor, optional): ``log pi_test`` (C,) for logit adjustment; None is
            a uniform test prior.
    """
    kind = classifier_kind(head)
    if (kind, correction) in NOT_APPLICABLE:
        raise ValueError(f'{correction} does not apply to {type(head).__name__}: '
                         f'{NOT_APPLICABLE[kind, correction]}')
    feats = feats.to(head.fc.weight.device)
    if correction == 'none':
        return plain_logits(head, feats)
    if correction == 'tde':
        return head.fc.tde_logits(feats, value)
    if correction == 'tau_norm':
        return tau_normalized_logits(feats, head.fc.weight.detach(), value)
    if correction == 'logit_adjustment':
        if train_log_prior is None:
            raise ValueError('logit adjustment needs the training prior (train_log_prior)')
        return adjust_logits(plain_logits(head, feats), train_log_prior, value, test_log_prior)
    raise ValueError(f'correction={correction!r} is unknown: use one of '
                     f"{('none', ) + CORRECTIONS}")


@torch.no_grad()
def sweep_correction(head: nn.Module, feats: Tensor, labels: Tensor, correction: str,
                     values: Sequence[float], class_counts: Sequence[int],
                     **metric_kwargs) -> List[Dict]:
    """Score ``correction`` at every value on one split: a row per value, keyed by
    :data:`PARAM` (``alpha`` or ``tau``), with the :func:`score_predictions` metrics.

    The one sweep of the package (:func:`mmtde.cls.tde_sweep.sweep_alpha` is this with
    ``'tde'``). ``metric_kwargs`` go to ``LongTailAccuracy`` (e.g. its group thresholds).
    """
    # Only logit adjustment reads the prior, which refuses classes without training images.
    prior = log_class_prior(class_counts) if correction == 'logit_adjustment' else None
    rows = []
    for value in values:
        logits = correction_logits(head, feats, correction, float(value), prior)
        rows.append({PARAM[correction]: float(value),
                     **score_predictions(logits.argmax(1).cpu(), labels, class_counts,
                                         **metric_kwargs)})
    return rows


def pick(rows: List[Dict], correction: str) -> float:
    """The value with the best top-1 on the rows' split; ties go to the weakest correction."""
    return best_value(rows, PARAM[correction])


def expand_test_priors(names: Sequence[str]) -> List[str]:
    """Names of shifted test sets, ``'all'`` for :data:`TEST_PRIORS`; validated, in order,
    without repeats."""
    out = []
    for name in names:
        for one in (TEST_PRIORS if name == 'all' else (name, )):
            parse_test_prior(one)
            if one not in out:
                out.append(one)
    return out


def shifted_test_sets(dataset, names: Sequence[str]) -> List[Dict]:
    """The shifted test sets as indices into the full test split (drawn before any feature
    pass, so that a set the split cannot supply fails at once).

    Args:
        dataset: The full test split (a ``LongTailMixin`` dataset, e.g. ``CIFAR10LT``).
        names (Sequence[str]): Shifted test sets (:func:`expand_test_priors`).

    Returns:
        list[dict]: ``name`` and ``indices`` (LongTensor) of each set.
    """
    if not hasattr(dataset, 'test_prior_indices'):
        raise ValueError(f'{type(dataset).__name__} cannot draw shifted test sets (CIFAR10LT, '
                         f'CIFAR100LT and ImageFolderLT can): leave out --test-priors')
    return [dict(name=name, indices=torch.as_tensor(dataset.test_prior_indices(name)))
            for name in names]


def check_dataset_order(dataset, labels: Tensor) -> None:
    """Raise unless the cached features' labels follow the dataset's order, which the indices
    of :func:`shifted_test_sets` refer to."""
    if [int(v) for v in dataset.get_gt_labels()] != labels.tolist():
        raise ValueError('the test dataloader served the test split in another order than the '
                         'dataset lists it (a shuffling sampler?), so the cached features '
                         'cannot be subset like the dataset would: set '
                         'test_dataloader.sampler.shuffle=False')


def comparison_entries(kind: str, alphas: Sequence[float], picked: Dict[str, float],
                       split: str) -> List[Dict]:
    """The rows of the comparison: every alpha (causal norm) or the plain CE logits (linear),
    then each correction at the value picked on ``split``, then the test-prior oracle."""
    if kind == 'causal_norm':
        entries = [dict(name='De-confound (alpha 0)' if a == 0 else f'TDE, alpha {a:g}',
                        correction='tde', value=float(a)) for a in alphas]
    else:
        entries = [dict(name='linear CE, as trained', correction='none', value=0.0)]
    names = {'tde': 'TDE, alpha', 'logit_adjustment': 'logit adjustment, tau',
             'tau_norm': 'tau-norm, tau'}
    for correction, value in picked.items():
        entries.append(dict(name=f'{names[correction]} picked on {split} ({value:g})',
                            correction=correction, value=value, picked_on=split))
    entries.append(dict(name='logit adjustment with the test prior (oracle, tau 1)',
                        correction='logit_adjustment', value=1.0, test_prior=True))
    return entries


@torch.no_grad()
def score_comparison(head: nn.Module, entries: List[Dict], feats: Tensor, labels: Tensor,
                     test_sets: List[Dict], class_counts: Sequence[int]) -> List[Dict]:
    """Score every entry on every test set; a test set with ``indices`` None is all of them.

    Returns:
        list[dict]: The entries, each with ``results``: test-set name -> metrics.
    """
    prior = log_class_prior(class_counts)
    num_classes = len(class_counts)
    rows = []
    for entry in entries:
        full = None
        results = {}
        for test_set in test_sets:
            idx = test_set.get('indices')
            sub_feats, sub_labels = (feats, labels) if idx is None else (feats[idx], labels[idx])
            if entry.get('test_prior'):
                test_prior = log_class_prior(count_labels(sub_labels.tolist(), num_classes),
                                             what=f'{test_set["name"]} test')
                logits = correction_logits(head, sub_feats, entry['correction'],
                                           entry['value'], prior, test_prior)
                preds = logits.argmax(1).cpu()
            else:  # one pass over the full features, then the subset of its predictions
                if full is None:
                    full = correction_logits(head, feats, entry['correction'], entry['value'],
                                             prior).argmax(1).cpu()
                preds = full if idx is None else full[idx]
            results[test_set['name']] = score_predictions(preds, sub_labels, class_counts)
        rows.append(dict(entry, results=results))
    return rows


def format_matrix(rows: List[Dict], set_names: Sequence[str], key: str = 'top1') -> str:
    """Markdown table: a row per correction, a column per test set, ``key`` in each cell."""
    lines = ['| correction | ' + ' | '.join(set_names) + ' |',
             '|---|' + '---|' * len(set_names)]
    for row in rows:
        cells = [f"{row['results'][s][key]:.2f}" if key in row['results'][s] else 'no class'
                 for s in set_names]
        lines.append(f"| {row['name']} | " + ' | '.join(cells) + ' |')
    return '\n'.join(lines)

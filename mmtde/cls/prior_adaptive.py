# Copyright (c) mmtde contributors. All rights reserved.
"""Choose TDE's alpha (or logit adjustment's tau) for a test set whose class prior is unknown.

From cached pre-classifier features (:func:`mmtde.cls.tde_sweep.extract_features`):

1. on the labelled held-out split, every candidate value's per-sample correctness, the value
   with the best plain accuracy there (the *fixed* choice), and the calibration of the
   estimator's classifier (TDE at the fixed alpha for a causal-norm head, the logits as trained
   for a linear head; :func:`mmtde.functional.fit_calibration`);
2. on the unlabeled test set, its class prior, by EM or BBSE (:mod:`mmtde.functional.prior_shift`);
3. the value with the best held-out accuracy re-weighted to that prior (the *adaptive* choice).

Used by ``tools/test.py --prior-adaptive`` (:func:`adapt_to_test_prior`) and by
``tools/analysis/tde_alpha_sweep.py --test-priors`` (:mod:`mmtde.cls.prior_adaptive_sweep`).
"""
import copy
import inspect
from typing import Dict, Optional, Sequence

import torch
from torch import Tensor, nn

from mmtde.functional import (
    PriorEstimate,
    bbse_prior,
    em_prior,
    fit_calibration,
    log_class_prior,
    reweighted_accuracy,
)

from .posthoc_sweep import PARAM, classifier_kind, correction_logits

ESTIMATORS = ('em', 'bbse')
#: Candidate values of each correction: 0, 0.1, ..., 3.
DEFAULT_GRID = tuple(round(0.1 * i, 1) for i in range(31))
#: The corrections chosen per test prior, by kind of classifier.
ADAPTED = {'causal_norm': ('tde', 'logit_adjustment'), 'linear': ('logit_adjustment', )}
#: Fewer test samples a class than this and the estimate is not trusted (fallback).
MIN_TEST_PER_CLASS = 10


def heldout_dataloader_cfg(cfg) -> dict:
    """The held-out split's dataloader: the training dataset's own arguments with
    ``split='heldout'``, served with the val (else test) pipeline and batch size.

    Raises:
        ValueError: the dataset has no held-out split, or the config holds nothing out.
    """
    dataset = copy.deepcopy(cfg.train_dataloader.dataset)
    held = dataset.get('heldout_per_class', 0)
    from mmpretrain.registry import DATASETS

    from .datasets import LongTailMixin
    dataset_cls = DATASETS.get(dataset.get('type'))
    if dataset_cls is None or not issubclass(dataset_cls, LongTailMixin) \
            or 'heldout_per_class' not in inspect.signature(dataset_cls).parameters:
        raise ValueError(f'{dataset.get("type")} has no held-out split (CIFAR10LT, CIFAR100LT '
                         f'and ImageFolderLT have one, with heldout_per_class > 0)')
    if not held:
        raise ValueError(
            f'the training set of {cfg.filename} holds nothing out '
            f'(train_dataloader.dataset.heldout_per_class={held}), so every training image may '
            f'have been trained on. Train with --cfg-options '
            f'train_dataloader.dataset.heldout_per_class=50 and the same for val_dataloader and '
            f'test_dataloader (any N > 0; the tools read it from the config mmengine dumps into '
            f'the work dir), or use the rule alpha = 1 / mean cos(x, d) that '
            f'tools/analysis/tde_alpha_sweep.py prints.')
    evaluation = cfg.get('val_dataloader') or cfg.get('test_dataloader')
    if evaluation is None:
        raise ValueError(f'{cfg.filename} has neither val_dataloader nor test_dataloader to '
                         f'take the test-time pipeline from')
    dataset.split = 'heldout'
    dataset.pipeline = copy.deepcopy(evaluation.dataset.pipeline)
    loader = copy.deepcopy(evaluation)
    loader.dataset = dataset
    return loader


class PriorAdaptiveSelector:
    """What the held-out split gives once; then a prior and a choice per test set.

    Args:
        head (nn.Module): A ``CausalNormHead`` or ``LinearClsHead``.
        feats (Tensor): Held-out features (M, D).
        labels (Tensor): Held-out labels (M,); every class must occur.
        class_counts (Sequence[int]): Training images per class (logit adjustment's prior).
        grids (dict, optional): Candidate values per correction; defaults to
            :data:`DEFAULT_GRID` for each of :data:`ADAPTED`.
        calibration (str): ``'bcts'`` (temperature + per-class bias) or ``'temperature'``.
            Defaults to ``'bcts'`` (see :mod:`mmtde.functional.prior_shift` for why).
    """

    def __init__(self, head: nn.Module, feats: Tensor, labels: Tensor,
                 class_counts: Sequence[int], grids: Optional[Dict[str, Sequence[float]]] = None,
                 calibration: str = 'bcts') -> None:
        if calibration not in ('bcts', 'temperature'):
            raise ValueError(f"calibration={calibration!r}: use 'bcts' or 'temperature'")
        self.head, self.labels = head, labels.long().cpu()
        self.kind = classifier_kind(head)
        self.num_classes = len(class_counts)
        self.train_log_prior = log_class_prior(class_counts)
        grids = dict(grids or {})
        self.grids = {c: [float(v) for v in grids.get(c, DEFAULT_GRID)]
                      for c in ADAPTED[self.kind]}
        self.correct = {c: self._correct(feats, c, values) for c, values in self.grids.items()}
        self.heldout_prior = torch.bincount(self.labels, minlength=self.num_classes).double()
        self.heldout_prior /= self.heldout_prior.sum()
        self.fixed = self.choose(self.heldout_prior)
        self.base = ('tde', self.fixed['tde']) if self.kind == 'causal_norm' else ('none', 0.0)
        logits = self.base_logits(feats)
        self.calibration = fit_calibration(logits, self.labels, calibration == 'bcts')
        self.heldout_preds = self.calibration.log_probs(logits).argmax(1).cpu()

    @torch.no_grad()
    def _correct(self, feats: Tensor, correction: str, values: Sequence[float]) -> Tensor:
        """Whether each held-out prediction is right at each value: (V, M) bool."""
        return torch.stack([self._logits(feats, correction, v).argmax(1).cpu() == self.labels
                            for v in values])

    def _logits(self, feats: Tensor, correction: str, value: float) -> Tensor:
        return correction_logits(self.head, feats, correction, value, self.train_log_prior)

    @torch.no_grad()
    def base_logits(self, feats: Tensor) -> Tensor:
        """Logits (N, C) of the estimator's classifier (before calibration)."""
        return self._logits(feats, *self.base)

    @torch.no_grad()
    def estimate(self, feats: Tensor, estimator: str = 'em') -> PriorEstimate:
        """The class prior (C,) of the unlabeled samples with features (N, D)."""
        if estimator not in ESTIMATORS:
            raise ValueError(f'estimator={estimator!r} is unknown: use one of {ESTIMATORS}')
        log_probs = self.calibration.log_probs(self.base_logits(feats))
        if estimator == 'em':
            return em_prior(log_probs, self.heldout_prior)
        return bbse_prior(self.heldout_preds, self.labels, log_probs.argmax(1).cpu(),
                          self.num_classes)

    def choose(self, prior: Tensor) -> Dict[str, float]:
        """Each correction's value with the best held-out accuracy re-weighted to ``prior``;
        ties go to the smallest value (the weakest correction)."""
        picked = {}
        for correction, values in self.grids.items():
            acc = reweighted_accuracy(self.correct[correction], self.labels, prior)
            best = max(range(len(values)), key=lambda i: (round(acc[i].item(), 9), -values[i]))
            picked[correction] = values[best]
        return picked


def adapt_to_test_prior(runner, estimator: str = 'em',
                        min_per_class: int = MIN_TEST_PER_CLASS) -> Dict:
    """Estimate the test set's prior from its own unlabeled predictions and set the head for
    it, before ``runner.test()``: ``alpha`` of a ``CausalNormHead``; a ``LinearClsHead`` gets
    post-hoc logit adjustment at the chosen tau folded into its bias.

    Runs the held-out split and the test split through the network once each. Falls back to
    the held-out choice, with a logged warning, when the test set has fewer than
    ``min_per_class`` samples a class or the estimate did not converge.

    Args:
        runner (Runner): Built from a classification config; its checkpoint is loaded here.
        estimator (str): ``'em'`` or ``'bbse'``. Defaults to ``'em'``.
        min_per_class (int): Test samples a class needed. Defaults to 10.

    Returns:
        dict: What was estimated and chosen (also logged).
    """
    from mmengine.logging import MMLogger
    from mmengine.model import is_model_wrapper

    from .tde_sweep import extract_features
    logger = MMLogger.get_current_instance()
    if estimator not in ESTIMATORS:
        raise ValueError(f'--prior-adaptive {estimator!r}: use one of {ESTIMATORS}')
    cfg = runner.cfg
    if cfg.get('test_dataloader') is None:
        raise ValueError(f'{cfg.filename} has no test_dataloader to adapt to')
    heldout_cfg = heldout_dataloader_cfg(cfg)  # refuses before any work
    runner.load_or_resume()
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    head = getattr(model, 'head', None)
    if head is None or getattr(head, 'fc', None) is None:
        raise TypeError(f'--prior-adaptive needs an mmpretrain classifier with a '
                        f'CausalNormHead or LinearClsHead, got {type(model).__name__}')
    kind = classifier_kind(head)
    test_loader = runner.build_dataloader(copy.deepcopy(cfg.test_dataloader))
    counts = test_loader.dataset.metainfo.get('class_counts')
    if counts is None:
        raise ValueError('the test dataset does not carry the training class counts '
                         '(metainfo class_counts), which logit adjustment needs: use a '
                         'CIFAR10LT / CIFAR100LT / ImageFolderLT test split')
    heldout_loader = runner.build_dataloader(heldout_cfg)
    if list(heldout_loader.dataset.metainfo.get('class_counts') or []) != list(counts):
        raise ValueError(f'the test split describes training class counts {counts} but the '
                         f'held-out split {heldout_loader.dataset.metainfo.get("class_counts")}: '
                         f'give every split the same heldout_per_class (and imbalance_factor, '
                         f'seed) as the training run')
    feats, labels = extract_features(model, heldout_loader, False)
    selector = PriorAdaptiveSelector(head, feats, labels, counts)
    test_feats, _ = extract_features(model, test_loader, False)  # labels never read
    estimate = selector.estimate(test_feats, estimator)
    too_few = test_feats.shape[0] < min_per_class * selector.num_classes
    reason = (f'the test set has {test_feats.shape[0]} samples, fewer than {min_per_class} a '
              f'class' if too_few else estimate.message)
    picked = selector.fixed if reason else selector.choose(estimate.prior)
    correction = ADAPTED[kind][0]
    value = picked[correction]
    prior_text = ', '.join(f'{p:.3f}' for p in estimate.prior.tolist())
    logger.info(f'prior-adaptive ({estimator}, {test_feats.shape[0]} test samples): '
                f'estimated test prior [{prior_text}]')
    if reason:
        logger.warning(f'prior-adaptive: {reason}; falling back to the held-out choice '
                       f'{PARAM[correction]}={value:g}')
    else:
        logger.info(f'prior-adaptive: {PARAM[correction]}={value:g} for this test prior '
                    f'(held-out choice {selector.fixed[correction]:g})')
    if kind == 'causal_norm':
        head.alpha = value
    else:  # logits - tau log pi_train, as a bias
        with torch.no_grad():
            shift = -value * selector.train_log_prior
            head.fc.bias.add_(shift.to(head.fc.bias.device, head.fc.bias.dtype))
    return dict(estimator=estimator, prior=estimate.prior.tolist(),
                converged=estimate.converged, iterations=estimate.iterations,
                fallback=reason or None, correction=correction, value=value,
                heldout_value=selector.fixed[correction], test_size=int(test_feats.shape[0]))

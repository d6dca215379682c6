# Copyright (c) mmtde contributors. All rights reserved.
"""Label shift without test labels: estimate a test set's class prior from a model's own
predictions, and score a correction for that prior on held-out data. Pure torch.

* :func:`fit_calibration`: bias-corrected temperature scaling (BCTS; Alexandari, Kundaje and
  Shrikumar, ICML 2020): ``log softmax(beta z + b)`` with ``beta`` and the per-class ``b``
  fitted by the held-out negative log-likelihood. EM needs posteriors that are calibrated
  *for the prior it divides by*; the logits of a model trained on a long tail (De-confound, CE,
  and TDE to a lesser degree) still lean to the training prior, which one temperature cannot
  remove but a per-class bias can. At the optimum the mean calibrated posterior of every class
  equals its held-out frequency (the gradient in ``b_c``), so EM run on the held-out split
  itself stays at the held-out prior. ``bias=False`` is plain temperature scaling.
* :func:`em_prior` (Saerens, Latinne and Decaestecker, Neural Computation 2002): iterate
  ``q(c) = mean_x p_q(c|x)`` with ``p_q(c|x) ∝ p(c|x) q(c) / pi(c)``, the maximum-likelihood
  test prior; a run that does not settle within ``max_iter`` is flagged, not returned as if
  it had.
* :func:`bbse_prior` (Lipton, Wang and Smola, ICML 2018): solve ``C w = mu`` for the weights
  ``w_c = q_c / pi_c``, ``C`` the held-out joint confusion matrix (predicted x true, summing to
  1), ``mu`` the test set's distribution of predicted labels; ``q = w pi`` clipped at 0 and
  renormalised. A singular ``C`` (a class never predicted) is flagged.
* :func:`reweighted_accuracy`: held-out accuracy with importance weights ``q_y / pi_y`` per
  sample, the accuracy a prediction rule would have on a test set with prior ``q`` (it equals
  ``sum_c q_c acc_c``).

``pi`` is the held-out split's own class frequency throughout (balanced on CIFAR-LT's
held-out split): the probabilities are calibrated, and the confusion matrix measured, there.
"""
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


class PriorEstimate(NamedTuple):
    """An estimated test prior and whether to trust it.

    Attributes:
        prior (Tensor): Shape (C,), float64, non-negative, sums to 1.
        converged (bool): False when EM hit ``max_iter`` or BBSE's confusion matrix is
            singular; ``message`` says which.
        iterations (int): EM iterations (0 for BBSE).
        message (str): Empty when ``converged``.
    """
    prior: Tensor
    converged: bool
    iterations: int
    message: str = ''


class Calibration(NamedTuple):
    """``log softmax(inv_temperature * logits + bias)`` (:func:`fit_calibration`)."""
    inv_temperature: float
    bias: Tensor  # (C,), float64

    def log_probs(self, logits: Tensor) -> Tensor:
        """Calibrated log-posteriors (N, C), float64, of logits (N, C)."""
        logits = _check_matrix(logits, 'logits', self.bias.numel())
        return F.log_softmax(self.inv_temperature * logits + self.bias.to(logits.device), 1)


def _check_matrix(x: Tensor, name: str, num_classes: int = None) -> Tensor:
    if x.dim() != 2 or x.shape[0] == 0 or (num_classes is not None
                                            and x.shape[1] != num_classes):
        want = f'(N, {num_classes})' if num_classes is not None else '(N, C)'
        raise ValueError(f'{name} must have shape {want} with N >= 1, got {tuple(x.shape)}')
    x = x.detach().to(torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError(f'{name} holds NaN or inf: check the model output (a prior cannot be '
                         f'estimated from it)')
    return x


def _label_prior(labels: Tensor, num_classes: int, what: str) -> Tensor:
    """Class frequencies (C,) float64 of ``labels``; every class must occur."""
    labels = labels.detach().long().flatten().cpu()
    if labels.numel() == 0 or labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f'{what} labels must be non-empty and lie in [0, {num_classes})')
    counts = torch.bincount(labels, minlength=num_classes).double()
    if (counts == 0).any():
        c = int(torch.nonzero(counts == 0)[0])
        raise ValueError(f'class {c} has no sample in the {what} split, so its prior there is 0 '
                         f'and the weight q_c / pi_c is undefined: hold out images of every '
                         f'class (e.g. heldout_per_class=50)')
    return counts / counts.sum()


def total_variation(p: Tensor, q: Tensor) -> float:
    """``0.5 sum_c |p_c - q_c|`` of two distributions (C,): 0 equal, 1 disjoint."""
    return 0.5 * (p.double().cpu() - q.double().cpu()).abs().sum().item()


def fit_calibration(logits: Tensor, labels: Tensor, bias: bool = True,
                    max_iter: int = 200) -> Calibration:
    """Fit ``beta`` (and the bias ``b``) of ``log softmax(beta z + b)`` by held-out NLL.

    The NLL is convex in ``(beta, b)``; L-BFGS (float64) runs on ``log beta`` so that the
    temperature stays positive.

    Args:
        logits (Tensor): Held-out logits (M, C).
        labels (Tensor): Held-out labels (M,); every class must occur.
        bias (bool): Fit the per-class bias (BCTS); False is temperature scaling only.
            Defaults to True.
        max_iter (int): L-BFGS iterations. Defaults to 200.

    Returns:
        Calibration: ``inv_temperature`` (beta) and ``bias`` (C,), the bias centred to sum 0.
    """
    logits = _check_matrix(logits, 'held-out logits').cpu()
    num_classes = logits.shape[1]
    labels = labels.detach().long().flatten().cpu()
    if labels.numel() != logits.shape[0]:
        raise ValueError(f'{labels.numel()} held-out labels for {logits.shape[0]} logits')
    _label_prior(labels, num_classes, 'held-out')
    log_beta = torch.zeros((), dtype=torch.float64, requires_grad=True)
    b = torch.zeros(num_classes, dtype=torch.float64, requires_grad=bias)
    params = [log_beta, b] if bias else [log_beta]
    optim = torch.optim.LBFGS(params, lr=1, max_iter=max_iter, line_search_fn='strong_wolfe')

    def closure():
        optim.zero_grad()
        loss = F.cross_entropy(log_beta.exp() * logits + b, labels)
        loss.backward()
        return loss

    with torch.enable_grad():
        optim.step(closure)
    beta = log_beta.exp().item()
    if not math.isfinite(beta) or not torch.isfinite(b).all():
        raise ValueError('the held-out calibration diverged (non-finite temperature or bias): '
                         'check that the held-out logits are finite and not all equal')
    return Calibration(beta, (b - b.mean()).detach())


def em_prior(log_probs: Tensor, source_prior: Tensor, tol: float = 1e-8,
             max_iter: int = 10000) -> PriorEstimate:
    """EM re-estimation of the test prior (Saerens et al. 2002), in log space.

    Args:
        log_probs (Tensor): Calibrated log-posteriors ``log p(c|x)`` (N, C) of the N unlabeled
            test samples, calibrated for ``source_prior``.
        source_prior (Tensor): ``pi`` (C,), the prior the posteriors are calibrated for; > 0.
        tol (float): Stop when no ``q_c`` moves more than this. Defaults to 1e-8.
        max_iter (int): Iterations before the run is flagged as not converged.
            Defaults to 10000.

    Returns:
        PriorEstimate: ``q`` (C,); ``converged`` False (and the last iterate) if EM did not
        settle.
    """
    if int(max_iter) < 1 or not tol > 0:
        raise ValueError(f'em_prior needs max_iter >= 1 and tol > 0, got {max_iter}, {tol}')
    log_probs = _check_matrix(log_probs, 'log_probs')
    num_classes = log_probs.shape[1]
    pi = source_prior.detach().to(log_probs.device, torch.float64).flatten()
    if pi.numel() != num_classes or not torch.isfinite(pi).all() or (pi <= 0).any():
        raise ValueError(f'source_prior must have {num_classes} positive entries, got '
                         f'{pi.tolist()}')
    pi = pi / pi.sum()
    log_ratio_base = log_probs - pi.log()
    q = pi.clone()
    for it in range(1, max_iter + 1):
        new = F.softmax(log_ratio_base + q.log(), dim=1).mean(0)
        step = (new - q).abs().max().item()
        q = new
        if step < tol:
            return PriorEstimate(q.cpu(), True, it)
    return PriorEstimate(q.cpu(), False, max_iter,
                         f'EM did not converge in {max_iter} iterations (last step '
                         f'{step:.2g} > tol {tol:g})')


def bbse_prior(heldout_preds: Tensor, heldout_labels: Tensor, test_preds: Tensor,
               num_classes: int) -> PriorEstimate:
    """Black-box shift estimation of the test prior (Lipton et al. 2018).

    Args:
        heldout_preds (Tensor): Predicted labels (M,) on the held-out split.
        heldout_labels (Tensor): True labels (M,) there; every class must occur.
        test_preds (Tensor): Predicted labels (N,) of the unlabeled test samples.
        num_classes (int): C.

    Returns:
        PriorEstimate: ``q = clip(w pi, 0)`` renormalised; ``converged`` False when the
        confusion matrix is singular (the least-squares solution of smallest norm is used).
    """
    preds = heldout_preds.detach().long().flatten().cpu()
    labels = heldout_labels.detach().long().flatten().cpu()
    test = test_preds.detach().long().flatten().cpu()
    if preds.numel() != labels.numel():
        raise ValueError(f'{preds.numel()} held-out predictions for {labels.numel()} labels')
    for name, x in (('held-out predictions', preds), ('test predictions', test)):
        if x.numel() == 0 or x.min() < 0 or x.max() >= num_classes:
            raise ValueError(f'{name} must be non-empty and lie in [0, {num_classes})')
    pi = _label_prior(labels, num_classes, 'held-out')
    joint = torch.bincount(preds * num_classes + labels, minlength=num_classes**2)
    joint = joint.double().view(num_classes, num_classes) / preds.numel()  # [pred, true]
    mu = torch.bincount(test, minlength=num_classes).double() / test.numel()
    rank = int(torch.linalg.matrix_rank(joint))
    w = torch.linalg.lstsq(joint, mu[:, None], driver='gelsd').solution.flatten()
    q = (w * pi).clamp_min(0)
    if q.sum() <= 0:
        raise ValueError('BBSE gave no positive class weight (every w_c <= 0): the held-out '
                         'confusion matrix does not describe the test predictions')
    q = q / q.sum()
    if rank < num_classes:
        never = torch.nonzero(joint.sum(1) == 0).flatten().tolist()
        return PriorEstimate(q, False, 0, f'the held-out confusion matrix has rank {rank} < '
                             f'{num_classes} (classes never predicted there: {never})')
    return PriorEstimate(q, True, 0)


def reweighted_accuracy(correct: Tensor, labels: Tensor, target_prior: Tensor) -> Tensor:
    """Held-out accuracy (%) re-weighted to a target prior.

    Every held-out sample gets the importance weight ``q_y / pi_y`` (``pi`` the held-out label
    frequencies), so the result is ``sum_c q_c acc_c``: the accuracy the same predictions
    would have on a test set with class prior ``q`` and the held-out class conditionals.

    Args:
        correct (Tensor): Whether each held-out prediction is right, shape (..., M), e.g.
            (V, M) for V candidate corrections.
        labels (Tensor): Held-out labels (M,); every class must occur.
        target_prior (Tensor): ``q`` (C,), non-negative, summing to 1.

    Returns:
        Tensor: Shape (...), float64, in %.
    """
    q = target_prior.detach().double().flatten().cpu()
    if not torch.isfinite(q).all() or (q < 0).any() or abs(q.sum().item() - 1) > 1e-6:
        raise ValueError(f'target_prior must be a distribution (>= 0, sum 1), got {q.tolist()}')
    labels = labels.detach().long().flatten().cpu()
    if correct.shape[-1] != labels.numel():
        raise ValueError(f'correct has {correct.shape[-1]} samples, labels {labels.numel()}')
    pi = _label_prior(labels, q.numel(), 'held-out')
    weights = (q / pi)[labels]
    return 100.0 * (correct.detach().cpu().double() * weights).sum(-1) / weights.sum()

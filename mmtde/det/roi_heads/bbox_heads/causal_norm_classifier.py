# Copyright (c) mmtde contributors. All rights reserved.
import math
from typing import Optional

import torch
from torch import Tensor, nn

from mmtde.functional import (MovingAverageFeature, background_exempted_log_probs,
                              fold_tde_weight, normalize_feature, normalize_weight,
                              normalized_logits)


def check_number(name: str, value: float, positive: bool = False) -> float:
    """Validate a finite hyper-parameter that must be >= 0 (or > 0) and return it as float."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or \
        not math.isfinite(value) or value < 0 or (positive and value == 0)
    if bad:
        rule = 'a positive number' if positive else 'a number >= 0'
        raise ValueError(f'{name}={value!r} must be {rule} (paper values for LVIS: tau=16, '
                         f'gamma=1/32, alpha=1.5; alpha=0 turns TDE off)')
    return float(value)


class CausalNormClassifier(nn.Module):
    """The classifier of a TDE bbox head: causal-norm logits over C+1 classes and ``d``.

    It stands in for mmdet's ``fc_cls`` (``Linear(D, C + 1)``), so the host's ``forward`` runs
    unchanged. Background is the last row, as everywhere in mmdet 3.x.

    * train mode: returns the causal-norm logits ``(tau/K) sum_k <x_k/|x_k|, w_k/(|w_k|+gamma)>``
      for the host's cross-entropy, and keeps the detached input for :meth:`update_feature`:
      the labels that select the foreground RoIs only exist later, in the head's
      ``loss_and_target``, which never sees features.
    * eval mode: returns ``log`` of the background-exempted TDE probabilities (or the plain
      logits when TDE is off). mmdet's ``predict_by_feat`` applies softmax to what the head
      returns, which turns either back into exactly the intended probabilities.

    Mode decides because mmdet calls the same ``forward`` for the loss and for prediction.

    Args:
        in_features (int): Feature size D.
        out_features (int): C + 1 (foreground classes and background).
        num_head (int): K; must divide D. Defaults to 2.
        tau (float): Temperature. Defaults to 16.
        gamma (float): Offset of the weight norm; 0 is a cosine classifier. Defaults to 1/32.
        alpha (float): TDE strength at test time. Defaults to 1.5.
        use_tde (bool): Apply TDE at test time; False is the same as ``alpha=0``.
            Defaults to True.
        mu (float): Momentum of ``d``. Defaults to 0.9998.
    """

    def __init__(self, in_features: int, out_features: int, num_head: int = 2,
                 tau: float = 16.0, gamma: float = 1 / 32, alpha: float = 1.5,
                 use_tde: bool = True, mu: float = 0.9998) -> None:
        super().__init__()
        if isinstance(num_head, bool) or not isinstance(num_head, int) or num_head < 1 \
                or in_features % num_head != 0:
            divisors = [k for k in (1, 2, 4, 8) if in_features % k == 0]
            raise ValueError(f'num_head={num_head!r} must be a positive divisor of the '
                             f'classifier input size {in_features} (fc_out_channels of the bbox '
                             f'head); e.g. one of {divisors}')
        self.in_features = in_features
        self.out_features = out_features
        self.num_head = num_head
        self.tau = check_number('tau', tau, positive=True)
        self.gamma = check_number('gamma', gamma)
        self.alpha = alpha
        self.use_tde = bool(use_tde)
        # No bias; W ~ U(-1/sqrt(D), 1/sqrt(D)) as in the reference.
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.feat_ema = MovingAverageFeature(in_features, num_head, mu)
        self._train_feature: Optional[Tensor] = None

    @property
    def alpha(self) -> float:
        """float: TDE strength used in eval mode; validated on every assignment."""
        return self._alpha

    @alpha.setter
    def alpha(self, value: float) -> None:
        self._alpha = check_number('alpha', value)

    def forward(self, x: Tensor) -> Tensor:
        """Scores of shape (N, C + 1), float32: logits (train) or log-probabilities (eval).

        Args:
            x (Tensor): Classifier input (the post-ReLU RoI feature), shape (N, D).
        """
        x_hat = normalize_feature(x, self.num_head)
        w_hat = normalize_weight(self.weight, self.num_head, self.gamma)
        logits = normalized_logits(x_hat, w_hat, self.tau)
        if self.training:
            self._train_feature = x.detach()
            return logits
        if not self.use_tde or self.alpha == 0:
            return logits
        self.feat_ema.check_ready(type(self).__name__)
        w_tde = fold_tde_weight(self.weight, self.feat_ema.d, self.num_head, self.gamma,
                                self.alpha)
        return background_exempted_log_probs(logits, normalized_logits(x_hat, w_tde, self.tau))

    def update_feature(self, foreground: Tensor) -> bool:
        """Fold the foreground rows of the last training input into ``d``.

        Args:
            foreground (Tensor): Bool mask (N,) over the rows of the last train-mode input.

        Returns:
            bool: Whether ``d`` changed (False when the global batch has no foreground RoI).
        """
        feature, self._train_feature = self._train_feature, None
        if feature is None or feature.shape[0] != foreground.numel():
            got = 'none' if feature is None else f'{feature.shape[0]} rows'
            raise RuntimeError(
                f'update_feature needs the features of the {foreground.numel()} RoIs just '
                f'classified in train mode, but the last train-mode forward kept {got}: call '
                f'the bbox head forward and its loss_and_target on the same RoIs, in order.')
        return self.feat_ema.update(feature, foreground.to(feature.device))

    def extra_repr(self) -> str:
        return (f'in_features={self.in_features}, out_features={self.out_features}, '
                f'num_head={self.num_head}, tau={self.tau}, gamma={self.gamma}, '
                f'alpha={self.alpha}, use_tde={self.use_tde}')

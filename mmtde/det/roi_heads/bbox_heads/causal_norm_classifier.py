# Copyright (c) mmtde contributors. All rights reserved.
from typing import Optional

from torch import Tensor

from mmtde.functional import (CausalNormLinear, background_exempted_log_probs,
                              normalize_feature)


class CausalNormClassifier(CausalNormLinear):
    """The classifier of a TDE bbox head: causal-norm logits over C+1 classes and ``d``.

    It stands in for mmdet's ``fc_cls`` (``Linear(D, C + 1)``), so the host's ``forward`` runs
    unchanged. Background is the last row, as everywhere in mmdet 3.x.

    * train mode: returns the causal-norm logits for the host's cross-entropy, and keeps the
      detached input for :meth:`update_feature`: the labels that select the foreground RoIs
      only exist later, in the head's ``loss_and_target``, which never sees features.
    * eval mode: returns ``log`` of the background-exempted TDE probabilities (or the plain
      logits when TDE is off). mmdet's ``predict_by_feat`` applies softmax to what the head
      returns, which turns either back into exactly the intended probabilities.

    Mode decides because mmdet calls the same ``forward`` for the loss and for prediction.
    Arguments are those of :class:`CausalNormLinear` (``out_features`` = C + 1), with the
    LVIS defaults ``alpha=1.5`` and ``mu=0.9998``.
    """

    num_extra_rows = 1  # background

    def __init__(self, in_features: int, out_features: int, num_head: int = 2,
                 tau: float = 16.0, gamma: float = 1 / 32, alpha: float = 1.5,
                 use_tde: bool = True, mu: float = 0.9998) -> None:
        super().__init__(in_features, out_features, num_head, tau, gamma, alpha, use_tde, mu)
        self._train_feature: Optional[Tensor] = None

    def forward(self, x: Tensor) -> Tensor:
        """Scores of shape (N, C + 1), float32: logits (train) or log-probabilities (eval).

        Args:
            x (Tensor): Classifier input (the post-ReLU RoI feature), shape (N, D).
        """
        x_hat = normalize_feature(x, self.num_head)
        logits = self.logits_at(x_hat, 0.0)
        if self.training:
            self._train_feature = x.detach()
            return logits
        alpha = self.test_alpha()
        if alpha == 0:
            return logits
        return background_exempted_log_probs(logits,
                                             self.tde_from_logits(logits, x_hat, alpha))

    def update_feature(self, foreground: Tensor) -> Tensor:
        """Fold the foreground rows of the last training input into ``d``.

        Args:
            foreground (Tensor): Bool mask (N,) over the rows of the last train-mode input.

        Returns:
            Tensor: 0-dim bool, whether ``d`` changed (False when the global batch has no
            foreground RoI); ``bool()`` of it waits for the device.
        """
        feature, self._train_feature = self._train_feature, None
        if feature is None or feature.shape[0] != foreground.numel():
            got = 'none' if feature is None else f'{feature.shape[0]} rows'
            raise RuntimeError(
                f'update_feature needs the features of the {foreground.numel()} RoIs just '
                f'classified in train mode, but the last train-mode forward kept {got}: call '
                f'the bbox head forward and its loss_and_target on the same RoIs, in order.')
        return self.feat_ema.update(feature, foreground.to(feature.device))

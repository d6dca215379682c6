# Copyright (c) mmtde contributors. All rights reserved.
import warnings
from typing import List, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmtde.functional import CausalNormLinear, MovingAverageFeature
from mmtde.functional.moving_average import check_mu


def _bare(model: torch.nn.Module) -> torch.nn.Module:
    """The model itself, without mmengine's (DDP / FSDP) wrapper."""
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class EMAFeatureHook(Hook):
    """Drives the moving-average feature ``d`` of every TDE head in the model.

    ``mu``, the momentum of ``d``, is a setting of the head (``CausalNormHead(mu=...)``, and of
    each ``CausalNormShared2FCBBoxHead``), like ``alpha``, ``tau`` and ``gamma``. This hook owns
    what changes during training: with ``mu_policy='lr'`` it sets ``mu`` on every
    :class:`MovingAverageFeature` (one per classification head, one per detection stage)
    before each training epoch; with ``'constant'`` it leaves the heads' own. Either way it
    logs the epoch's ``mu``, and after each epoch the mean ``cos(x, d)`` of the epoch and the
    ``alpha`` that the authors' rule ``alpha * mean cos = 1`` would pick, and warns when batches
    with non-finite features were left out of ``d``. The heads update ``d`` themselves (sum and
    count all-reduced across ranks), so a config that forgets this hook still trains a valid
    ``d`` with the head's ``mu``.

    The name is historical: ``d <- mu d + mean(x)`` is not an exponential moving average
    (there is no ``1 - mu``), see :class:`MovingAverageFeature`.

    Args:
        mu (float, optional): Deprecated: set ``mu`` on the head instead. A value given here
            is still set on every moving-average feature before each epoch, with a
            ``FutureWarning`` that names the head's key. Defaults to None.
        mu_policy (str): ``'constant'`` (the heads' ``mu``) or ``'lr'``. ``'lr'`` ties the
            momentum to the learning rate at each epoch start as the reference ImageNet-LT run
            does: ``mu = 1 - 0.1 * min(lr_scale * lr, 1)``, ``lr`` the largest of the parameter
            groups. Defaults to ``'constant'``.
        lr_scale (float): The 50 in that rule (``mu`` reaches 0.9 once lr >= 1/lr_scale).
            Defaults to 50.
    """

    priority = 'NORMAL'

    def __init__(self, mu: Optional[float] = None, mu_policy: str = 'constant',
                 lr_scale: float = 50.0) -> None:
        if mu_policy not in ('constant', 'lr'):
            raise ValueError(f"mu_policy={mu_policy!r} must be 'constant' or 'lr'")
        if mu_policy == 'lr' and mu is not None:
            raise ValueError(f"mu={mu} is ignored with mu_policy='lr' (mu follows the learning "
                             f"rate); drop mu, or drop mu_policy and set a constant mu on the head")
        self.mu = None if mu is None else check_mu(mu)
        if mu is not None:
            warnings.warn(
                f"EMAFeatureHook(mu={mu}) is deprecated: mu is the head's setting, like alpha, "
                f'tau and gamma. Set model.head.mu={mu} (CausalNormHead) or mu={mu} in each '
                f'CausalNormShared2FCBBoxHead (model.roi_head.bbox_head) and drop mu from the '
                f'hook; until then the hook sets it on every head before each epoch.',
                FutureWarning)
        self.mu_policy = mu_policy
        self.lr_scale = float(lr_scale)

    @staticmethod
    def feature_modules(model: torch.nn.Module) -> List[MovingAverageFeature]:
        """All moving-average features of a (possibly wrapped) model."""
        return [m for m in _bare(model).modules() if isinstance(m, MovingAverageFeature)]

    def before_run(self, runner) -> None:
        if not self.feature_modules(runner.model):
            raise RuntimeError(
                f'EMAFeatureHook found no moving-average feature in {type(runner.model).__name__}:'
                f' the model has no TDE head. Use CausalNormHead (mmpretrain) or a TDE bbox head '
                f'(mmdet), or remove EMAFeatureHook from custom_hooks.')
        self.check_cascades(runner.model)

    @staticmethod
    def check_cascades(model: torch.nn.Module) -> None:
        """Refuse TDE bbox heads in a cascade head that averages raw stage scores.

        mmdet's ``CascadeRoIHead`` / ``HybridTaskCascadeRoIHead`` average what the stages
        return; TDE stages return log-probabilities, whose mean is not the method's mean of
        probabilities. mmtde's ``TDECascadeRoIHead`` / ``TDEHybridTaskCascadeRoIHead`` do it
        right (they set ``averages_stage_probabilities``).
        """
        for name, module in _bare(model).named_modules():
            stages = getattr(module, 'bbox_head', None)
            if not isinstance(stages, torch.nn.ModuleList) or \
                    getattr(module, 'averages_stage_probabilities', False):
                continue
            tde = sorted({type(h).__name__ for h in stages
                          if any(isinstance(m, CausalNormLinear) for m in h.modules())})
            if tde:
                kind = type(module).__name__
                fix = 'TDEHybridTaskCascadeRoIHead' if 'HybridTask' in kind else \
                    'TDECascadeRoIHead'
                raise ValueError(
                    f'{name or "the model"} is a {kind} with TDE stages ({", ".join(tde)}): it '
                    f'would average their log-probabilities instead of their probabilities. '
                    f"Use roi_head=dict(type='{fix}', ...) (custom_imports mmtde.det)")

    def current_mu(self, runner) -> Optional[float]:
        """The momentum that this hook sets for the coming epoch, or None: the heads' own."""
        if self.mu_policy == 'constant':
            return self.mu
        # The largest lr of any parameter group, as the reference reads it (its
        # show_current_lr), whatever lr_mult the groups have. With several groups get_lr() also
        # lists 'base_lr', the optimizer's lr before any lr_mult: not a group's lr.
        lrs = runner.optim_wrapper.get_lr()
        lr = max(v for key, group in lrs.items() if key == 'lr' or key.endswith('.lr')
                 for v in group)
        return 1.0 - 0.1 * min(self.lr_scale * lr, 1.0)

    def before_train_epoch(self, runner) -> None:
        mu = self.current_mu(runner)
        modules = self.feature_modules(runner.model)
        if mu is not None:
            for module in modules:
                module.mu = mu  # validated there
        mus = sorted({module.mu for module in modules})
        if len(mus) == 1:
            runner.message_hub.update_scalar('train/tde_mu', mus[0])
        whose = '' if mu is not None else " (the heads' own)"
        runner.logger.info(f'EMAFeatureHook: epoch {runner.epoch + 1} uses mu='
                           f'{", ".join(f"{v:.6g}" for v in mus)}{whose}')

    def after_train_epoch(self, runner) -> None:
        for idx, module in enumerate(self.feature_modules(runner.model)):
            skipped = module.pop_skipped()  # the same on every rank: the decision is global
            if skipped:
                runner.logger.warning(
                    f'EMAFeatureHook: moving-average feature {idx}: {skipped} batch(es) of this '
                    f'epoch had non-finite features (NaN/inf) and were left out of d; d stays '
                    f'finite, but the training is diverging: lower the learning rate, check the '
                    f'data, or use gradient clipping (optim_wrapper.clip_grad).')
            cos_sum, count = module.pop_cos_stats()
            stats = torch.cat([cos_sum, cos_sum.new_tensor([count])])
            all_reduce(stats)
            if stats[-1] <= 0:
                continue
            mean_cos = (stats[:-1] / stats[-1]).mean().item()
            suffix = '' if idx == 0 else f'_{idx}'
            runner.message_hub.update_scalar(f'train/tde_mean_cos{suffix}', mean_cos)
            rule = f'alpha={1.0 / mean_cos:.3g}' if mean_cos > 0 else 'no positive alpha'
            runner.logger.info(
                f'EMAFeatureHook: moving-average feature {idx}: mean cos(x, d) over the epoch = '
                f'{mean_cos:.4f}, |d| = {module.d.norm().item():.4g}; the rule alpha * mean cos '
                f'= 1 suggests {rule} (tools/analysis/tde_alpha_sweep.py picks it on a split)')

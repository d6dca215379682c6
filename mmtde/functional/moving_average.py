# Copyright (c) mmtde contributors. All rights reserved.
"""The moving-average feature ``d``: its update rule and the small module heads own it in
(pure torch)."""
import math
from typing import Optional, Tuple

import torch
import torch.distributed as torch_dist
from torch import Tensor, nn

from .tde import _no_autocast, check_num_head, head_cosine


def check_mu(mu: float) -> float:
    """Validate a momentum and return it as a float."""
    if isinstance(mu, bool) or not isinstance(mu, (int, float)) or not math.isfinite(mu) \
            or not 0.0 <= mu <= 1.0:
        raise ValueError(f'mu={mu!r} must be a number in [0, 1] (the paper uses 0.9 for '
                         f'CIFAR-LT, 1 - 0.1 * min(50 * lr, 1) for ImageNet-LT, 0.9998 for LVIS)')
    return float(mu)


def _dist_ready() -> bool:
    return torch_dist.is_available() and torch_dist.is_initialized() and \
        torch_dist.get_world_size() > 1


@torch.no_grad()
def moving_average_step(d: Tensor, x: Tensor, mu: float, mask: Optional[Tensor] = None,
                        sync: bool = True) -> Tuple[Tensor, Tensor, Tensor]:
    """``d <- mu d + mean(x)`` in place, without waiting for the device.

    The mean is over the global batch: under ``torch.distributed`` the feature sum and the count
    are all-reduced, so every rank applies the same update to the same ``d`` (a faithful
    global-batch mean, not a mean of per-rank means). Every rank must call this the same number
    of times. A batch that selects no sample, or whose features are not finite, leaves ``d``
    untouched. The decision is taken on the device (``torch.where``), so a training step does
    not stall on it; the returned flags are tensors for the caller to count or log later.

    Args:
        d (Tensor): The float32 buffer of shape (D,), updated in place.
        x (Tensor): Features of shape (N, D); any dtype, summed in float32.
        mu (float): Momentum in [0, 1] (validated where it is set:
            :attr:`MovingAverageFeature.mu`).
        mask (Tensor, optional): Bool mask of shape (N,) selecting the samples to average
            (detection: foreground RoIs). Defaults to all.
        sync (bool): All-reduce across ranks when a process group is up. Defaults to True.

    Returns:
        tuple[Tensor, Tensor, Tensor]: 0-dim tensors on ``d``'s device: whether ``d`` was
        updated, whether the global batch was left out because its features were not finite,
        and the global number of selected samples (float).
    """
    if d.dtype != torch.float32:
        raise TypeError(f'the moving-average buffer must be float32, got {d.dtype}')
    with _no_autocast(x.device):
        x = x.detach().float()
        if mask is None:
            num = torch.full((1, ), x.shape[0], dtype=x.dtype, device=x.device)
        else:  # where(), not x[mask]: boolean indexing would wait for the device
            mask = mask.to(device=x.device, dtype=torch.bool).reshape(-1, 1)
            x = torch.where(mask, x, x.new_zeros(()))
            num = mask.sum(dim=0, dtype=x.dtype)
        stats = torch.cat([x.sum(dim=0), num]).to(d.device)
        if sync and _dist_ready():
            torch_dist.all_reduce(stats)
        total, count = stats[:-1], stats[-1]
        selected = count > 0
        finite = torch.isfinite(total).all()
        new_d = d * mu + total / count.clamp(min=1)
        # An overflow of d itself (mu = 1 over an enormous run) is refused like a bad batch.
        finite = finite & torch.isfinite(new_d).all()
        updated = selected & finite
        d.copy_(torch.where(updated, new_d, d))
        return updated, selected & ~finite, count


class MovingAverageFeature(nn.Module):
    """Keeps ``d <- mu * d + mean(x)`` of a head's pre-classifier feature.

    As in the paper, and unlike an exponential moving average, the new mean is not scaled by
    ``1 - mu``: ``d`` is a momentum-weighted sum whose norm grows to about ``1 / (1 - mu)``
    times the feature's. TDE only uses its direction, which is the same as the EMA's.

    ``d`` is a persistent float32 buffer, so it lives in checkpoints; ``num_updates`` tells a
    trained ``d`` from one that was never estimated (a checkpoint from before TDE, or converted
    from a stock head). The mean is over the global batch (sum and count all-reduced), so ``d``
    stays identical on every rank although mmengine wraps models with
    ``broadcast_buffers=False``.

    ``mu`` is validated on every assignment. The head sets it from its config;
    ``EMAFeatureHook(mu_policy='lr')`` reassigns it every epoch from the learning rate, and the
    hook logs ``cos(x, d)``.

    Args:
        dim (int): Feature size D.
        num_head (int): K, used for the per-head cosine statistics.
        mu (float): Momentum in [0, 1]. Defaults to 0.9.
    """

    def __init__(self, dim: int, num_head: int, mu: float = 0.9) -> None:
        super().__init__()
        self.num_head = check_num_head(num_head, dim)
        self.mu = mu
        self.register_buffer('d', torch.zeros(dim, dtype=torch.float32))
        self.register_buffer('num_updates', torch.zeros((), dtype=torch.long))
        # Per-epoch statistics for logging only: not worth a checkpoint entry.
        self.register_buffer('cos_sum', torch.zeros(num_head, dtype=torch.float64),
                             persistent=False)
        self.register_buffer('cos_count', torch.zeros((), dtype=torch.float64), persistent=False)
        self.register_buffer('num_skipped', torch.zeros((), dtype=torch.long), persistent=False)

    @property
    def mu(self) -> float:
        """float: Momentum of ``d``, in [0, 1]; validated on every assignment."""
        return self._mu

    @mu.setter
    def mu(self, value: float) -> None:
        self._mu = check_mu(value)

    def _apply(self, fn, *args, **kwargs):
        # ``model.half()`` or a cast to bf16 must not round d (nor turn a large d into inf):
        # the float buffers keep their precision and only follow the device.
        kept = {name: getattr(self, name).data for name in ('d', 'cos_sum', 'cos_count')}
        super()._apply(fn, *args, **kwargs)
        for name, value in kept.items():
            buf = getattr(self, name)
            if buf.dtype != value.dtype:  # a cast: take the old values, not the rounded ones
                buf.data = value.to(device=buf.device)
        self._ready_key = None
        return self

    def _load_from_state_dict(self, *args, **kwargs) -> None:
        super()._load_from_state_dict(*args, **kwargs)
        self._ready_key = None

    @torch.no_grad()
    def update(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """Fold a batch of features into ``d`` without waiting for the device.

        A global batch that selects nothing, or whose features are not finite, leaves ``d``
        unchanged; the second kind is counted, and ``EMAFeatureHook`` reports the count after
        the epoch (:meth:`pop_skipped`).

        Args:
            x (Tensor): Features of shape (N, D).
            mask (Tensor, optional): Bool mask (N,) of the samples to use.

        Returns:
            Tensor: 0-dim bool, whether ``d`` changed (``bool()`` of it waits for the device).
        """
        if x.dim() != 2 or x.shape[1] != self.d.numel():
            raise ValueError(f'expected features of shape (N, {self.d.numel()}), got '
                             f'{tuple(x.shape)}')
        # cos(x, d) against the d before this update, for the samples that update it, counted
        # only once d has been estimated (where() instead of an `if`: no host round trip).
        has_d = self.num_updates > 0
        cos = head_cosine(x.detach(), self.d, self.num_head).double()
        use = has_d if mask is None else has_d & mask.to(cos.device, torch.bool)
        use = (use & torch.isfinite(cos).all(dim=1)).reshape(-1, 1)
        self.cos_sum += torch.where(use, cos, cos.new_zeros(())).sum(dim=0)
        self.cos_count += use.sum()
        updated, non_finite, _ = moving_average_step(self.d, x, self.mu, mask)
        self.num_updates += updated
        self.num_skipped += non_finite
        return updated

    def is_ready(self) -> bool:
        """Whether ``d`` was estimated and can be used for TDE.

        A positive answer is cached while ``d`` and ``num_updates`` are unchanged (in-place
        ops, ``load_state_dict`` and moves all invalidate it), so test-time checks do not wait
        for the device; a negative one, the error path, is always recomputed.
        """
        try:
            key = (self.d.data_ptr(), self.d._version, self.num_updates.data_ptr(),
                   self.num_updates._version)
        except RuntimeError:  # inference-mode tensors have no version counter: no cache
            key = None
        if key is not None and getattr(self, '_ready_key', None) == key:
            return True
        ready = bool(self.num_updates.item() > 0 and torch.isfinite(self.d).all()
                     and self.d.abs().sum().item() > 0)
        self._ready_key = key if ready else None
        return ready

    def check_ready(self, owner: str = 'this head') -> None:
        """Raise a clear error when ``d`` cannot be used for TDE."""
        if not self.is_ready():
            raise RuntimeError(
                f'{owner} has no usable moving-average feature d (num_updates='
                f'{int(self.num_updates)}, |d|={float(self.d.norm()):.3g}): the checkpoint was '
                f'trained without updating d or converted from a stock head. Re-estimate it '
                f'with `python tools/reestimate_d.py CONFIG CHECKPOINT --out NEW.pth`, or test '
                f'without TDE (alpha=0 / use_tde=False).')

    def pop_cos_stats(self) -> Tuple[Tensor, float]:
        """Return (per-head sum of cos, count) since the last call, and reset them."""
        stats = (self.cos_sum.clone(), float(self.cos_count))
        self.cos_sum.zero_()
        self.cos_count.zero_()
        return stats

    def pop_skipped(self) -> int:
        """Return how many global batches were left out of ``d`` (non-finite features) since
        the last call, and reset the count."""
        num = int(self.num_skipped)
        self.num_skipped.zero_()
        return num

    def extra_repr(self) -> str:
        return f'dim={self.d.numel()}, num_head={self.num_head}, mu={self.mu}'

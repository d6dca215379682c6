# Copyright (c) mmtde contributors. All rights reserved.
"""Mixed-precision training in bfloat16, on a CPU as on a GPU."""
from contextlib import contextmanager

import torch
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


def bf16_supported(device_type: str) -> bool:
    """Whether ``device_type`` runs bfloat16 matrix products natively (not emulated)."""
    if device_type == 'cuda':
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == 'cpu':
        return torch.backends.mkldnn.is_available() and \
            torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return False


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """:class:`~mmengine.optim.OptimWrapper` whose forward and loss run under bfloat16 autocast.

    mmengine's ``AmpOptimWrapper`` needs a GPU; this one autocasts on the device the model is
    on, so that a CPU with native bfloat16 (AVX512-BF16 or AMX) trains in mixed precision too.
    No loss scaling: bfloat16 has float32's exponent range. Weights, gradients, optimizer state,
    ``d``, the feature and weight norms and the TDE logits stay float32 (the heads compute those
    in float32 under autocast). Validation and test run in float32. Use it from a config::

        optim_wrapper = dict(type='BF16OptimWrapper', optimizer=...)

    or on the command line: ``--cfg-options optim_wrapper.type=BF16OptimWrapper``.
    """

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        module = model.module if is_model_wrapper(model) else model
        device_type = next(module.parameters()).device.type
        if not bf16_supported(device_type):
            raise RuntimeError(
                f'BF16OptimWrapper: this {device_type} has no native bfloat16 (a CPU needs '
                f'AVX512-BF16 or AMX; a GPU needs compute capability >= 8.0), so bfloat16 would be '
                f'emulated and slower than float32. Use optim_wrapper.type=OptimWrapper here '
                f'(or AmpOptimWrapper, fp16, on an older GPU).')
        with super().optim_context(model), \
                torch.autocast(device_type=device_type, dtype=torch.bfloat16):
            yield

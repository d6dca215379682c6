# Copyright (c) mmtde contributors. All rights reserved.
"""The config an analysis of a trained detector runs: loaded, options merged, mmdet's scope set.

One place for what ``tools/analysis/class_rank.py`` and ``tools/analysis/norcal_gamma_sweep.py``
(and scripts that call :func:`run_class_rank` or :func:`run_gamma_sweep` themselves) do before
building the model.
"""
import argparse
from typing import Mapping, Optional, Sequence, Union

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from mmtde.utils import load_config


def load_model_config(config: str,
                      cfg_options: Optional[Union[Mapping, Sequence[str]]] = None) -> Config:
    """Load ``config``, merge ``cfg_options`` and make its scope (mmdet's) the default.

    Importing this module has already registered mmtde's detection modules (it lives in
    :mod:`mmtde.det`), so the config's heads and metric build.

    Args:
        config (str): The config file; ``_base_ = ['mmtde::...']`` is understood
            (:func:`mmtde.utils.load_config`).
        cfg_options (Mapping | Sequence[str], optional): Overrides, as ``--cfg-options``
            gives them: the dict that ``mmengine.config.DictAction`` parsed, or its
            ``key=value`` strings. Defaults to None.

    Returns:
        Config: The merged config; the default scope is its ``default_scope``, else mmdet.
    """
    if isinstance(cfg_options, str):
        raise TypeError(f'cfg_options={cfg_options!r}: give a dict or a list of key=value '
                        f'strings, not one string')
    cfg = load_config(config)
    if cfg_options is not None and not isinstance(cfg_options, Mapping):
        parsed = argparse.Namespace(options=None)
        DictAction(option_strings=[], dest='options')(None, parsed, list(cfg_options))
        cfg_options = parsed.options
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return cfg

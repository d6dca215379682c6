# Copyright (c) mmtde contributors. All rights reserved.
"""Alias of :mod:`mmtde.utils.prepare_config`, this module's old name (it prepares configs;
the installation is ``tools/setup_env.sh``). Kept so that ``from mmtde.utils.setup_env import
...`` keeps working."""
from .prepare_config import (  # noqa: F401
    cfg_from_args,
    default_work_dir,
    enable_config_prefix,
    load_config,
    model_cfg,
    prepare_cfg,
    take_seed_from_checkpoint,
)

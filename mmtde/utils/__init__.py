# Copyright (c) mmtde contributors. All rights reserved.
from .prepare_config import enable_config_prefix, load_config, model_cfg, prepare_cfg

__all__ = ['enable_config_prefix', 'load_config', 'model_cfg', 'prepare_cfg']

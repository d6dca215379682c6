# Copyright (c) mmtde contributors. All rights reserved.
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from mmtde.functional import CausalNormLinear


@HOOKS.register_module()
class ClassCheckHook(Hook):
    """Fails before the first step when the classes of a loop's data and the model disagree.

    mmtde's counterpart of mmpretrain's ``ClassNumCheckHook`` and mmdet's
    ``NumClassCheckHook``, with the two checks a long-tailed run needs:

    * every TDE classifier scores as many classes as the loop's dataset has (a detection
      classifier's background row is not a class);
    * the evaluated split describes the same training subset as the training set (their
      ``metainfo['class_counts']`` agree), or ``LongTailAccuracy`` would score many / medium /
      few against the wrong subset.

    ``tools/train.py`` and ``tools/test.py`` add it to every run (see
    :func:`mmtde.utils.prepare_cfg`).

    The checks run per loop, not in ``before_run``: ``Runner.test()`` calls ``before_run`` too,
    and reading ``runner.train_dataloader`` there would build the whole training set (which an
    evaluation-only machine may not have).
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        self._check_num_classes(runner, runner.train_dataloader, 'training')
        self._check_class_counts(runner)

    def before_val(self, runner) -> None:
        self._check_num_classes(runner, runner.val_dataloader, 'validation')

    def before_test(self, runner) -> None:
        self._check_num_classes(runner, runner.test_dataloader, 'test')

    @staticmethod
    def _check_num_classes(runner, dataloader, role: str) -> None:
        """A TDE classifier must score the classes of the loop's dataset."""
        dataset = getattr(dataloader, 'dataset', None)
        classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        if not classes:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for name, module in model.named_modules():
            if isinstance(module, CausalNormLinear) and module.num_classes != len(classes):
                raise ValueError(
                    f'{name}: the TDE classifier scores {module.num_classes} classes but the '
                    f'{role} set {type(dataset).__name__} has {len(classes)}; set '
                    f'num_classes={len(classes)} in the head config')

    @staticmethod
    def _check_class_counts(runner) -> None:
        """The evaluated split must describe the training subset (many / medium / few)."""
        train = getattr(runner.train_dataloader, 'dataset', None)
        val_loop = getattr(runner, '_val_loop', None)
        val = getattr(getattr(val_loop, 'dataloader', None), 'dataset', None)
        counts = [(getattr(d, 'metainfo', None) or {}).get('class_counts') for d in (train, val)]
        if None in counts or counts[0] == counts[1]:
            return
        raise ValueError(
            f'the training set {type(train).__name__} has class counts {counts[0][:5]}... but the '
            f'validation set {type(val).__name__} describes {counts[1][:5]}..., so many / medium '
            f'/ few would be scored against the wrong subset. Give every split the same '
            f'imbalance_factor, seed, n_max and heldout_per_class (e.g. --cfg-options '
            f'train_dataloader.dataset.heldout_per_class=50 '
            f'val_dataloader.dataset.heldout_per_class=50 '
            f'test_dataloader.dataset.heldout_per_class=50)')

# Copyright (c) mmtde contributors. All rights reserved.
"""Long-tailed classification sets given as split lists (``<image path> <label>`` a line).

The format of the OLTR and Decoupling (classifier-balancing) releases of ImageNet-LT,
Places-LT and iNaturalist 2018; :class:`ImageNetLT`, :class:`PlacesLT` and
:class:`INaturalist2018` only set its defaults.
"""
import os.path as osp
from typing import List, Optional, Tuple

from mmengine.logging import MMLogger
from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS

from .long_tail import ClassCountsMixin, count_labels


@DATASETS.register_module()
class ListFileLT(ClassCountsMixin, CustomDataset):
    """A long-tailed classification set read from ``<image path> <label>`` split lists.

    Every line of ``ann_file`` is an image path (relative to ``data_root/data_prefix``, spaces
    allowed) and an integer label in ``[0, num_classes)``; blank lines are skipped. Loading
    checks every line and, unless ``check_files=False``, that every image exists, and names
    file and line of the first bad one. ``class_counts`` (also in ``metainfo``) are the
    *training* counts on every split, read from ``train_ann_file``, so that
    ``LongTailAccuracy`` groups the classes of a val or test split by their training images.

    Subclasses name a benchmark's lists through ``LIST_FORMAT`` (formatted with the split),
    its splits (``SPLITS``), its number of classes (``NUM_CLASSES`` or ``METAINFO``) and where
    to get the data (``DATA_HINT``, ``IMAGES_HINT``, quoted in errors).

    Args:
        data_root (str): Root of the images and, by default, of the list files.
        split (str, optional): One of ``SPLITS``; only picks the default ``ann_file``.
            Defaults to None (``'train'`` when ``ann_file`` is not given either).
        ann_file (str): List file, relative to ``data_root`` unless absolute.
            Defaults to ``LIST_FORMAT.format(split=split)``.
        data_prefix (str | dict): Folder of the image paths, relative to ``data_root``.
            Defaults to ``''``.
        train_ann_file (str): The training list to count classes from, relative to
            ``data_root`` unless absolute. Defaults to the training list of ``LIST_FORMAT``
            beside ``ann_file``.
        check_files (bool): Check that every listed image exists (one ``os.path.exists``
            per line). Defaults to True.
        num_classes (int, optional): C, when ``metainfo`` lists no classes. Defaults to None
            (``NUM_CLASSES``).
        **kwargs: Passed to :class:`mmpretrain.datasets.CustomDataset` (``pipeline``,
            ``metainfo``, ...).

    Attributes:
        class_counts (list[int] | None): Training images per class.
    """

    SPLITS: Tuple[str, ...] = ('train', 'val', 'test')
    LIST_FORMAT = '{split}.txt'
    NUM_CLASSES: Optional[int] = None
    DATA_HINT = 'write the list or pass ann_file='
    IMAGES_HINT = 'Put the images under data_root/data_prefix as the list expects'

    def __init__(self,
                 data_root: str = '',
                 split: Optional[str] = None,
                 ann_file: str = '',
                 data_prefix: str = '',
                 train_ann_file: str = '',
                 check_files: bool = True,
                 num_classes: Optional[int] = None,
                 **kwargs) -> None:
        if split is not None and split not in self.SPLITS:
            raise ValueError(f'{type(self).__name__}: split={split!r} must be one of '
                             f'{self.SPLITS}')
        if not ann_file:
            ann_file = self.LIST_FORMAT.format(split=split or 'train')
        self.split = split
        self.check_files = check_files
        self.train_ann_file = train_ann_file
        self._num_classes = num_classes
        super().__init__(
            data_root=data_root,
            data_prefix=data_prefix,
            ann_file=ann_file,
            **kwargs)

    @property
    def num_classes(self) -> int:
        """int: C, from ``metainfo['classes']``, else ``num_classes``/``NUM_CLASSES``."""
        classes = self._metainfo.get('classes')
        given = self._num_classes if self._num_classes is not None else self.NUM_CLASSES
        if classes is not None:
            if given is not None and given != len(classes):
                raise ValueError(f'{type(self).__name__}: num_classes={given} but metainfo '
                                 f'lists {len(classes)} classes; give one of them, not both')
            return len(classes)
        if given is None or isinstance(given, bool) or int(given) != given or given < 1:
            raise ValueError(f'{type(self).__name__}: num_classes={given!r}; pass '
                             f'num_classes=C (a positive integer) or metainfo=dict(classes=...)')
        return int(given)

    def _read_list(self, ann_file: str) -> List[Tuple[int, str, int]]:
        """Parse a list file into ``(line number, relative path, label)`` and check labels."""
        if not osp.isfile(ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: split list {ann_file!r} not found; '
                f'{self.DATA_HINT} (looked in {osp.abspath(osp.dirname(ann_file) or ".")!r}). '
                f'For data elsewhere, point data_root at it: the config\'s data_root, or '
                f'--cfg-options train_dataloader.dataset.data_root=DIR '
                f'val_dataloader.dataset.data_root=DIR test_dataloader.dataset.data_root=DIR')
        num_classes = self.num_classes
        entries = []
        with open(ann_file) as f:
            for line_no, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                parts = line.rsplit(maxsplit=1)
                try:
                    path, label = parts[0], int(parts[1])
                except (IndexError, ValueError):
                    raise ValueError(
                        f'{ann_file}:{line_no}: expected "<image path> <label>" with an '
                        f'integer label, got {line!r}; fix or remove this line') from None
                if not 0 <= label < num_classes:
                    raise ValueError(
                        f'{ann_file}:{line_no}: label {label} is outside [0, {num_classes}); '
                        f'fix the list, or give num_classes / metainfo classes that cover it')
                entries.append((line_no, path, label))
        return entries

    def load_data_list(self) -> List[dict]:
        """Read, validate and count the split list."""
        entries = self._read_list(self.ann_file)
        data_list = []
        for line_no, path, label in entries:
            img_path = osp.join(self.img_prefix, path)
            if self.check_files and not osp.exists(img_path):
                missing = sum(not osp.exists(osp.join(self.img_prefix, p)) for _, p, _ in entries)
                raise FileNotFoundError(
                    f'{self.ann_file}:{line_no}: image {img_path!r} does not exist '
                    f'({missing} of {len(entries)} listed images are missing). '
                    f'{self.IMAGES_HINT}, fix data_root/data_prefix, or pass '
                    f'check_files=False to skip this check')
            data_list.append({'img_path': img_path, 'gt_label': label})

        self._set_class_counts(self._training_counts(entries))
        return data_list

    def _training_counts(self, entries: List[Tuple[int, str, int]]) -> Optional[List[int]]:
        if self.train_ann_file:
            train_list = osp.join(self.data_root, self.train_ann_file)  # kept if absolute
        else:
            train_list = osp.join(
                osp.dirname(self.ann_file), self.LIST_FORMAT.format(split='train'))
        if osp.abspath(train_list) == osp.abspath(self.ann_file):
            return count_labels([label for _, _, label in entries], self.num_classes)
        if not osp.isfile(train_list):
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__}: no training list at {train_list!r}, so metainfo has '
                f'no class_counts; pass train_ann_file= (or give the metric class_counts)')
            return None
        return count_labels([label for _, _, label in self._read_list(train_list)],
                            self.num_classes)

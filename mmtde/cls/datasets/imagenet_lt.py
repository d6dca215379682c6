# Copyright (c) mmtde contributors. All rights reserved.
"""ImageNet-LT from the OLTR / Decoupling split lists."""
import os.path as osp
from typing import List, Optional, Tuple

from mmengine.logging import MMLogger
from mmpretrain.datasets import CustomDataset
from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
from mmpretrain.registry import DATASETS

from .long_tail import ClassCountsMixin, count_labels

SPLITS = ('train', 'val', 'test')


@DATASETS.register_module()
class ImageNetLT(ClassCountsMixin, CustomDataset):
    """ImageNet-LT (Liu et al., CVPR 2019), 1000 classes, 115.8k long-tailed training images.

    Reads ``ImageNet_LT_{split}.txt`` (lines like ``train/n01440764/n01440764_190.JPEG 0``,
    paths relative to ``data_root/data_prefix``), checks every label and, unless
    ``check_files=False``, that every image exists, naming file and line of the first bad one.
    ``class_counts`` (also in ``metainfo``) are the *training* counts on every split: counted
    from ``train_ann_file`` (by default ``ImageNet_LT_train.txt`` beside ``ann_file``), which is
    the list itself when ``ann_file`` is the training list.

    Args:
        data_root (str): Root of the images and, by default, of the list files.
        split (str, optional): ``'train'``, ``'val'`` or ``'test'``; only picks the default
            ``ann_file``. Defaults to None (``'train'`` when ``ann_file`` is not given either).
        ann_file (str): List file, relative to ``data_root`` unless absolute.
            Defaults to ``ImageNet_LT_{split}.txt``.
        data_prefix (str | dict): Folder of the image paths, relative to ``data_root``.
            Defaults to ``''``.
        train_ann_file (str): The training list to count classes from, relative to
            ``data_root`` unless absolute. Defaults to ``ImageNet_LT_train.txt`` beside
            ``ann_file``.
        check_files (bool): Check that every listed image exists (one ``os.path.exists``
            per line). Defaults to True.
        **kwargs: Passed to :class:`mmpretrain.datasets.CustomDataset` (``pipeline``,
            ``metainfo``, ...).

    Attributes:
        class_counts (list[int] | None): Training images per class.
    """

    METAINFO = {'classes': IMAGENET_CATEGORIES}

    def __init__(self,
                 data_root: str = '',
                 split: Optional[str] = None,
                 ann_file: str = '',
                 data_prefix: str = '',
                 train_ann_file: str = '',
                 check_files: bool = True,
                 **kwargs) -> None:
        if split is not None and split not in SPLITS:
            raise ValueError(f'split={split!r} must be one of {SPLITS}')
        if not ann_file:
            ann_file = f'ImageNet_LT_{split or "train"}.txt'
        self.split = split
        self.check_files = check_files
        self.train_ann_file = train_ann_file
        super().__init__(
            data_root=data_root,
            data_prefix=data_prefix,
            ann_file=ann_file,
            **kwargs)

    def _read_list(self, ann_file: str) -> List[Tuple[int, str, int]]:
        """Parse a list file into ``(line number, relative path, label)`` and check labels."""
        if not osp.isfile(ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: split list {ann_file!r} not found; download '
                f'ImageNet_LT_{{train,val,test}}.txt (OLTR / Decoupling releases) into data_root '
                f'or pass ann_file=')
        num_classes = len(self._metainfo['classes'])
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
                    raise ValueError(f'{ann_file}:{line_no}: expected "<image path> <label>", '
                                     f'got {line!r}') from None
                if not 0 <= label < num_classes:
                    raise ValueError(
                        f'{ann_file}:{line_no}: label {label} is outside [0, {num_classes}); '
                        f'fix the list or give metainfo classes that cover it')
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
                    f'({missing} of {len(entries)} listed images are missing). Put the '
                    f'ILSVRC-2012 images under data_root/data_prefix as the list expects '
                    f'(val and test images in per-class folders), fix data_root/data_prefix, '
                    f'or pass check_files=False to skip this check')
            data_list.append({'img_path': img_path, 'gt_label': label})

        self._set_class_counts(self._training_counts(entries))
        return data_list

    def _training_counts(self, entries: List[Tuple[int, str, int]]) -> Optional[List[int]]:
        num_classes = len(self._metainfo['classes'])
        if self.train_ann_file:
            train_list = osp.join(self.data_root, self.train_ann_file)  # kept if absolute
        else:
            train_list = osp.join(osp.dirname(self.ann_file), 'ImageNet_LT_train.txt')
        if osp.abspath(train_list) == osp.abspath(self.ann_file):
            return count_labels([label for _, _, label in entries], num_classes)
        if not osp.isfile(train_list):
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__}: no training list at {train_list!r}, so metainfo has '
                f'no class_counts; pass train_ann_file= (or give the metric class_counts)')
            return None
        return count_labels([label for _, _, label in self._read_list(train_list)],
                            num_classes)

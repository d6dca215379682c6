# Copyright (c) mmtde contributors. All rights reserved.
"""A long-tailed dataset read from an image-folder copy (``<root>/<split>/<class>/*.jpg``)."""
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS

from .long_tail import LongTailMixin

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif')


@DATASETS.register_module()
class ImageFolderLT(LongTailMixin, CustomDataset):
    """Long-tailed classification data from per-class image folders.

    Layout ``<data_root>/<split>/<class_name>/<image>``: class folders sorted by name give
    the labels (for CIFAR-10 that is the official order, airplane = 0 ... truck = 9). The
    ``'train'`` split is subsampled exactly as :class:`CIFAR10LT` does (same formula, same
    seeded draw); ``'test'`` stays balanced. Both carry the training ``class_counts`` in
    their metainfo (the test split counts ``<data_root>/train`` for it).

    Args:
        data_root (str): Folder that holds ``train/`` and ``test/``.
        split (str): ``'train'``, ``'heldout'`` (images held out of ``train/``) or
            ``'test'``. Defaults to ``'train'``.
        imbalance_factor (float): IF >= 1. Defaults to 100.
        seed (int): Seed of the subset. Defaults to 0.
        n_max (int, optional): Images of class 0. Defaults to the smallest class size.
        heldout_per_class (int): Training images per class held out before the long tail is
            drawn (see :class:`CIFAR10LT`). Defaults to 0.
        test_prior (str, optional): A shifted test set of the ``'test'`` split (see
            :class:`CIFAR10LT`; the same counts and draw, on the images in sorted file order).
            Defaults to None.
        extensions (Sequence[str]): Image file endings to read.
            Defaults to the usual image formats.
        metainfo (dict, optional): Must list the class folder names in sorted order if it
            lists ``classes`` at all. Defaults to None (the folder names).
        **kwargs: Passed to :class:`mmpretrain.datasets.CustomDataset` (``pipeline``, ...).

    Attributes:
        class_counts (list[int]): Training images per class after subsampling.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 imbalance_factor: float = 100.,
                 seed: int = 0,
                 n_max: Optional[int] = None,
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 metainfo: Optional[dict] = None,
                 heldout_per_class: int = 0,
                 test_prior: Optional[str] = None,
                 **kwargs) -> None:
        folder_split = self._init_long_tail(imbalance_factor, seed, n_max, heldout_per_class,
                                            split, test_prior)
        folder = osp.join(data_root, folder_split)
        if not osp.isdir(folder):
            raise FileNotFoundError(
                f'{type(self).__name__}: no folder {folder!r} (expected '
                f'<data_root>/{folder_split}/<class_name>/<image>). Provide the data either as the '
                f'official archive through CIFAR10LT/CIFAR100LT with download=True, or as an '
                f'image-folder copy, e.g. `tar xzf cifar10-jpeg.tar.gz -C <data_root>`')
        self.split = split
        super().__init__(
            data_root=data_root, data_prefix=folder_split, extensions=extensions,
            metainfo=metainfo, **kwargs)

    def _class_folders(self, folder: str) -> List[str]:
        return sorted(entry.name for entry in os.scandir(folder) if entry.is_dir())

    def load_data_list(self) -> List[dict]:
        """Check the class folders against any configured classes, then load and subsample."""
        folders = self._class_folders(self.img_prefix)
        classes = self._metainfo.get('classes')
        if classes is not None and list(classes) != folders:
            raise ValueError(
                f'{type(self).__name__}: metainfo lists {len(classes)} classes '
                f'{list(classes)[:5]}... but {self.img_prefix} has {len(folders)} class folders '
                f'{folders[:5]}...; labels come from the sorted folder names, so drop '
                f'`classes`/`metainfo` from the config or list exactly those names in order')
        return super().load_data_list()

    def _train_class_sizes(self) -> Optional[List[int]]:
        train_dir = osp.join(self.data_root, 'train')
        if not osp.isdir(train_dir):
            return None
        folders = self._class_folders(train_dir)
        if folders != list(self._metainfo['classes']):
            raise ValueError(f'{type(self).__name__}: class folders of {train_dir} '
                             f'{folders[:5]}... differ from those of {self.img_prefix}')
        # Recursive, like CustomDataset's own walk of the class folders.
        return [
            sum(self.is_valid_file(name) for _, _, files in os.walk(osp.join(train_dir, cls))
                for name in files) for cls in folders
        ]

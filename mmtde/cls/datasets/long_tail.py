# Copyright (c) mmtde contributors. All rights reserved.
"""Long-tailed subsampling of a balanced training set, and the per-class counts it leaves.

The maths are plain numpy; the mixins only assume an mmengine ``BaseDataset`` below them in
the MRO. Nothing here imports an OpenMMLab package beyond mmengine's logger.
"""
import math
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.logging import MMLogger


def check_imbalance_factor(imbalance_factor: float) -> float:
    """Validate an imbalance factor (largest over smallest class size) and return it."""
    if isinstance(imbalance_factor, bool) or not isinstance(imbalance_factor, (int, float)) \
            or not math.isfinite(imbalance_factor) or imbalance_factor < 1:
        raise ValueError(f'imbalance_factor={imbalance_factor!r} is invalid: imbalance_factor '
                         f'must be >= 1, e.g. 100, 50 or 10 (1 keeps the balanced set)')
    return float(imbalance_factor)


def long_tail_counts(n_max: int, num_classes: int, imbalance_factor: float) -> List[int]:
    """Per-class sizes of the exponential long-tailed profile of the CIFAR-LT benchmarks.

    ``n_c = int(n_max * (1 / IF) ** (c / (C - 1)))``: class 0 keeps ``n_max`` images and the
    last class ``n_max / IF`` (rounded down). CIFAR-10 with IF 100 gives 5000, 2997, ..., 83, 50
    (12,406 images).

    Args:
        n_max (int): Size of the largest (first) class.
        num_classes (int): C.
        imbalance_factor (float): IF >= 1.

    Returns:
        list[int]: C sizes, non-increasing.
    """
    imbalance_factor = check_imbalance_factor(imbalance_factor)
    if int(n_max) != n_max or n_max < 1:
        raise ValueError(f'n_max={n_max!r} must be a positive integer (images in the largest '
                         f'class)')
    if int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f'num_classes={num_classes!r} must be a positive integer')
    if num_classes == 1:
        return [int(n_max)]
    # (1.0 / IF) ** (c / (C - 1.0)) rounds exactly like the reference's 0.01 ** (c / (C - 1.0)).
    ratio = 1.0 / imbalance_factor
    return [int(n_max * ratio**(c / (num_classes - 1.0))) for c in range(num_classes)]


def count_labels(labels: Sequence[int], num_classes: int) -> List[int]:
    """Number of occurrences of each label in ``[0, num_classes)``."""
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_classes).tolist()


def plan_long_tail(class_sizes: Sequence[int], imbalance_factor: float,
                   n_max: Optional[int] = None) -> List[int]:
    """Sizes to keep per class when subsampling a set with ``class_sizes`` images per class.

    Args:
        class_sizes (Sequence[int]): Images available in each class (C entries).
        imbalance_factor (float): IF >= 1.
        n_max (int, optional): Size of the largest class. Defaults to the smallest available
            class size (every class can then supply its share; on the balanced CIFAR training
            sets this is the reference's ``len(data) / C``).

    Returns:
        list[int]: C sizes, each within what its class has.
    """
    sizes = [int(s) for s in class_sizes]
    if not sizes:
        raise ValueError('cannot subsample a dataset with no class')
    if n_max is None:
        n_max = min(sizes)
        if n_max < 1:
            raise ValueError(f'class {sizes.index(0)} has no image, so no long-tailed subset '
                             f'can be drawn: check that the classes match the data')
    counts = long_tail_counts(n_max, len(sizes), imbalance_factor)
    for c, (want, have) in enumerate(zip(counts, sizes)):
        if want > have:
            raise ValueError(f'class {c} has {have} images but n_max={n_max} and '
                             f'imbalance_factor={imbalance_factor} ask for {want}: lower n_max '
                             f'(or leave it None to use the smallest class size)')
        if want < 1:
            raise ValueError(f'n_max={n_max} with imbalance_factor={imbalance_factor} leaves '
                             f'class {c} with no image: use a smaller imbalance_factor or a '
                             f'larger n_max')
    return counts


def long_tail_indices(labels: Sequence[int], imbalance_factor: float, seed: int,
                      n_max: Optional[int] = None,
                      num_classes: Optional[int] = None) -> List[int]:
    """Indices of a seeded long-tailed subset of a labelled set.

    Class ``c`` keeps the first ``n_c`` entries (see :func:`long_tail_counts`) of a random
    permutation of its indices, drawn from ``numpy.random.default_rng(seed)`` class after class,
    so the subset depends on ``seed`` only (not on the global numpy state) and is identical on
    every rank.

    Args:
        labels (Sequence[int]): Label of every sample, each in ``[0, num_classes)``.
        imbalance_factor (float): IF >= 1.
        seed (int): Seed of the subset.
        n_max (int, optional): Size of the largest class. Defaults to the smallest class size.
        num_classes (int, optional): C. Defaults to ``max(labels) + 1``.

    Returns:
        list[int]: Sorted indices into ``labels``.
    """
    labels, num_classes = _check_label_array(labels, num_classes)
    counts = plan_long_tail(count_labels(labels, num_classes), imbalance_factor, n_max)
    return _draw_per_class(labels, counts, np.random.default_rng(seed))


def _check_label_array(labels: Sequence[int], num_classes: Optional[int]):
    labels = np.asarray(labels, dtype=np.int64)
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'labels must lie in [0, {num_classes}), got min {labels.min()} and '
                         f'max {labels.max()}')
    return labels, num_classes


def _draw_per_class(labels: np.ndarray, counts: Sequence[int], rng) -> List[int]:
    """The first ``counts[c]`` of a permutation of class ``c``'s indices, class after class."""
    picked = []
    for c, n_c in enumerate(counts):
        members = np.flatnonzero(labels == c)
        picked.append(members[rng.permutation(members.size)[:n_c]])
    return np.sort(np.concatenate(picked)).tolist() if picked else []


def heldout_indices(labels: Sequence[int], per_class: int, seed: int,
                    num_classes: Optional[int] = None) -> List[int]:
    """Indices of a balanced, seeded held-out set: ``per_class`` samples of every class.

    Drawn from its own stream (``default_rng([seed, 2020])``), apart from the long-tail draw,
    so holding out does not change which of the remaining images the long tail picks first.

    Args:
        labels (Sequence[int]): Label of every sample of the balanced training split.
        per_class (int): Samples held out of each class (0: none).
        seed (int): Seed of the draw.
        num_classes (int, optional): C. Defaults to ``max(labels) + 1``.

    Returns:
        list[int]: Sorted indices into ``labels``.
    """
    labels, num_classes = _check_label_array(labels, num_classes)
    if per_class == 0:
        return []
    check_heldout(count_labels(labels, num_classes), per_class)
    return _draw_per_class(labels, [per_class] * num_classes,
                           np.random.default_rng([seed, 2020]))


def check_heldout(class_sizes: Sequence[int], per_class: int) -> None:
    """Raise unless every class keeps training images after ``per_class`` are held out."""
    if per_class == 0:
        return
    for c, size in enumerate(class_sizes):
        if size <= per_class:
            raise ValueError(f'class {c} has {size} training images, too few to hold '
                             f'out heldout_per_class={per_class}: lower heldout_per_class')


#: The shifted test sets of the test-agnostic protocol of LADE (Hong et al., CVPR 2021) as SADE
#: (Zhang et al., NeurIPS 2022) runs it on CIFAR-100-LT (``test_all_cifar.py``), in its order:
#: test imbalance 50 ... 2 in the training order ("forward", head classes first), the balanced
#: set, then the same factors inverted ("backward", tail classes most frequent).
TEST_PRIORS = ('forward50', 'forward25', 'forward10', 'forward5', 'forward2', 'uniform',
               'backward2', 'backward5', 'backward10', 'backward25', 'backward50')


def parse_test_prior(test_prior: str) -> Tuple[float, bool]:
    """The test imbalance factor of a shifted test set, and whether it is inverted.

    Args:
        test_prior (str): ``'uniform'``, ``'forward<IF>'`` or ``'backward<IF>'`` with a test
            imbalance factor IF >= 1, e.g. ``'forward50'`` or ``'backward2.5'``.

    Returns:
        tuple[float, bool]: IF (1 for ``'uniform'``) and True for ``'backward'``.
    """
    match = re.fullmatch(r'(forward|backward)(\d+(?:\.\d+)?)', str(test_prior))
    if test_prior == 'uniform':
        return 1.0, False
    factor = float(match.group(2)) if match else 0.0
    if not match or factor < 1:
        raise ValueError(f'test_prior={test_prior!r} is unknown: use \'uniform\', '
                         f'\'forward<IF>\' or \'backward<IF>\' with a test imbalance factor '
                         f'IF >= 1, e.g. one of {TEST_PRIORS}')
    return factor, match.group(1) == 'backward'


def shifted_test_counts(class_sizes: Sequence[int], test_prior: str) -> List[int]:
    """Per-class sizes of a shifted test set drawn from a balanced test split.

    LADE's / SADE's profile on the test split: ``n_c = int(n (1/IF) ** (c / (C - 1)))`` with
    ``n`` the images per class of the balanced split (CIFAR: 1000 or 100), the formula of the
    training subset (:func:`long_tail_counts`); ``'backward'`` reverses the list, so the class
    with the fewest training images gets ``n``. CIFAR-100 ``'forward50'``: 100, 96, ..., 2
    (2,486 images); ``'uniform'`` keeps the whole split.

    Args:
        class_sizes (Sequence[int]): Images of each class in the test split, all equal.
        test_prior (str): See :func:`parse_test_prior`.

    Returns:
        list[int]: C sizes.
    """
    factor, backward = parse_test_prior(test_prior)
    sizes = [int(s) for s in class_sizes]
    if not sizes or min(sizes) != max(sizes) or sizes[0] < 1:
        raise ValueError(f'test_prior={test_prior!r} subsamples a balanced test split, but its '
                         f'classes have {min(sizes, default=0)} to {max(sizes, default=0)} '
                         f'images: use the official (balanced) test split')
    counts = long_tail_counts(sizes[0], len(sizes), factor)
    if counts[-1] < 1:
        raise ValueError(f'test_prior={test_prior!r} leaves the rarest test class with no image '
                         f'(int({sizes[0]} / {factor:g}) = 0): use a test imbalance factor '
                         f'<= {sizes[0]} on this split')
    return counts[::-1] if backward else counts


def shifted_test_indices(labels: Sequence[int], test_prior: str, seed: int,
                         num_classes: Optional[int] = None) -> List[int]:
    """Indices of a shifted test set within a balanced labelled test split.

    Class after class (in label order), the first ``n_c`` (:func:`shifted_test_counts`) of a
    permutation of the class's indices drawn from ``numpy.random.RandomState(seed)``: the draw
    of SADE's ``IMBALANCECIFAR100`` (``np.random.seed(0)``, then ``np.random.shuffle`` per
    class), so ``seed=0`` selects the very images of their CIFAR test sets, every draw
    starting again from the seed. The legacy generator is what keeps that equality.

    Args:
        labels (Sequence[int]): Label of every test sample, in the split's order.
        test_prior (str): See :func:`parse_test_prior`.
        seed (int): Seed of the draw.
        num_classes (int, optional): C. Defaults to ``max(labels) + 1``.

    Returns:
        list[int]: Sorted indices into ``labels``.
    """
    labels, num_classes = _check_label_array(labels, num_classes)
    counts = shifted_test_counts(count_labels(labels, num_classes), test_prior)
    rng = np.random.RandomState(seed)
    picked = []
    for c, n_c in enumerate(counts):
        members = np.flatnonzero(labels == c)
        rng.shuffle(members)
        picked.append(members[:n_c])
    return np.sort(np.concatenate(picked)).tolist()


class ClassCountsMixin:
    """Publishes the per-class training-image counts of a classification dataset.

    ``class_counts`` always means counts of the *training* split, on every split, because
    they are what define the many / medium / few groups: a test split carries them in its
    ``metainfo['class_counts']`` so that ``LongTailAccuracy`` finds them through the
    evaluator's ``dataset_meta``. It is None when they could not be determined.
    """

    _class_counts: Optional[List[int]] = None

    @property
    def class_counts(self) -> Optional[List[int]]:
        """list[int] | None: Training images per class (C entries)."""
        if not getattr(self, '_fully_initialized', True):
            self.full_init()
        return None if self._class_counts is None else list(self._class_counts)

    def _set_class_counts(self, counts: Optional[Sequence[int]]) -> None:
        self._class_counts = None if counts is None else [int(n) for n in counts]
        if counts is None:
            self._metainfo.pop('class_counts', None)
        else:
            self._metainfo['class_counts'] = list(self._class_counts)

    def _check_labels(self, labels: Sequence[int], source: str) -> int:
        """Check labels against ``metainfo['classes']`` and return the number of classes."""
        classes = self._metainfo.get('classes')
        labels = np.asarray(labels, dtype=np.int64)
        if classes is None:
            return int(labels.max()) + 1 if labels.size else 0
        num_classes = len(classes)
        bad = labels[(labels < 0) | (labels >= num_classes)]
        if bad.size:
            raise ValueError(
                f'{type(self).__name__}: {source} has label {int(bad[0])} but metainfo lists '
                f'{num_classes} classes; the `metainfo`/`classes` given in the config disagree '
                f'with the data: drop them or list all {int(labels.max()) + 1} classes')
        return num_classes


class LongTailMixin(ClassCountsMixin):
    """Subsamples the ``'train'`` split of a balanced dataset to a long-tailed one.

    Put it before a dataset class in the bases and call :meth:`_init_long_tail` before that
    class's ``__init__`` (which loads the data). After the host's ``load_data_list`` the
    training list is cut to :func:`long_tail_indices`; other splits stay balanced but still
    expose the training ``class_counts`` when :meth:`_train_class_sizes` can tell them. The
    split, not ``test_mode``, decides: mmpretrain's CIFAR configs leave ``test_mode=False`` on
    the test split.

    With ``heldout_per_class = N > 0`` a balanced held-out set of N images per class is
    removed from the training split before the long tail is drawn (from the remaining
    ``n - N`` per class), and the ``'heldout'`` split serves those images: a validation set
    that shares no image with training or test, for choosing alpha. Every split, given the
    same N, carries the class counts of the same long-tailed training subset.

    ``test_prior`` (``'forward50'``, ``'backward10'``, ``'uniform'``, ...; see
    :data:`TEST_PRIORS`) turns the balanced ``'test'`` split into one of the shifted test sets
    of LADE's / SADE's protocol (:func:`shifted_test_indices`, drawn with ``seed``); the class
    counts stay the training ones. :meth:`test_prior_indices` gives the same subsets as
    indices into the full test split, so one feature pass can score all of them.
    """

    #: Splits the mixin knows; a host loads ``'heldout'`` from its training data.
    LT_SPLITS = ('train', 'heldout', 'test')

    def _init_long_tail(self, imbalance_factor: float, seed: int,
                        n_max: Optional[int] = None, heldout_per_class: int = 0,
                        split: Optional[str] = None,
                        test_prior: Optional[str] = None) -> Optional[str]:
        """Validate the long-tail arguments; returns the split the host must load.

        ``split`` None leaves the split to the host's ``self.split`` (no ``'heldout'``)."""
        self.imbalance_factor = check_imbalance_factor(imbalance_factor)
        if isinstance(seed, bool) or int(seed) != seed:
            raise ValueError(f'seed={seed!r} must be an integer')
        self.seed = int(seed)
        self.n_max = n_max
        if isinstance(heldout_per_class, bool) or not isinstance(heldout_per_class, int) \
                or heldout_per_class < 0:
            raise ValueError(f'heldout_per_class={heldout_per_class!r} must be an integer >= 0 '
                             f'(e.g. 50 on CIFAR-LT; 0 keeps the whole training split)')
        self.heldout_per_class = heldout_per_class
        if test_prior is not None:
            parse_test_prior(test_prior)
            if split != 'test':
                raise ValueError(f'test_prior={test_prior!r} subsamples the balanced test split '
                                 f"and needs split='test', got split={split!r}: leave "
                                 f'test_prior=None on the other splits')
        self.test_prior = test_prior
        if split is None:
            return None
        if split not in self.LT_SPLITS:
            raise ValueError(f'split={split!r} must be one of {self.LT_SPLITS}')
        if split == 'heldout' and heldout_per_class == 0:
            raise ValueError(
                "split='heldout' needs heldout_per_class > 0 (e.g. 50), the same value the "
                'model was trained with (train_dataloader.dataset.heldout_per_class); with 0 '
                'every training image may have been trained on')
        self.lt_split = split
        return 'train' if split == 'heldout' else split

    def _train_class_sizes(self) -> Optional[List[int]]:
        """Images per class in the full (balanced) training split; None if unknown."""
        return None

    def load_data_list(self) -> List[dict]:
        """Load the host's list, then hold out and subsample it for the training splits."""
        data_list = super().load_data_list()
        labels = [int(info['gt_label']) for info in data_list]
        split = getattr(self, 'lt_split', self.split)
        num_classes = self._check_labels(labels, f'the {split} split')
        if split in ('train', 'heldout'):
            held = heldout_indices(labels, self.heldout_per_class, self.seed, num_classes)
            rest = np.setdiff1d(np.arange(len(labels)), held)
            rest_labels = [labels[i] for i in rest]
            keep = rest[long_tail_indices(rest_labels, self.imbalance_factor, self.seed,
                                          self.n_max, num_classes)]
            self._set_class_counts(count_labels([labels[i] for i in keep], num_classes))
            held_note = f', {len(held)} held out first' if len(held) else ''
            if split == 'heldout':
                MMLogger.get_current_instance().info(
                    f'{type(self).__name__}(heldout): {len(held)} training images '
                    f'({self.heldout_per_class} a class) never trained on')
                return [data_list[i] for i in held]
            MMLogger.get_current_instance().info(
                f'{type(self).__name__}: imbalance_factor={self.imbalance_factor:g}, '
                f'seed={self.seed}: kept {len(keep)} of {len(labels)} training images'
                f'{held_note}')
            return [data_list[i] for i in keep]
        sizes = self._train_class_sizes()
        if sizes is None:
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__}({split}): the training split was not found, so '
                f'metainfo has no class_counts; give LongTailAccuracy class_counts= or '
                f'train_dataset=')
            self._set_class_counts(None)
        else:
            if len(sizes) != num_classes:
                raise ValueError(f'{type(self).__name__}: the training split has {len(sizes)} '
                                 f'classes but the {split} split has {num_classes}')
            check_heldout(sizes, self.heldout_per_class)
            sizes = [n - self.heldout_per_class for n in sizes]
            self._set_class_counts(plan_long_tail(sizes, self.imbalance_factor, self.n_max))
        if self.test_prior is None:
            return data_list
        keep = shifted_test_indices(labels, self.test_prior, self.seed, num_classes)
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}(test, test_prior={self.test_prior}): kept {len(keep)} of '
            f'{len(labels)} test images, seed={self.seed}')
        return [data_list[i] for i in keep]

    def test_prior_indices(self, test_prior: str) -> List[int]:
        """Indices into this full test split of the shifted test set ``test_prior``.

        They select exactly the images that the same dataset built with ``test_prior=`` serves,
        so features extracted once from the full split score every shifted set.

        Args:
            test_prior (str): ``'uniform'``, ``'forward<IF>'`` or ``'backward<IF>'``.

        Returns:
            list[int]: Sorted indices.
        """
        split = getattr(self, 'lt_split', self.split)
        if split != 'test' or self.test_prior is not None:
            raise ValueError(f'{type(self).__name__}: shifted test sets are drawn from the full '
                             f"test split, not from split={split!r} with "
                             f'test_prior={self.test_prior!r}: build it with split=\'test\' and '
                             f'test_prior=None')
        labels = [int(label) for label in self.get_gt_labels()]
        return shifted_test_indices(labels, test_prior, self.seed,
                                    self._check_labels(labels, 'the test split'))

# Copyright (c) mmtde contributors. All rights reserved.
"""Crops for pretraining a detector's trunk on emoji that are *not* Emoji-LVIS classes.

On LVIS, the detector's backbone starts from ImageNet weights: it has learned what objects look
like from a classification task whose classes are not LVIS's own. Emoji-LVIS gets the same
standing with this set: one crop per sample, a jittered glyph of one of the
``pretrain_classes`` of the committed class list (the object-like emoji the class draw left
out, so no Emoji-LVIS class is among them; see
``tools/dataset_converters/make_emoji_lvis_classes.py``) pasted on an upscaled CIFAR-10 image
(training split behind training crops, test split behind held-out crops) or seeded noise.
Both fonts, the generator's jitter (rotation, flip, brightness and contrast), the glyph's
longer side in ``0.4-0.9`` of the crop.

Pure numpy / OpenCV / Pillow; deterministic from ``seed`` (one generator per crop). The
training tool is ``tools/pretrain_emoji_trunk.py``.
"""
import hashlib
import json
from typing import Dict, Optional, Tuple

import cv2
import numpy as np

from .emoji_lvis import (
    NOTO_SHA256,
    OPENMOJI_SHA256,
    STYLES,
    _Painter,
    find_fonts,
    load_class_list,
    load_fonts,
    render_glyph,
)

#: Changes whenever the crops drawn for the same arguments change.
CROPS_VERSION = 1


def pretrain_classes(class_list: Optional[dict] = None) -> list:
    """The pretraining classes, checked to share no codepoint or name with an Emoji-LVIS class.

    Raises:
        ValueError: When the class list has no ``pretrain_classes`` or the two overlap.
    """
    class_list = class_list or load_class_list()
    if 'pretrain_classes' not in class_list:
        raise ValueError('the class list has no "pretrain_classes": remake it with '
                         'tools/dataset_converters/make_emoji_lvis_classes.py')
    bench = class_list['classes']
    pre = class_list['pretrain_classes']
    for key in ('codepoint', 'name'):
        shared = {c[key] for c in bench} & {c[key] for c in pre}
        if shared:
            raise ValueError(f'pretraining classes overlap the Emoji-LVIS classes by {key}: '
                             f'{sorted(shared)[:5]}; remake the class list')
    return pre


def _background(size: int, pool: Optional[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    if pool is not None:
        tile = pool[int(rng.integers(0, len(pool)))]
        return cv2.resize(tile, (size, size), interpolation=cv2.INTER_LINEAR)
    coarse = rng.integers(0, 256, size=(4, 4, 3)).astype(np.uint8)
    smooth = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    return np.clip(smooth + rng.integers(-20, 21, size=(size, size, 3)), 0, 255).astype(np.uint8)


def make_crops(num_per_class: int, seed: int, split: str = 'train', size: int = 64,
               pool: Optional[np.ndarray] = None, glyphs: Optional[Dict[str, list]] = None,
               noto_font: Optional[str] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Draw ``num_per_class`` crops of every pretraining class.

    Args:
        num_per_class (int): Crops of each class.
        seed (int): Seed; ``split`` draws its own stream.
        split (str): ``'train'`` or ``'heldout'`` (other crops, for the top-1 figure).
            Defaults to 'train'.
        size (int): Side of the square crops. Defaults to 64.
        pool (np.ndarray, optional): Background images ``(N, 32, 32, 3)`` uint8 (CIFAR-10);
            None gives noise.
        glyphs (dict, optional): ``{style: [RGBA glyph per class]}``, rendered here if None.
        noto_font (str, optional): See :func:`~mmtde.datagen.emoji_lvis.find_fonts`.

    Returns:
        tuple[np.ndarray, np.ndarray]: Images ``(N, size, size, 3)`` uint8 RGB and labels
        ``(N,)`` int64, class-major order.
    """
    if split not in ('train', 'heldout'):
        raise ValueError(f'split={split!r} must be "train" or "heldout"')
    if num_per_class < 1 or size < 16:
        raise ValueError(f'num_per_class={num_per_class} must be >= 1 and size={size} >= 16')
    classes = pretrain_classes()
    if glyphs is None:
        glyphs = render_pretrain_glyphs(noto_font)
    images = np.empty((len(classes) * num_per_class, size, size, 3), np.uint8)
    labels = np.repeat(np.arange(len(classes)), num_per_class)
    stream = dict(train=1, heldout=2)[split]
    for i, c in enumerate(labels):
        rng = np.random.default_rng([seed, stream, i])
        painter = _Painter(_background(size, pool, rng), 0.0, rng,
                           longer=(0.4 * size, 0.9 * size))
        painter.paste(glyphs[STYLES[int(rng.integers(0, len(STYLES)))]][c])
        images[i] = np.clip(np.round(painter.image), 0, 255).astype(np.uint8)
    return images, labels


def render_pretrain_glyphs(noto_font: Optional[str] = None) -> Dict[str, list]:
    """``{style: [RGBA glyph of each pretraining class]}`` from the pinned fonts."""
    fonts = load_fonts(find_fonts(noto_font))
    return {s: [render_glyph(fonts[s], chr(c['codepoint'])) for c in pretrain_classes()]
            for s in STYLES}


def inputs_hash(pool: Optional[np.ndarray], **settings) -> str:
    """sha256 of everything the crops and the trunk depend on: the pretraining class list, the
    pinned fonts, the background images, this module's :data:`CROPS_VERSION` and
    ``settings`` (JSON-serialisable: seed, counts, training recipe, backbone config)."""
    h = hashlib.sha256()
    h.update(json.dumps(dict(classes=pretrain_classes(), fonts=[NOTO_SHA256, OPENMOJI_SHA256],
                             version=CROPS_VERSION, settings=settings),
                        sort_keys=True).encode())
    h.update(b'noise' if pool is None else np.ascontiguousarray(pool).tobytes())
    return h.hexdigest()

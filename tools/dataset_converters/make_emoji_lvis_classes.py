# Copyright (c) mmtde contributors. All rights reserved.
"""Remake ``mmtde/datagen/emoji_lvis_classes.json``: Emoji-LVIS's class list and LVIS v1 shape.

Maintainers only (the file is committed; users never run this). Candidates are the single-code-
point emoji of the pictograph blocks that both pinned fonts draw and whose Unicode name
(Python's ``unicodedata``) names an object: faces, people, body parts, hands, flags, signs,
symbols, arrows, geometric shapes and clock faces are dropped by name. ``--num-classes`` of
them are drawn with ``--seed``, in the drawn order (generators take the first N). The LVIS
shape is the fraction of rare/common/frequent categories and 101 quantiles of ``image_count``
per group, from the LVIS v1 category list. Every class records its ``fill`` (the smaller share
of its box that its glyph covers in the two fonts; generators may leave thin glyphs out). The
candidates not drawn are written, in the drawn order, as ``pretrain_classes``: the classes a
trunk is pretrained on (``mmtde.datagen.emoji_pretrain``), disjoint from every Emoji-LVIS class::

    python tools/dataset_converters/make_emoji_lvis_classes.py \
        --lvis-categories $MMTDE_DATA_DIR/lvis_v1_categories.json
"""
import argparse
import json
import unicodedata

import numpy as np

from mmtde.datagen.emoji_lvis import (
    CLASS_LIST,
    STYLES,
    find_fonts,
    glyph_fill,
    load_fonts,
    render_glyph,
)

BLOCKS = ((0x1F300, 0x1F5FF), (0x1F680, 0x1F6FF), (0x1F900, 0x1F9FF), (0x1FA70, 0x1FAFF),
          (0x2600, 0x27BF))
NOT_OBJECTS = (
    'FACE', 'PERSON', 'PEOPLE', 'MAN', 'WOMAN', 'BOY', 'GIRL', 'BABY', 'CHILD', 'ADULT', 'HAND',
    'FINGER', 'FIST', 'THUMB', 'FLAG', 'SIGN', 'SYMBOL', 'ARROW', 'SQUARE', 'CIRCLE', 'KEYCAP',
    'HEART', 'BUTTON', 'MARK', 'LETTER', 'DIGIT', 'MODIFIER', 'SKIN', 'SPEECH', 'THOUGHT',
    'ANGER', 'COLLISION', 'DIZZY', 'SLEEPING', 'CLOCK', 'SILHOUETTE', 'PRINCE', 'SANTA',
    'MERMAID', 'MERPERSON', 'ELF', 'GENIE', 'ZOMBIE', 'VAMPIRE', 'FAIRY', 'MAGE', 'DETECTIVE',
    'GUARDSMAN', 'WORKER', 'OFFICER', 'RUNNER', 'SWIMMER', 'SURFER', 'DANCER', 'RACING',
    'SKIER', 'SNOWBOARDER', 'GOLFER', 'WRESTLERS', 'JUGGLING', 'BATH', 'FOOTPRINTS', 'EYE',
    'EAR', 'NOSE', 'TONGUE', 'MOUTH', 'LEG', 'FOOT', 'BRAIN', 'LUNGS', 'ANATOMICAL', 'FAMILY',
    'COUPLE', 'KISS', 'NINJA', 'ASTRONAUT', 'PILOT', 'FIREFIGHTER', 'SUPERHERO', 'SUPERVILLAIN',
    'TROLL', 'BEARDED', 'PREGNANT', 'BREAST', 'GESTURING', 'BOWING', 'SHRUG', 'POUTING',
    'FROWNING', 'STANDING', 'KNEELING', 'WALKING', 'CLIMBING', 'LOTUS', 'CARTWHEEL', 'ROWING',
    'BIKING', 'BICYCLIST', 'HANDBALL', 'WATER POLO', 'LIFTER', 'TEACHER', 'STUDENT', 'JUDGE',
    'FARMER', 'COOK', 'MECHANIC', 'SCIENTIST', 'TECHNOLOGIST', 'SINGER', 'ARTIST', 'HEALTH',
    'CONSTRUCTION WORKER', 'TURBAN', 'HEADSCARF', 'TUXEDO', 'VEIL', 'BRIDE', 'WAVING',
    'RAISING', 'BLOND', 'OLDER', 'OGRE', 'GOBLIN', 'IMP', 'ALIEN', 'ROBOT', 'CLOWN', 'SKULL',
    'GHOST', 'PILE OF POO', 'MOON', 'ZODIAC', 'SQUARED', 'CIRCLED', 'REGIONAL', 'COMBINING',
    'ARIES', 'TAURUS', 'GEMINI', 'CANCER', 'LEO', 'VIRGO', 'LIBRA', 'SCORPIUS', 'SAGITTARIUS',
    'CAPRICORN', 'AQUARIUS', 'PISCES', 'OPHIUCHUS', 'CROSS', 'STAR OF', 'YIN YANG', 'PEACE',
    'RADIOACTIVE', 'BIOHAZARD', 'WARNING', 'NO ENTRY', 'PROHIBITED', 'CHECK', 'SPARKLE',
    'ASTERISK', 'EXCLAMATION', 'QUESTION', 'PLUS', 'MINUS', 'DIVISION', 'MULTIPLICATION',
    'INFINITY', 'RECYCLING', 'FLEUR', 'TRIDENT', 'BEAMING', 'HUGGING', 'TOP HAT', 'BUST',
    'MEDIUM', 'LARGE', 'SMALL', 'DIAMOND WITH', 'SHAPE', 'TRIANGLE', 'LOOP', 'ON WITH',
    'PART ALTERNATION', 'ORTHODOX', 'CRESCENT', 'DHARMA', 'OM', 'MENORAH', 'KAABA',
    'HIGH VOLTAGE', 'STAR', 'NO',
    'CANCELLATION', 'PEDESTRIAN', 'BICEPS', 'INDEX', 'BACKHAND', 'PASSPORT', 'LEFT LUGGAGE',
    'CUSTOMS', 'RESTROOM', 'EYES', 'SUIT', 'WORSHIP', 'VIBRATION', 'CINEMA', 'MENS', 'WOMENS',
    'TOILET', 'WC', 'POTABLE', 'LITTER', 'SMOKING', 'CROSSING', 'OFF', 'SUNRISE', 'SUNSET',
    'MILKY WAY', 'NIGHT', 'CITYSCAPE', 'FOGGY', 'DUSK', 'SHOOTING', 'SPARKLES', 'LOVE HOTEL',
    'HEARTS', 'PALMS', 'COMPONENT', 'HAIR', 'FATHER', 'MOTHER', 'HANDSHAKE', 'LAUGHING',
    'WATER CLOSET', 'BAGGAGE', 'HAIRCUT', 'MASSAGE', 'SELFIE', 'NAIL POLISH', 'MRS', 'MX',
    'OLDER', 'TEARS', 'FACEPALM', 'LIP', 'FEEDING', 'HAMSA')


def is_object(name: str) -> bool:
    words = f' {name} '
    return not any(f' {w} ' in words or (' ' in w and w in name) for w in NOT_OBJECTS)


def lvis_shape(path: str) -> dict:
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    cats = data['categories'] if isinstance(data, dict) else data
    shape = dict(source=f'LVIS v1 categories ({len(cats)}), image_count per frequency group',
                 fractions={}, quantiles={})
    for group in 'rcf':
        counts = np.array([c['image_count'] for c in cats if c['frequency'] == group])
        shape['fractions'][group] = round(len(counts) / len(cats), 6)
        shape['quantiles'][group] = [round(float(v), 3)
                                     for v in np.quantile(counts, np.linspace(0, 1, 101))]
    return shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--lvis-categories', required=True)
    parser.add_argument('--num-classes', type=int, default=200)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', default=CLASS_LIST)
    args = parser.parse_args()
    fonts = load_fonts(find_fonts())
    notdef = render_glyph(fonts['openmoji'], chr(0x10FFFD))
    candidates = []
    for lo, hi in BLOCKS:
        for cp in range(lo, hi + 1):
            name = unicodedata.name(chr(cp), '')
            if not name or not is_object(name):
                continue
            drawn = {s: render_glyph(fonts[s], chr(cp)) for s in STYLES}
            if drawn['noto'].size == 0 or (drawn['openmoji'].shape == notdef.shape and
                                           (drawn['openmoji'] == notdef).all()):
                continue
            candidates.append(dict(name=name.lower().replace(' ', '_').replace('-', '_'),
                                   codepoint=cp, unicode_name=name,
                                   fill=round(min(glyph_fill(g) for g in drawn.values()), 4)))
    order = np.random.default_rng(args.seed).permutation(len(candidates))
    result = dict(
        about=f'Emoji-LVIS classes: {args.num_classes} of {len(candidates)} object-like emoji '
        f'drawn by both pinned fonts, in a seeded draw (seed {args.seed}) made by '
        f'tools/dataset_converters/make_emoji_lvis_classes.py with Unicode '
        f'{unicodedata.unidata_version} names',
        classes=[candidates[i] for i in order[:args.num_classes]],
        pretrain_classes=[candidates[i] for i in order[args.num_classes:]],
        lvis_shape=lvis_shape(args.lvis_categories))
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=1)
        f.write('\n')
    print(f'{len(candidates)} candidates, {args.num_classes} written to {args.out}')


if __name__ == '__main__':
    main()

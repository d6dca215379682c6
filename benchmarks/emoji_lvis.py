# Copyright (c) mmtde contributors. All rights reserved.
"""Emoji-LVIS: De-confound-TDE against mmdet's long-tail methods, on the same data, seeds and
schedule, on a CPU.

Each method is a config of ``configs/emoji_lvis/`` trained with ``tools/train.py`` unchanged
(a subprocess), then tested in this process with the project's LVIS metric
(``StrictLVISMetric``, lvis-api) on the validation split: bbox and segm AP, APr, APc, APf, and
per-class mask AP. The causal-norm model is scored three times from one checkpoint: TDE at the
paper's alpha = 1.5, De-confound (alpha = 0), and TDE at the alpha with the best box AP on the
held-out split (training images, never the validation set; boxes only, for speed).

The LT design (``--design lt``) also scores Fixed AP, and the summary gives paired differences
(TDE - De-confound, TDE - NorCal, ...) of per-class AP by frequency group with a 95 % bootstrap
interval over seeds and classes. A run that ends with no correct detection at all (AP 0 in
every group: a training that diverged to background) is reported as collapsed, with the
largest ``loss_cls`` its log shows; it counts as a failure of its method (its zeros stay in the
mean, the table gives the rate).

Everything is resumable: a finished training (its last checkpoint) and every finished scoring
(``eval_*.json``) is reused, an interrupted training resumes from its last checkpoint, and
more seeds can be added later; a work dir or data folder made with other settings is refused.
Results: ``WORK_DIR/results.json`` (every figure, the record a rerun resumes from), and in
``--out`` (default the work dir) ``results.json``, ``results.md`` (mean and spread over seeds,
paired differences), ``paired_differences.json`` and ``per_class_ap.png``.

Usage::

    python benchmarks/emoji_lvis.py --data-root data/emoji_lvis --seeds 0 1
    # generates Emoji-LVIS there first if it is missing (backgrounds: --cifar10 or
    # $MMTDE_DATA_DIR; noise without)
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

import benchlib  # noqa: I001  (puts this checkout's mmtde first on sys.path)
from benchlib import REPO

CONFIGS = osp.join(REPO, 'configs', 'emoji_lvis')
#: The two designs: the first (200 classes, compressed imbalance, trunk from scratch, 800
#: iterations, one data set) and the LVIS-like one (100 classes without thin glyphs, LVIS's
#: head / rare instance ratio, pretrained trunk, data drawn anew for every seed).
DESIGNS = {
    '800i': dict(stem='mask-rcnn_r18-c32_fpn_{}800i_emoji-lvis.py', env='MMTDE_EMOJI_LVIS',
                 data=dict(), data_per_seed=False, trunk=False),
    'lt': dict(stem='faster-rcnn_r18-c32-pre_fpn_{}1200i_emoji-lvis-lt.py',
               env='MMTDE_EMOJI_LVIS_LT', data_per_seed=True, trunk=True, fixed_ap=True,
               data=dict(num_classes=50, max_images=300, head_instances=8.0, min_fill=0.35,
                         classes_per_image=4.0)),
}
STEM = DESIGNS['800i']['stem']
METHODS = {  # name: (config, label)
    'ce': (STEM.format(''), 'softmax CE (baseline)'),
    'rfs': (STEM.format('sample-rfs_'), 'repeat-factor sampling'),
    'seesaw': (STEM.format('seesaw-loss_'), 'Seesaw loss + normalised linear'),
    'eqlv2': (STEM.format('eqlv2_'), 'EQL v2'),
    'causalnorm': (STEM.format('causalnorm-tde_'), 'causal norm'),
}
METHOD_PREFIX = dict(ce='', rfs='sample-rfs_', seesaw='seesaw-loss_', eqlv2='eqlv2_',
                     causalnorm='causalnorm-tde_')


def use_design(name: str) -> dict:
    """Point :data:`METHODS` at the configs of design ``name``; its settings."""
    design = DESIGNS[name]
    for method, prefix in METHOD_PREFIX.items():
        METHODS[method] = (design['stem'].format(prefix), METHODS[method][1])
    return design
PAPER_ALPHA = 1.5
KEYS = [f'{t}_{k}' for t in ('bbox', 'segm') for k in ('AP', 'APr', 'APc', 'APf')]
#: Fixed AP (Dave et al. 2021) of the LT design's rows: each class keeps its FIXED_AP_K best
#: boxes over the whole validation split (125 images: 8 a class an image, many times the
#: instances of any class there) instead of LVIS's 300 boxes an image.
FIXED_AP_K = 1000
FIXED_KEYS = [f'bbox_fixed_{k}' for k in ('AP', 'APr', 'APc', 'APf')]
#: Paired differences the summary reports with a bootstrap interval: (A, B) for A - B.
PAIRS = [('tde_heldout', 'deconfound'), ('tde', 'deconfound'), ('tde_heldout', 'ce'),
         ('tde_heldout', 'ce_norcal'), ('tde_heldout', 'deconfound_norcal'),
         ('deconfound_norcal', 'deconfound'), ('ce_norcal', 'ce'), ('deconfound', 'ce'),
         ('tde_heldout', 'rfs'), ('tde_heldout', 'seesaw'), ('tde_heldout', 'eqlv2')]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--design', default='800i', choices=list(DESIGNS),
                        help='800i: the first design; lt: LVIS-like imbalance, pretrained trunk')
    benchlib.add_common_args(
        parser, work_dir_default=None, data_root_env=False,
        data_root_help='the generated Emoji-LVIS sets, drawn there when missing (default: '
        'data/emoji_lvis for 800i; data/emoji_lvis_lt for lt, one folder a seed below it); '
        '--work-dir defaults to work_dirs/benchmarks/emoji_lvis[_lt]')
    parser.add_argument('--cifar10', default=os.environ.get('MMTDE_DATA_DIR'),
                        help='CIFAR-10 for the backgrounds when the data set is generated')
    parser.add_argument('--gate', action='store_true',
                        help='check the regime after the seed: softmax box APc >= 25 and '
                        'De-confound box APr >= 3 (train ce and causalnorm first)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1])
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    parser.add_argument('--alphas', type=float, nargs='+',
                        default=[0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0],
                        help='alphas tried on the held-out split')
    parser.add_argument('--norcal', action='store_true',
                        help='also score NorCal (gamma picked on the held-out split) on the '
                        'softmax and the alpha-0 causal-norm checkpoints, and the class-rank '
                        'diagnostic')
    parser.add_argument('--gammas', type=float, nargs='+',
                        default=[0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5],
                        help='NorCal gammas tried on the held-out split')
    parser.add_argument('--diagnose', type=int, metavar='SEED',
                        help='only explain the trained causal-norm model of SEED (see diagnose)')
    parser.add_argument('--data-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='generator settings over the design\'s (e.g. head_instances=0 '
                        'max_images=300 for a compressed imbalance); give another --data-root '
                        'and --work-dir for them')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='key=value options for every training and test (e.g. '
                        'train_cfg.max_iters=20 for a smoke run)')
    return parser.parse_args(argv)


def data_settings(args) -> dict:
    """The generator settings of this run: the design's, with ``--data-options`` over them."""
    import inspect

    from mmtde.datagen.emoji_lvis import make_emoji_lvis
    allowed = set(inspect.signature(make_emoji_lvis).parameters) - {
        'out_dir', 'seed', 'cifar10', 'noto_font', 'cache_dir', 'progress'}
    settings = dict(DESIGNS[args.design]['data'])
    for option in args.data_options:
        key, sep, value = option.partition('=')
        if not sep or key not in allowed:
            raise SystemExit(f'--data-options {option!r}: give key=value with a key among '
                             f'{sorted(allowed)}')
        try:
            settings[key] = int(value) if value.lstrip('-').isdigit() else float(value)
        except ValueError:
            raise SystemExit(f'--data-options {option!r}: the value must be a number') from None
    return settings


def _read_json(path: str) -> Optional[dict]:
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _write_json(path: str, data) -> None:
    with open(path + '.tmp', 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1)
    os.replace(path + '.tmp', path)


def _checkout_env() -> dict:
    """The environment for the tools: this checkout's mmtde first, as tools/dist_train.sh does."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (REPO, os.environ.get('PYTHONPATH')) if p))


def train(method: str, seed: int, work_dir: str, cfg_options: List[str]) -> float:
    """Train one method with tools/train.py (resuming if interrupted); its wall seconds."""
    done = _read_json(osp.join(work_dir, 'train_time.json'))
    if done is not None:
        return done['seconds']
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'),
           osp.join(CONFIGS, METHODS[method][0]), '--work-dir', work_dir, '--no-validate',
           '--cfg-options', f'randomness.seed={seed}', *cfg_options]
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        cmd.append('--resume')
    print(f'[bench] train {method} seed {seed}: {" ".join(cmd)}', flush=True)
    os.makedirs(work_dir, exist_ok=True)
    # Wall time over every run, interrupted ones included (counted up to the last 10 s tick).
    partial_file = osp.join(work_dir, 'train_time_partial.json')
    before = (_read_json(partial_file) or dict(seconds=0.0))['seconds']
    start = time.time()
    with open(osp.join(work_dir, 'train_stdout.log'), 'a') as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_checkout_env())
        while True:
            try:
                proc.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                _write_json(partial_file, dict(seconds=before + time.time() - start))
    if proc.returncode:
        raise RuntimeError(f'training {method} (seed {seed}) failed with exit code '
                           f'{proc.returncode}: see {work_dir}/train_stdout.log')
    seconds = before + time.time() - start
    _write_json(osp.join(work_dir, 'train_time.json'),
                dict(seconds=seconds, resumed=before > 0))
    return seconds


def training_trace(work_dir: str) -> Optional[dict]:
    """The largest and the last ``loss_cls`` a training logged (over all its runs, resumed
    ones included); None without a log."""
    losses = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'loss_cls' in record:
                    losses[record['step']] = record['loss_cls']
    if not losses:
        return None
    peak, last = max(losses, key=losses.get), max(losses)
    return dict(max_loss_cls=losses[peak], max_loss_cls_iter=peak,
                last_loss_cls=losses[last], last_iter=last)


def collapsed(row: dict) -> bool:
    """A model with no correct detection at all on val: AP 0 in every group and task."""
    return all(row.get(k, 0) == 0 for k in KEYS)


def _last_checkpoint(work_dir: str) -> str:
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()  # the final one once train() has returned


def score(method: str, seed: int, work_dir: str, split: str, alpha: Optional[float],
          data_root: str, cfg_options: List[str], boxes_only: bool = False,
          checkpoint: Optional[str] = None, tag_suffix: str = '', fixed: bool = False) -> dict:
    """Test the final checkpoint on ``split`` (``val`` or ``heldout``), once; cached.

    ``boxes_only`` (the held-out alpha sweep) drops the mask branch and evaluates boxes with
    faster-coco-eval (equal to lvis-api's box AP, tested): a full bbox + segm test runs the
    mask head on 300 detections an image and takes minutes. ``checkpoint`` replaces the
    training's last one (``tag_suffix`` names its results). ``fixed`` scores Fixed AP (boxes,
    :data:`FIXED_AP_K` boxes a class over the split) instead of LVIS AP.
    """
    tag = f'{split}' + ('' if alpha is None else f'_alpha{alpha:g}') + \
        ('_boxes' if boxes_only else '') + ('_fixed' if fixed else '') + tag_suffix
    cached = _read_json(osp.join(work_dir, f'eval_{tag}.json'))
    if cached is not None:
        return cached
    from mmengine.runner import Runner

    from mmtde.utils.prepare_config import prepare_cfg
    cfg = _model_cfg(method, cfg_options)
    ckpt = checkpoint or _last_checkpoint(work_dir)
    ann = osp.join(data_root, 'annotations', f'lvis_v1_{split}.json')
    cfg.work_dir = osp.join(work_dir, f'test_{tag}')
    cfg.load_from = ckpt
    cfg.test_dataloader.dataset.ann_file = ann
    cfg.test_evaluator.ann_file = ann
    if boxes_only or fixed:
        cfg.model.roi_head.pop('mask_head')
        cfg.model.roi_head.pop('mask_roi_extractor')
        cfg.test_evaluator.update(metric='bbox', backend='faster-coco-eval')
    if fixed:  # every class may keep its K best boxes: no 300-an-image cap before them
        cfg.test_evaluator.fixed_ap_dets_per_cat = FIXED_AP_K
        cfg.model.test_cfg.rcnn.max_per_img = FIXED_AP_K
    elif not boxes_only:
        cfg.test_evaluator.classwise = True  # per-class AP (mmdet keeps the last: segm)
    if alpha is not None:
        cfg.model.roi_head.bbox_head.alpha = alpha
    prepare_cfg(cfg)
    start = time.time()
    metrics = Runner.from_cfg(cfg).test()
    result = dict(
        seconds=time.time() - start,
        **{k: round(float(metrics[f'lvis/{k}']) * 100, 2) for k in KEYS + FIXED_KEYS
           if f'lvis/{k}' in metrics},
        # the last task's (segm where masks are scored, else bbox)
        per_class_ap={k[len('lvis/'):-len('_precision')]: float(v)
                      for k, v in metrics.items() if k.endswith('_precision')})
    _write_json(osp.join(work_dir, f'eval_{tag}.json'), result)
    print(f'[bench] {method} seed {seed} {tag}: ' +
          ' '.join(f'{k} {result[k]:.1f}' for k in KEYS + FIXED_KEYS if k in result) +
          f' ({result["seconds"]:.0f} s)', flush=True)
    return result


def val_scores(method: str, seed: int, work_dir: str, alpha: Optional[float], data_root: str,
               args, options: Tuple[str, ...] = (), tag_suffix: str = '') -> dict:
    """A result row: LVIS AP on the validation split, and Fixed AP where the design scores it
    (the LT design: its ``FIXED_KEYS`` from a second, boxes-only test)."""
    options = args.cfg_options + list(options)
    row = score(method, seed, work_dir, 'val', alpha, data_root, options, tag_suffix=tag_suffix)
    if DESIGNS[args.design].get('fixed_ap'):
        fixed = score(method, seed, work_dir, 'val', alpha, data_root, options,
                      tag_suffix=tag_suffix, fixed=True)
        row = dict(row, **{k: fixed[k] for k in FIXED_KEYS if k in fixed})
    return row


def per_class_ap(row: dict) -> Dict[str, float]:
    """A row's AP by class name (rows written before the key was renamed included)."""
    return row.get('per_class_ap', row.get('per_class_segm_ap', {}))


def _rows_of(method: str, norcal: bool = False) -> Tuple[str, ...]:
    """The result rows one training gives: the causal-norm model is scored three times (four
    with NorCal), the softmax baseline once (twice with NorCal)."""
    rows = ('deconfound', 'tde', 'tde_heldout') if method == 'causalnorm' else (method,)
    if norcal and method in ('ce', 'causalnorm'):
        rows += ('ce_norcal',) if method == 'ce' else ('deconfound_norcal',)
    return rows


def _model_cfg(method: str, cfg_options: List[str]):
    """The config of ``method`` with ``key=value`` options, mmdet's scope set: what the
    scoring and the analysis tools run."""
    from mmtde.det.analysis import load_model_config
    return load_model_config(osp.join(CONFIGS, METHODS[method][0]), cfg_options)


def norcal_row(method: str, seed: int, work_dir: str, data_root: str, args) -> dict:
    """NorCal on a softmax checkpoint (``ce``; ``causalnorm`` at alpha 0): gamma picked on the
    held-out split from one cached network pass, then the validation split scored with it."""
    cached = _read_json(osp.join(work_dir, 'norcal_gamma_sweep.json'))
    extra = ['model.roi_head.bbox_head.alpha=0'] if method == 'causalnorm' else []
    train_ann = osp.join(data_root, 'annotations', 'lvis_v1_train.json')
    if cached is None:
        from mmtde.det.analysis import run_gamma_sweep
        cfg = _model_cfg(method, args.cfg_options + extra)
        sweep = run_gamma_sweep(cfg, _last_checkpoint(work_dir),
                                osp.join(data_root, 'annotations', 'lvis_v1_heldout.json'),
                                args.gammas, train_ann_file=train_ann, progress=False)
        cached = dict(best_gamma=sweep['best_gamma'], rows=sweep['rows'])
        _write_json(osp.join(work_dir, 'norcal_gamma_sweep.json'), cached)
    gamma = cached['best_gamma']
    options = extra + (['model.roi_head.type=NorCalRoIHead', f'model.roi_head.norcal.gamma='
                        f'{gamma:g}', f'model.roi_head.norcal.ann_file={train_ann}']
                       if gamma > 0 else [])
    row = val_scores(method, seed, work_dir, 0.0 if method == 'causalnorm' else None, data_root,
                     args, options, tag_suffix=f'_norcal{gamma:g}')
    return dict(row, gamma=gamma, heldout_by_gamma=cached['rows'])


def rank_diagnostic(method: str, work_dir: str, args) -> dict:
    """The true class's rank on validation ground-truth boxes by r/c/f group (the causal-norm
    model at alpha 0, the paper's alpha and its held-out alpha); cached."""
    out = osp.join(work_dir, 'class_rank.json')
    cached = _read_json(out)
    if cached is None:
        from mmtde.det.analysis import run_class_rank
        alphas = [0.0, PAPER_ALPHA] if method == 'causalnorm' else None
        # the test dataloader: the validation split, as score() reads it
        result = run_class_rank(_model_cfg(method, args.cfg_options), _last_checkpoint(work_dir),
                                'test', alphas=alphas, progress=False)
        cached = dict(variants=result['variants'], groups_from=result['groups_from'])
        _write_json(out, cached)
    return cached


def seed_data(seed: int, args) -> str:
    """The data root of ``seed`` (generated if missing; the 800i design has one for all
    seeds), also set in the environment variable its configs read."""
    design = DESIGNS[args.design]
    root = osp.join(args.data_root, f'seed{seed}') if design['data_per_seed'] else args.data_root
    if not osp.isfile(osp.join(root, 'annotations', 'lvis_v1_val.json')):
        from mmtde.datagen.emoji_lvis import make_emoji_lvis
        print(f'[bench] generating Emoji-LVIS ({args.design}) in {root}', flush=True)
        make_emoji_lvis(root, seed=seed if design['data_per_seed'] else 0,
                        cifar10=args.cifar10, **data_settings(args))
    else:
        check_data(root, data_settings(args), seed if design['data_per_seed'] else 0)
    os.environ[design['env']] = root
    return root


def check_data(root: str, settings: dict, seed: int) -> None:
    """Refuse a data root generated with other settings than the design's (or another seed):
    its figures would silently belong to another benchmark."""
    with open(osp.join(root, 'annotations', 'lvis_v1_val.json'), encoding='utf-8') as f:
        info = json.load(f).get('info', {})
    wanted = dict(settings, seed=seed)
    defaults = dict(head_instances=0.0, min_fill=0.0)  # the generator leaves zeros out
    found = {k: info.get(k, defaults.get(k)) for k in wanted}
    if found != wanted:
        raise SystemExit(f'{root} holds Emoji-LVIS generated with {found}, but this benchmark '
                         f'needs {wanted}: give another --data-root (it is generated there) or '
                         f'delete {root}')


def class_counts(data_root: str) -> Dict[str, int]:
    with open(osp.join(data_root, 'annotations', 'lvis_v1_train.json')) as f:
        return {c['name']: c['image_count'] for c in json.load(f)['categories']}


def run_seed(seed: int, args, rows: Dict[str, dict], save, data_root: str) -> Dict[str, dict]:
    """Train and score the methods of ``args.methods`` that ``rows`` (this seed's results so
    far) lacks, one at a time, calling ``save()`` after each: an interrupted seed, or one
    that a new method is added to, runs only what is missing. ``data_root``: the seed's data
    (:func:`seed_data`)."""
    fixed = DESIGNS[args.design].get('fixed_ap')
    for method in args.methods:
        if all(name in rows and (not fixed or set(FIXED_KEYS) <= set(rows[name]))
               for name in _rows_of(method, args.norcal)):
            continue
        work_dir = osp.join(args.work_dir, f'seed{seed}', method)
        seconds = train(method, seed, work_dir, args.cfg_options)
        trace = training_trace(work_dir)
        if method != 'causalnorm':
            rows[method] = dict(
                val_scores(method, seed, work_dir, None, data_root, args),
                train_seconds=seconds, training=trace)
            if method == 'ce' and args.norcal:
                rows['ce_norcal'] = dict(norcal_row(method, seed, work_dir, data_root, args),
                                         train_seconds=seconds, training=trace)
                rows['ce']['rank'] = rank_diagnostic(method, work_dir, args)
            save()
            continue
        sweep = {a: score(method, seed, work_dir, 'heldout', a, data_root,
                           args.cfg_options, boxes_only=True)['bbox_AP']
                 for a in args.alphas}
        best = max(sweep, key=lambda a: (sweep[a], -a))
        for name, alpha in zip(_rows_of(method), (0.0, PAPER_ALPHA, best)):
            rows[name] = dict(
                val_scores(method, seed, work_dir, alpha, data_root, args),
                train_seconds=seconds, alpha=alpha, training=trace)
        rows['tde_heldout']['heldout_bbox_AP_by_alpha'] = sweep
        if args.norcal:
            rows['deconfound_norcal'] = dict(
                norcal_row(method, seed, work_dir, data_root, args), train_seconds=seconds,
                training=trace)
            rows['deconfound']['rank'] = rank_diagnostic(method, work_dir, args)
        save()
    return rows


def diagnose(seed: int, args, data_root: str) -> dict:
    """What TDE does to one causal-norm checkpoint, for explaining (not choosing) alpha: val box
    AP against alpha with the training-time d and with d re-estimated from the final weights
    (``tools/reestimate_d.py``, one pass over the training split, same mu), the cosine between
    the two d per head, and the training's mean cos(x, d) logged by ``EMAFeatureHook``."""
    import torch
    work_dir = osp.join(args.work_dir, f'seed{seed}', 'causalnorm')
    config = osp.join(CONFIGS, METHODS['causalnorm'][0])
    ckpt = _last_checkpoint(work_dir)
    reest = osp.join(work_dir, 'd_reestimated.pth')
    if not osp.isfile(reest):
        subprocess.run([sys.executable, osp.join(REPO, 'tools', 'reestimate_d.py'), config, ckpt,
                        '--out', reest, '--cfg-options', 'train_dataloader.sampler.type='
                        'DefaultSampler', 'train_dataloader.sampler.shuffle=False',
                        *args.cfg_options], check=True, env=_checkout_env())
    curves = {}
    for name, path, suffix in (('training d', None, ''), ('re-estimated d', reest, '_dreest')):
        curves[name] = {}
        for a in args.alphas:
            # the benchmark's own bbox + segm scoring has the same box AP: reuse it
            full = None if path else _read_json(osp.join(work_dir, f'eval_val_alpha{a:g}.json'))
            curves[name][a] = (full or score(
                'causalnorm', seed, work_dir, 'val', a, data_root, args.cfg_options,
                boxes_only=True, checkpoint=path, tag_suffix=suffix))['bbox_AP']
    ds = []
    for path in (ckpt, reest):
        state = torch.load(path, map_location='cpu', weights_only=False)['state_dict']
        ds.append(next(v for k, v in state.items() if k.endswith('feat_ema.d')))
    heads = [torch.nn.functional.cosine_similarity(a, b, dim=0).item()
             for a, b in zip(ds[0].chunk(2), ds[1].chunk(2))]
    with open(osp.join(work_dir, 'train_stdout.log')) as f:
        logged = [line.split('over the epoch = ')[1].split(',')[0] for line in f
                  if 'mean cos(x, d) over the epoch' in line]
    result = dict(val_bbox_AP_by_alpha=curves, cos_d_train_vs_reestimated_per_head=heads,
                  train_mean_cos_logged=[float(v) for v in logged])
    _write_json(osp.join(work_dir, 'diagnostics.json'), result)
    print(f'[bench] diagnostics seed {seed}: {json.dumps(result)}', flush=True)
    return result


def summarise(results: Dict[int, Dict[str, dict]], counts: Dict[str, int], out_dir: str) -> str:
    """The results table and the paired differences (markdown, returned and printed); writes
    ``paired_differences.json`` and ``per_class_ap.png`` to ``out_dir``."""
    import numpy as np
    names = [n for n in ('ce', 'ce_norcal', 'rfs', 'seesaw', 'eqlv2', 'deconfound',
                         'deconfound_norcal', 'tde', 'tde_heldout')
             if any(n in r for r in results.values())]
    results = {s: {n: r for n, r in rows.items() if n != 'gate'} for s, rows in results.items()}
    labels = dict(deconfound='causal norm, De-confound (alpha 0)',
                  ce_norcal='softmax CE + NorCal (gamma picked on held-out)',
                  deconfound_norcal='causal norm, De-confound + NorCal (gamma on held-out)',
                  tde=f'causal norm, TDE (alpha {PAPER_ALPHA:g}, paper)',
                  tde_heldout='causal norm, TDE (alpha picked on held-out)',
                  **{m: METHODS[m][1] for m in METHODS})
    seeds = sorted(results)
    keys = [k for k in KEYS + FIXED_KEYS
            if any(k in r for rows in results.values() for r in rows.values())]
    lines = [f'Seeds {seeds}: mean ± half the range over seeds (single value with one seed). '
             f'A collapsed run (AP 0 everywhere: the training diverged) counts as a failure of '
             f'its method: its zeros are in the mean, and "collapsed" gives the rate.',
             '',
             '| method | ' + ' | '.join(k.replace('_', ' ') for k in keys) +
             ' | collapsed | train min |', '|---' * (len(keys) + 3) + '|']
    notes = []
    for n in names:
        ran = [s for s in seeds if n in results[s]]  # a seed may not have reached every method
        bad = [s for s in ran if collapsed(results[s][n])]
        cells = []
        for k in keys + ['train_seconds']:
            v = np.array([results[s][n][k] for s in ran if k in results[s][n]], float)
            if k == 'train_seconds':
                v = v / 60
                cells.append(f'{len(bad)} of {len(ran)}')
            cells.append('' if not len(v) else f'{v.mean():.1f}' + (
                f' ± {(v.max() - v.min()) / 2:.1f}' if len(v) > 1 else ''))
        alpha = [results[s][n].get('alpha') for s in ran]
        extra = f' (alpha {", ".join(f"{a:g}" for a in alpha)})' if n == 'tde_heldout' else ''
        if len(ran) < len(seeds):
            extra += f' (seed {", ".join(map(str, ran))} only)'
        for s in bad:
            trace = results[s][n].get('training')
            notes.append(f'{labels[n]}, seed {s}: AP 0 everywhere' + (
                f'; its loss_cls peaked at {trace["max_loss_cls"]:.1f} (iteration '
                f'{trace["max_loss_cls_iter"]}) and ended at {trace["last_loss_cls"]:.2f}'
                if trace else ''))
        lines.append(f'| {labels[n]}{extra} | ' + ' | '.join(cells) + ' |')
    if notes:
        lines += [''] + [f'- {note}' for note in dict.fromkeys(notes)]
    paired = paired_differences(results, counts)
    if paired:
        task = 'mask' if 'segm_AP' in keys else 'box'
        lines += ['', f'Paired differences A - B, per-class {task} AP points: mean over seeds '
                  f'[95 % bootstrap interval, seeds and classes resampled]', '',
                  '| A - B | seeds | APr | APc | APf | all classes |', '|---' * 6 + '|']
        for (a, b), r in paired.items():
            lines.append(f'| {SHORT[a]} - {SHORT[b]} | {len(r["seeds"])} | ' + ' | '.join(
                f'{r[g]["diff"]:+.1f} [{r[g]["low"]:+.1f}, {r[g]["high"]:+.1f}]' if g in r
                else 'no class' for g in ('r', 'c', 'f', 'all')) + ' |')
        _write_json(osp.join(out_dir, 'paired_differences.json'),
                    {f'{a} - {b}': r for (a, b), r in paired.items()})
    print('\n'.join(lines), flush=True)

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5))
    bins = np.array([1, 11, 31, 101, 201, 5000])
    for n in names:
        xs, ys = [], []
        for s in seeds:  # seeds whose data this run has not read yet wait for their counts
            if n not in results[s] or collapsed(results[s][n]) or s not in counts:
                continue
            for cls, ap in per_class_ap(results[s][n]).items():
                if ap == ap:  # not NaN
                    xs.append(counts[s][cls])
                    ys.append(ap * 100)
        xs, ys = np.array(xs), np.array(ys)
        idx = np.digitize(xs, bins) - 1
        centres = [np.exp(np.log(xs[idx == b]).mean()) for b in range(len(bins) - 1)
                   if (idx == b).any()]
        means = [ys[idx == b].mean() for b in range(len(bins) - 1) if (idx == b).any()]
        ax.plot(centres, means, marker='o', label=labels[n])
    ax.set_xscale('log')
    ax.axvline(10.5, color='grey', lw=0.5)
    ax.axvline(100.5, color='grey', lw=0.5)
    ax.set_xlabel('training images of the class (rare | common | frequent)')
    task = 'mask' if any('segm_AP' in r for rows in results.values() for r in rows.values()) \
        else 'box'
    ax.set_ylabel(f'{task} AP of the class (mean over classes in the bin and seeds)')
    ax.set_title(f'Emoji-LVIS val, per-class {task} AP, seeds {seeds}')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(osp.join(out_dir, 'per_class_ap.png'), dpi=100)
    plt.close(fig)
    return '\n'.join(lines)


SHORT = dict(ce='softmax CE', ce_norcal='CE + NorCal', rfs='RFS', seesaw='Seesaw', eqlv2='EQL v2',
             deconfound='De-confound', deconfound_norcal='De-confound + NorCal',
             tde=f'TDE (alpha {PAPER_ALPHA:g})', tde_heldout='TDE (held-out alpha)')


def paired_differences(results: Dict[int, Dict[str, dict]], counts: Dict[int, Dict[str, int]],
                       num_resamples: int = 10000) -> Dict[Tuple[str, str], dict]:
    """:data:`PAIRS` as A - B of per-class AP (points) by frequency group, over the seeds where
    both rows exist, with a 95 % two-stage bootstrap interval
    (:func:`mmtde.evaluation.bootstrap.paired_bootstrap_by_group`). A seed's groups are its own
    (seeds draw which classes are rare), from its training counts in ``counts``."""
    import numpy as np

    from mmtde.datagen.emoji_lvis import frequency_of
    from mmtde.evaluation.bootstrap import paired_bootstrap_by_group
    out = {}
    for a, b in PAIRS:
        seeds = [s for s in sorted(results) if s in counts and all(
            n in results[s] and per_class_ap(results[s][n]) for n in (a, b))]
        if not seeds:
            continue
        classes = sorted(set.intersection(*(set(per_class_ap(results[s][n])) & set(counts[s])
                                             for s in seeds for n in (a, b))))

        def ap(name):  # (S, C) points; NaN where a class had no ground truth
            return np.array([[per_class_ap(results[s][name])[c] for c in classes]
                             for s in seeds], float) * 100

        groups = np.array([[frequency_of(counts[s][c]) for c in classes] for s in seeds])
        res = paired_bootstrap_by_group(ap(a), ap(b), groups, num_resamples=num_resamples)
        out[(a, b)] = dict(seeds=seeds, **{g: dict(diff=r.diff, low=r.low, high=r.high,
                                                   per_seed=r.per_seed.tolist())
                                           for g, r in res.items()})
    return out


def pretrained_trunk(args) -> str:
    """The design's pretrained trunk (``tools/pretrain_emoji_trunk.py``, cached by the hash of
    its inputs: trained once), also set in ``$MMTDE_EMOJI_TRUNK`` for the configs."""
    config = osp.join(CONFIGS, METHODS['ce'][0])
    cmd = [sys.executable, osp.join(REPO, 'tools', 'pretrain_emoji_trunk.py'), config]
    if args.cifar10:
        cmd += ['--cifar10', args.cifar10]
    print(f'[bench] trunk: {" ".join(cmd)}', flush=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=_checkout_env())
    print(proc.stdout, end='', flush=True)
    if proc.returncode:
        raise RuntimeError(f'pretraining the trunk failed (exit {proc.returncode}): {cmd}')
    path = json.loads(proc.stdout.strip().splitlines()[-1])['path']
    os.environ['MMTDE_EMOJI_TRUNK'] = path
    return path


def gate(rows: Dict[str, dict]) -> Tuple[bool, str]:
    """The regime check of the LVIS-like design: the softmax baseline learns the common
    classes (box APc >= 25) and the causal-norm model finds rare ones (De-confound box
    APr >= 3), as on LVIS (paper: APr / APc 5.2 / 22.7 for De-confound)."""
    ce, dc = rows.get('ce', {}), rows.get('deconfound', {})
    if 'bbox_APc' not in ce or 'bbox_APr' not in dc:
        return False, 'gate: train and score ce and causalnorm first'
    ok = ce['bbox_APc'] >= 25 and dc['bbox_APr'] >= 3
    return ok, (f'gate {"passed" if ok else "FAILED"}: softmax box APc {ce["bbox_APc"]:.1f} '
                f'(>= 25), De-confound box APr {dc["bbox_APr"]:.1f} (>= 3), APr / APc '
                f'{dc["bbox_APr"] / max(dc.get("bbox_APc", 0), 1e-9):.2f} (paper 0.23)')


def check_work_dir(work_dir: str, settings: dict) -> None:
    """Record the run's settings in ``work_dir/settings.json``; refuse to resume (or add seeds
    to) a work dir of other settings, whose trainings and scores would be reused."""
    path = osp.join(work_dir, 'settings.json')
    found = _read_json(path)
    if found is None:
        _write_json(path, settings)
    elif found != json.loads(json.dumps(settings)):
        raise SystemExit(f'{work_dir} holds a run with other settings ({found}) than this one '
                         f'({settings}): give another --work-dir, or the same settings to '
                         f'resume it')


def main(argv=None):
    args = parse_args(argv)
    design = use_design(args.design)
    suffix = '' if args.design == '800i' else '_' + args.design
    args.data_root = osp.abspath(args.data_root or f'data/emoji_lvis{suffix}')
    args.work_dir = args.work_dir or f'work_dirs/benchmarks/emoji_lvis{suffix}'
    os.makedirs(args.work_dir, exist_ok=True)
    check_work_dir(args.work_dir, dict(design=args.design, data=data_settings(args),
                                       cfg_options=args.cfg_options))
    if design['trunk']:
        pretrained_trunk(args)
    if args.diagnose is not None:
        diagnose(args.diagnose, args, seed_data(args.diagnose, args))
        return
    out = osp.join(args.work_dir, 'results.json')
    results = {int(k): v for k, v in (_read_json(out) or {}).items()}
    for seed, rows in results.items():  # results written before the trace was recorded
        traces = {}  # the causal-norm model's three rows share one training
        for name, row in rows.items():
            method = 'causalnorm' if name in _rows_of('causalnorm') else name
            if row.get('training') is None:
                if method not in traces:
                    traces[method] = training_trace(
                        osp.join(args.work_dir, f'seed{seed}', method))
                row['training'] = traces[method]
    counts = {}

    def save():  # the work dir's results.json is the record a rerun resumes from
        json_file = osp.abspath(benchlib.results_paths(args.out, args.work_dir)[0])
        if json_file != osp.abspath(out):  # --out elsewhere: the record is written here too
            _write_json(out, results)
        out_dir = osp.dirname(json_file)
        os.makedirs(out_dir, exist_ok=True)
        markdown = summarise({s: results[s] for s in args.seeds if s in results}, counts,
                             out_dir)
        benchlib.write_results(args.out, results, markdown, args.work_dir)

    for seed in args.seeds:
        rows = results.setdefault(seed, {})
        data_root = seed_data(seed, args)
        counts[seed] = class_counts(data_root)
        if all(n in rows for m in args.methods for n in _rows_of(m, args.norcal)):
            print(f'[bench] seed {seed}: every method is in {out}; reused', flush=True)
        run_seed(seed, args, rows, save, data_root)  # other methods' rows stay
        if args.gate:
            passed, line = gate(rows)
            print(f'[bench] seed {seed}: {line}', flush=True)
            rows['gate'] = dict(passed=passed, line=line)
    save()


if __name__ == '__main__':
    main()

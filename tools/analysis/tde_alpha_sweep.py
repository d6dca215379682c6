# Copyright (c) mmtde contributors. All rights reserved.
"""Score many TDE alphas on one split while running the network only once.

Example::

    python tools/analysis/tde_alpha_sweep.py CONFIG CHECKPOINT --split val \
        --alphas 0 0.5 1 1.5 2 2.5 3 --out-dir work_dirs/sweep

prints the overall / many / medium / few table, writes ``alpha_sweep.png`` and
``alpha_sweep.json`` and recommends the alpha with the best overall accuracy *on that split*.

Splits: ``val`` is the config's ``val_dataloader`` (ImageNet-LT: its own val list). It is
refused when it is the test set, as in the CIFAR-LT configs, which validate on the official
test split like the paper: there use ``heldout``, the images a model trained with
``train_dataloader.dataset.heldout_per_class=N`` never saw (CIFAR10LT, CIFAR100LT,
ImageFolderLT), or look at ``test`` on purpose (analysis, not a choice of alpha).

``--posthoc`` compares TDE with the post-hoc baselines on the same checkpoint: alpha, the tau
of post-hoc logit adjustment (Menon et al. 2021) and the tau of tau-norm (Kang et al. 2020)
are picked on ``--split`` (``heldout`` or ``val``, never the test set), then every correction
that applies to the head (printed and in the JSON: TDE needs a ``CausalNormHead``, tau-norm a
``LinearClsHead``) is scored on the test split, one more feature pass. ``--test-priors``
(implies ``--posthoc``) scores the shifted test sets of LADE's / SADE's protocol as index
subsets of those test features (``all``: forward50 ... uniform ... backward50), with the oracle
row ``logits - log pi_train + log pi_test``, and the prior-adaptive choices: each set's class
prior estimated from its own unlabeled predictions (EM and BBSE, calibrated on ``--split``),
alpha and tau picked for it on ``--split`` re-weighted to that prior, beside the fixed choice and
each set's best value in hindsight (``mmtde/cls/prior_adaptive.py``; ``tools/test.py
--prior-adaptive`` does the same for one test set). Writes ``corrections.json`` and, with
``--test-priors``, ``prior_adaptive.png``::

    python tools/analysis/tde_alpha_sweep.py CONFIG CHECKPOINT --split heldout \
        --alphas 0 0.5 1 1.5 2 --test-priors all --out-dir work_dirs/sweep
"""
import argparse
import json
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint

from mmtde.cls.posthoc_sweep import (
    applicable_corrections,
    check_dataset_order,
    classifier_kind,
    comparison_entries,
    expand_test_priors,
    format_matrix,
    pick,
    score_comparison,
    shifted_test_sets,
    sweep_correction,
)
from mmtde.cls.prior_adaptive import PriorAdaptiveSelector, heldout_dataloader_cfg
from mmtde.cls.prior_adaptive_sweep import (
    format_prior_adaptive,
    plot_prior_adaptive,
    score_prior_adaptive,
)
from mmtde.cls.tde_sweep import (
    extract_features,
    format_table,
    mean_cosine,
    plot_sweep,
    recommend_alpha,
    sweep_alpha,
)
from mmtde.engine import register_checkpoint_safe_globals
from mmtde.evaluation import LongTailAccuracy
from mmtde.utils import load_config, model_cfg


def parse_args():
    parser = argparse.ArgumentParser(description='Sweep the TDE alpha on cached features')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split', choices=['val', 'heldout', 'test'], default='val',
                        help='val: the config\'s val_dataloader (refused if it is the test '
                        'set); heldout: the training images held out by heldout_per_class; '
                        'test: the test set, for analysis (default: val)')
    parser.add_argument('--alphas', type=float, nargs='+',
                        default=[0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3])
    parser.add_argument('--posthoc', action='store_true',
                        help='also pick the logit-adjustment and tau-norm taus on --split and '
                        'score every applicable correction on the test split')
    parser.add_argument('--test-priors', nargs='+', metavar='NAME',
                        help='score these shifted test sets (uniform, forward<IF>, '
                        'backward<IF>, or all: the protocol\'s 11) instead of the test split '
                        'as configured; implies --posthoc')
    parser.add_argument('--la-taus', type=float, nargs='+',
                        default=[0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3],
                        help='taus of post-hoc logit adjustment to pick from')
    parser.add_argument('--taunorm-taus', type=float, nargs='+',
                        default=[round(0.1 * i, 1) for i in range(21)],
                        help='taus of the tau-normalised classifier to pick from (linear heads)')
    parser.add_argument('--out-dir', default='work_dirs/tde_alpha_sweep')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def split_loader_cfg(cfg: Config, split: str) -> dict:
    """The dataloader config of ``split``; refuses a choice of alpha on the test set."""
    val, test = cfg.get('val_dataloader'), cfg.get('test_dataloader')
    if split == 'test':
        if test is None:
            raise SystemExit(f'{cfg.filename} has no test_dataloader')
        return test
    if split == 'val':
        if val is None:
            raise SystemExit(f'{cfg.filename} has no val_dataloader: use --split heldout or '
                             f'--split test, or add a val_dataloader to the config')
        if test is not None and val.get('dataset') == test.get('dataset'):
            raise SystemExit(
                f'the val_dataloader of {cfg.filename} is its test set (CIFAR-LT validates on '
                f'the official test split, as the paper did), so an alpha chosen on it would be '
                f'tuned on the test set. Use --split heldout with a model trained with '
                f'--cfg-options train_dataloader.dataset.heldout_per_class=50, or the printed '
                f'rule alpha = 1 / mean cos(x, d), or --split test to look at the test set on '
                f'purpose.')
        return val
    try:  # heldout: the training dataset's own arguments, served with the val pipeline
        return heldout_dataloader_cfg(cfg)
    except ValueError as err:
        hint = ': use --split val' if 'has no held-out split' in str(err) else ''
        raise SystemExit(f'{err}{hint}')


def test_loader_cfg(cfg: Config, test_priors) -> dict:
    """The test dataloader that --posthoc scores; shifted sets are drawn from its full split."""
    test = cfg.get('test_dataloader')
    if test is None:
        raise SystemExit(f'{cfg.filename} has no test_dataloader to score the corrections on')
    if test_priors and test.dataset.get('test_prior') is not None:
        raise SystemExit(f'test_dataloader.dataset.test_prior={test.dataset.test_prior!r}: '
                         f'--test-priors draws every shifted set from the full test split, so '
                         f'remove test_prior from the config (or leave out --test-priors)')
    return test


def training_class_counts(cfg: Config, split: str, dataset) -> list:
    """The training counts the config's evaluator would use for many/medium/few."""
    if split == 'heldout':
        split = 'val' if cfg.get('val_evaluator') is not None else 'test'
    evaluator = cfg.get(f'{split}_evaluator')
    metric_cfg = evaluator if isinstance(evaluator, dict) else None
    if metric_cfg is not None and metric_cfg.get('type') == 'LongTailAccuracy':
        kwargs = {k: v for k, v in metric_cfg.items() if k != 'type'}
        metric = LongTailAccuracy(**kwargs)
    else:
        metric = LongTailAccuracy()
    metric.dataset_meta = dataset.metainfo
    return metric._training_counts()


def main():
    args = parse_args()
    register_checkpoint_safe_globals()
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    compare = args.posthoc or bool(args.test_priors)
    if compare and args.split == 'test':
        raise SystemExit('--posthoc picks alpha and the taus on --split and scores them on the '
                         'test split; picking them on the test split itself would tune them on '
                         'it: use --split heldout (or val, where it is not the test set)')
    try:
        test_priors = expand_test_priors(args.test_priors or [])
    except ValueError as err:
        raise SystemExit(f'--test-priors: {err}')
    loader_cfg = split_loader_cfg(cfg, args.split)  # before any work: it may refuse
    test_cfg = test_loader_cfg(cfg, test_priors) if compare else None
    from mmpretrain.registry import MODELS

    model = MODELS.build(model_cfg(cfg))
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.to(args.device)
    kind = classifier_kind(model.head)
    if kind != 'causal_norm' and not compare:
        raise TypeError(f'{type(model.head).__name__} is not a TDE head: the alpha sweep needs '
                        f'a CausalNormHead checkpoint (--posthoc scores logit adjustment and '
                        f'tau-norm on this one)')
    loader = Runner.build_dataloader(loader_cfg)
    if args.split == 'test':
        print('note: --split test scores the test set; an alpha chosen here is tuned on it')
    counts = training_class_counts(cfg, args.split, loader.dataset)
    if compare:
        test_loader, test_sets = build_test_sets(cfg, test_cfg, test_priors, counts, args.split)

    print(f'extracting features of the {args.split} split ({len(loader.dataset)} images) ...')
    feats, labels = extract_features(model, loader)
    os.makedirs(args.out_dir, exist_ok=True)
    rows = None
    if kind == 'causal_norm':
        rows = sweep_alpha(model.head, feats, labels, args.alphas, counts)
        write_alpha_sweep(args, model, feats, rows)
    if compare:
        compare_corrections(args, model, (feats, labels, counts), rows, test_loader,
                            test_sets)


def build_test_sets(cfg: Config, test_cfg: dict, test_priors, counts, split: str):
    """The test dataloader of --posthoc and the test sets to score (index subsets of it, or
    all of it), checked before any feature pass."""
    loader = Runner.build_dataloader(test_cfg)
    test_counts = training_class_counts(cfg, 'test', loader.dataset)
    if list(test_counts) != list(counts):
        raise SystemExit(f'the test split describes training class counts {test_counts} but the '
                         f'{split} split {counts}: give every split the same heldout_per_class '
                         f'(and imbalance_factor, seed)')
    if not test_priors:
        return loader, [dict(name='test', indices=None)]
    try:
        return loader, shifted_test_sets(loader.dataset, test_priors)
    except ValueError as err:
        raise SystemExit(f'--test-priors: {err}')


def write_alpha_sweep(args, model, feats, rows) -> None:
    """The alpha table, the authors' rule, ``alpha_sweep.png`` and ``alpha_sweep.json``."""
    cos = mean_cosine(model.head, feats).mean().item()
    best = recommend_alpha(rows)
    print(format_table(rows))
    print(f'mean cos(x, d) on this split = {cos:.4f}: the rule alpha * mean cos = 1 gives '
          f'alpha = {1 / cos:.3g}' if cos > 0 else 'mean cos(x, d) <= 0 on this split')
    print(f'best overall accuracy on the {args.split} split at alpha = {best:g}')
    plot_sweep(rows, osp.join(args.out_dir, 'alpha_sweep.png'),
               title=f'{osp.basename(args.config)} ({args.split})')
    with open(osp.join(args.out_dir, 'alpha_sweep.json'), 'w') as f:
        json.dump(dict(config=args.config, checkpoint=args.checkpoint, split=args.split,
                       mean_cos=cos, best_alpha=best, rows=rows), f, indent=1)
    print(f'wrote {args.out_dir}/alpha_sweep.png and alpha_sweep.json')


def compare_corrections(args, model, selection, alpha_rows, loader, test_sets) -> None:
    """Pick every applicable correction on the selection split, score all on the test sets."""
    feats, labels, counts = selection
    head = model.head
    applicable, skipped = applicable_corrections(head)
    sweeps = {'tde': alpha_rows} if alpha_rows is not None else {}
    for correction, values in (('logit_adjustment', args.la_taus),
                               ('tau_norm', args.taunorm_taus)):
        if correction in applicable:
            sweeps[correction] = sweep_correction(head, feats, labels, correction, values,
                                                  counts)
            print(f'{correction} on the {args.split} split:')
            print(format_table([dict(r, name=f"{r['tau']:g}") for r in sweeps[correction]],
                               'tau'))
    picked = {c: pick(rows, c) for c, rows in sweeps.items()}

    print(f'extracting features of the test split ({len(loader.dataset)} images) ...')
    test_feats, test_labels = extract_features(model, loader)
    if test_sets[0]['indices'] is not None:
        try:
            check_dataset_order(loader.dataset, test_labels)
        except ValueError as err:
            raise SystemExit(str(err))
    entries = comparison_entries(classifier_kind(head), args.alphas, picked, args.split)
    rows = score_comparison(head, entries, test_feats, test_labels, test_sets, counts)

    print(f'top-1 (%) of {osp.basename(args.checkpoint)} ({type(head).__name__}); alpha and '
          f'taus picked on the {args.split} split:')
    print(format_matrix(rows, [t['name'] for t in test_sets]))
    print('applicable corrections: ' + ', '.join(applicable))
    for correction, reason in skipped.items():
        print(f'not applicable to {type(head).__name__}: {correction}: {reason}')
    sets = []
    for t in test_sets:
        set_labels = test_labels if t['indices'] is None else test_labels[t['indices']]
        sets.append(dict(name=t['name'], size=len(set_labels),
                         class_sizes=torch.bincount(set_labels, minlength=len(counts)).tolist()))
    adaptive = None
    if test_sets[0]['indices'] is not None:
        adaptive = prior_adaptive(args, head, selection, test_feats, test_labels, test_sets)
    out = osp.join(args.out_dir, 'corrections.json')
    with open(out, 'w') as f:
        json.dump(dict(config=args.config, checkpoint=args.checkpoint,
                       head=type(head).__name__, selection_split=args.split,
                       class_counts=list(counts), applicable=applicable,
                       not_applicable=skipped, picked=picked, selection=sweeps,
                       test_sets=sets, rows=rows, prior_adaptive=adaptive), f, indent=1)
    print(f'wrote {out}')


def prior_adaptive(args, head, selection, test_feats, test_labels, test_sets) -> dict:
    """The prior-adaptive rows: each set's prior estimated from its unlabeled predictions
    (EM, BBSE), alpha / tau chosen for it on the re-weighted held-out split; and the figure."""
    selector = PriorAdaptiveSelector(head, *selection,
                                     grids=dict(tde=args.alphas, logit_adjustment=args.la_taus))
    result = score_prior_adaptive(selector, test_feats, test_labels, test_sets)
    print(f'prior-adaptive choices: top-1 (%) (value); the fixed value is picked on the '
          f'{args.split} split, the adaptive one on it re-weighted to the estimated prior:')
    print(format_prior_adaptive(result))
    plot_prior_adaptive(result, osp.join(args.out_dir, 'prior_adaptive.png'),
                        osp.basename(args.checkpoint))
    return result


if __name__ == '__main__':
    main()

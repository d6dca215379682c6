# Copyright (c) mmtde contributors. All rights reserved.
"""Pictures of the CIFAR-10-LT benchmark: accuracy against alpha, and the cos(x, d) spread."""
from typing import Dict, List

import numpy as np

from mmtde.evaluation.plots import pyplot, save_figure

PANEL_KEYS = (('top1', 'overall', 'k-o'), ('many', 'many', 'b-s'), ('medium', 'medium', 'g-^'),
              ('few', 'few', 'r-v'), ('tail', 'tail (3 rarest)', 'm--x'))


def plot_alpha_panels(results: Dict[str, dict], paper_alpha: float, out_file: str,
                      title: str = '') -> None:
    """One panel per imbalance factor: test accuracy of each group against ``alpha``.

    Args:
        results (dict): ``{IF: {'sweep_test': rows, 'sweep_heldout': rows,
            'alpha_picked': float}}``; rows as from ``mmtde.cls.tde_sweep.sweep_alpha``.
        paper_alpha (float): Marked as a dotted line.
        out_file (str): PNG path.
        title (str): Figure title. Defaults to ''.
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(max(5.5, 4.2 * len(results)), 4.2),
                             sharey=True, squeeze=False)
    for ax, (imb, res) in zip(axes[0], results.items()):
        rows = res['sweep_test']
        alphas = [r['alpha'] for r in rows]
        for key, label, style in PANEL_KEYS:
            if all(key in r for r in rows):
                ax.plot(alphas, [r[key] for r in rows], style, ms=3, label=f'test {label}')
        held = res['sweep_heldout']
        ax.plot([r['alpha'] for r in held], [r['top1'] for r in held], color='0.5', ls='-.',
                label='held-out overall')
        ax.axvline(res['alpha_picked'], color='tab:orange', ls='--',
                   label='alpha picked on held-out')
        ax.axvline(paper_alpha, color='0.3', ls=':', label='paper alpha')
        ax.set_title(f"IF {imb} (held-out pick {res['alpha_picked']:g})")
        ax.set_xlabel('alpha (TDE strength)')
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel('top-1 accuracy (%)')
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=4, fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    fig.savefig(out_file, dpi=90)
    plt.close(fig)


def plot_cos_hist(cosines: Dict[str, np.ndarray], out_file: str, title: str = '') -> None:
    """Histogram of ``cos(x, d)`` (mean over heads) per test image, one curve per set-up."""
    fig, ax = pyplot().subplots(figsize=(6, 3.6))
    lo = max(-1.0, min(float(np.min(c)) for c in cosines.values()) - 0.02)
    hi = min(1.0, max(float(np.max(c)) for c in cosines.values()) + 0.02)
    bins = np.linspace(lo, hi, 61)
    for name, cos in cosines.items():
        cos = np.asarray(cos)
        ax.hist(cos, bins=bins, histtype='step', lw=1.5,
                label=f'{name} (mean {cos.mean():.2f})')
    ax.set_xlabel('cos(x, d) on the test images (mean over the K heads)')
    ax.set_ylabel('images')
    save_figure(fig, ax, out_file, title or 'How much of each feature points along d', dpi=90)


def summary_table(results: Dict[str, dict], labels: Dict[str, str],
                  paper: Dict[str, Dict[str, float]]) -> List[str]:
    """Markdown lines: overall top-1 of each method (rows) at each IF (columns), with the
    paper's numbers where it reports that method."""
    ifs = list(results)
    lines = ['| method | ' + ' | '.join(f'IF {i}' for i in ifs) + ' | paper (IF ' +
             '/'.join(ifs) + ') |', '|---' * (len(ifs) + 2) + '|']
    for name, label in labels.items():
        cells = []
        for imb in ifs:
            row = next((r for r in results[imb]['rows'] if r['key'] == name), None)
            cells.append('-' if row is None else f"{row['top1']:.2f}")
        ref = paper.get(name)
        ref = '/'.join(f'{ref[i]:.1f}' if i in ref else '-' for i in ifs) if ref else '-'
        lines.append(f'| {label} | ' + ' | '.join(cells) + f' | {ref} |')
    return lines

# Copyright (c) mmtde contributors. All rights reserved.
"""Figure helpers shared by the classification and detection tools (matplotlib only)."""


def pyplot():
    """``matplotlib.pyplot`` on the file-only Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, ax, out_file: str, title: str, dpi: int = 120) -> None:
    """Title, legend and grid on ``ax``, then write ``fig`` to ``out_file`` and close it."""
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_file, dpi=dpi)
    pyplot().close(fig)

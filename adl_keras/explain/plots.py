"""PNG plots of explanations with matplotlib's Agg backend: image overlays,
tabular bar and beeswarm charts, time x feature heatmaps for sequences."""

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _symmetric(values):
    v = float(np.nanmax(np.abs(values))) if np.size(values) else 1.0
    return v if v > 0 else 1.0


def _image_panel(plt, expl, indices):
    fig, axes = plt.subplots(len(indices), 2, figsize=(5, 2.4 * len(indices)), squeeze=False)
    signed = np.nanmin(expl.values) < 0
    for row, i in enumerate(indices):
        img = expl.data[i]
        shown = img[..., 0] if img.shape[-1] == 1 else np.clip(img, 0, 1)
        heat = expl.pixel_values()[i]
        axes[row, 0].imshow(shown, cmap="gray" if img.shape[-1] == 1 else None)
        axes[row, 0].set_title(f"input ({expl.output_names[i]}, f={expl.output_values[i]:.2f})", fontsize=8)
        axes[row, 1].imshow(shown, cmap="gray" if img.shape[-1] == 1 else None, alpha=0.5)
        lim = _symmetric(heat)
        im = axes[row, 1].imshow(heat, cmap="RdBu_r" if signed else "magma", alpha=0.75,
                                 vmin=-lim if signed else 0, vmax=lim)
        axes[row, 1].set_title(expl.method, fontsize=8)
        fig.colorbar(im, ax=axes[row, 1], fraction=0.046)
        for ax in axes[row]:
            ax.axis("off")
    return fig


def _names(expl, width):
    return list(expl.feature_names) if expl.feature_names is not None else [f"x{j}" for j in range(width)]


def _tabular_panel(plt, expl, index, top_k):
    names = _names(expl, expl.values.shape[1])
    fig, (ax_bar, ax_bee) = plt.subplots(1, 2, figsize=(12, 0.35 * min(top_k, len(names)) + 1.5))
    v = expl.values[index]
    order = np.argsort(np.abs(v))[::-1][:top_k][::-1]
    ax_bar.barh(range(len(order)), v[order], color=np.where(v[order] > 0, "#d62728", "#1f77b4"))
    ax_bar.set_yticks(range(len(order)), [names[j] for j in order], fontsize=7)
    ax_bar.set_title(f"{expl.method}: example {index} ({expl.output_names[index]})", fontsize=9)
    ax_bar.axvline(0, color="k", lw=0.5)
    # beeswarm: one row per feature (by mean |phi|), points coloured by the feature's value
    rank = np.argsort(np.abs(expl.values).mean(0))[::-1][:top_k][::-1]
    rng = np.random.default_rng(0)
    for row, j in enumerate(rank):
        col = expl.data[:, j]
        span = np.ptp(col) or 1.0
        ax_bee.scatter(expl.values[:, j], row + rng.uniform(-0.25, 0.25, len(col)), s=8,
                       c=(col - col.min()) / span, cmap="coolwarm", vmin=0, vmax=1)
    ax_bee.set_yticks(range(len(rank)), [names[j] for j in rank], fontsize=7)
    ax_bee.axvline(0, color="k", lw=0.5)
    ax_bee.set_title(f"all {len(expl)} examples (colour: feature value low to high)", fontsize=9)
    fig.tight_layout()
    return fig


def _sequence_panel(plt, expl, indices):
    fig, axes = plt.subplots(1, len(indices), figsize=(4 * len(indices), 3.2), squeeze=False)
    names = _names(expl, expl.values.shape[2])
    for col, i in enumerate(indices):
        heat = expl.values[i].T                                            # features x time
        lim = _symmetric(heat)
        im = axes[0, col].imshow(heat, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        axes[0, col].set_xlabel("time step")
        axes[0, col].set_yticks(range(len(names)), names, fontsize=6)
        axes[0, col].set_title(f"{expl.method}: {expl.output_names[i]}", fontsize=8)
        fig.colorbar(im, ax=axes[0, col], fraction=0.046)
    fig.tight_layout()
    return fig


def plot_explanation(expl, path, index=0, max_examples=4, top_k=15):
    """Saves a PNG of ``expl`` and returns its path.

    Images: the input and the attribution overlay for up to ``max_examples``
    examples from ``index``. Tables: a bar chart of example ``index`` beside
    a beeswarm of the whole batch. Sequences: time x feature heatmaps.

    Args:
        expl: :class:`adl_keras.explain.Explanation`.
        path: output ``.png`` path (folders are created).
        index: first (image, sequence) or shown (tabular) example (default 0).
        max_examples: examples shown for images and sequences (default 4).
        top_k: features shown in tabular charts (default 15).

    Returns:
        pathlib.Path of the PNG.

    Example:
        >>> plot_explanation(e, "shap_digits.png")
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end in .png. Received: path={str(path)!r}")
    if not 0 <= int(index) < len(expl):
        raise ValueError(f"index must be in [0, {len(expl) - 1}]. Received: index={index}")
    plt = _pyplot()
    indices = list(range(int(index), min(len(expl), int(index) + int(max_examples))))
    if expl.kind == "image":
        fig = _image_panel(plt, expl, indices)
    elif expl.kind == "tabular":
        fig = _tabular_panel(plt, expl, int(index), int(top_k))
    else:
        fig = _sequence_panel(plt, expl, indices)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

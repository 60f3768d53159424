"""Pictures for model cards, drawn from an entry's held-out data (``adl-zoo evaluate NAME --figures``).

What each kind of entry gets (PNG, matplotlib's Agg backend, about 80 dpi so
each file stays small enough to commit beside the weights):

- classifiers (image, sequence, tabular): a confusion matrix on the test
  split, test examples with their predicted and true labels, and one
  explanation overlay made with the method that scores best on deletion AUC
  (``benchmarks/results/xai_deletion_auc.json``; a card may name its own
  with ``"explanation_method"``);
- recurrent entries also: per-timestep input-gradient norms ``||dL/dx_t||``
  averaged over held-out sequences (what BPTT carries back to each step),
  and regressors their predictions against the targets;
- generators: an 8x8 grid of samples from fixed seeds next to 64 real test
  images;
- agents: the learning curve the card records (``eval_curve``) and a strip
  of frames of one greedy episode (seeded).

Files are written atomically (:func:`adl_keras.zoo.store.atomic_write_bytes`)
into a folder the caller chose; :func:`write_figures` then records them in
that folder's card (``meta.json`` ``"figures"``) and re-renders README.md,
but only when the card's weights are the very weights drawn (same sha256),
so a card never shows pictures of other weights.
"""

import io
import json
import os
from pathlib import Path

import numpy as np

from adl_keras.zoo import cards, store

DPI = 80
FIGURE_SEED = 0  # generator latents, example choice and the greedy episode's reset seed
EXAMPLES = 24  # test examples in the grid (4 rows x 6)
EXPLAINED = 4  # examples in the explanation overlay
DEFAULT_EXPLANATION_METHOD = "integrated-gradients"
_XAI_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "xai_deletion_auc.json"
CLASSIFIER_TASKS = ("image-classification", "tabular-classification", "sequence-classification")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "figure.dpi": DPI})
    return plt


def _png(fig, colors=256):
    """The PNG bytes of ``fig`` (closed afterwards) in an adaptive palette of
    ``colors`` colours (8-bit), to stay small."""
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    from PIL import Image

    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    out = io.BytesIO()
    # An adaptive 256-colour palette keeps plots and heatmaps readable at a third of the size.
    image.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="PNG", optimize=True)
    return out.getvalue()


def xai_results_for(name):
    """The deletion-AUC benchmark result measured on entry ``name``
    (``xai_deletion_auc_<name>.json``; ``lenet5.digits``' is
    ``xai_deletion_auc.json``), else the ``lenet5.digits`` one."""
    own = _XAI_RESULTS.with_name(f"xai_deletion_auc_{str(name).replace('.', '_')}.json")
    return own if own.exists() else _XAI_RESULTS


def _deletion_benchmark(path):
    """``(entry measured, {method: deletion AUC})`` of a deletion-AUC result
    file, or ``(None, {})`` when there is none (no benchmarks/ beside an
    installed package) or it cannot be read."""
    try:
        details = json.loads(Path(path).read_text())["details"]
        return details.get("model"), dict(details["deletion_auc"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, {}


def explanation_caption(name, meta, method_used):
    """The overlay's caption: the method used and why it was chosen."""
    measured_on, _ = _deletion_benchmark(xai_results_for(name))
    if (meta or {}).get("explanation_method"):
        why = "the card's choice"
    elif measured_on:
        why = (f"lowest deletion AUC on {'this entry' if measured_on == name else measured_on} "
               "in benchmarks/bench_xai_deletion_auc.py")
    else:
        why = "the default"
    return f"Explanation overlay ({method_used}: {why}) of the predicted class"


def explanation_method(meta=None, results=None):
    """The attribution method for a card's overlay.

    The card's own ``"explanation_method"`` if it records one, else the
    method with the lowest deletion AUC (faster drop of the explained class
    when its most important pixels go; lower is better) in the benchmark's
    ``results`` (default: :func:`xai_results_for` the card's entry), else
    integrated gradients, which also wins ties (a recurrent model's
    shap-deep is integrated gradients).
    """
    if meta and meta.get("explanation_method"):
        return meta["explanation_method"]
    if results is None:
        results = xai_results_for((meta or {}).get("name"))
    scores = {k: v for k, v in _deletion_benchmark(results)[1].items() if k != "random"}
    return min(scores, key=lambda k: (scores[k], k != DEFAULT_EXPLANATION_METHOD)) if scores \
        else DEFAULT_EXPLANATION_METHOD


# ------------------------------------------------------------------ classifiers
def _class_names(name, entry, num_classes):
    names = (entry.preprocessing or {}).get("class_names")
    if names and len(names) == num_classes:
        return [str(n) for n in names]
    return [str(i) for i in range(num_classes)]


def confusion_matrix_png(y_true, y_pred, class_names, title):
    """A row-normalised confusion matrix with counts, rows = true class."""
    plt = _pyplot()
    k = len(class_names)
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 2.2 + 0.42 * k
    fig, ax = plt.subplots(figsize=(size + 0.8, size))
    im = ax.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0)
    short = [n if len(n) <= 10 else n[:9] + "." for n in class_names]
    ax.set_xticks(range(k), short, rotation=45 if max(map(len, short)) > 2 else 0, ha="right" if
                  max(map(len, short)) > 2 else "center")
    ax.set_yticks(range(k), short)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 12:
        for i in range(k):
            for j in range(k):
                if counts[i, j]:
                    ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if rates[i, j] > 0.5 else "black")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"{title}\ntest accuracy {accuracy:.3f} ({counts.sum()} examples)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    fig.tight_layout()
    return _png(fig)


def _as_image(x):
    """A 2-D (or H x W x 3) array in [0, 1] for imshow: images, and sequences drawn as time x features."""
    x = np.asarray(x, "float32")
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    elif x.ndim == 3 and x.shape[-1] > 3:
        x = x.mean(axis=-1)
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def example_indices(count, n, seed=FIGURE_SEED):
    """``n`` sorted test indices picked with a fixed seed (test splits are often sorted by class)."""
    return np.sort(np.random.default_rng(seed).choice(count, size=min(n, count), replace=False))


def examples_png(x, y_true, y_pred, class_names, title, kind, indices=None, confidence=None):
    """Test examples with their predicted (and, if wrong, true) label; wrong ones in red.

    Args:
        x, y_true, y_pred: the picked examples, their labels and predictions.
        class_names: names of the classes.
        title: the figure's title.
        kind: "image", "sequence" (drawn as time x features) or "tabular" (a table).
        indices: the examples' positions in the test split (default 0, 1, ...).
        confidence: the predicted class's probability per example (tabular table), or None.
    """
    plt = _pyplot()
    indices = np.arange(len(x)) if indices is None else np.asarray(indices)
    if kind == "tabular":
        return _tabular_examples_png(indices, y_true, y_pred, class_names, title, confidence)
    n = len(x)
    cols = 6
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.25, rows * 1.45))
    for i, ax in enumerate(np.ravel(axes)):
        ax.axis("off")
        if i >= n:
            continue
        image = _as_image(x[i])
        ax.imshow(image, cmap=None if image.ndim == 3 else "gray", interpolation="nearest")
        ok = y_pred[i] == y_true[i]
        label = f"{class_names[y_pred[i]][:10]}" + ("" if ok else f"\n(true {class_names[y_true[i]][:10]})")
        ax.set_title(label, fontsize=7.5, color="black" if ok else "crimson")
    what = "sequences drawn as time (rows) x features" if kind == "sequence" else "images"
    fig.suptitle(f"{title}: {n} test {what} (seeded pick); predicted label, true one if wrong", fontsize=9)
    fig.tight_layout()
    return _png(fig)


def _tabular_examples_png(indices, y_true, y_pred, class_names, title, confidence=None):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 0.3 * len(indices) + 0.9))
    ax.axis("off")
    header = ["test example", "predicted", "true", "correct"] + (["p(predicted)"] if confidence is not None else [])
    rows = []
    for k, (i, p, t) in enumerate(zip(indices, y_pred, y_true)):
        row = [str(i), class_names[p], class_names[t], "yes" if p == t else "NO"]
        rows.append(row + ([f"{confidence[k]:.3f}"] if confidence is not None else []))
    table = ax.table(cellText=rows, colLabels=header, loc="center", cellLoc="center")
    table.scale(1, 1.2)
    for k, (p, t) in enumerate(zip(y_pred, y_true)):
        if p != t:
            for j in range(len(header)):
                table[k + 1, j].set_text_props(color="crimson")
    ax.set_title(f"{title}: {len(indices)} test examples (seeded pick)", fontsize=9)
    fig.tight_layout()
    return _png(fig)


def explanation_png(expl, class_names, feature_names, title, indices=None):
    """Attributions of the explained class: image/sequence heatmaps over the input, or a tabular bar chart
    (``indices``: the examples' positions in the test split, for the titles)."""
    indices = np.arange(len(expl.values)) if indices is None else np.asarray(indices)
    plt = _pyplot()
    values = np.asarray(expl.values, "float32")
    data = np.asarray(expl.data, "float32")
    method = expl.method
    if expl.kind == "tabular":
        v = values[0]
        order = np.argsort(-np.abs(v))[:10][::-1]
        names = [feature_names[i] if feature_names is not None else f"x{i}" for i in order]
        fig, ax = plt.subplots(figsize=(5.6, 3.4))
        ax.barh(range(len(order)), v[order], color=["tab:red" if a > 0 else "tab:blue" for a in v[order]])
        ax.set_yticks(range(len(order)), names, fontsize=7.5)
        ax.axvline(0, color="gray", lw=0.8)
        ax.set_xlabel(f"attribution to '{class_names[int(expl.targets[0])]}' (red: for, blue: against)")
        ax.set_title(f"{title}: {method}, test example {indices[0]}", fontsize=9)
        fig.tight_layout()
        return _png(fig)
    n = len(values)
    fig, axes = plt.subplots(2, n, figsize=(1.7 * n, 3.7))
    axes = np.asarray(axes).reshape(2, n)
    for i in range(n):
        a = values[i].sum(axis=-1) if values[i].ndim == 3 else values[i]
        bound = float(np.abs(a).max()) or 1.0
        image = _as_image(data[i])
        axes[0, i].imshow(image, cmap=None if image.ndim == 3 else "gray", interpolation="nearest")
        axes[0, i].set_title(f"test {indices[i]}: '{class_names[int(expl.targets[i])][:12]}'", fontsize=8)
        axes[1, i].imshow(image.mean(axis=-1) if image.ndim == 3 else image, cmap="gray", alpha=0.55,
                          interpolation="nearest")
        axes[1, i].imshow(a, cmap="bwr", vmin=-bound, vmax=bound, alpha=0.75, interpolation="nearest")
        for ax in axes[:, i]:
            ax.axis("off")
    fig.suptitle(f"{title}: {method} of the predicted class\n(top: input; bottom: red for, blue against)",
                 fontsize=9)
    fig.tight_layout()
    return _png(fig)


def _classifier_figures(name, entry, model, label):
    from adl_keras.explain.api import explain
    from adl_keras.explain.zoo_explain import entry_data

    x_test, y_test, background, feature_names, _ = entry_data(name, background_size=100, seed=FIGURE_SEED)
    probs = np.asarray(model.predict(x_test, batch_size=256, verbose=0))
    y_pred = probs.argmax(axis=-1)
    y_true = np.asarray(y_test).reshape(-1).astype(int)
    classes = _class_names(name, entry, probs.shape[-1])
    kind = {"image-classification": "image", "sequence-classification": "sequence"}.get(entry.task, "tabular")
    pick = example_indices(len(x_test), 12 if kind == "tabular" else EXAMPLES)
    figures = {
        "confusion_matrix.png": (confusion_matrix_png(y_true, y_pred, classes, label),
                                 "Confusion matrix on the test split (rows: true class)"),
        "examples.png": (examples_png(x_test[pick], y_true[pick], y_pred[pick], classes, label, kind, pick,
                                      probs[pick, y_pred[pick]]),
                         "Test examples with predicted labels (true label in red where wrong)"),
    }
    meta = cards.read_meta(name)
    method = explanation_method(meta)
    shown = pick[:1 if kind == "tabular" else EXPLAINED]
    expl = explain(model, x_test[shown], method, background=background,
                   **({"steps": 32} if method == "integrated-gradients" else {}))
    figures["explanation.png"] = (explanation_png(expl, classes, feature_names, label, shown),
                                  explanation_caption(name, meta, expl.method))
    return figures


# ------------------------------------------------------------------ recurrent
def timestep_gradient_norms(model, x, y, loss="auto"):
    """Mean over examples of ``||dL/dx_t||`` for each timestep t of ``x`` (n, T, F)."""
    import keras
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(x, "float32"))
    y = tf.convert_to_tensor(np.asarray(y))
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = model(x, training=False)
        if loss == "mse":
            value = keras.ops.mean(keras.ops.square(out - keras.ops.cast(keras.ops.reshape(y, out.shape), out.dtype)))
        else:
            value = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, out))
    grads = tape.gradient(value, x).numpy()
    return np.linalg.norm(grads, axis=-1).mean(axis=0)


def gradient_norms_png(norms, title):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.6, 2.8))
    t = np.arange(1, len(norms) + 1)
    ax.semilogy(t, np.maximum(norms, 1e-12), "o-" if len(norms) <= 30 else "-", ms=3)
    ax.set_xlabel("timestep t")
    ax.set_ylabel("mean ||dL/dx_t||")
    ax.set_title(f"{title}: loss gradient reaching each input step (held-out sequences)", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _png(fig)


def predictions_png(y_true, y_pred, title, mse):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(3.8, 3.6))
    ax.scatter(y_true, y_pred, s=4, alpha=0.5)
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], color="gray", lw=0.8, ls="--")
    ax.set_xlabel("target")
    ax.set_ylabel("prediction")
    ax.set_title(f"{title}\n{len(y_true)} held-out sequences, MSE {mse:.4f}", fontsize=9)
    fig.tight_layout()
    return _png(fig)


def _recurrent_figures(name, entry, model, label):
    from adl_keras import data

    figures = {}
    if entry.task == "sequence-regression":
        ds = data.load(entry.dataset, seq_len=entry.input_shape[0])
        x, y = ds.split("test")
        pred = np.asarray(model.predict(x, batch_size=500, verbose=0)).reshape(-1)
        y = np.asarray(y, "float64").reshape(-1)
        figures["predictions.png"] = (predictions_png(y, pred, label, float(np.mean((pred - y) ** 2))),
                                      "Predictions against targets on the test split")
        norms = timestep_gradient_norms(model, x[:256], y[:256], loss="mse")
    else:
        from adl_keras.explain.zoo_explain import entry_data

        x, y, *_ = entry_data(name)
        norms = timestep_gradient_norms(model, x[:256], y[:256])
    figures["gradient_norms.png"] = (gradient_norms_png(norms, label),
                                     "Per-timestep gradient norms ||dL/dx_t|| (what BPTT carries back)")
    return figures


# ------------------------------------------------------------------ generators
def _grid(images, rows=8, cols=8, pad=1):
    images = np.asarray(images, "float32")[..., 0]
    size_h, size_w = images.shape[1:3]
    grid = np.ones((rows * (size_h + pad) + pad, cols * (size_w + pad) + pad), "float32")
    for k, image in enumerate(images[:rows * cols]):
        r, c = divmod(k, cols)
        grid[pad + r * (size_h + pad):pad + r * (size_h + pad) + size_h,
             pad + c * (size_w + pad):pad + c * (size_w + pad) + size_w] = image
    return grid


def samples_png(samples, real, title):
    """8x8 generated samples next to 8x8 real test images, both in [0, 1]."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.9))
    for ax, images, what in ((axes[0], samples, "generated (z seeds fixed)"), (axes[1], real, "real (test split)")):
        ax.imshow(np.clip(_grid(images), 0.0, 1.0), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_title(what, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    # Photographs of 128 small images barely compress; 64 grey levels keep the
    # picture indistinguishable at a card's size and under the size budget.
    return _png(fig, colors=64)


def _generator_figures(name, entry, model, label):
    from adl_keras import data

    latent = model.input_shape[-1]
    z = np.random.default_rng(FIGURE_SEED).standard_normal((64, latent)).astype("float32")
    samples = np.asarray(model.predict(z, batch_size=64, verbose=0))
    dataset = "fashion_mnist" if "fashion" in name else "digits"
    x_test = np.asarray(data.load(dataset).test[0], "float32")
    x_test = x_test.reshape((len(x_test),) + samples.shape[1:])
    if x_test.max() > 1.5:
        x_test = x_test / 255.0
    pick = np.random.default_rng(FIGURE_SEED).choice(len(x_test), 64, replace=False)
    return {"samples.png": (samples_png(samples, x_test[np.sort(pick)], label),
                            "64 samples from fixed latent seeds (left) next to 64 real test images (right)")}


# ------------------------------------------------------------------ agents
def learning_curve_png(curve, title, random_return=None, optimum=None,
                       axes=("training step (env steps or iterations)", "mean return")):
    """The card's ``eval_curve`` ``[(step, return), ...]`` as a PNG, with the random
    policy's return and the optimum (e.g. value iteration's) as reference lines."""
    plt = _pyplot()
    steps, returns = zip(*curve)
    fig, ax = plt.subplots(figsize=(5.6, 3.0))
    ax.plot(steps, returns, "o-", ms=3, label="greedy evaluation")
    if random_return is not None:
        ax.axhline(random_return, color="gray", ls="--", label=f"random policy ({random_return:.2f})")
    if optimum is not None:
        ax.axhline(optimum, color="green", ls=":", label=f"optimum ({optimum:.4f})")
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.set_title(f"{title}: learning curve (from the card's training history)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return _png(fig)


def _minatar_frame(obs):
    colours = np.array([[0.2, 0.5, 1.0], [1.0, 0.85, 0.1], [1.0, 0.5, 0.2], [0.85, 0.2, 0.25]], "float32")
    frame = np.full(obs.shape[:2] + (3,), 0.08, "float32")
    for c in range(min(obs.shape[-1], len(colours))):
        frame[obs[..., c] > 0.5] = colours[c]
    return frame


def greedy_episode_frames(entry, model, frames=8, seed=FIGURE_SEED, max_steps=500):
    """``frames`` evenly spaced frames (step, RGB array) of one greedy episode, and its return."""
    from adl_keras.rl import envs

    env_id = entry.dataset.split(" ")[0]
    minatar = env_id.lower().startswith("minatar")
    if minatar:
        env, _, _ = envs.make_env("MinAtar/Breakout")
    else:
        # gymnasium renders with pygame: no sound device and no greeting on the terminal
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import gymnasium as gym

        env = gym.make(env_id, render_mode="rgb_array")
    obs, _ = env.reset(seed=seed)
    shots, total, step, done = [], 0.0, 0, False
    while True:
        shots.append((step, _minatar_frame(obs) if minatar else env.render()))
        if done or step >= max_steps:
            break
        state = np.asarray([obs], "int32" if entry.task == "q-table" else "float32").reshape((1,) + entry.input_shape)
        action = int(np.asarray(model(state, training=False)).argmax(axis=-1)[0])
        obs, reward, terminated, truncated, _ = env.step(action)
        total += reward
        step += 1
        done = terminated or truncated
    if hasattr(env, "close"):
        env.close()
    pick = np.unique(np.linspace(0, len(shots) - 1, frames).round().astype(int))
    return [shots[i] for i in pick], total, step


def _crop(frames, pad=12):
    """The frames cut to the box where any of them differs from the background (the corner pixel)."""
    stack = np.stack([np.asarray(f, "float32") for f in frames])
    if stack.max() > 1.5:
        stack = stack / 255.0
    moving = (np.abs(stack - stack[:, :1, :1]) > 0.04).any(axis=(0, -1))
    moving[moving.mean(axis=1) > 0.9] = False  # full-width lines (CartPole's track) do not set the box
    rows, cols = np.flatnonzero(moving.any(axis=1)), np.flatnonzero(moving.any(axis=0))
    if not len(rows):
        return list(stack)
    r0, r1 = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, stack.shape[1])
    c0, c1 = max(cols[0] - pad, 0), min(cols[-1] + pad + 1, stack.shape[2])
    return list(stack[:, r0:r1, c0:c1])


def frame_strip_png(shots, total, steps, title):
    plt = _pyplot()
    frames = _crop([f for _, f in shots])
    shots = [(step, frame) for (step, _), frame in zip(shots, frames)]
    n = len(shots)
    height, width = frames[0].shape[:2]
    cols = n if width <= 1.6 * height else (n + 1) // 2  # wide frames (CartPole) in two rows
    rows = int(np.ceil(n / cols))
    tile = 1.2 if cols == n else 1.9
    fig, axes = plt.subplots(rows, cols, figsize=(tile * cols + 0.4, rows * tile * height / width + 0.35 + 0.3 * rows))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, (step, frame) in zip(np.ravel(axes), shots):
        ax.imshow(frame, interpolation="nearest")
        ax.set_title(f"t={step}", fontsize=8)
        ax.axis("off")
    fig.suptitle(f"{title}: one greedy episode (reset seed {FIGURE_SEED}), {steps} steps, return {total:g}",
                 fontsize=9)
    fig.tight_layout()
    return _png(fig)


def _agent_figures(name, entry, model, label, meta):
    figures = {}
    training = (meta or {}).get("training", {})
    if training.get("eval_curve") and not training.get("learning_curve"):
        random_return = training.get("random_policy_mean_return_100_episodes")
        axes = training.get("eval_curve_axes") or ("training step (env steps or iterations)", "mean return")
        figures["learning_curve.png"] = (
            learning_curve_png(training["eval_curve"], label, random_return,
                               optimum=training.get("optimal_success_probability"), axes=axes),
            "Greedy evaluation return during training (from the card)")
    shots, total, steps = greedy_episode_frames(entry, model)
    figures["episode.png"] = (frame_strip_png(shots, total, steps, label),
                              "Frames of one greedy episode")
    return figures


# ------------------------------------------------------------------ entry point
def supported(name):
    """Whether ``make_figures`` draws something for entry ``name`` (a task it knows)."""
    from adl_keras import zoo

    return zoo.get_entry(name).task in (*CLASSIFIER_TASKS, "sequence-regression", "image-generation",
                                        "q-network", "q-table")


def make_figures(name, model, meta=None):
    """Draws the card pictures of entry ``name`` with ``model`` (its loaded weights).

    Args:
        name: zoo entry name.
        model: the entry's keras.Model with the weights to picture.
        meta: the card whose training history is drawn (agents), or None.

    Returns:
        dict ``{file name: (png bytes, caption)}``.

    Raises:
        ValueError: the entry's task has no pictures (names the task).
    """
    from adl_keras import zoo

    entry = zoo.get_entry(name)
    if not supported(name):
        raise ValueError(f"Zoo entry {name!r} has task {entry.task!r}, which has no card pictures.")
    label = name
    if entry.task in CLASSIFIER_TASKS:
        figures = _classifier_figures(name, entry, model, label)
        if entry.topic == "rnn":
            figures.update(_recurrent_figures(name, entry, model, label))
        return figures
    if entry.task == "sequence-regression":
        return _recurrent_figures(name, entry, model, label)
    if entry.task == "image-generation":
        return _generator_figures(name, entry, model, label)
    return _agent_figures(name, entry, model, label, meta)


def recipe_files(meta):
    """Files the recipe wrote beside the card (``meta["files"]``, the recorded learning curve):
    the figure tool never writes over them."""
    meta = meta or {}
    files = set(meta.get("files") or ())
    curve = (meta.get("training") or {}).get("learning_curve")
    if curve:
        files.add(curve)
    return files


def write_figures(name, figures, folder, weights_sha256=None):
    """Writes ``figures`` into ``folder`` atomically and, when ``folder`` holds
    the card of exactly these weights, records them in it and re-renders it.

    A picture whose name is a file the recipe wrote beside the card (its
    ``files``, e.g. a generator's ``samples.png``, or its learning curve) is
    written as ``<stem>_drawn.png`` instead: the recipe's file stays, and the
    card records both, the recipe's first.

    Args:
        name: entry name.
        figures: as returned by :func:`make_figures`.
        folder: the entry's folder in a zoo (or any folder for loose pictures).
        weights_sha256: sha256 of the weights drawn; the card is updated only
            if it records the same hash.

    Returns:
        (list of written paths, whether the card was updated).
    """
    folder = Path(folder)
    meta = cards.read_meta(name, folder.parent) if folder.name == name else None
    kept = recipe_files(meta) & {file for file in figures if (folder / file).exists()}
    drawn_as = {file: f"{Path(file).stem}_drawn{Path(file).suffix}" if file in kept else file for file in figures}
    written = [store.atomic_write_bytes(folder / drawn_as[file], png) for file, (png, _) in figures.items()]
    if meta is None or weights_sha256 is None or (meta.get("weights") or {}).get("sha256") != weights_sha256:
        return written, False
    recorded = []
    for file, (_, caption) in figures.items():
        if file in kept:
            recorded.append({"file": file, "caption": f"Picture written by the recipe ({file})"})
        recorded.append({"file": drawn_as[file], "caption": caption})
    curve = (meta.get("training") or {}).get("learning_curve")
    if curve and curve not in figures and (folder / curve).exists():
        # the recipe's own curve (training episodes too), drawn when the weights were trained
        recorded.insert(0, {"file": curve, "caption": "Learning curve recorded by the recipe"})
    meta["figures"] = recorded
    store.atomic_write_bytes(folder / cards.META_FILE, (json.dumps(meta, indent=2) + "\n").encode())
    store.atomic_write_bytes(folder / cards.CARD_FILE, cards.render_card(meta).encode())
    return written, True


def figures_for_entry(name, out=None, source=None):
    """The work behind ``adl-zoo evaluate NAME --figures``: loads the weights,
    draws and writes the pictures.

    Where they go: ``out/NAME`` when ``out`` (a zoo folder) is given, and the
    weights drawn are then that folder's card's own (verified by sha256);
    otherwise the user zoo's entry folder when the weights measured are the
    user zoo's (``adl-zoo train`` wrote them), else
    ``$ADL_KERAS_HOME/figures/NAME`` (the installed package is never written).

    Returns:
        (list of written paths, whether a card was updated).
    """
    from adl_keras import zoo

    if out is not None:
        root = store.writable_dir(out, f"--out={out}")
        meta = cards.read_meta(name, root)
        hashes = cards.weights_hashes(meta)
        if hashes and "sha256" in hashes and (cards.entry_dir(name, root) / meta["weights"]["file"]).exists():
            model = zoo.load_model(name, weights=str(cards.entry_dir(name, root) / meta["weights"]["file"]),
                                   sha256=hashes["sha256"])
            sha = hashes["sha256"]
        else:
            model, sha, meta = zoo.load_model(name, source=source), None, meta
        folder = cards.entry_dir(name, root)
    else:
        source = source or zoo.weights_source(name, "user")
        model = zoo.load_model(name, source=source)
        meta = cards.read_meta(name, zoo._root(source))
        sha = (meta or {}).get("weights", {}).get("sha256")
        if source == "user":
            folder = cards.entry_dir(name, store.user_zoo_dir())
        else:
            folder = store.cache_dir() / "figures" / name
            sha = None  # the shipped card is read-only to the package
    figures = make_figures(name, model, meta)
    return write_figures(name, figures, folder, weights_sha256=sha)


def png_sizes(paths):
    """``{file name: bytes}`` of written pictures (for the CLI's report)."""
    return {Path(p).name: os.path.getsize(p) for p in paths}


def drawable_entries(root=None):
    """Entries whose weights lie in the zoo folder ``root`` (default: the shipped zoo) and whose task has pictures."""
    from adl_keras import zoo

    return [name for name in sorted(zoo.entries()) if supported(name) and cards.weights_shipped(name, root)]

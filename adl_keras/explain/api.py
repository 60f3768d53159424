"""The one entry point: :func:`explain`."""

import time
import warnings

import numpy as np

from adl_keras.explain import _inputs, gradients
from adl_keras.explain.explanation import Explanation
from adl_keras.explain.methods import METHODS

# The options each method takes besides the common ones.
_COMMON = {"target", "kind", "output_names", "feature_names", "seed", "batch_size"}
_OPTIONS = {
    "shap-gradient": {"nsamples"},
    "shap-deep": {"fallback", "tolerance", "steps"},
    "shap-kernel": {"nsamples", "l1_reg"},
    "shap-partition": {"max_evals"},
    "lime": {"num_samples", "segmentation", "hide_color", "vectorised", "kernel_width", "discretize_continuous"},
    "integrated-gradients": {"steps", "tolerance", "baseline"},
    "saliency": {"absolute"},
    "grad-cam": {"layer"},
    "perturbation": {"mode", "sigma", "blur_sigma", "per_channel", "score", "baseline"},
}
_COUNT_OPTIONS = {"nsamples": 1, "steps": 1, "max_evals": 1, "num_samples": 1, "batch_size": 1, "seed": 0}
_NEEDS_BACKGROUND = ("shap-gradient", "shap-deep", "shap-kernel", "shap-partition")

IG_AUTO_STEPS = (32, 64, 128, 256, 512)


class ExplainerFallbackWarning(UserWarning):
    """A requested explainer could not handle the model; another method was used."""


def _ig(model, x, targets, k, baselines, steps, tolerance, outputs):
    """Integrated gradients; ``steps="auto"`` doubles the steps (32 to 512) until
    the completeness error of every example is below ``tolerance / 10``."""
    target_out = outputs[np.arange(len(x)), targets]
    base = np.array([_inputs.forward(model)(baselines)[:, t].mean() for t in targets])
    if steps != "auto":
        values = gradients.integrated_gradients(model, x, targets, k, baselines, steps=int(steps))
        return values, base, {"steps": int(steps)}
    values = np.zeros_like(x)
    used = np.zeros(len(x), dtype=int)
    todo = np.arange(len(x))
    for s in IG_AUTO_STEPS:
        values[todo] = gradients.integrated_gradients(model, x[todo], targets[todo], k, baselines, steps=s)
        used[todo] = s
        err = np.abs(values[todo].reshape(len(todo), -1).sum(1) - (target_out[todo] - base[todo]))
        todo = todo[err > 0.1 * tolerance]
        if len(todo) == 0:
            break
    return values, base, {"steps": used}


def explain(model, x, method="integrated-gradients", background=None, **options):
    """Explains ``model``'s output on a batch ``x`` with one of nine methods.

    Methods: ``shap-gradient``, ``shap-deep``, ``shap-kernel``,
    ``shap-partition``, ``lime``, ``integrated-gradients``, ``saliency``,
    ``grad-cam``, ``perturbation``. The input kind follows the model's input
    rank: (H, W, C) images, (T, F) sequences, (F,) tables.

    Agents: ``model`` may also be a DQN agent or policy (a
    :class:`adl_keras.rl.dqn.DQN`, a zoo Q-network entry's name such as
    ``"dqn.cartpole"``, a TF-Agents policy, agent or Q-network) and ``x`` a
    batch of observations; ``target`` is then ``"action"`` (the greedy
    action's Q-value), ``"q"`` (the state value max_a Q(s, a)),
    ``"advantage"`` (Q(s, a*) - mean_a Q(s, a)) or an action index. See
    :func:`adl_keras.explain.agents.explain_agent`. A zoo classifier's name
    loads its model.

    For SHAP methods and integrated gradients with a background the
    attributions satisfy sum_i phi_i = f(x) - E[f(background)] (local
    accuracy / completeness); ``Explanation.additivity_error()`` measures it.
    ``shap-deep`` on a model shap cannot handle (e.g. LSTM/GRU while loops)
    falls back to integrated gradients over the same background, warns with
    :class:`ExplainerFallbackWarning` and records it (``method``,
    ``requested_method``, ``notes``); pass ``fallback=False`` to get the
    error instead.

    Args:
        model: single-input keras.Model with outputs ``(n, k)``.
        x: ``(n, *input_shape)`` or one example.
        method: one of :data:`METHODS` (default ``"integrated-gradients"``).
        background: ``(m, *input_shape)`` reference data: needed by the SHAP
            methods; LIME's feature statistics for tables/sequences; the
            baselines of integrated gradients (default: one all-zero baseline).
        **options: ``target`` (None = predicted class, int, or one int per
            example), ``kind``, ``output_names``, ``feature_names``, ``seed``
            (default 0), ``batch_size`` (default 1024), and per method:
            shap-deep ``fallback`` (True), ``tolerance`` (1e-2), ``steps``;
            shap-gradient ``nsamples`` (200); shap-kernel ``nsamples``
            ("auto"), ``l1_reg`` (False: every feature gets its value); shap-partition ``max_evals`` (500); lime
            ``num_samples`` (1000 images, 5000 otherwise), ``segmentation``
            ("auto"), ``hide_color``, ``vectorised`` (True), ``kernel_width``,
            ``discretize_continuous``; integrated-gradients ``steps``
            ("auto": 32 doubling to 512 until completeness < ``tolerance`` / 10),
            ``tolerance`` (1e-2), ``baseline`` (array, overrides background);
            saliency ``absolute`` (True); grad-cam ``layer`` (last ``stageN``);
            perturbation ``mode`` ("blur" for images, "mean" otherwise),
            ``sigma`` (1.0), ``blur_sigma`` (2.0), ``per_channel`` (True),
            ``score`` ("target"), ``baseline`` (see
            :func:`adl_keras.explain.perturbation.perturbation_saliency`).

    Returns:
        Explanation.

    Example:
        >>> from adl_keras import zoo, data
        >>> model = zoo.load_model("lenet5.digits")
        >>> ds = data.load("digits")
        >>> e = explain(model, ds.test[0][:4], "shap-deep", background=ds.train[0][:50])
        >>> e.additivity_error() < 1e-2
        True
    """
    from adl_keras.explain import agents

    if agents.is_agent(model) or isinstance(options.get("target"), str):
        return agents.explain_agent(model, x, method, background=background, **options)
    if isinstance(model, str):
        from adl_keras import zoo

        model = zoo.load_model(model)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}. Received: method={method!r}")
    unknown = set(options) - _COMMON - _OPTIONS[method]
    if unknown:
        raise ValueError(
            f"Unknown option(s) for method={method!r}: {sorted(unknown)}. "
            f"Allowed: {sorted(_COMMON | _OPTIONS[method])}"
        )
    for name, low in _COUNT_OPTIONS.items():
        value = options.get(name)
        if value is None or (value == "auto" and name in ("steps", "nsamples")):
            continue
        # int(True) would silently become 1: a bool is not a count.
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an int >= {low}" + (' or "auto"' if name in ("steps", "nsamples") else "")
                             + f". Received: {name}={value!r}")
    start = time.perf_counter()
    input_shape = _inputs.model_input_shape(model)
    x = _inputs.check_batch(x, input_shape, "x")
    input_shape = x.shape[1:]
    kind = _inputs.infer_kind(input_shape, options.get("kind"))
    if background is not None:
        background = _inputs.check_batch(background, input_shape, "background")
    elif method in _NEEDS_BACKGROUND or (method == "lime" and kind != "image"):
        raise ValueError(f"method={method!r} on {kind} inputs needs background= data. Received: background=None")
    seed = int(options.get("seed", 0))
    fwd = _inputs.forward(model, options.get("batch_size", 1024))
    outputs = fwd(x)
    k = outputs.shape[1]
    targets = _inputs.resolve_targets(options.get("target"), outputs)
    names = [str(n) for n in options.get("output_names") or [f"class_{j}" for j in range(k)]]
    if len(names) != k:
        raise ValueError(f"output_names must have {k} names. Received: output_names={names!r}")
    feature_names = options.get("feature_names")
    feature_names = None if feature_names is None else [str(n) for n in feature_names]
    if feature_names is not None and kind != "image" and len(feature_names) != input_shape[-1]:
        raise ValueError(f"feature_names must have {input_shape[-1]} names. Received: {len(feature_names)} names")
    tolerance = float(options.get("tolerance", 1e-2))
    notes, extras, used = [], {}, method
    nan = np.full(len(x), np.nan)

    if method == "shap-deep":
        from adl_keras.explain import shap_methods

        try:
            values, base = shap_methods.deep(model, x, targets, background)
            err = np.abs(values.reshape(len(x), -1).sum(1) - (outputs[np.arange(len(x)), targets] - base)).max()
            if not np.isfinite(err) or err > tolerance:
                raise ArithmeticError(f"DeepExplainer's attributions miss additivity by {err:.3g} > {tolerance}")
        except (NotImplementedError, ArithmeticError, LookupError) as err:
            if not options.get("fallback", True):
                raise
            reason = (f"shap-deep cannot explain model {model.name!r}: {err}. Used integrated gradients "
                      f"over the same background instead (same base value E[f(background)]).")
            warnings.warn(reason, ExplainerFallbackWarning, stacklevel=2)
            notes.append(reason)
            used = "integrated-gradients"
            values, base, extras = _ig(model, x, targets, k, background, options.get("steps", "auto"),
                                       tolerance, outputs)
    elif method == "shap-gradient":
        from adl_keras.explain import shap_methods

        values, base = shap_methods.gradient(model, x, targets, background,
                                             nsamples=int(options.get("nsamples", 200)), seed=seed)
    elif method == "shap-kernel":
        from adl_keras.explain import shap_methods

        values, base = shap_methods.kernel(fwd, x, targets, background, options.get("nsamples", "auto"), seed,
                                           l1_reg=options.get("l1_reg", False))
    elif method == "shap-partition":
        from adl_keras.explain import shap_methods

        values, base, how = shap_methods.partition(fwd, x, targets, background, kind,
                                                   max_evals=int(options.get("max_evals", 500)))
        notes.append(f"masker: {how}")
    elif method == "lime":
        from adl_keras.explain import lime_methods

        if kind == "image":
            values, base, extras = lime_methods.lime_image(
                fwd, x, targets, seed=seed, num_samples=int(options.get("num_samples", 1000)),
                segmentation=options.get("segmentation", "auto"), hide_color=options.get("hide_color"),
                kernel_width=float(options.get("kernel_width", 0.25)),
                vectorised=bool(options.get("vectorised", True)))
        else:
            values, base, extras = lime_methods.lime_tabular(
                fwd, x, targets, background, seed=seed, num_samples=int(options.get("num_samples", 5000)),
                feature_names=feature_names, class_names=names,
                discretize_continuous=bool(options.get("discretize_continuous", True)), kind=kind)
    elif method == "integrated-gradients":
        baselines = options.get("baseline")
        if baselines is not None:
            baselines = _inputs.check_batch(baselines, input_shape, "baseline")
        elif background is not None:
            baselines = background
        else:
            baselines = np.zeros((1,) + input_shape, dtype="float32")
            notes.append("baseline: all zeros")
        values, base, extras = _ig(model, x, targets, k, baselines, options.get("steps", "auto"),
                                   tolerance, outputs)
    elif method == "saliency":
        values = gradients.saliency(model, x, targets, k, absolute=bool(options.get("absolute", True)))
        base = nan
    elif method == "perturbation":
        from adl_keras.explain import perturbation

        baseline = options.get("baseline")
        if baseline is not None:
            baseline = np.asarray(baseline, dtype="float32")
        values = perturbation.perturbation_saliency(
            fwd, x, targets, kind, mode=options.get("mode", "blur" if kind == "image" else "mean"),
            sigma=options.get("sigma", 1.0), blur_sigma=options.get("blur_sigma", 2.0),
            per_channel=bool(options.get("per_channel", True)), score=options.get("score", "target"),
            background=background, baseline=baseline)
        base = nan
    else:  # grad-cam
        if kind != "image":
            raise ValueError(f"grad-cam needs image inputs (H, W, C). Received: input shape {input_shape}")
        values, layer = gradients.grad_cam(model, x, targets, layer=options.get("layer"))
        base = nan
        extras["layer"] = layer

    return Explanation(
        values=np.asarray(values, dtype="float32"), base_values=np.asarray(base, dtype="float64"),
        data=x, output_names=[names[t] for t in targets], method=used,
        seconds=time.perf_counter() - start, targets=targets,
        output_values=outputs[np.arange(len(x)), targets].astype("float64"), kind=kind,
        feature_names=list(feature_names) if feature_names is not None else None,
        requested_method=method, notes=notes, extras=extras,
    )

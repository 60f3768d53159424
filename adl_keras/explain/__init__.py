"""Explainability: SHAP, LIME, gradient and perturbation attributions of every
zoo model and agent, with faithfulness metrics, a surrogate tree and plots.

One entry point, :func:`explain`, returns one type, :class:`Explanation`.
shap and lime are imported only when a method needs them (``import
adl_keras`` stays light); shap always through ``adl_keras.compat.import_shap``.

Example:
    >>> from adl_keras import zoo, data
    >>> from adl_keras.explain import explain
    >>> ds = data.load("digits")
    >>> model = zoo.load_model("lenet5.digits")
    >>> e = explain(model, ds.test[0][:2], method="shap-deep", background=ds.train[0][:50])
    >>> print(e.summary())
"""

import importlib

_LAZY = {
    "explain": "adl_keras.explain.api",
    "METHODS": "adl_keras.explain.api",
    "ExplainerFallbackWarning": "adl_keras.explain.api",
    "Explanation": "adl_keras.explain.explanation",
    "additivity_error": "adl_keras.explain.metrics",
    "deletion_insertion": "adl_keras.explain.metrics",
    "deletion_auc": "adl_keras.explain.metrics",
    "insertion_auc": "adl_keras.explain.metrics",
    "random_attributions": "adl_keras.explain.metrics",
    "model_randomisation_check": "adl_keras.explain.metrics",
    "surrogate_tree": "adl_keras.explain.surrogate",
    "SurrogateTree": "adl_keras.explain.surrogate",
    "plot_explanation": "adl_keras.explain.plots",
    "explain_zoo_entry": "adl_keras.explain.zoo_explain",
    "EXPLAINABLE_TASKS": "adl_keras.explain.zoo_explain",
    "explain_agent": "adl_keras.explain.agents",
    "greedy_episodes": "adl_keras.explain.agents",
    "action_flip_rate": "adl_keras.explain.agents",
    "agent_faithfulness": "adl_keras.explain.agents",
    "explain_episode": "adl_keras.explain.agents",
    "plot_episode_frames": "adl_keras.explain.agents",
    "perturbation_saliency": "adl_keras.explain.perturbation",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'adl_keras.explain' has no attribute {name!r}")


def __dir__():
    return __all__

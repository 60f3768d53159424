"""Names the explain entry points accept, in a module that imports nothing,
so ``adl-zoo explain`` can check its arguments before TensorFlow loads."""

METHODS = ("shap-gradient", "shap-deep", "shap-kernel", "shap-partition", "lime",
           "integrated-gradients", "saliency", "grad-cam", "perturbation")

# Targets of agents (Q-networks) besides an action index; see adl_keras.explain.agents.
AGENT_TARGETS = ("action", "q", "advantage")
AGENT_TASKS = ("q-network",)

EXPLAINABLE_TASKS = ("image-classification", "tabular-classification", "sequence-classification")


def check_out_dir(out, overwrite):
    """``out`` as a Path if it may receive a folder of results: refused when it is
    a file, or a non-empty folder unless ``overwrite`` (like ``adl-zoo export``)."""
    from pathlib import Path

    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be a bool. Received: overwrite={overwrite!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"out: {out} is a file; the episode's frames go into a folder.")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"out: {out} already exists and is not empty; pass overwrite=True (--overwrite) "
                              f"to replace it.")
    return out

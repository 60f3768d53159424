"""Names the explain entry points accept, in a module that imports nothing,
so ``adl-zoo explain`` can check its arguments before TensorFlow loads."""

METHODS = ("shap-gradient", "shap-deep", "shap-kernel", "shap-partition", "lime",
           "integrated-gradients", "saliency", "grad-cam", "perturbation")

# Targets of agents (Q-networks) besides an action index; see adl_keras.explain.agents.
AGENT_TARGETS = ("action", "q", "advantage")
AGENT_TASKS = ("q-network",)

EXPLAINABLE_TASKS = ("image-classification", "tabular-classification", "sequence-classification")

"""Names the explain entry points accept, in a module that imports nothing,
so ``adl-zoo explain`` can check its arguments before TensorFlow loads."""

METHODS = ("shap-gradient", "shap-deep", "shap-kernel", "shap-partition", "lime",
           "integrated-gradients", "saliency", "grad-cam")

EXPLAINABLE_TASKS = ("image-classification", "tabular-classification", "sequence-classification")

"""Transfer learning: one backbone/head surface for every zoo image model,
freezing with BatchNorm kept in inference mode, two-phase fine-tuning,
layer-wise learning rates and ``keras.applications`` backbones with verified
ImageNet weights.

Example:
    >>> from adl_keras import transfer
    >>> model = transfer.load_model("lenet5.digits", num_classes=5)
    >>> transfer.freeze(model)              # backbone frozen, BN in inference mode
    >>> transfer.num_features(model)
    576
"""

from adl_keras.transfer.applications import ARCHITECTURES, ImageNetPreprocessing, keras_application
from adl_keras.transfer.finetune import FineTuneConfig, FineTuneResult, fine_tune
from adl_keras.transfer.freezing import (
    freeze,
    is_batchnorm,
    layer_stages,
    recompute_batchnorm_statistics,
    select_layers,
    trainable_summary,
    unfreeze,
)
from adl_keras.transfer.layerwise import layerwise_optimizer, stage_multipliers
from adl_keras.transfer.loading import PartialLoadError, load_model
from adl_keras.transfer.surface import (
    backbone,
    backbone_layer_names,
    check_surface,
    extract_features,
    feature_extractor,
    head_layer_names,
    num_features,
    reset_head,
    stage_names,
)

__all__ = [
    "ARCHITECTURES",
    "ImageNetPreprocessing",
    "keras_application",
    "recompute_batchnorm_statistics",
    "FineTuneConfig",
    "FineTuneResult",
    "PartialLoadError",
    "backbone",
    "backbone_layer_names",
    "check_surface",
    "extract_features",
    "feature_extractor",
    "fine_tune",
    "freeze",
    "head_layer_names",
    "is_batchnorm",
    "layer_stages",
    "layerwise_optimizer",
    "load_model",
    "num_features",
    "reset_head",
    "select_layers",
    "stage_multipliers",
    "stage_names",
    "trainable_summary",
    "unfreeze",
]

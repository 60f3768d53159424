"""``keras.applications`` backbones with the zoo's transfer-learning surface.

:func:`keras_application` wraps a ``keras.applications`` architecture so that
it follows the builder conventions of every zoo image model: the input takes
RGB images in [0, 255] and the architecture's own ImageNet preprocessing is a
layer inside the model (so a user cannot apply the wrong one); the last layer
at each spatial resolution is followed by an identity layer named
``stage1..N``; the pooled vector is ``features``; the classifier is
``predictions``. The weighted layers keep the order of Keras' own model, so
the official ImageNet ``.h5`` files load unchanged (``model.load_weights``
reads legacy ``.h5`` files layer by layer in depth order).

Weight files and their hashes (checked by the zoo store before loading):

* ``convnext_tiny``: Keras lists the sha256 of its file in
  ``keras/src/applications/convnext.py`` (``WEIGHTS_HASHES``), used here.
* ``resnet50``, ``efficientnet_b0``: Keras lists only an md5 of each file
  (``keras/src/applications/resnet.py`` and ``efficientnet.py``
  ``WEIGHTS_HASHES``, the check ``keras.utils.get_file`` makes). No sha256
  can be obtained without downloading the file, so the store verifies that
  md5: the same protection Keras gives, weaker than a sha256 against a
  deliberately forged file.
* ``mobilenet_v2``: Keras downloads it without any hash; none is recorded,
  and pretrained loading is refused until one is supplied
  (``zoo.load_model(name, weights=URL, sha256=...)``).

Example:
    >>> model = keras_application("mobilenet_v2", input_shape=(96, 96, 3), num_classes=5)
    >>> [l.name for l in model.layers if l.name.startswith("stage")]
    ['stage1', 'stage2', 'stage3', 'stage4', 'stage5']
"""

import keras

_KA = "https://storage.googleapis.com/tensorflow/keras-applications/"

# Per architecture: constructor, constructor kwargs, preprocessing mode of the
# ``preprocess`` layer (None when Keras puts it inside the architecture), the
# top layers between ``features`` and ``predictions`` in Keras' own order,
# and the official include_top ImageNet file.
ARCHITECTURES = {
    "convnext_tiny": {
        "constructor": "ConvNeXtTiny",
        "kwargs": {"include_preprocessing": True},
        "preprocessing": None,
        # Keras' ConvNeXt pools and layer-normalises inside the backbone
        # (GAP -> LayerNorm), the same weighted order as its ImageNet top.
        "pooling_inside": True,
        "top": (),
        "url": _KA + "convnext/convnext_tiny.h5",
        "sha256": "8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
        "hash_source": "keras/src/applications/convnext.py WEIGHTS_HASHES['convnext_tiny'][0]",
    },
    "mobilenet_v2": {
        "constructor": "MobileNetV2",
        "kwargs": {"alpha": 1.0},
        "preprocessing": "tf",
        "top": (),
        "url": _KA + "mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5",
        "sha256": None,
        "hash_source": "none: Keras downloads this file without any hash",
    },
    "resnet50": {
        "constructor": "ResNet50",
        "kwargs": {},
        "preprocessing": "caffe",
        "top": (),
        "url": _KA + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
        "sha256": None,
        "md5": "2cb95161c43110f7111970584f804107",
        "hash_source": "keras/src/applications/resnet.py WEIGHTS_HASHES['resnet50'][0], an md5 (Keras lists no sha256)",
    },
    "efficientnet_b0": {
        "constructor": "EfficientNetB0",
        "kwargs": {},
        "preprocessing": None,
        "top": ("dropout",),
        "url": "https://storage.googleapis.com/keras-applications/efficientnetb0.h5",
        "sha256": None,
        "md5": "902e53a9f72be733fc0bcb005b3ebbac",
        "hash_source": "keras/src/applications/efficientnet.py WEIGHTS_HASHES['b0'][0], an md5 (Keras lists no sha256)",
    },
}


@keras.saving.register_keras_serializable(package="adl_keras")
class ImageNetPreprocessing(keras.layers.Layer):
    """The ``keras.applications`` ImageNet preprocessing as a layer.

    Input: RGB in [0, 255]. Modes (``keras.applications.imagenet_utils``):

    * ``"tf"``:    x / 127.5 - 1
    * ``"caffe"``: RGB -> BGR, then x - [103.939, 116.779, 123.68]
    * ``"torch"``: (x / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]

    Args:
        mode: "tf", "caffe" or "torch" (default "tf").

    Example:
        >>> ImageNetPreprocessing("caffe")(np.full((1, 2, 2, 3), 255.0))
    """

    MODES = ("tf", "caffe", "torch")

    def __init__(self, mode="tf", **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}. Received: mode={mode!r}")
        self.mode = mode

    def build(self, input_shape):
        if input_shape[-1] != 3:
            raise ValueError(f"ImageNetPreprocessing needs 3 RGB channels. Received: input_shape={input_shape}")

    def call(self, x):
        x = keras.ops.cast(x, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0  # x' = x / 127.5 - 1
        if self.mode == "caffe":
            x = keras.ops.flip(x, axis=-1)  # RGB -> BGR
            return x - keras.ops.convert_to_tensor([103.939, 116.779, 123.68], self.compute_dtype)
        mean = keras.ops.convert_to_tensor([0.485, 0.456, 0.406], self.compute_dtype)
        std = keras.ops.convert_to_tensor([0.229, 0.224, 0.225], self.compute_dtype)
        return (x / 255.0 - mean) / std  # x' = (x / 255 - mu) / sigma

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def stage_ends(model, input_size):
    """Names of the last layer at each spatial resolution below ``input_size``.

    Padding layers (which enlarge the maps by a pixel or two) are ignored.
    """
    layers = [l for l in model.layers[1:] if len(l.output.shape) == 4 and l.output.shape[1] is not None]
    final = int(layers[-1].output.shape[1])
    current, last_at = input_size, {}
    for layer in layers:
        size = int(layer.output.shape[1])
        # Skip padding (larger than the current maps) and squeeze-excitation
        # branches (pooled to 1x1, smaller than the final maps).
        if size > current or size < final or (size == 1 and layer is not layers[-1]):
            continue
        current = size
        last_at[size] = layer.name
    return [last_at[s] for s in sorted(last_at, reverse=True) if s < input_size]


def keras_application(arch="mobilenet_v2", input_shape=(224, 224, 3), num_classes=1000, include_top=True,
                      pooling="avg", classifier_activation="softmax", arch_kwargs=None, name=None):
    """A ``keras.applications`` architecture with the zoo's conventions.

    Args:
        arch: one of :data:`ARCHITECTURES` (default "mobilenet_v2").
        input_shape: (H, W, 3) (default (224, 224, 3)); inputs are RGB in [0, 255].
        num_classes: classes of ``predictions`` (default 1000, ImageNet).
        include_top: add ``features`` and the classifier (default True).
        pooling: "avg" or "max" for ``features`` (default "avg"); with
            ``include_top=False``, None returns the last stage's maps.
        classifier_activation: activation of ``predictions`` (default softmax).
        arch_kwargs: extra constructor arguments (e.g. ``{"alpha": 0.35}``), or None.
        name: model name (default ``arch``).

    Returns:
        keras.Model (uncompiled, random weights).

    Example:
        >>> model = keras_application("resnet50", num_classes=10)
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {sorted(ARCHITECTURES)}. Received: arch={arch!r}")
    input_shape = tuple(int(d) for d in input_shape)
    if len(input_shape) != 3 or input_shape[-1] != 3 or min(input_shape[:2]) < 32:
        raise ValueError(f"input_shape must be (H, W, 3) with H, W >= 32. Received: input_shape={input_shape}")
    if include_top and (isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1):
        raise ValueError(f"num_classes must be a positive int. Received: num_classes={num_classes!r}")
    if pooling not in (None, "avg", "max") or (include_top and pooling is None):
        raise ValueError(f"pooling must be 'avg' or 'max' (or None without the top). Received: pooling={pooling!r}")
    spec = ARCHITECTURES[arch]
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    if spec["preprocessing"]:
        x = ImageNetPreprocessing(spec["preprocessing"], name="preprocess")(x)
    constructor = getattr(keras.applications, spec["constructor"])
    inside = spec.get("pooling_inside", False)
    base = constructor(include_top=False, weights=None, input_tensor=x,
                       **{**spec["kwargs"], **({"pooling": pooling} if inside else {}), **(arch_kwargs or {})})
    stages = {end: f"stage{i + 1}" for i, end in enumerate(stage_ends(base, input_shape[0]))}

    def mark_stages(layer, *args, **kwargs):
        out = layer(*args, **kwargs)
        if layer.name in stages:
            out = keras.layers.Identity(name=stages[layer.name])(out)
        return out

    # Same layer objects (weights untouched), rewired with the stage markers.
    marked = keras.models.clone_model(base, clone_function=lambda layer: layer, call_function=mark_stages)
    x = marked.output
    if inside and pooling is not None:
        x = keras.layers.Identity(name="features")(x)
    elif include_top or pooling is not None:
        pool = keras.layers.GlobalAveragePooling2D if pooling == "avg" else keras.layers.GlobalMaxPooling2D
        x = pool(name="features")(x)
    if include_top:
        for kind in spec["top"]:
            if kind == "layernorm":
                x = keras.layers.LayerNormalization(epsilon=1e-6, name="head_layernorm")(x)
            elif kind == "dropout":
                x = keras.layers.Dropout(0.2, name="head_dropout")(x)
        x = keras.layers.Dense(num_classes, activation=classifier_activation, name="predictions")(x)
    return keras.Model(marked.inputs, x, name=name or arch)

"""One harness call checks what every Keras building block must survive:

1. config round-trip: ``from_config(get_config())`` gives the same config;
2. ``.keras`` save/load gives equal outputs;
3. ``model.export()`` (SavedModel) reloaded with ``tf.saved_model.load`` gives
   equal outputs through its ``serve`` endpoint;
4. a one-step ``fit`` runs, its loss is finite and trainable weights change.
"""

import tempfile
from pathlib import Path

import numpy as np


def _normalised(config):
    """Plain dicts and lists: Keras mixes tuples and lists (and dict subclasses)
    between a config and its rebuild."""
    if isinstance(config, dict):
        return {str(k): _normalised(v) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [_normalised(v) for v in config]
    return config


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _max_diff(a, b):
    diffs = [float(np.max(np.abs(np.asarray(x, dtype="float64") - np.asarray(y, dtype="float64"))))
             for x, y in zip(_as_list(a), _as_list(b))]
    return max(diffs) if diffs else 0.0


def _random_targets(outputs, rng):
    return [rng.standard_normal(tuple(np.shape(o))).astype("float32") for o in _as_list(outputs)]


def check_model(model, x, y=None, loss="mse", atol=1e-5, tmp_dir=None, fit=True,
                export=True, custom_objects=None):
    """Runs the harness on a built model.

    Args:
        model: keras.Model (built, e.g. functional).
        x: a batch of inputs (array or list of arrays).
        y: targets for the one-step fit; random normal of the output's shape
            when None (with ``loss="mse"``).
        loss: loss for the one-step fit (default "mse").
        atol: tolerance for equal outputs (default 1e-5).
        tmp_dir: folder for the saved files (a temporary one when None).
        fit: run the one-step fit check (default True).
        export: run the SavedModel check (default True).
        custom_objects: passed to ``keras.saving.load_model``.

    Returns:
        dict of the measured differences, for reports.

    Raises:
        AssertionError: naming the check that failed and the numbers.
    """
    import keras

    report = {}
    tmp = Path(tmp_dir or tempfile.mkdtemp(prefix="adl_keras_harness_"))
    expected = model(x, training=False)

    # 1. config round trip (the serialisation path .keras files use)
    # (deserialisation pops keys from the dict it is given, hence the copies)
    config = _normalised(keras.saving.serialize_keras_object(model))
    clone = keras.saving.deserialize_keras_object(_normalised(config), custom_objects=custom_objects)
    assert _normalised(keras.saving.serialize_keras_object(clone)) == config, \
        "config round-trip changed the config"

    # 2. .keras round trip
    path = tmp / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, custom_objects=custom_objects)
    report["keras_max_diff"] = _max_diff(loaded(x, training=False), expected)
    assert report["keras_max_diff"] <= atol, f".keras reload changed outputs by {report['keras_max_diff']}"

    # 3. SavedModel export
    if export:
        import tensorflow as tf

        export_dir = tmp / "saved_model"
        model.export(str(export_dir), format="tf_saved_model", verbose=False)
        restored = tf.saved_model.load(str(export_dir))
        served = restored.serve(*[tf.constant(v) for v in _as_list(x)])
        if isinstance(served, dict):
            served = list(served.values())
        report["savedmodel_max_diff"] = _max_diff(served, expected)
        assert report["savedmodel_max_diff"] <= atol, \
            f"SavedModel outputs differ by {report['savedmodel_max_diff']}"

    # 4. one-step fit
    if fit and model.trainable_weights:
        rng = np.random.default_rng(0)
        targets = y if y is not None else _random_targets(expected, rng)
        if isinstance(targets, list) and len(targets) == 1:
            targets = targets[0]
        before = [np.array(w) for w in model.trainable_weights]
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss)
        hist = model.fit(x, targets, epochs=1, batch_size=len(_as_list(x)[0]), verbose=0)
        step_loss = float(hist.history["loss"][-1])
        report["fit_loss"] = step_loss
        assert np.isfinite(step_loss), f"one-step fit gave a non-finite loss {step_loss}"
        changed = sum(not np.allclose(b, np.array(w)) for b, w in zip(before, model.trainable_weights))
        report["weights_changed"] = changed
        assert changed > 0, "one-step fit changed no trainable weight"
    return report


def check_layer(layer_cls, init_kwargs, input_shape, input_dtype="float32", expected_output_shape=None,
                atol=1e-5, tmp_dir=None, fit=True, export=True, seed=0):
    """Runs the harness on a layer class.

    Checks the layer's own config round-trip, then wraps it in a functional
    model and runs :func:`check_model` (``.keras``, SavedModel, one-step fit).

    Args:
        layer_cls: the layer class (registered serializable).
        init_kwargs: constructor arguments.
        input_shape: full input shape including the batch dimension.
        input_dtype: dtype of the random input (default float32).
        expected_output_shape: full output shape to assert, or None.

    Returns:
        dict report (see :func:`check_model`), plus ``output_shape``.
    """
    import keras

    layer = layer_cls(**init_kwargs)
    config = _normalised(layer.get_config())
    again = layer_cls.from_config(_normalised(config))
    assert _normalised(again.get_config()) == config, \
        f"{layer_cls.__name__} config round-trip changed the config"
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(input_shape).astype(input_dtype)
    inputs = keras.Input(tuple(input_shape[1:]), dtype=input_dtype)
    outputs = layer_cls(**init_kwargs)(inputs)
    model = keras.Model(inputs, outputs)
    out = model(x)
    shapes = [tuple(np.shape(o)) for o in _as_list(out)]
    if expected_output_shape is not None:
        want = [tuple(s) for s in (expected_output_shape if isinstance(expected_output_shape, list)
                                   else [expected_output_shape])]
        assert shapes == want, f"{layer_cls.__name__} output shape {shapes}, expected {want}"
    report = check_model(model, x, atol=atol, tmp_dir=tmp_dir, fit=fit, export=export)
    report["output_shape"] = shapes if len(shapes) > 1 else shapes[0]
    return report

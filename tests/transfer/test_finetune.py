import warnings

import numpy as np
import pytest

from adl_keras import transfer


def test_two_phase_returns_both_histories_and_trains_the_right_layers(tiny_model, tiny_data):
    x, y = tiny_data
    conv1 = tiny_model.get_layer("conv1").kernel.numpy().copy()
    conv2 = tiny_model.get_layer("conv2").kernel.numpy().copy()
    bn = [w.numpy().copy() for w in tiny_model.get_layer("bn2").weights]
    cfg = transfer.FineTuneConfig(head_epochs=2, epochs=2, batch_size=16, unfreeze_stages=1)
    result = transfer.fine_tune(tiny_model, (x, y), (x[:16], y[:16]), cfg)
    head, tuned = result
    assert len(head.history["loss"]) == 2 and len(tuned.history["loss"]) == 2
    assert "val_accuracy" in tuned.history
    assert result.unfrozen == ["conv2", "stage2", "features"]
    np.testing.assert_array_equal(tiny_model.get_layer("conv1").kernel.numpy(), conv1)  # never unfrozen
    assert not np.allclose(tiny_model.get_layer("conv2").kernel.numpy(), conv2)  # phase 2 trained it
    for before, w in zip(bn, tiny_model.get_layer("bn2").weights):  # BN stays in inference mode
        np.testing.assert_array_equal(w.numpy(), before)


def test_phase_two_skipped(tiny_model, tiny_data):
    result = transfer.fine_tune(tiny_model, tiny_data, config=transfer.FineTuneConfig(head_epochs=1, epochs=0))
    assert result.fine_tune is None and len(result.head.history["loss"]) == 1


def test_tf_data_input_with_layer_decay(tiny_model, tiny_data):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(tiny_data).batch(32)
    cfg = transfer.FineTuneConfig(head_epochs=1, epochs=1, unfreeze_stages="all", layer_decay=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = transfer.fine_tune(tiny_model, ds, ds, cfg)
    assert not [w for w in caught if "shuffle" in str(w.message)]   # stock fit(ds) warns "shuffle=True ... ignored"
    assert len(result.fine_tune.history["val_loss"]) == 1
    assert type(tiny_model.optimizer).__name__ == "LayerwiseAdam"
    assert tiny_model.optimizer.lr_multipliers["conv1/kernel"] == 0.25  # stage1 of 2: 0.5 ** 2


def test_bad_config():
    with pytest.raises(ValueError, match="head_epochs"):
        transfer.FineTuneConfig(head_epochs=-1)
    with pytest.raises(ValueError, match="unfreeze_stages"):
        transfer.FineTuneConfig(unfreeze_stages="top")
    with pytest.raises(ValueError, match="learning_rate"):
        transfer.FineTuneConfig(learning_rate=0)


def test_cache_features_phase_one_equals_phase_one_through_the_backbone(tiny_data):
    """Phase 1 on features computed once trains the same head as phase 1 through the frozen backbone."""
    import keras

    from tests.transfer.conftest import tiny_bn_cnn

    heads = []
    for cache in (False, True):
        keras.utils.set_random_seed(0)
        model = tiny_bn_cnn()
        before = [w.numpy().copy() for w in model.get_layer("conv1").weights]
        cfg = transfer.FineTuneConfig(head_epochs=3, epochs=0, batch_size=16, seed=0, cache_features=cache)
        result = transfer.fine_tune(model, tiny_data, tiny_data, cfg)
        assert len(result.head.history["val_accuracy"]) == 3
        # the backbone is untouched and the head layers of the model itself were trained
        for a, b in zip(before, model.get_layer("conv1").weights):
            np.testing.assert_array_equal(a, b.numpy())
        heads.append([w.numpy() for name in ("head_fc", "predictions") for w in model.get_layer(name).weights])
    for a, b in zip(*heads):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_cache_features_needs_arrays(tiny_model, tiny_data):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(tiny_data).batch(16)
    with pytest.raises(ValueError, match="cache_features"):
        transfer.fine_tune(tiny_model, ds, None, transfer.FineTuneConfig(head_epochs=1, epochs=0, cache_features=True))

import numpy as np
import pytest

from adl_keras import transfer
from tests.transfer.conftest import tiny_bn_cnn


def _bn_stats(model):
    return {n: [w.numpy().copy() for w in model.get_layer(n).weights] for n in ("bn1", "bn2")}


def _fit(model, data, epochs=2):
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(*data, epochs=epochs, batch_size=16, verbose=0)


def test_frozen_batchnorm_statistics_unchanged_after_fit(tiny_model, tiny_data):
    before = _bn_stats(tiny_model)
    head_before = tiny_model.get_layer("predictions").kernel.numpy().copy()
    frozen = transfer.freeze(tiny_model)
    assert {"conv1", "bn1", "conv2", "bn2", "features"} <= set(frozen)
    _fit(tiny_model, tiny_data)
    after = _bn_stats(tiny_model)
    for name in before:  # gamma, beta, moving mean, moving variance all equal
        for b, a in zip(before[name], after[name]):
            np.testing.assert_array_equal(a, b)
    assert not np.allclose(tiny_model.get_layer("predictions").kernel.numpy(), head_before)


def test_naive_freeze_lets_batchnorm_statistics_drift(tiny_model, tiny_data):
    """The pitfall: freezing only the conv/dense weights leaves BN in training mode."""
    before = _bn_stats(tiny_model)
    for name in ("conv1", "conv2"):
        tiny_model.get_layer(name).trainable = False
    _fit(tiny_model, tiny_data, epochs=1)
    moving_mean_before, moving_mean_after = before["bn1"][2], tiny_model.get_layer("bn1").moving_mean.numpy()
    assert np.max(np.abs(moving_mean_after - moving_mean_before)) > 1e-2


def test_unfreeze_keeps_batchnorm_frozen_by_default(tiny_model, tiny_data):
    transfer.freeze(tiny_model)
    done = transfer.unfreeze(tiny_model, stages=["stage2"])
    assert done == ["conv2", "stage2"]
    summary = transfer.trainable_summary(tiny_model)
    assert summary == {"conv1": False, "bn1": False, "conv2": True, "bn2": False,
                       "head_fc": True, "predictions": True}
    before = _bn_stats(tiny_model)
    conv2_before = tiny_model.get_layer("conv2").kernel.numpy().copy()
    _fit(tiny_model, tiny_data)
    for b, a in zip(before["bn2"], _bn_stats(tiny_model)["bn2"]):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(tiny_model.get_layer("conv2").kernel.numpy(), conv2_before)
    transfer.unfreeze(tiny_model, stages=["stage2"], keep_batchnorm_frozen=False)
    assert tiny_model.get_layer("bn2").trainable


def test_freeze_by_name_pattern_and_fraction(tiny_model):
    assert transfer.freeze(tiny_model, layers=["conv*"]) == ["conv1", "conv2"]
    assert transfer.trainable_summary(tiny_model)["bn1"]
    tiny_model.trainable = True
    # bottom half of the 4 weighted backbone layers: conv1, bn1 (and the input before them)
    assert transfer.freeze(tiny_model, fraction=0.5) == ["image", "conv1", "bn1"]
    tiny_model.trainable = False
    # top quarter unfrozen: bn2 is the top weighted layer but stays frozen
    assert transfer.unfreeze(tiny_model, fraction=0.5) == ["conv2", "stage2", "features"]
    assert transfer.trainable_summary(tiny_model) == {"conv1": False, "bn1": False, "conv2": True,
                                                      "bn2": False, "head_fc": False, "predictions": False}


def test_unfreeze_after_model_trainable_false():
    model = tiny_bn_cnn()
    model.trainable = False
    transfer.unfreeze(model, layers=["predictions"])
    assert [v.path for v in model.trainable_weights] == ["predictions/kernel", "predictions/bias"]


def test_layer_stages_and_bad_selectors(tiny_model):
    stages = transfer.layer_stages(tiny_model)
    assert stages["conv1"] == "stage1" and stages["bn2"] == "stage2"
    assert stages["features"] == "features" and stages["predictions"] == "head"
    with pytest.raises(ValueError, match="fraction"):
        transfer.freeze(tiny_model, fraction=1.5)
    with pytest.raises(ValueError, match="stage7"):
        transfer.freeze(tiny_model, stages=["stage7"])
    with pytest.raises(ValueError, match="nope"):
        transfer.freeze(tiny_model, layers=["nope*"])
    with pytest.raises(ValueError, match="one of"):
        transfer.freeze(tiny_model, layers=["conv1"], fraction=0.5)


def test_recompute_batchnorm_statistics_normalises_target_data(tiny_model, tiny_data):
    import keras

    x, _ = tiny_data
    assert transfer.freezing.recompute_batchnorm_statistics(tiny_model, x) == ["bn1", "bn2"]
    for name in ("bn1", "bn2"):
        layer = tiny_model.get_layer(name)
        out = keras.Model(tiny_model.inputs, layer.output).predict(x, verbose=0)
        # Inference-mode BN with the target's own statistics: mean 0, variance var/(var+eps) ~ 1 per channel.
        np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
        np.testing.assert_allclose(out.var(axis=(0, 1, 2)), 1.0, atol=1e-2)

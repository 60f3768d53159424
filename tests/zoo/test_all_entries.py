"""Every registered zoo entry passes the harness and reproduces its card:
a new entry is tested the moment it is registered."""

import numpy as np
import pytest

from adl_keras import zoo
from adl_keras.testing import check_model

NAMES = zoo.list_models()
PRETRAINED = zoo.list_models(pretrained=True)


def _batch(model, n=4):
    spec = model.inputs[0]
    rng = np.random.default_rng(0)
    shape = (n, *spec.shape[1:])
    if "int" in str(spec.dtype):
        return rng.integers(0, 2, shape).astype(spec.dtype)
    return rng.random(shape).astype(spec.dtype)


@pytest.mark.parametrize("name", NAMES)
def test_entry_passes_harness(name, tmp_path):
    import keras

    model = zoo.load_model(name, pretrained=name in PRETRAINED)
    assert isinstance(model, keras.Model), type(model)
    x = _batch(model)
    out = model(x, training=False)
    for o in out if isinstance(out, (list, tuple)) else [out]:
        assert np.all(np.isfinite(np.asarray(o))), f"{name} gives non-finite outputs"
    check_model(model, x, tmp_dir=tmp_path)


@pytest.mark.parametrize("name", PRETRAINED)
def test_pretrained_entry_reproduces_card(name):
    info = zoo.model_info(name)
    assert info["metrics"], f"{name} card has no metrics"
    assert info["weights"]["size"] < 16 * 2**20
    assert zoo.load_model(name).count_params() == info["params"]
    if zoo.get_entry(name).evaluator is not None:
        report = zoo.evaluate(name)
        assert report["match"], report

"""Every registered zoo entry passes the harness and reproduces its card:
a new entry is tested the moment it is registered."""

import numpy as np
import pytest

from adl_keras import zoo
from adl_keras.testing import check_model
from adl_keras.zoo import cards

NAMES = zoo.list_models()
SHIPPED = [n for n in NAMES if cards.weights_shipped(n)]


# Entries on the real 28x28 Fashion-MNIST reuse builders whose harness already
# runs in the default suite (on the digits/shapes entries); theirs is slow-only.
# Their cards are re-measured by default, except the GANs' (FID needs ~15,000
# ResNet forward passes).
REAL_DATA = ("fashion_mnist", "seq_fashion")


def _same_network_as_an_earlier_entry(name):
    """True when an earlier entry builds the same network (builder and arguments but the name)."""
    entry = zoo.get_entry(name)
    key = (entry.builder, {k: v for k, v in entry.build_kwargs.items() if k != "name"})
    for other in NAMES[:NAMES.index(name)]:
        o = zoo.get_entry(other)
        if (o.builder, {k: v for k, v in o.build_kwargs.items() if k != "name"}) == key:
            return True
    return False


def _params(names):
    # Entries whose weights are fetched from an external URL are large
    # keras.applications models: their harness run belongs in `make test-slow`.
    # So is a second entry of an already-harnessed network (e.g. the few-shot
    # digits entries, which differ only in weights).
    return [pytest.param(n, marks=pytest.mark.slow)
            if zoo.get_entry(n).weights_url or zoo.get_entry(n).dataset in REAL_DATA
            or _same_network_as_an_earlier_entry(n) else n for n in names]


def _card_params(names):
    return [pytest.param(n, marks=pytest.mark.slow)
            if zoo.get_entry(n).dataset in REAL_DATA and zoo.get_entry(n).topic == "gan" else n for n in names]


def _batch(model, n=4):
    spec = model.inputs[0]
    rng = np.random.default_rng(0)
    shape = (n, *spec.shape[1:])
    if "int" in str(spec.dtype):
        return rng.integers(0, 2, shape).astype(spec.dtype)
    return rng.random(shape).astype(spec.dtype)


@pytest.mark.parametrize("name", _params(NAMES))
def test_entry_passes_harness(name, tmp_path):
    import keras

    model = zoo.load_model(name, pretrained=name in SHIPPED)
    assert isinstance(model, keras.Model), type(model)
    x = _batch(model)
    out = model(x, training=False)
    for o in out if isinstance(out, (list, tuple)) else [out]:
        assert np.all(np.isfinite(np.asarray(o))), f"{name} gives non-finite outputs"
    check_model(model, x, tmp_dir=tmp_path)


@pytest.mark.parametrize("name", _card_params(SHIPPED))
def test_pretrained_entry_reproduces_card(name):
    info = zoo.model_info(name)
    assert info["metrics"], f"{name} card has no metrics"
    assert info["weights"]["size"] < 16 * 2**20
    assert zoo.load_model(name).count_params() == info["params"]
    if zoo.get_entry(name).evaluator is not None:
        report = zoo.evaluate(name)
        assert report["match"], report

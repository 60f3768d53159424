"""``Explanation.to_shap()`` feeds shap's own plots, per example and per batch."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from adl_keras.compat import import_shap  # noqa: E402
from adl_keras.explain.explanation import Explanation  # noqa: E402


def _explanation(kind, shape, feature_names=None, n=6):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(n, *shape))
    base = np.full(n, 0.25)
    return Explanation(values=values, base_values=base, data=rng.random((n, *shape)),
                       output_names=[f"class_{i % 3}" for i in range(n)], method="integrated-gradients",
                       seconds=0.0, targets=np.arange(n) % 3, output_values=base + values.reshape(n, -1).sum(1),
                       kind=kind, feature_names=feature_names)


def _plot(name, arg):
    shap = import_shap()
    getattr(shap.plots, name)(arg, show=False)
    drawn = plt.gcf().axes
    plt.close("all")
    assert drawn, name


@pytest.mark.parametrize("kind, shape, names", [
    ("tabular", (5,), [f"feature {i}" for i in range(5)]),
    ("sequence", (4, 2), ["x", "y"]),
])
def test_tabular_and_sequence_plots(kind, shape, names):
    e = _explanation(kind, shape, names)
    s = e.to_shap()
    width = int(np.prod(shape))
    assert s.values.shape == (6, width) and len(s.feature_names) == width
    np.testing.assert_array_equal(s.values.reshape(e.values.shape), e.values)
    for i in range(len(e)):
        _plot("waterfall", s[i])
        assert float(s[i].base_values) == e.base_values[i]
    _plot("bar", s[0])
    _plot("bar", s)
    _plot("beeswarm", s)
    # local accuracy survives the conversion: base + sum(values) = f(x)
    np.testing.assert_allclose(s.base_values + s.values.sum(1), e.output_values)
    if kind == "sequence":
        assert s.feature_names[:3] == ["x@t0", "y@t0", "x@t1"]


def test_image_plot_per_example_and_batch():
    e = _explanation("image", (8, 8, 1), n=3)
    s = e.to_shap()
    assert s.values.shape == (3, 8, 8, 1)
    _plot("image", s)
    _plot("image", s[0])
    _plot("image", e[1].to_shap())

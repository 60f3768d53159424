import numpy as np
import pytest

from adl_keras import data
from adl_keras.data import glyphs


def test_generate_shapes_range_and_class_balance():
    x, y = glyphs.generate_glyphs32(n_per_class=6, num_classes=5, seed=3)
    assert x.shape == (30, 32, 32, 3) and x.dtype == np.float32 and y.dtype == np.int32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert np.bincount(y).tolist() == [6] * 5
    # Every image shows a stroke: it is not flat.
    assert (x.reshape(30, -1).std(1) > 0.05).all()


def test_generate_is_deterministic_for_a_seed():
    a = glyphs.generate_glyphs32(n_per_class=4, num_classes=4, seed=1)
    b = glyphs.generate_glyphs32(n_per_class=4, num_classes=4, seed=1)
    c = glyphs.generate_glyphs32(n_per_class=4, num_classes=4, seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.allclose(a[0], c[0])


def test_templates_are_distinct_and_normalised():
    t = glyphs.glyph_templates(20, seed=0)
    assert len(t) == 20 and all(tpl.ndim == 3 and tpl.shape[1:] == (4, 2) and 1 <= len(tpl) <= 3 for tpl in t)
    grid = np.linspace(0, 1, 32)
    clouds = [glyphs._bezier(tpl, grid).reshape(-1, 2) for tpl in t]
    for cloud in clouds:
        # Bounding box centred, longer side spanning [-1, 1].
        lo, hi = cloud.min(0), cloud.max(0)
        np.testing.assert_allclose((lo + hi) / 2, 0.0, atol=1e-5)
        np.testing.assert_allclose((hi - lo).max(), 2.0, atol=1e-5)
    dists = [glyphs._chamfer(clouds[i], clouds[j]) for i in range(20) for j in range(i)]
    assert min(dists) > glyphs._MIN_TEMPLATE_DISTANCE


def test_bezier_endpoints_and_midpoint():
    ctrl = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, 2.0], [4.0, 0.0]])
    pts = glyphs._bezier(ctrl, np.array([0.0, 0.5, 1.0]))
    # B(1/2) = (P0 + 3 P1 + 3 P2 + P3) / 8
    np.testing.assert_allclose(pts, [[0, 0], [2.0, 1.5], [4, 0]])


def test_upsample_matrix_matches_keras_bilinear():
    import keras

    img = np.random.default_rng(0).uniform(size=(1, 8, 8, 1)).astype("float32")
    up = glyphs._upsample_matrix(8, 32)
    ours = np.einsum("ai,ij,bj->ab", up, img[0, ..., 0], up)
    ref = keras.ops.convert_to_numpy(keras.ops.image.resize(img, (32, 32), interpolation="bilinear"))[0, ..., 0]
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_per_class"):
        glyphs.generate_glyphs32(n_per_class=0)
    with pytest.raises(ValueError, match="noise"):
        glyphs.generate_glyphs32(n_per_class=2, noise=(0.3, 0.1))
    with pytest.raises(ValueError, match="num_classes"):
        glyphs.glyph_templates(1)


def test_registered_dataset_splits_fixed_disjoint_stratified():
    ds = data.load("glyphs32", n_per_class=10, num_classes=6)
    again = data.load("glyphs32", n_per_class=10, num_classes=6)
    assert ds.num_classes == 6 and ds.info["class_names"][0] == "glyph_00"
    sizes = []
    for split in ("train", "val", "test"):
        x, y = ds.split(split)
        np.testing.assert_array_equal(x, again.split(split)[0])
        assert x.shape[1:] == (32, 32, 3) and len(x) == len(y)
        assert np.bincount(y, minlength=6).tolist() == [len(y) // 6] * 6
        sizes.append(len(y))
    assert sizes == [36, 12, 12]
    # Splits disjoint: no image appears in two of them.
    keys = [{img.tobytes() for img in ds.split(s)[0]} for s in ("train", "val", "test")]
    assert sum(len(k) for k in keys) == len(set().union(*keys)) == 60


def test_loading_again_reuses_the_generated_set_and_returns_independent_splits(monkeypatch):
    calls = []
    generate = glyphs.generate_glyphs32
    monkeypatch.setattr(glyphs, "generate_glyphs32", lambda **kw: calls.append(kw) or generate(**kw))
    glyphs._generated.cache_clear()
    first = data.load("glyphs32", n_per_class=4, num_classes=3)
    expected = first.train[0].copy()
    first.train[0][:] = -1.0   # a user normalising in place must not change the next load
    again = data.load("glyphs32", n_per_class=4, num_classes=3)
    np.testing.assert_array_equal(again.train[0], expected)
    assert len(calls) == 1
    data.load("glyphs32", n_per_class=4, num_classes=4)   # another set is generated, and replaces it
    data.load("glyphs32", n_per_class=4, num_classes=3)
    assert [c["num_classes"] for c in calls] == [3, 4, 3]

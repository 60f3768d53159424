import os
import time

import numpy as np
import pytest

from adl_keras import data


@pytest.mark.parametrize("name,shape,classes", [("digits", (8, 8, 1), 10), ("breast_cancer", (30,), 2),
                                                 ("wine", (13,), 3)])
def test_offline_splits_fixed_disjoint_stratified(name, shape, classes):
    a, b = data.load(name), data.load(name)
    n = 0
    for split in ("train", "val", "test"):
        xa, ya = a.split(split)
        xb, yb = b.split(split)
        np.testing.assert_array_equal(xa, xb)
        assert xa.shape[1:] == shape and xa.dtype == np.float32 and len(xa) == len(ya)
        assert set(np.unique(ya)) == set(range(classes))
        n += len(xa)
    assert a.num_classes == classes
    assert len(a.train[0]) > len(a.val[0]) > 0
    # disjoint and complete: the raw data has no repeated rows, so the three splits
    # must hold n distinct rows, no row in two splits, n = the raw dataset's size
    import sklearn.datasets

    raw = getattr(sklearn.datasets, f"load_{name}")().data
    rows = [{r.tobytes() for r in a.split(split)[0]} for split in ("train", "val", "test")]
    assert not rows[0] & rows[1] and not rows[0] & rows[2] and not rows[1] & rows[2]
    assert sum(len(r) for r in rows) == n == len(raw)
    # stratified: each class's share of every split is within one example of its share overall
    y_all = np.concatenate([a.split(s)[1] for s in ("train", "val", "test")])
    for split in ("train", "val", "test"):
        ys = a.split(split)[1]
        expected = np.bincount(y_all, minlength=classes) * len(ys) / len(y_all)
        assert np.all(np.abs(np.bincount(ys, minlength=classes) - expected) <= 1.5)


def test_digits_split_sizes_and_range():
    ds = data.load("digits")
    assert (len(ds.train[0]), len(ds.val[0]), len(ds.test[0])) == (1078, 359, 360)
    assert ds.train[0].min() == 0.0 and ds.train[0].max() == 1.0


def test_tabular_standardised_with_train_stats():
    ds = data.load("wine")
    np.testing.assert_allclose(ds.train[0].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.train[0].std(0), 1, atol=1e-3)


def test_sample_images():
    ds = data.load("sample_images")
    assert ds.train[0].shape == (2, 427, 640, 3) and 0 <= ds.train[0].min() and ds.train[0].max() <= 1


def test_split_indices_validates_and_partitions():
    tr, va, te = data.split_indices(100, seed=1)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(100))
    labels = np.repeat(np.arange(4), 25)
    parts = data.split_indices(labels, seed=0)
    assert [np.bincount(labels[p]).tolist() for p in parts] == [[15] * 4, [5] * 4, [5] * 4]
    with pytest.raises(ValueError, match="fractions"):
        data.split_indices(10, fractions=(0.5, 0.5, 0.5))


def test_unknown_dataset():
    with pytest.raises(KeyError, match="digits"):
        data.load("digit")
    with pytest.raises(ValueError, match="split"):
        data.load("wine").split("holdout")


def test_tfds_loader_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        ds = data.load_tfds("mnist", split="train")
        images, labels = zip(*list(ds.take(6).as_numpy_iterator()))
    assert np.stack(images).shape == (6, 28, 28, 1) and len(labels) == 6


def test_tfds_offline_fails_fast_with_message(tmp_path, monkeypatch):
    monkeypatch.setenv("ADL_KERAS_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(data.DatasetUnavailableError) as err:
        data.load_tfds("cifar10", data_dir=str(tmp_path))
    assert time.perf_counter() - start < 30
    assert "cifar10" in str(err.value) and "offline" in str(err.value)


def test_tfds_rejects_unknown_name():
    with pytest.raises(ValueError, match="name"):
        data.load_tfds("imagenet2012")

"""Sequence datasets: adding, copy, seq_digits (offline) and the tfds loaders (mock data)."""

import numpy as np
import pytest

from adl_keras import data
from adl_keras.data.sequences import load_imdb, load_sequential_mnist, make_adding, make_copy


def test_adding_problem_targets_and_markers():
    x, y = make_adding(500, seq_len=30, seed=3)
    assert x.shape == (500, 30, 2) and y.shape == (500, 1) and x.dtype == np.float32
    marks = x[..., 1]
    assert np.all(marks.sum(1) == 2)
    assert np.all(marks[:, :15].sum(1) == 1) and np.all(marks[:, 15:].sum(1) == 1)
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * marks).sum(1), rtol=1e-6)
    assert np.all((x[..., 0] >= 0) & (x[..., 0] <= 1))
    np.testing.assert_array_equal(make_adding(500, 30, seed=3)[0], x)
    assert not np.array_equal(make_adding(500, 30, seed=4)[0], x)


def test_adding_dataset_splits_and_trivial_baseline():
    ds = data.load("adding", n=2000, seq_len=100)
    assert [len(s[0]) for s in (ds.train, ds.val, ds.test)] == [1200, 400, 400]
    assert ds.train[0].shape[1:] == (100, 2) and ds.num_classes is None
    trivial = np.mean((ds.test[1] - 1.0) ** 2)  # predicting E[y] = 1
    assert abs(trivial - 2 / 12) < 0.03
    default = data.load("adding")
    assert default.test[0].shape == (2000, 100, 2)


def test_copy_task_layout():
    x, y = make_copy(50, num_symbols=8, copy_len=5, delay=7, seed=0)
    tokens = x.argmax(-1)
    assert x.shape == (50, 17, 10) and y.shape == (50, 17)
    np.testing.assert_array_equal(x.sum(-1), 1.0)
    assert np.all((tokens[:, :5] >= 1) & (tokens[:, :5] <= 8))
    assert np.all(tokens[:, 5:11] == 0) and np.all(tokens[:, 11] == 9) and np.all(tokens[:, 12:] == 0)
    np.testing.assert_array_equal(y[:, 12:], tokens[:, :5])
    assert np.all(y[:, :12] == 0)
    ds = data.load("copy", n=100)
    assert ds.num_classes == 10 and ds.train[0].shape == (60, 40, 10)


def test_seq_digits_reads_rows_and_shares_the_digits_split():
    seq, img = data.load("seq_digits"), data.load("digits")
    assert seq.train[0].shape[1:] == (8, 8) and seq.num_classes == 10
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(seq.split(split)[0], img.split(split)[0][..., 0])
        np.testing.assert_array_equal(seq.split(split)[1], img.split(split)[1])


@pytest.mark.parametrize("kwargs,match", [
    ({"n": 0}, "n=0"), ({"n": 10, "seq_len": 1}, "seq_len=1"), ({"n": 2.5}, "n=2.5")])
def test_adding_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_adding(**kwargs)


def test_copy_bad_arguments():
    with pytest.raises(ValueError, match="delay=0"):
        make_copy(10, delay=0)


def test_sequential_mnist_and_imdb_with_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=6):
        rows = load_sequential_mnist(split="train", batch_size=3)
        x, y = next(iter(rows))
        assert tuple(x.shape) == (3, 28, 28) and tuple(y.shape) == (3,)
        assert float(np.min(x)) >= 0.0 and float(np.max(x)) <= 1.0
        pixels = next(iter(load_sequential_mnist(split="test", pixel_by_pixel=True)))[0]
        assert tuple(pixels.shape) == (784, 1)
        ds, vectorizer = load_imdb(split="train", max_tokens=50, seq_len=12, batch_size=2)
        tokens, labels = next(iter(ds))
        assert tuple(tokens.shape) == (2, 12) and tokens.dtype.is_integer
        assert int(np.max(tokens)) < 50 and len(vectorizer.get_vocabulary()) <= 50
    with pytest.raises(ValueError, match="max_tokens=1"):
        load_imdb(max_tokens=1)

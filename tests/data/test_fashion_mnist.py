"""Fashion-MNIST loader: IDX parsing, hash checks and the missing-data error
on tiny files written here; shapes, label counts and split disjointness on the
real files (fixture ``fashion_mnist`` in tests/conftest.py)."""

import gzip
import hashlib

import numpy as np
import pytest

from adl_keras.data import fashion_mnist as fm


def _write_idx(path, array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    body = np.ascontiguousarray(array, array.dtype.newbyteorder(">")).tobytes()
    with gzip.open(path, "wb") as f:
        f.write(header + body)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tiny(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 3, 4), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    files = {"img.gz": _write_idx(tmp_path / "img.gz", images),
             "lab.gz": _write_idx(tmp_path / "lab.gz", labels)}
    return tmp_path, images, labels, files


def test_read_idx_round_trips_bytes_and_other_dtypes(tiny, tmp_path):
    folder, images, labels, _ = tiny
    np.testing.assert_array_equal(fm.read_idx(folder / "img.gz"), images)
    np.testing.assert_array_equal(fm.read_idx(folder / "lab.gz"), labels)
    ints = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    _write_idx(tmp_path / "ints.gz", ints, type_code=0x0C)
    out = fm.read_idx(tmp_path / "ints.gz")
    np.testing.assert_array_equal(out, ints)
    assert out.dtype == np.int32


def test_read_idx_rejects_bad_magic_and_truncated_body(tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"PK\x03\x04" + bytes(8))
    with pytest.raises(ValueError, match="Not an IDX file.*bad.gz"):
        fm.read_idx(bad)
    short = tmp_path / "short.gz"
    with gzip.open(short, "wb") as f:
        f.write(bytes([0, 0, 8, 2]) + np.asarray([3, 3], ">u4").tobytes() + bytes(8))
    with pytest.raises(ValueError, match="holds 8 bytes.*needs 9"):
        fm.read_idx(short)


def test_find_files_prefers_adl_keras_data_and_checks_sha256(tiny, monkeypatch):
    folder, _, _, files = tiny
    monkeypatch.setenv("ADL_KERAS_DATA", str(folder))
    assert fm.find_files(files, allow_download=False) == folder
    wrong = {**files, "img.gz": "0" * 64}
    with pytest.raises(ValueError, match="img.gz has sha256 .* expected 0000"):
        fm.find_files(wrong, allow_download=False)


def test_missing_everywhere_names_the_three_ways(tmp_path, monkeypatch):
    monkeypatch.setenv("ADL_KERAS_DATA", str(tmp_path / "nothing"))
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(fm.FashionMNISTUnavailableError) as err:
        fm.find_files(allow_download=False)
    message = str(err.value)
    for way in ("apt-get install dataset-fashion-mnist", "ADL_KERAS_DATA", "keras.datasets.fashion_mnist"):
        assert way in message


def test_real_files_shapes_counts_and_disjoint_splits(fashion_mnist):
    ds = fashion_mnist
    assert [ds.split(s)[0].shape for s in ("train", "val", "test")] == [
        (54000, 28, 28, 1), (6000, 28, 28, 1), (10000, 28, 28, 1)]
    assert ds.train[0].dtype == np.float32 and ds.train[1].dtype == np.int32
    assert 0.0 == ds.test[0].min() and ds.test[0].max() == 1.0
    for split, per_class in (("train", 5400), ("val", 600), ("test", 1000)):
        assert np.bincount(ds.split(split)[1]).tolist() == [per_class] * 10
    # train and val partition the official training images (a multiset of
    # image+label bytes, so duplicated images in the set are counted right).
    (raw_x, raw_y), _ = fm.load_raw()

    def keys(x, y):
        pixels = np.rint(np.asarray(x).reshape(len(x), -1) * 255).astype(np.uint8)
        rows = np.ascontiguousarray(np.concatenate([pixels, np.asarray(y, np.uint8)[:, None]], axis=1))
        return np.sort(rows.view(np.dtype((np.void, rows.shape[1])))[:, 0])

    both = np.sort(np.concatenate([keys(*ds.train), keys(*ds.val)]))
    assert np.array_equal(both, keys(raw_x / 255.0, raw_y))
    assert not set(fm.val_indices(raw_y)) & set(np.setdiff1d(np.arange(60000), fm.val_indices(raw_y)))
    with pytest.raises(ValueError):
        ds.train[0][0, 0, 0, 0] = 1.0  # the shared, cached arrays are read-only

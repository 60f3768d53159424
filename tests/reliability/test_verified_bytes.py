"""Finding 2: the bytes that are hashed are the bytes that are loaded, while
another thread keeps swapping the file between good and bad weights."""

import os
import threading

import numpy as np
import pytest

from adl_keras import zoo
from adl_keras.zoo import cards, store


def _bad_variant(data):
    # Same size, different weights: the h5 layout is intact, values changed.
    arr = bytearray(data)
    for i in range(len(arr) // 2, len(arr) // 2 + 4096):
        arr[i] ^= 0x5A
    return bytes(arr)


class _Swapper(threading.Thread):
    """Renames good and bad copies over ``path`` as fast as it can."""

    def __init__(self, path, good, bad):
        super().__init__(daemon=True)
        self.path, self.stop, self.swaps = path, threading.Event(), 0
        self.sources = []
        for i, data in enumerate((good, bad)):
            src = path.parent / f".swap{i}"
            src.write_bytes(data)
            self.sources.append(src)

    def run(self):
        i = 0
        while not self.stop.is_set():
            tmp = self.path.parent / f".swap-tmp{i % 2}"
            os.link(self.sources[i % 2], tmp)
            os.replace(tmp, self.path)
            self.swaps += 1
            i += 1


def _check_loads(load, reference, attempts):
    ok = refused = 0
    for _ in range(attempts):
        try:
            model = load()
        except zoo.WeightsIntegrityError:
            refused += 1
            continue
        for a, b in zip(model.get_weights(), reference):
            np.testing.assert_array_equal(a, b)  # never the unverified weights
        ok += 1
    return ok, refused


def test_weights_argument_swapped_concurrently(tmp_path, lenet_weights):
    good, sha = lenet_weights
    reference = zoo.load_model("lenet5.digits").get_weights()
    path = tmp_path / "w.weights.h5"
    path.write_bytes(good)
    swapper = _Swapper(path, good, _bad_variant(good))
    swapper.start()
    try:
        ok, refused = _check_loads(lambda: zoo.load_model("lenet5.digits", weights=str(path), sha256=sha),
                                   reference, 15)
    finally:
        swapper.stop.set()
        swapper.join()
    assert swapper.swaps > 15 and ok + refused == 15 and ok > 0


def test_zoo_entry_swapped_concurrently(shipped_copy, home, lenet_weights):
    good, _ = lenet_weights
    reference = zoo.load_model("lenet5.digits").get_weights()
    meta = cards.read_meta("lenet5.digits", shipped_copy)
    path = shipped_copy / "lenet5.digits" / meta["weights"]["file"]
    swapper = _Swapper(path, good, _bad_variant(good))
    swapper.start()
    try:
        ok, refused = _check_loads(lambda: zoo.load_model("lenet5.digits", source="shipped"), reference, 15)
    finally:
        swapper.stop.set()
        swapper.join()
    assert ok + refused == 15 and ok > 0


def test_load_uses_bytes_not_path(tmp_path, lenet_weights, monkeypatch):
    """Deterministic version: the file is replaced right after it was read and
    verified; what is loaded is still the verified content."""
    good, sha = lenet_weights
    path = tmp_path / "w.weights.h5"
    path.write_bytes(good)
    real = store.read_verified

    def read_then_swap(*args, **kwargs):
        data = real(*args, **kwargs)
        path.write_bytes(_bad_variant(good))
        return data

    monkeypatch.setattr(store, "read_verified", read_then_swap)
    model = zoo.load_model("lenet5.digits", weights=str(path), sha256=sha)
    monkeypatch.undo()
    for a, b in zip(model.get_weights(), zoo.load_model("lenet5.digits").get_weights()):
        np.testing.assert_array_equal(a, b)


def test_read_verified_refuses_growing_or_short_files(tmp_path, lenet_weights):
    good, sha = lenet_weights
    path = tmp_path / "w.weights.h5"
    path.write_bytes(good + b"x")
    with pytest.raises(zoo.WeightsIntegrityError, match="bytes, expected"):
        store.read_verified(path, sha, size=len(good))
    path.write_bytes(good[:-1])
    with pytest.raises(zoo.WeightsIntegrityError, match="bytes, expected"):
        store.read_verified(path, sha, size=len(good))
    path.write_bytes(good)
    assert store.read_verified(path, sha, size=len(good)) == good

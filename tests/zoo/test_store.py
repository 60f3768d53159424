"""Weight store: local HTTP server on 127.0.0.1 serving a real weights file,
a truncated one and a wrong one; cache, offline mode, read-only cache."""

import functools
import hashlib
import http.server
import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from adl_keras.zoo import store


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    real = (store.zoo_dir() / "lenet5.digits" / json.loads((store.zoo_dir() / "lenet5.digits" / "meta.json").read_text())["weights"]["file"]).read_bytes()
    (root / "real.weights.h5").write_bytes(real)
    (root / "truncated.weights.h5").write_bytes(real[: len(real) // 2])
    (root / "wrong.weights.h5").write_bytes(real[:1000] + bytes(b ^ 0xFF for b in real[1000:1016]) + real[1016:])
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}", "sha": hashlib.sha256(real).hexdigest(),
           "size": len(real), "root": root}
    server.shutdown()


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADL_KERAS_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("ADL_KERAS_OFFLINE", raising=False)
    return tmp_path / "cache"


def test_download_verifies_and_caches(served, cache):
    path = store.fetch(f"{served['url']}/real.weights.h5", served["sha"], served["size"])
    assert path.is_file() and path.is_relative_to(cache)
    assert store.sha256_of(path) == served["sha"]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".part")]
    # Served from the cache afterwards, even offline.
    os.environ["ADL_KERAS_OFFLINE"] = "1"
    try:
        assert store.fetch(f"{served['url']}/real.weights.h5", served["sha"], served["size"]) == path
    finally:
        del os.environ["ADL_KERAS_OFFLINE"]


@pytest.mark.parametrize("name", ["truncated.weights.h5", "wrong.weights.h5"])
def test_bad_download_is_refused_and_not_kept(served, cache, name):
    url = f"{served['url']}/{name}"
    with pytest.raises(store.WeightsIntegrityError) as err:
        store.fetch(url, served["sha"], None)
    assert served["sha"] in str(err.value) and "actual" in str(err.value)
    target = store.cached_path(url, served["sha"])
    assert not target.exists()
    assert not list(target.parent.glob("*.part")) if target.parent.exists() else True


def test_size_mismatch_names_file_and_sizes(served, cache):
    with pytest.raises(store.WeightsIntegrityError, match="bytes, expected"):
        store.fetch(f"{served['url']}/truncated.weights.h5", served["sha"], served["size"])


def test_offline_never_touches_network_and_names_file(served, cache, monkeypatch):
    monkeypatch.setenv("ADL_KERAS_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(store.OfflineError) as err:
        store.fetch("http://127.0.0.1:9/never.weights.h5", served["sha"])
    assert time.perf_counter() - start < 1.0
    assert "never.weights.h5" in str(err.value) and "ADL_KERAS_OFFLINE" in str(err.value)


def test_unreachable_server_fails_fast(cache):
    with pytest.raises(store.OfflineError, match="Could not download"):
        store.fetch("http://127.0.0.1:9/x.weights.h5", "0" * 64)


def test_http_404_is_reported(served, cache):
    with pytest.raises(store.OfflineError, match="HTTP 404"):
        store.fetch(f"{served['url']}/missing.weights.h5", served["sha"])


def test_read_only_cache_still_serves(served, cache):
    url = f"{served['url']}/real.weights.h5"
    path = store.fetch(url, served["sha"], served["size"])
    for p in [path, path.parent, path.parent.parent, cache]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        assert store.fetch(url, served["sha"], served["size"]) == path
    finally:
        for p in [cache, path.parent.parent, path.parent]:
            p.chmod(p.stat().st_mode | stat.S_IWUSR)


def test_corrupt_cache_entry_is_replaced(served, cache):
    url = f"{served['url']}/real.weights.h5"
    target = store.cached_path(url, served["sha"])
    target.parent.mkdir(parents=True)
    target.write_bytes(b"garbage")
    assert store.sha256_of(store.fetch(url, served["sha"], served["size"])) == served["sha"]


def test_file_url_and_local_path(served, cache):
    local = served["root"] / "real.weights.h5"
    assert store.fetch(str(local), served["sha"]) == local
    assert store.sha256_of(store.fetch(local.as_uri(), served["sha"])) == served["sha"]
    with pytest.raises(FileNotFoundError):
        store.fetch(str(served["root"] / "nope.h5"), served["sha"])


def test_bad_sha_argument():
    with pytest.raises(ValueError, match="sha256"):
        store.fetch("x", "abc")
    with pytest.raises(ValueError, match=r"md5=.*zz"):
        store.fetch("x", md5="zz" * 16)
    with pytest.raises(ValueError, match="sha256=None, md5=None"):
        store.fetch("x")


def test_publisher_md5_verifies_download_and_cache(served, cache):
    """Where a publisher lists only an md5 (Keras for some applications), that md5 is checked."""
    real = (served["root"] / "real.weights.h5").read_bytes()
    md5 = hashlib.md5(real).hexdigest()
    url = f"{served['url']}/real.weights.h5"
    path = store.fetch(url, md5=md5, size=served["size"])
    assert path == store.cached_path(url, md5=md5) and path.read_bytes() == real
    os.environ["ADL_KERAS_OFFLINE"] = "1"
    try:
        assert store.fetch(url, md5=md5) == path  # cached copy re-verified offline
    finally:
        del os.environ["ADL_KERAS_OFFLINE"]
    with pytest.raises(store.WeightsIntegrityError, match=f"expected md5 {md5}, actual"):
        store.fetch(f"{served['url']}/wrong.weights.h5", md5=md5)
    assert not store.cached_path(f"{served['url']}/wrong.weights.h5", md5=md5).exists()
    # A sha256, when given, is what is checked (the md5 is then ignored).
    assert store.fetch(url, served["sha"], md5="0" * 32) == store.cached_path(url, served["sha"])


def test_load_model_from_url_verifies_before_assigning(served, cache):
    from adl_keras import zoo

    model = zoo.load_model("lenet5.digits", weights=f"{served['url']}/real.weights.h5", sha256=served["sha"])
    reference = zoo.load_model("lenet5.digits")
    for a, b in zip(model.get_weights(), reference.get_weights()):
        assert (a == b).all()
    with pytest.raises(zoo.WeightsIntegrityError):
        zoo.load_model("lenet5.digits", weights=f"{served['url']}/wrong.weights.h5", sha256=served["sha"])
    with pytest.raises(ValueError, match="sha256"):
        zoo.load_model("lenet5.digits", weights=f"{served['url']}/real.weights.h5")


def test_atomic_write_leaves_no_partial_file(tmp_path):
    class Boom(Exception):
        pass

    class Exploding:
        def save_weights(self, target, overwrite=True):
            target.write(b"half")  # the in-memory .weights.h5 file
            raise Boom()

    with pytest.raises(Boom):
        store.atomic_save_weights(Exploding(), tmp_path / "m.weights.h5")
    assert list(tmp_path.iterdir()) == []

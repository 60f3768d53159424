"""Finding 5: downloads are bounded in size and time (local 127.0.0.1 server only)."""

import fcntl
import hashlib
import http.server
import os
import threading
import time

import pytest

from adl_keras.zoo import store

PAYLOAD = bytes(range(256)) * 160  # 40 kB, like a small card entry
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    sent = {}

    def log_message(self, *args):
        pass

    def _send(self, chunks, length=None, pause=0.0):
        self.send_response(200)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        total = 0
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
                total += len(chunk)
                _Handler.sent[self.path] = total
                if pause:
                    time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        if self.path == "/ok":
            self._send([PAYLOAD], len(PAYLOAD))
        elif self.path == "/huge-announced":  # 629 MB announced, for a 40 kB entry
            self._send((b"\0" * 65536 for _ in range(10_000)), 629_000_000)
        elif self.path == "/flood":  # no Content-Length, never-ending body
            self._send((b"\0" * 65536 for _ in range(10_000)))
        elif self.path == "/trickle":  # one byte every 0.2 s
            self._send((PAYLOAD[i:i + 1] for i in range(len(PAYLOAD))), len(PAYLOAD), pause=0.2)
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_announced_size_checked_before_reading(server, home):
    start = time.monotonic()
    with pytest.raises(store.WeightsIntegrityError, match="announces 629000000 bytes, expected 40960"):
        store.fetch(f"{server}/huge-announced", SHA, size=len(PAYLOAD))
    assert time.monotonic() - start < 5
    target = store.cached_path(f"{server}/huge-announced", SHA)
    assert not target.exists() and not list(target.parent.glob("*.part"))


def test_reading_stops_past_expected_size(server, home):
    start = time.monotonic()
    with pytest.raises(store.WeightsIntegrityError, match="sent more than the expected 40960 bytes"):
        store.fetch(f"{server}/flood", SHA, size=len(PAYLOAD))
    assert time.monotonic() - start < 5
    assert not list(store.cached_path(f"{server}/flood", SHA).parent.glob("*"))


def test_weights_url_without_size_has_a_cap(server, home, monkeypatch):
    with pytest.raises(store.WeightsIntegrityError, match="limit of 100000 bytes"):
        store.fetch(f"{server}/flood", SHA, max_bytes=100_000)
    monkeypatch.setenv("ADL_KERAS_MAX_DOWNLOAD", "1000")
    with pytest.raises(store.WeightsIntegrityError, match="more than the limit of 1000 bytes"):
        store.fetch(f"{server}/ok", SHA)
    from adl_keras import zoo

    with pytest.raises(store.WeightsIntegrityError, match="ADL_KERAS_MAX_DOWNLOAD"):
        zoo.load_model("lenet5.digits", weights=f"{server}/flood", sha256=SHA)
    monkeypatch.setenv("ADL_KERAS_MAX_DOWNLOAD", "lots")
    with pytest.raises(ValueError, match="ADL_KERAS_MAX_DOWNLOAD='lots'"):
        store.fetch(f"{server}/ok", SHA)
    monkeypatch.delenv("ADL_KERAS_MAX_DOWNLOAD")
    assert store.fetch(f"{server}/ok", SHA).read_bytes() == PAYLOAD
    with pytest.raises(ValueError, match="max_bytes"):
        store.fetch(f"{server}/ok", SHA, max_bytes=True)


def test_overall_deadline_stops_a_trickling_server(server, home, monkeypatch):
    start = time.monotonic()
    with pytest.raises(store.OfflineError, match="did not finish within its deadline"):
        store.fetch(f"{server}/trickle", SHA, size=len(PAYLOAD), deadline_s=1.0)
    assert time.monotonic() - start < 4
    monkeypatch.setenv("ADL_KERAS_DOWNLOAD_DEADLINE", "0.8")
    start = time.monotonic()
    with pytest.raises(store.OfflineError, match="ADL_KERAS_DOWNLOAD_DEADLINE"):
        store.fetch(f"{server}/trickle", SHA, size=len(PAYLOAD))
    assert time.monotonic() - start < 4


def test_stale_part_files_are_removed_live_ones_kept(server, home):
    url = f"{server}/ok"
    target = store.cached_path(url, SHA)
    target.parent.mkdir(parents=True)
    stale = target.parent / f".{target.name}.dead1234.part"
    stale.write_bytes(b"half a download from a killed run")
    live = target.parent / f".{target.name}.live5678.part"
    live.write_bytes(b"a download in progress")
    old = time.time() - 3600
    for p in (stale, live):
        os.utime(p, (old, old))
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # held, as a running download holds its part file
    try:
        assert store.fetch(url, SHA, size=len(PAYLOAD)).read_bytes() == PAYLOAD
    finally:
        os.close(fd)
    assert not stale.exists() and live.exists()


def test_cache_files_respect_the_umask(server, home):
    mask = os.umask(0o002)
    try:
        path = store.fetch(f"{server}/ok", SHA, size=len(PAYLOAD))
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o664

"""Model cards: files an entry writes beside its card (a generator's sample grid)."""

import dataclasses
import json

import pytest

from adl_keras import zoo
from adl_keras.zoo import cards


def _entry(files):
    return dataclasses.replace(zoo.get_entry("lenet5.digits"), card_files=lambda model: files)


def test_card_files_are_written_listed_and_shown(tmp_path):
    entry = _entry({"samples.png": b"\x89PNG-bytes", "notes.txt": b"text"})
    meta = cards.write_entry(entry, entry.build(), {"accuracy": 0.5, "_split": "test"}, root=tmp_path)
    folder = cards.entry_dir(entry.name, tmp_path)
    assert (folder / "samples.png").read_bytes() == b"\x89PNG-bytes"
    assert (folder / "notes.txt").read_bytes() == b"text"
    assert meta["files"] == ["notes.txt", "samples.png"]
    assert json.loads((folder / cards.META_FILE).read_text())["files"] == meta["files"]
    card = (folder / cards.CARD_FILE).read_text()
    assert "![samples.png](samples.png)" in card and "![notes.txt]" not in card


def test_entry_without_card_files_has_no_files_field(tmp_path):
    entry = zoo.get_entry("lenet5.digits")
    meta = cards.write_entry(entry, entry.build(), {"accuracy": 0.5, "_split": "test"}, root=tmp_path)
    assert "files" not in meta and "## Samples" not in cards.render_card(meta)


@pytest.mark.parametrize("bad", ["../escape.png", "sub/x.png", cards.META_FILE, cards.CARD_FILE, "x.weights.h5"])
def test_card_files_refuse_paths_and_card_names(tmp_path, bad):
    entry = _entry({bad: b"x"})
    with pytest.raises(ValueError, match="plain file names"):
        cards.write_entry(entry, entry.build(), {"accuracy": 0.5, "_split": "test"}, root=tmp_path)
    assert not (tmp_path / "escape.png").exists() and not cards.entry_dir(entry.name, tmp_path).exists()

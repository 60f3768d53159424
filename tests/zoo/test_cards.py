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


def test_metric_splits_label_each_metric(tmp_path):
    """An evaluator's ``_splits`` labels the metrics measured on another split (a GAN's FID against train)."""
    entry = zoo.get_entry("lenet5.digits")
    measured = {"fid": 2.0, "fid_vs_train": 1.0, "_split": "test", "_splits": {"fid_vs_train": "train"}}
    meta = cards.write_entry(entry, entry.build(), measured, root=tmp_path)
    assert {k: m["split"] for k, m in meta["metrics"].items()} == {"fid": "test", "fid_vs_train": "train"}
    assert measured["_splits"] == {"fid_vs_train": "train"}   # the caller's dict is left alone
    card = (cards.entry_dir(entry.name, tmp_path) / cards.CARD_FILE).read_text()
    assert "| fid_vs_train | 1.0000 | train |" in card and "| fid | 2.0000 | test |" in card
    with pytest.raises(ValueError, match="_splits names metrics.*'missing'"):
        cards.write_entry(entry, entry.build(), {"fid": 2.0, "_splits": {"missing": "train"}}, root=tmp_path)


def test_shipped_index_matches_the_cards(tmp_path):
    """`adl-zoo list` reads zoo/index.json: it must say what the cards say (an
    entry re-shipped by copying its folder once left the old weights and
    metrics listed)."""
    import shutil
    from pathlib import Path

    zoo_dir = Path(__file__).resolve().parents[2] / "zoo"
    for meta in zoo_dir.glob(f"*/{cards.META_FILE}"):
        (tmp_path / meta.parent.name).mkdir()
        shutil.copy(meta, tmp_path / meta.parent.name / cards.META_FILE)
    expected = cards.write_index(tmp_path)
    shipped = json.loads((zoo_dir / cards.INDEX_FILE).read_text())
    stale = sorted(name for name in expected.keys() | shipped.keys() if expected.get(name) != shipped.get(name))
    assert not stale, f"zoo/index.json disagrees with these cards (run cards.write_index('zoo')): {stale}"

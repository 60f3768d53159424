"""Card pictures (adl_keras.zoo.figures): what is drawn, where it is written, when a card embeds it."""

import io
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from adl_keras import cli
from adl_keras.zoo import cards, figures

ROOT = Path(__file__).resolve().parents[2]
MAX_PNG_BYTES = 60_000


def _png_size(data):
    return Image.open(io.BytesIO(data)).size


def test_classifier_pictures_are_small_valid_pngs():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 300)
    pred = np.where(rng.random(300) < 0.9, y, (y + 1) % 10)
    names = [str(i) for i in range(10)]
    cm = figures.confusion_matrix_png(y, pred, names, "demo")
    grid = figures.examples_png(rng.random((24, 8, 8, 1)), y[:24], pred[:24], names, "demo", "image")
    table = figures.examples_png(rng.random((12, 4)), y[:12], pred[:12], names, "demo", "tabular", np.arange(12) * 3, rng.random(12))
    for png in (cm, grid, table):
        assert png.startswith(b"\x89PNG") and len(png) < MAX_PNG_BYTES
        width, height = _png_size(png)
        assert 200 < width < 1000 and 100 < height < 1000


def test_explanation_method_is_the_lowest_deletion_auc_unless_the_card_names_one(tmp_path):
    results = tmp_path / "xai.json"
    results.write_text(json.dumps({"details": {"deletion_auc": {"shap-deep": 0.2, "integrated-gradients": 0.1,
                                                                 "random": 0.01}}}))
    assert figures.explanation_method(None, results) == "integrated-gradients"  # "random" is the baseline
    assert figures.explanation_method({"explanation_method": "lime"}, results) == "lime"
    assert figures.explanation_method(None, tmp_path / "missing.json") == figures.DEFAULT_EXPLANATION_METHOD
    results.write_text(json.dumps({"details": {"deletion_auc": {"shap-deep": 0.2, "integrated-gradients": 0.2}}}))
    assert figures.explanation_method(None, results) == "integrated-gradients"  # a tie: no shap fallback


def test_explanation_method_reads_the_entrys_own_benchmark():
    """resnet_small.fashion_mnist has its own deletion-AUC result: its card's overlay
    follows it, not lenet5.digits' (entries without one fall back to that)."""
    own = json.loads(figures.xai_results_for("resnet_small.fashion_mnist").read_text())["details"]
    assert own["model"] == "resnet_small.fashion_mnist"
    best = min((v, k) for k, v in own["deletion_auc"].items() if k != "random")[1]
    assert figures.explanation_method({"name": "resnet_small.fashion_mnist"}) == best
    assert figures.xai_results_for("vgg_small.shapes32").name == "xai_deletion_auc.json"


def test_write_figures_records_them_only_in_the_card_of_the_drawn_weights(tmp_path):
    entry = tmp_path / "lenet5.digits"
    entry.mkdir()
    shutil.copy(ROOT / "zoo" / "lenet5.digits" / "meta.json", entry / "meta.json")
    meta = json.loads((entry / "meta.json").read_text())
    meta.pop("figures", None)
    (entry / "meta.json").write_text(json.dumps(meta))
    pngs = {"a.png": (b"\x89PNG-a", "First picture"), "b.png": (b"\x89PNG-b", "Second")}

    written, updated = figures.write_figures("lenet5.digits", pngs, entry, weights_sha256="0" * 64)
    assert not updated and [p.name for p in written] == ["a.png", "b.png"]
    assert "figures" not in json.loads((entry / "meta.json").read_text())  # other weights: card untouched

    written, updated = figures.write_figures("lenet5.digits", pngs, entry, weights_sha256=meta["weights"]["sha256"])
    assert updated and (entry / "b.png").read_bytes() == b"\x89PNG-b"
    card = (entry / "README.md").read_text()
    assert "## Pictures" in card and "![First picture](a.png)" in card and "![Second](b.png)" in card
    assert cards.read_meta("lenet5.digits", tmp_path)["figures"][1] == {"file": "b.png", "caption": "Second"}


def test_write_figures_never_overwrites_a_file_the_recipe_wrote(tmp_path):
    """Issue 18: `make figures` replaced dcgan.fashion_mnist's recipe sample grid (both named samples.png)."""
    entry = tmp_path / "dcgan.fashion_mnist"
    entry.mkdir()
    shutil.copy(ROOT / "zoo" / "dcgan.fashion_mnist" / "meta.json", entry / "meta.json")
    meta = json.loads((entry / "meta.json").read_text())
    assert "samples.png" in meta["files"]
    (entry / "samples.png").write_bytes(b"\x89PNG-recipe")
    pngs = {"samples.png": (b"\x89PNG-drawn", "Drawn grid"), "extra.png": (b"\x89PNG-x", "Extra")}
    for sha in ("0" * 64, meta["weights"]["sha256"]):   # a card of other weights, then the card of these
        written, updated = figures.write_figures("dcgan.fashion_mnist", pngs, entry, weights_sha256=sha)
        assert [p.name for p in written] == ["samples_drawn.png", "extra.png"] and updated == (sha != "0" * 64)
        assert (entry / "samples.png").read_bytes() == b"\x89PNG-recipe"
        assert (entry / "samples_drawn.png").read_bytes() == b"\x89PNG-drawn"
    recorded = cards.read_meta("dcgan.fashion_mnist", tmp_path)["figures"]
    assert recorded[:2] == [{"file": "samples.png", "caption": "Picture written by the recipe (samples.png)"},
                            {"file": "samples_drawn.png", "caption": "Drawn grid"}]
    card = (entry / "README.md").read_text()
    assert card.count("](samples.png)") == 1 and "](samples_drawn.png)" in card and "![Extra](extra.png)" in card
    # loose pictures (no card in the folder) are written as drawn
    loose = tmp_path / "loose"
    loose.mkdir()
    written, _ = figures.write_figures("dcgan.fashion_mnist", pngs, loose)
    assert (loose / "samples.png").read_bytes() == b"\x89PNG-drawn"


def test_shipped_cards_embed_pictures_that_exist_and_are_small():
    for meta_path in sorted((ROOT / "zoo").glob("*/meta.json")):
        meta = json.loads(meta_path.read_text())
        card = (meta_path.parent / "README.md").read_text()
        for fig in meta.get("figures") or []:
            path = meta_path.parent / fig["file"]
            assert path.exists(), path
            assert path.stat().st_size < MAX_PNG_BYTES, path
            assert f"]({fig['file']})" in card, f"{meta_path.parent.name}'s README does not show {fig['file']}"


def test_evaluate_out_needs_figures(capsys):
    assert cli.main(["evaluate", "lenet5.digits", "--out", "/tmp/x"]) == 2
    assert "--out is where --figures writes" in capsys.readouterr().err


"""Files a recipe makes (a learning curve) go into the zoo it trains into, never
into the installed package."""

import pytest

from adl_keras import zoo
from adl_keras.zoo import cards


def test_minatar_recipe_writes_its_curve_into_the_target_zoo(tmp_path):
    shipped = cards.entry_dir("cnn_dqn.minatar_breakout") / "learning_curve.png"
    before = shipped.read_bytes()
    meta = zoo.train("cnn_dqn.minatar_breakout", root=tmp_path, total_steps=300, learning_starts=100,
                     eval_every=150, eval_episodes=1, buffer_size=300)
    png = tmp_path / "cnn_dqn.minatar_breakout" / "learning_curve.png"
    assert png.read_bytes().startswith(b"\x89PNG") and png.read_bytes() != before
    assert shipped.read_bytes() == before
    assert meta["training"]["learning_curve"] == "learning_curve.png" and "_files" not in meta["training"]


@pytest.mark.parametrize("name", ["../escape.png", "meta.json", "README.md", "a/b.png"])
def test_write_entry_refuses_file_names_outside_the_entry(tmp_path, name):
    entry = zoo.get_entry("mlp.wine")
    with pytest.raises(ValueError, match="files"):
        cards.write_entry(entry, entry.build(), {"accuracy": 0.5}, root=tmp_path, files={name: b"x"})
    assert not (tmp_path / "escape.png").exists()

"""The four sequence zoo entries: registered, pretrained, goals met, cards re-measured exactly."""

import numpy as np
import pytest

from adl_keras import zoo

GOALS = {
    "lstm.adding": ("mse", lambda v: v <= 0.01),
    "gru.adding": ("mse", lambda v: v <= 0.01),
    "lstm.seq_digits": ("accuracy", lambda v: v >= 0.95),
    "gru.seq_digits": ("accuracy", lambda v: v >= 0.95),
}


def test_entries_are_registered_with_their_tasks():
    assert set(zoo.list_models(topic="rnn")) >= set(GOALS)
    assert zoo.get_entry("lstm.adding").task == "sequence-regression"
    assert zoo.get_entry("gru.seq_digits").task == "sequence-classification"
    assert zoo.get_entry("gru.seq_digits").input_shape == (8, 8)


@pytest.mark.parametrize("name", sorted(GOALS))
def test_pretrained_entry_meets_its_goal_and_matches_its_card(name):
    metric, goal = GOALS[name]
    info = zoo.model_info(name)
    assert info["pretrained"], f"{name} has no weights; run `adl-zoo train {name}`"
    assert goal(info["metrics"][metric]["value"]), info["metrics"]
    model = zoo.load_model(name)
    assert model.count_params() == info["params"]
    report = zoo.evaluate(name, model=model)
    assert report["match"], report
    if metric == "accuracy":
        probs = model.predict(np.zeros((2, 8, 8), "float32"), verbose=0)
        np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_recipes_run_and_learn_briefly():
    from adl_keras.rnn.zoo_entries import train_adding, train_seq_digits

    model, info = train_seq_digits("gru", epochs=3)
    assert info["epochs_run"] == 3 and info["best_val_accuracy"] > 0.5
    model, info = train_adding("lstm", epochs=1, target_val_mse=1.0)
    assert info["epochs_run"] == 1 and info["best_val_mse"] < 0.5
    assert model.output_shape == (None, 1)

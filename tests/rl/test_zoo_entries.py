"""Every rl zoo entry: registered, loads verified weights, re-evaluates to its
card, and exports its greedy policy as a SavedModel."""

import numpy as np
import pytest

from adl_keras import zoo
from adl_keras.rl.policies import export_greedy_policy

RL_ENTRIES = ["qtable.frozenlake4x4", "dqn.cartpole", "dqn_tfagents.cartpole", "cnn_dqn.minatar_breakout"]
FAST = ["qtable.frozenlake4x4", "dqn.cartpole"]


def test_entries_are_registered():
    names = zoo.list_models(topic="rl")
    assert set(RL_ENTRIES) <= set(names)
    for name in RL_ENTRIES:
        entry = zoo.get_entry(name)
        assert entry.task in ("q-table", "q-network") and entry.recipe and entry.evaluator


def _assert_matches_card(name):
    if not zoo.model_info(name)["pretrained"]:
        pytest.skip(f"{name} has no weights in this checkout")
    result = zoo.evaluate(name)
    assert result["match"], result


@pytest.mark.parametrize("name", FAST)
def test_fast_entries_match_their_cards(name):
    _assert_matches_card(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(RL_ENTRIES) - set(FAST)))
def test_slow_entries_match_their_cards(name):
    _assert_matches_card(name)


def test_cartpole_policy_meets_goal_and_exports(tmp_path):
    import tensorflow as tf

    meta = zoo.model_info("dqn.cartpole")
    assert meta["metrics"]["mean_return_100_episodes"]["value"] >= 475
    model = zoo.load_model("dqn.cartpole")
    path = export_greedy_policy(model, tmp_path / "policy")
    loaded = tf.saved_model.load(str(path))
    x = np.random.default_rng(0).standard_normal((6, 4)).astype("float32")
    np.testing.assert_allclose(loaded.q_values(x).numpy(), np.asarray(model(x)), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(loaded.action(x).numpy(), np.asarray(model(x)).argmax(axis=1))
    with pytest.raises(ValueError, match="model"):
        export_greedy_policy("not a model", tmp_path / "x")


def test_q_table_entry_is_optimal():
    from adl_keras.rl import qnetworks, tabular

    table = tabular.transition_table("FrozenLake-v1")
    q_star, _ = tabular.value_iteration(table, gamma=0.99)
    q = qnetworks.get_q_table(zoo.load_model("qtable.frozenlake4x4"))
    optimal = tabular.success_probability(table, tabular.greedy_policy(q_star))
    assert tabular.success_probability(table, tabular.greedy_policy(q)) == pytest.approx(optimal, abs=1e-9)


@pytest.mark.slow
def test_dqn_cartpole_recipe_reaches_goal_from_scratch():
    """The full recipe (about 20k env steps, 1-2 minutes): mean return >= 475
    over the card's 100 evaluation episodes, within 50k env steps."""
    entry = zoo.get_entry("dqn.cartpole")
    model, info = entry.recipe(seed=0)
    assert info["env_steps"] <= 50_000
    assert entry.evaluator(model)["mean_return_100_episodes"] >= 475

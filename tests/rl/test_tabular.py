"""Tabular Q-learning against value iteration (the Bellman optimality equation)."""

import numpy as np
import pytest

from adl_keras.rl import tabular


@pytest.fixture(scope="module")
def deterministic_table():
    return tabular.transition_table("FrozenLake-v1-deterministic")


@pytest.fixture(scope="module")
def slippery_table():
    return tabular.transition_table("FrozenLake-v1")


def test_transition_table_is_a_distribution(slippery_table):
    t = slippery_table
    assert t.probs.shape == (16, 4, 16)
    np.testing.assert_allclose(t.probs.sum(axis=2), 1.0, atol=1e-12)
    # Slippery: the intended move and the two perpendicular ones, 1/3 each.
    assert np.allclose(sorted(t.probs[0, 1][t.probs[0, 1] > 0]), [1 / 3, 1 / 3, 1 / 3])
    # Only the move into the goal (state 15) is rewarded.
    assert set(np.unique(t.rewards)) == {0.0, 1.0}
    assert np.all(t.rewards[..., :15] == 0.0)


def test_value_iteration_closed_form_on_deterministic_map(deterministic_table):
    gamma = 0.9
    q, _ = tabular.value_iteration(deterministic_table, gamma=gamma)
    # The goal is 6 moves from the start: Q*(0, down) = gamma^5 (reward 1 on the 6th move).
    assert q[0, 1] == pytest.approx(gamma**5, abs=1e-9)
    assert q[14, 2] == pytest.approx(1.0, abs=1e-9)  # right from 14 enters the goal
    # Holes and the goal are absorbing: nothing is learned there.
    for s in (5, 7, 11, 12, 15):
        assert np.all(q[s] == 0.0)


@pytest.mark.parametrize("env_id,gamma", [("FrozenLake-v1", 0.99), ("FrozenLake-v1-deterministic", 0.9),
                                          ("Taxi-v4", 0.95)])
def test_value_iteration_is_the_bellman_fixed_point(env_id, gamma):
    table = tabular.transition_table(env_id)
    q, iterations = tabular.value_iteration(table, gamma=gamma, tol=1e-12)
    assert iterations > 1
    residual = np.abs(tabular.bellman_optimality_backup(table, q, gamma) - q).max()
    assert residual < 1e-10
    # V* = max_a Q* equals the exact value of the greedy policy, (I - gamma P_pi)^-1 r_pi.
    v_pi = tabular.policy_value(table, tabular.greedy_policy(q), gamma)
    np.testing.assert_allclose(v_pi, q.max(axis=1), atol=1e-8)


def test_q_learning_update_by_hand():
    q = np.zeros((3, 2))
    q[2] = [1.0, 4.0]
    delta = tabular.q_learning_update(q, 0, 1, 0.5, 2, False, alpha=0.5, gamma=0.9)
    assert delta == pytest.approx(0.5 + 0.9 * 4.0)  # r + gamma max_a' Q(s', a') - 0
    assert q[0, 1] == pytest.approx(0.5 * (0.5 + 3.6))
    delta = tabular.q_learning_update(q, 0, 0, 1.0, 2, True, alpha=1.0, gamma=0.9)
    assert delta == 1.0 and q[0, 0] == 1.0  # terminal: no bootstrap


def test_q_learning_converges_to_q_star_on_deterministic_map(deterministic_table):
    gamma = 0.9
    q_star, _ = tabular.value_iteration(deterministic_table, gamma=gamma)
    # Q-learning is off-policy: a uniformly random behaviour policy still learns Q*.
    config = tabular.QLearningConfig(episodes=3000, alpha=0.5, gamma=gamma, epsilon_start=1.0,
                                     epsilon_end=1.0, seed=0)
    q, returns = tabular.q_learning("FrozenLake-v1-deterministic", config)
    assert returns.shape == (3000,)
    np.testing.assert_allclose(q, q_star, atol=1e-3)


@pytest.mark.slow
def test_q_learning_reaches_optimal_success_on_slippery_map(slippery_table):
    gamma = 0.99
    q_star, _ = tabular.value_iteration(slippery_table, gamma=gamma)
    optimal = tabular.success_probability(slippery_table, tabular.greedy_policy(q_star))
    config = tabular.QLearningConfig(episodes=10000, alpha=0.1, gamma=gamma, epsilon_end=0.1, seed=0)
    q, _ = tabular.q_learning("FrozenLake-v1", config)
    policy = tabular.greedy_policy(q)
    exact = tabular.success_probability(slippery_table, policy)
    assert exact >= optimal - 0.02, (exact, optimal)
    # Monte Carlo estimate within 3 standard errors of the optimum.
    n = 1000
    rate, _ = tabular.run_greedy_episodes("FrozenLake-v1", policy, episodes=n, seed=123)
    assert abs(rate - optimal) < 3 * np.sqrt(optimal * (1 - optimal) / n) + 0.02


def test_q_learning_matches_value_iteration_on_taxi():
    gamma = 0.99
    q_star, _ = tabular.value_iteration("Taxi-v4", gamma=gamma)
    config = tabular.QLearningConfig(episodes=2500, alpha=0.5, gamma=gamma, epsilon_end=0.05, seed=0)
    q, _ = tabular.q_learning("Taxi-v4", config)
    learned, _ = tabular.run_greedy_episodes("Taxi-v4", tabular.greedy_policy(q), episodes=100, seed=7)
    optimal, _ = tabular.run_greedy_episodes("Taxi-v4", tabular.greedy_policy(q_star), episodes=100, seed=7)
    assert learned == pytest.approx(optimal, abs=0.3), (learned, optimal)


def test_success_probability_matches_monte_carlo(slippery_table):
    rng = np.random.default_rng(0)
    policy = rng.integers(0, 4, size=16)
    exact = tabular.success_probability(slippery_table, policy)
    rate, _ = tabular.run_greedy_episodes("FrozenLake-v1", policy, episodes=2000, seed=0)
    assert abs(rate - exact) < 3 * np.sqrt(max(exact * (1 - exact), 1e-4) / 2000) + 1e-3


@pytest.mark.parametrize("kwargs,message", [
    ({"episodes": 0}, "episodes"), ({"alpha": 0.0}, "alpha"), ({"gamma": 1.5}, "gamma"),
    ({"epsilon_end": -0.1}, "epsilon_end"),
])
def test_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tabular.QLearningConfig(**kwargs)


def test_bad_arguments():
    with pytest.raises(ValueError, match="env_id"):
        tabular.make_tabular_env("Pong-v5")
    with pytest.raises(ValueError, match="gamma"):
        tabular.value_iteration("FrozenLake-v1", gamma=1.0)


def test_q_learning_reports_to_a_progress_bar_or_a_line():
    """The CLI passes a Keras-Progbar-backed object with ``epoch(done, total, logs, unit)``;
    plain callables still get status lines."""
    config = tabular.QLearningConfig(episodes=50, seed=0)
    calls, lines = [], []

    class Bar:
        def __call__(self, message):
            lines.append(message)

        def epoch(self, done, total, logs=None, unit="epoch"):
            calls.append((done, total, unit, sorted(logs or {})))

    tabular.q_learning("FrozenLake-v1", config, progress=Bar())
    assert calls[0] == (0, 50, "episode", [])  # the bar's clock starts with the first episode
    assert [c[0] for c in calls] == [0] + list(range(5, 51, 5)) and not lines
    assert calls[-1][1:] == (50, "episode", ["eps", "mean_return"])
    tabular.q_learning("FrozenLake-v1", config, progress=lines.append)
    assert len(lines) == 10 and lines[-1].startswith("episode 50/50")


def test_q_learning_callback_sees_the_table_without_changing_training(slippery_table):
    """The learning curve of qtable.frozenlake4x4 is recorded through the callback:
    the trained table must be the one trained without it."""
    config = tabular.QLearningConfig(episodes=300, alpha=0.2, alpha_decay=True, epsilon_end=0.1, seed=3)
    q_plain, returns_plain = tabular.q_learning("FrozenLake-v1", config)
    seen = []

    def callback(done, q):
        seen.append((done, tabular.success_probability(slippery_table, tabular.greedy_policy(q))))
        q[:] = -1.0   # a copy: scribbling on it cannot reach the training table

    q, returns = tabular.q_learning("FrozenLake-v1", config, callback=callback, callback_every=100)
    np.testing.assert_array_equal(q, q_plain)
    np.testing.assert_array_equal(returns, returns_plain)
    assert [d for d, _ in seen] == [100, 200, 300]
    assert seen[-1][1] == tabular.success_probability(slippery_table, tabular.greedy_policy(q))
    with pytest.raises(ValueError, match="callback_every=0"):
        tabular.q_learning("FrozenLake-v1", config, callback=callback, callback_every=0)


def test_frozenlake_recipe_records_a_learning_curve_the_figure_tool_draws():
    from adl_keras.rl.zoo_entries import train_qtable_frozenlake
    from adl_keras.zoo import figures

    _, info = train_qtable_frozenlake(episodes=300)
    curve = info["eval_curve"]
    assert [step for step, _ in curve] == [0, 300] and curve[0][1] == 0.0  # an all-zero table never reaches the goal
    assert all(0.0 <= p <= info["optimal_success_probability"] + 1e-12 for _, p in curve)
    meta = {"training": {**info, "seed": 0}}
    png = figures.learning_curve_png(curve, "qtable.frozenlake4x4", optimum=info["optimal_success_probability"],
                                     axes=meta["training"]["eval_curve_axes"])
    assert png.startswith(b"\x89PNG") and len(png) < 60_000

"""Explaining agents: references on known Q-networks, the three kinds of agent,
faithfulness measures on constructed cases, errors, the episode pictures and CLI."""

import json
import os
import stat

import keras
import numpy as np
import pytest

from adl_keras.explain import _inputs, agents, explain
from adl_keras.explain.methods import AGENT_TASKS

W = np.array([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25], [2.0, 1.0]], dtype="float32")  # (4 features, 2 actions)
B = np.array([0.1, -0.3], dtype="float32")


def linear_q(kernel=W, bias=B, name="linear_q"):
    """Q(s) = s W + b: every attribution has a closed form."""
    inputs = keras.Input((kernel.shape[0],), name="observation")
    layer = keras.layers.Dense(kernel.shape[1], name="q_values")
    model = keras.Model(inputs, layer(inputs), name=name)
    layer.set_weights([kernel, bias])
    return model


@pytest.fixture(scope="module")
def states():
    return np.random.default_rng(0).normal(size=(6, 4)).astype("float32")


def test_gradients_of_a_linear_q_network_are_its_weights(states):
    model = linear_q()
    q = states @ W + B
    greedy = q.argmax(1)
    e = explain(model, states, "saliency", target="action", absolute=False)
    np.testing.assert_allclose(e.values, W[:, greedy].T, rtol=1e-6)
    np.testing.assert_array_equal(e.targets, greedy)
    np.testing.assert_allclose(e.output_values, q[np.arange(6), greedy], rtol=1e-5)
    e = explain(model, states, "saliency", target=1, absolute=False)
    np.testing.assert_allclose(e.values, np.tile(W[:, 1], (6, 1)), rtol=1e-6)
    # advantage Q(s, a*) - mean_a Q(s, a): gradient W[:, a*] - mean_a W[:, a]
    e = explain(model, states, "saliency", target="advantage", absolute=False)
    np.testing.assert_allclose(e.values, (W[:, greedy] - W.mean(1, keepdims=True)).T, rtol=1e-5, atol=1e-6)
    # state value V = max_a Q(s, a): gradient of the maximising action
    e = explain(model, states, "saliency", target="q", absolute=False)
    np.testing.assert_allclose(e.values, W[:, greedy].T, rtol=1e-6)
    np.testing.assert_allclose(e.output_values, q.max(1), rtol=1e-5)


def test_integrated_gradients_and_perturbation_of_a_linear_q_network(states):
    model = linear_q()
    greedy = (states @ W + B).argmax(1)
    expected = states * W[:, greedy].T  # x_i * w_i: exact for a linear function and a zero baseline
    ig = explain(model, states, "integrated-gradients", target="action")
    np.testing.assert_allclose(ig.values, expected, rtol=1e-4, atol=1e-5)
    # replacing feature j by 0 lowers Q(s, a) by x_j w_ja
    pert = explain(model, states, "perturbation", target="action", baseline=0.0)
    np.testing.assert_allclose(pert.values, expected, rtol=1e-4, atol=1e-5)
    # mean-replace: the drop is (x_j - mean_j) w_ja
    bg = np.random.default_rng(1).normal(size=(20, 4)).astype("float32")
    pert = explain(model, states, "perturbation", target="action", background=bg)
    np.testing.assert_allclose(pert.values, (states - bg.mean(0)) * W[:, greedy].T, rtol=1e-4, atol=1e-5)


def _one_pixel_q(row=3, col=4, channel=2):
    """Q = [x[row, col, channel], 0.5]: looks at one channel of one pixel only."""
    kernel = np.zeros((10 * 10 * 4, 3), dtype="float32")
    kernel[(row * 10 + col) * 4 + channel, 0] = 1.0
    inputs = keras.Input((10, 10, 4))
    dense = keras.layers.Dense(3)
    model = keras.Model(inputs, dense(keras.layers.Flatten()(inputs)))
    dense.set_weights([kernel, np.array([0.0, 0.5, 0.2], dtype="float32")])
    return model


def test_perturbation_saliency_is_zero_where_the_model_does_not_look():
    model = _one_pixel_q()
    x = np.random.default_rng(0).integers(0, 2, size=(3, 10, 10, 4)).astype("float32")
    x[:, 3, 4, 2] = 1.0
    fwd = _inputs.forward(model)
    calls = fwd.calls
    e = explain(model, x, "perturbation", target=0, mode="mean", sigma=0.3)
    # 3 frames x 400 masks = 1200 perturbed frames go through the model in batches, plus the unperturbed call(s)
    assert fwd.calls - calls <= 2 + int(np.ceil(1200 / fwd.effective_batch_size))
    assert np.all(e.values[..., [0, 1, 3]] == 0)  # other channels: never looked at
    # in channel 2, mask M_ij blends pixel (3, 4) toward the frame's channel mean by
    # exp(-d^2 / (2 sigma^2)): the drop of Q_0 is (x - mean) * that weight
    ii, jj = np.mgrid[:10, :10]
    weight = np.exp(-((ii - 3) ** 2 + (jj - 4) ** 2) / (2 * 0.3**2))
    expected = (1.0 - x[..., 2].mean(axis=(1, 2)))[:, None, None] * weight[None]
    np.testing.assert_allclose(e.values[..., 2], expected, rtol=1e-4, atol=1e-7)
    # blurred patches (Greydanus): still zero on the other channels; the peak stays on the pixel
    e = explain(model, x, "perturbation", target=0, mode="blur", sigma=1.0)
    assert np.all(e.values[..., [0, 1, 3]] == 0)
    assert np.all(e.values[..., 2].reshape(3, -1).argmax(1) == 34)
    # all channels of a location together: the score is spread evenly over them
    e = explain(model, x, "perturbation", target=0, per_channel=False, mode="mean", sigma=0.3)
    np.testing.assert_allclose(e.values[..., 0], e.values[..., 3])
    assert e.values[..., 0].reshape(3, -1).argmax(1).tolist() == [34] * 3


def test_action_flip_rate_on_a_constructed_case():
    # Q = [s_0, 0.5]: with s_0 = 1 the greedy action is 0, and only removing s_0 flips it.
    model = linear_q(np.array([[1.0, 0], [0, 0], [0, 0], [0, 0]], dtype="float32"),
                     np.array([0.0, 0.5], dtype="float32"), name="flip_q")
    x = np.random.default_rng(0).uniform(2, 3, size=(5, 4)).astype("float32")
    x[:, 0] = 1.0
    right = np.tile([1.0, 0, 0, 0], (5, 1))
    wrong = np.tile([0, 0, 0, 1.0], (5, 1))
    r = agents.action_flip_rate(model, x, right, k=1)
    assert r["flip_rate"] == 1.0 and r["random_flip_rate"] == 0.25 and r["random"] == "exact"  # 1 of 4 features
    assert agents.action_flip_rate(model, x, wrong, k=1)["flip_rate"] == 0.0
    assert agents.action_flip_rate(model, x, right, k=2)["random_flip_rate"] == 0.5  # 3 of the 6 pairs hold s_0
    sampled = agents.action_flip_rate(model, x, right, k=1, max_subsets=0, random_sets=400)
    assert sampled["random"] == "sampled" and abs(sampled["random_flip_rate"] - 0.25) < 0.05
    f = agents.agent_faithfulness(model, x, right, k=1, random_orders=5)
    assert f["beats_random"] and f["deletion_auc"] < f["random_deletion_auc"]
    ref = agents.random_reference(model, x, k=1, random_orders=5)
    assert ref["random_flip_rate"] == 0.25
    assert agents.agent_faithfulness(model, x, wrong, k=1, reference=ref, flip_values=right)["flip_rate"] == 1.0
    assert not agents.agent_faithfulness(model, x, wrong, k=1, random_orders=5)["beats_random"]
    with pytest.raises(ValueError, match="k must be an int in \\[1, 4\\]. Received: k=5"):
        agents.action_flip_rate(model, x, right, k=5)
    with pytest.raises(ValueError, match="values must have x's shape"):
        agents.action_flip_rate(model, x, right[:, :3], k=1)


def test_zoo_entry_native_dqn_and_tf_agents_policy_explain_alike(tmp_path):
    from adl_keras import zoo
    from adl_keras.rl import qnetworks, tf_agents_dqn
    from adl_keras.rl.dqn import DQN, DQNConfig

    episode = agents.greedy_episodes("dqn.cartpole", episodes=2, max_steps=10)
    again = agents.greedy_episodes("dqn.cartpole", episodes=2, max_steps=10)
    np.testing.assert_array_equal(episode["observations"], again["observations"])  # seeded: deterministic
    x = episode["observations"]
    assert x.shape == (20, 4) and episode["episode"].tolist() == [0] * 10 + [1] * 10
    by_name = explain("dqn.cartpole", x, "saliency", target="action")
    by_model = explain(zoo.load_model("dqn.cartpole"), x, "saliency", target="action")
    np.testing.assert_allclose(by_name.values, by_model.values)
    np.testing.assert_array_equal(by_name.targets, episode["actions"])
    assert by_name.feature_names == agents.CARTPOLE_FEATURES and "push cart" in by_name.output_names[0]
    # TF-Agents: the policy's own tf_keras Q-network (no copy), through a Keras 3 view
    keras.utils.set_random_seed(0)
    model = qnetworks.mlp_q_network((4,), 2, (8, 8))
    policy = tf_agents_dqn.greedy_policy_from_keras(model)
    from tf_agents.policies import epsilon_greedy_policy
    from tf_agents.trajectories import time_step as ts

    for agent in (policy, epsilon_greedy_policy.EpsilonGreedyPolicy(policy.wrapped_policy, epsilon=0.1)):
        e = explain(agent, x, "integrated-gradients", target="advantage")
        ref = explain(model, x, "integrated-gradients", target="advantage")
        np.testing.assert_allclose(e.values, ref.values, rtol=1e-4, atol=1e-5)
        assert "TF-Agents" in e.extras["agent"]
    actions = policy.action(ts.restart(x, batch_size=len(x))).action.numpy()
    np.testing.assert_array_equal(actions, e.extras["greedy_actions"])
    # the native Keras 3 DQN: its online network
    dqn = DQN(DQNConfig(hidden_units=(8,), total_steps=10, eval_every=0))
    e = explain(dqn, x, "saliency", target=0)
    np.testing.assert_allclose(e.values, explain(dqn.online, x, "saliency", target=0).values)


def test_agent_errors_name_the_argument():
    x = np.zeros((2, 4), dtype="float32")
    with pytest.raises(ValueError, match="target='left'"):
        explain("dqn.cartpole", x, "saliency", target="left")
    with pytest.raises(ValueError, match=r"target must lie in \[0, 1\].*target=7"):
        agents.explain_agent("dqn.cartpole", x, "saliency", target=7)
    with pytest.raises(ValueError, match="target=True"):
        agents.explain_agent("dqn.cartpole", x, "saliency", target=True)
    with pytest.raises(ValueError, match="method='bogus'"):
        explain("dqn.cartpole", x, "bogus", target="action")
    with pytest.raises(ValueError, match=r"observations must have shape \(n, 4\).*\(2, 5\)"):
        explain("dqn.cartpole", np.zeros((2, 5)), "saliency", target="action")
    with pytest.raises(ValueError, match="q-table"):
        explain("qtable.frozenlake4x4", np.zeros((1, 1)), "saliency")
    with pytest.raises(ValueError, match="agent_or_policy of type object"):
        agents.explain_agent(object(), x)
    with pytest.raises(ValueError, match="needs background="):
        explain("dqn.cartpole", x, "shap-deep", target="action")
    with pytest.raises(ValueError, match="mode must be one of"):
        explain("dqn.cartpole", x, "perturbation", target="action", mode="noise")
    with pytest.raises(ValueError, match="mode='blur' needs image inputs"):
        explain("dqn.cartpole", x, "perturbation", target="action", mode="blur")
    with pytest.raises(ValueError, match="episodes must be an int >= 1. Received: episodes=0"):
        agents.greedy_episodes("dqn.cartpole", episodes=0)


def test_card_section_is_rendered(tmp_path):
    from adl_keras.zoo import cards

    meta = cards.read_meta("dqn.cartpole")
    (tmp_path / "dqn.cartpole").mkdir()
    (tmp_path / "dqn.cartpole" / "meta.json").write_text(json.dumps(meta))
    row = {"deletion_auc": 1.0, "random_deletion_auc": 2.0, "insertion_auc": 3.0, "random_insertion_auc": 2.0,
           "flip_rate": 0.5, "random_flip_rate": 0.25, "beats_random": True}
    section = {"description": "test", "k": 1, "baseline": 0.0, "command": "cmd", "methods": {"saliency": row}}
    agents.write_card_section("dqn.cartpole", section, root=tmp_path)
    card = (tmp_path / "dqn.cartpole" / "README.md").read_text()
    assert "## Explainability" in card and "| saliency | 1 (2) | 3 (2) | 0.500 (0.250) | yes |" in card
    assert cards.read_meta("dqn.cartpole", tmp_path)["weights"] == meta["weights"]


@pytest.mark.parametrize("name", ["dqn.cartpole", "dqn_tfagents.cartpole", "cnn_dqn.minatar_breakout"])
def test_every_agent_card_records_faithfulness(name):
    from adl_keras import zoo
    from adl_keras.zoo import cards

    assert zoo.get_entry(name).task in AGENT_TASKS
    section = cards.read_meta(name)["explainability"]
    for method in ("saliency", "integrated-gradients", "shap-deep", "shap-gradient", "perturbation"):
        row = section["methods"][method]
        assert all(np.isfinite(row[k]) for k in ("deletion_auc", "random_deletion_auc", "flip_rate"))
    assert "## Explainability" in (cards.entry_dir(name) / cards.CARD_FILE).read_text()


def test_cli_episode_writes_frames_and_gif(tmp_path, capsys):
    from PIL import Image

    from adl_keras import cli

    out = tmp_path / "breakout"
    code = cli.main(["explain", "cnn_dqn.minatar_breakout", "--episode", "--out", str(out), "--steps", "3",
                     "--method", "perturbation"])
    assert code == 0, capsys.readouterr().err
    names = sorted(p.name for p in out.iterdir())
    assert names == ["episode.gif", "frame_000.png", "frame_001.png", "frame_002.png", "summary.json"]
    with Image.open(out / "episode.gif") as gif:
        assert gif.n_frames == 3
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["method"] == "perturbation" and len(summary["actions"]) == 3
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask
    # a non-empty folder is refused (before any work), replaced with --overwrite
    assert cli.main(["explain", "cnn_dqn.minatar_breakout", "--episode", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    code = cli.main(["explain", "dqn.cartpole", "--episode", "--out", str(out), "--steps", "2", "--overwrite",
                     "--target", "advantage", "--method", "saliency"])
    assert code == 0 and len(list(out.glob("frame_*.png"))) == 2
    assert cli.main(["explain", "dqn.cartpole", "--out", str(tmp_path / "x.png")]) == 2
    assert "--episode" in capsys.readouterr().err
    assert cli.main(["explain", "lenet5.digits", "--episode", "--out", str(tmp_path / "d")]) == 2
    assert cli.main(["explain", "dqn.cartpole", "--episode", "--out", str(tmp_path / "d"), "--target", "x"]) == 2
    assert "--target='x'" in capsys.readouterr().err


def test_episode_argument_errors_never_import_tensorflow(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    code = ("import sys, json\n"
            "from adl_keras import cli\n"
            f"assert cli.main(['explain', 'dqn.cartpole', '--episode', '--out', {str(tmp_path / 'full')!r}]) == 2\n"
            "assert cli.main(['explain', 'dqn.cartpole', '--episode', '--out', 'd', '--target', 'left']) == 2\n"
            "assert cli.main(['explain', 'dqn.cartpole', '--episode', '--out', 'd', '--steps', '0']) == 2\n"
            "assert cli.main(['explain', 'mlp.wine', '--episode', '--out', 'd']) == 2\n"
            "print(json.dumps(sorted(m for m in ('tensorflow', 'keras', 'numpy') if m in sys.modules)))\n")
    root = Path(__file__).resolve().parents[2]
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"
    for text in ("not empty", "--target='left'", "--steps=0", "task 'tabular-classification'"):
        assert text in res.stderr


def test_tied_attributions_are_taken_in_random_order():
    """A tie says nothing about which element comes first: index order would be a
    raster scan the method never gave; random tie-breaking gives its expectation."""
    from adl_keras.explain import metrics

    # Q = [4 s_0, 0.5]: only s_0 counts; s = (1, 1, 1, 1), removal to 0
    model = linear_q(np.array([[4.0, 0], [0, 0], [0, 0], [0, 0]], dtype="float32"),
                     np.array([0.0, 0.5], dtype="float32"), name="tie_q")
    x = np.ones((3, 4), dtype="float32")
    tied = np.ones((3, 4), dtype="float32")
    # index order removes s_0 first: curve 4, 0, 0, 0, 0 -> AUC 0.5
    r = metrics.deletion_insertion(model, x, tied, [0, 0, 0], kind="tabular")
    np.testing.assert_allclose(r["auc"], 0.5)
    # a uniformly random order: E[curve] = 4, 3, 2, 1, 0 -> AUC 2 (one draw's sd 1.12, here / sqrt(400))
    r = metrics.deletion_insertion(model, x, tied, [0, 0, 0], kind="tabular", tie_breaks=400)
    assert abs(r["auc"].mean() - 2.0) < 0.2
    # distinct scores keep their order; only the tied middle pair is shuffled
    orders = metrics.tie_broken_orders(np.array([1.0, 1.0, 2.0, 0.0]), tie_breaks=50)
    assert orders.shape == (50, 4) and np.all(orders[:, 0] == 2) and np.all(orders[:, 3] == 3)
    assert {tuple(o) for o in orders[:, 1:3]} == {(0, 1), (1, 0)}
    # untied scores: one order, whatever tie_breaks says
    assert metrics.tie_broken_orders(np.array([0.1, 0.3, 0.2]), tie_breaks=9).tolist() == [[1, 2, 0]]
    # the flip rate: all-tied attributions are no better than random (1 of 4), not "always s_0"
    model = linear_q(np.array([[1.0, 0], [0, 0], [0, 0], [0, 0]], dtype="float32"),
                     np.array([0.0, 0.5], dtype="float32"), name="tie_flip_q")
    x = np.tile(np.array([1.0, 2.0, 2.0, 2.0], dtype="float32"), (40, 1))
    tied = np.zeros((40, 4), dtype="float32")
    assert agents.action_flip_rate(model, x, tied, k=1)["flip_rate"] == 1.0
    r = agents.action_flip_rate(model, x, tied, k=1, tie_breaks=50)
    assert abs(r["flip_rate"] - r["random_flip_rate"]) < 0.05 and r["random_flip_rate"] == 0.25
    f = agents.agent_faithfulness(model, x, tied, k=1, random_orders=5)
    assert not f["beats_random"] and abs(f["deletion_auc"] - f["random_deletion_auc"]) < 0.1
    with pytest.raises(ValueError, match="tie_breaks must be an int >= 0. Received: tie_breaks=-1"):
        metrics.deletion_insertion(model, x, tied, np.zeros(40, int), kind="tabular", tie_breaks=-1)


def test_grad_cam_cells_of_a_valid_conv_sit_on_their_receptive_field_centres():
    """A 3x3 'valid' conv of a 10x10 frame has 8x8 cells centred on pixels 1..8:
    with a conv that copies its centre tap and a head that sums the map,
    Grad-CAM's map is the frame itself on those pixels (not stretched over 0..9)."""
    from adl_keras.explain import gradients

    inputs = keras.Input((10, 10, 1))
    conv = keras.layers.Conv2D(1, 3, padding="valid", activation="relu", name="conv_1")
    head = keras.layers.Dense(1, name="q_values")
    model = keras.Model(inputs, head(keras.layers.Flatten()(conv(inputs))))
    kernel = np.zeros((3, 3, 1, 1), dtype="float32")
    kernel[1, 1] = 1.0
    conv.set_weights([kernel, np.zeros(1, dtype="float32")])
    head.set_weights([np.ones((64, 1), dtype="float32"), np.zeros(1, dtype="float32")])
    x = np.zeros((2, 10, 10, 1), dtype="float32")
    x[0, 3, 6], x[1, 7, 4] = 1.0, 1.0
    e = explain(model, x, "grad-cam", target=[0, 0])
    assert e.extras["layer"] == "conv_1"
    np.testing.assert_allclose(e.values[:, 1:9, 1:9], x[:, 1:9, 1:9], atol=1e-6)  # alpha = 1, cam = A
    assert e.values[0].argmax() == 36 and e.values[1].argmax() == 74
    # positions by receptive-field arithmetic: valid 3x3 -> pool 2 -> 'same' 3x3 stride 2
    fresh = keras.Input((10, 10, 1))
    y = keras.layers.MaxPooling2D(2)(keras.layers.Conv2D(1, 3, padding="valid", activation="relu")(fresh))
    last = keras.layers.Conv2D(2, 3, strides=2, padding="same", name="stage1")
    chain = keras.Model(fresh, last(y))
    offset, stride = gradients._cell_positions(chain, last)
    np.testing.assert_allclose(offset, [3.5, 3.5])
    np.testing.assert_allclose(stride, [4, 4])
    # a branching graph: positions unknown, the map is stretched as before
    branch = keras.Model(inputs, keras.layers.Add()([conv(inputs), conv(inputs)]))
    assert gradients._cell_positions(branch, branch.layers[-1]) is None

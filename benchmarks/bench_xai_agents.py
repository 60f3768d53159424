"""Faithfulness of agent explanations: every Q-network zoo entry x every method
against random attributions, on the same states of seeded greedy episodes.

States: greedy episodes with reset seeds 30000+ (every ``EVERY``-th state,
at most ``MAX_STATES``); the SHAP background: greedy episodes with seeds
31000+. ``dqn_tfagents.cartpole`` is explained through the TF-Agents greedy
policy (its tf_keras Q-network, in this same process as Keras 3 models).

For each (entry, method), with the greedy action a* of each state:
* deletion / insertion AUC of Q(s, a*) (Petsiuk et al. 2018) when input
  elements (CartPole's 4 state variables; MinAtar's 10x10x4 channel pixels)
  are set to 0 (MinAtar: no object; CartPole: the upright, centred cart) in
  order of decreasing attribution, vs the mean of ``RANDOM_ORDERS`` random orders;
* action flip rate: the fraction of states whose greedy action changes when
  the top-k attributed elements are removed, vs k random elements (exact over
  all k-subsets for CartPole, 64 sampled subsets per state for MinAtar). The
  action is decided by the advantage Q(s, a*) - mean_a Q(s, a), so elements
  are ranked by each method's attributions of target="advantage" here; the
  flip rate with the Q(s, a*) attributions is kept in the details.

Tied attributions (Grad-CAM's map is zero wherever its ReLU cuts, and one
value is shared by a pixel's channels; gradients have exact zeros) are taken
in uniformly random order, averaged over ``RANDOM_ORDERS`` orders, for every
method alike: in index order they would be a raster scan (MinAtar: the brick
rows first) that no method gave.

A method beats random when all three hold: lower deletion AUC, higher
insertion AUC and higher flip rate. Pairs whose AUC margin is under
``NOISE_SEM`` standard errors of the random reference are listed as
``within_noise_of_random`` and do not count: ahead by a fraction of the
reference's spread is a tie. value = pairs that beat random clearly, anchor =
all pairs (goal: ratio >= 1, every method beats random on every entry).
The table is also written into each entry's card (meta.json
``explainability`` and README.md; the weights are untouched).

    python -m benchmarks.bench_xai_agents
"""

import json
import os
import time
from pathlib import Path

import numpy as np

from adl_keras.explain.agents import NOISE_SEM
from benchmarks._common import RESULTS, machine, versions

COMMAND = "python -m benchmarks.bench_xai_agents"
EPISODES = 4
EVERY = {"dqn.cartpole": 10, "dqn_tfagents.cartpole": 10, "cnn_dqn.minatar_breakout": 2}
MAX_STATES = 200
BACKGROUND_EPISODES = 2
K = {"dqn.cartpole": 1, "dqn_tfagents.cartpole": 1, "cnn_dqn.minatar_breakout": 3}
RANDOM_ORDERS = 20
METHODS = ["saliency", "integrated-gradients", "shap-deep", "shap-gradient", "perturbation"]
IMAGE_METHODS = ["grad-cam"]
ZOO = Path(__file__).resolve().parent.parent / "zoo"


def _agent(name):
    """What gets explained: the zoo name, or for the TF-Agents entry its TF-Agents greedy policy."""
    if name == "dqn_tfagents.cartpole":
        from adl_keras import zoo
        from adl_keras.rl import tf_agents_dqn

        return tf_agents_dqn.greedy_policy_from_keras(zoo.load_model(name))
    return name


def measure_entry(name):
    from adl_keras.explain import agents, explain

    agent = _agent(name)
    q_network, info = agents.q_network_of(agent)
    env_id = info["env_id"] or "CartPole-v1"
    episodes = agents.greedy_episodes(agent, env_id, episodes=EPISODES, seed=agents.EPISODE_SEED, every=EVERY[name])
    x = episodes["observations"][:MAX_STATES]
    background = agents.greedy_episodes(agent, env_id, episodes=BACKGROUND_EPISODES, seed=agents.BACKGROUND_SEED,
                                        every=EVERY[name] * 2)["observations"][:100]
    methods = METHODS + (IMAGE_METHODS if x.ndim == 4 else [])
    reference = agents.random_reference(q_network, x, k=K[name], random_orders=RANDOM_ORDERS)
    # the removal baseline checked: CartPole's state variables removed to the mean of greedy states instead of 0
    mean_base = background.mean(axis=0) if x.ndim == 2 else None
    mean_reference = (agents.random_reference(q_network, x, k=K[name], baseline=mean_base,
                                              random_orders=RANDOM_ORDERS) if mean_base is not None else None)
    rows, mean_rows, attributions = {}, {}, {}
    for method in methods:
        start = time.perf_counter()
        bg = background if method.startswith("shap") or method == "perturbation" else None
        e = explain(agent, x, method, target="action", background=bg)
        seconds = time.perf_counter() - start
        decision = explain(agent, x, method, target="advantage", background=bg)
        attributions[method] = (e, decision)
        r = agents.agent_faithfulness(q_network, x, e.values, k=K[name], reference=reference,
                                      flip_values=decision.values)
        if mean_base is not None:
            m = agents.agent_faithfulness(q_network, x, e.values, k=K[name], baseline=mean_base,
                                          reference=mean_reference, flip_values=decision.values)
            mean_rows[method] = {k: v for k, v in m.items() if k != "flip_reference"}
        # for transparency: the flip rate when elements are ranked by the Q(s, a*) attributions instead
        r["flip_rate_q_attributions"] = agents.action_flip_rate(q_network, x, e.values, k=K[name],
                                                                tie_breaks=RANDOM_ORDERS)["flip_rate"]
        r.update(method_used=e.method, explain_seconds=round(seconds, 2))
        rows[method] = r
        print(f"{name:26s} {method:22s} del {r['deletion_auc']:9.4g} (rand {r['random_deletion_auc']:9.4g}) "
              f"ins {r['insertion_auc']:9.4g} (rand {r['random_insertion_auc']:9.4g}) flip {r['flip_rate']:.3f} "
              f"(rand {r['random_flip_rate']:.3f}) {'ok' if r['beats_random'] else 'NO'}", flush=True)
    section = {
        "description": (f"Attributions of Q(s, a*) for the greedy action a*, on {len(x)} states of {EPISODES} "
                        f"seeded greedy episodes (reset seeds {agents.EPISODE_SEED}+, one state every {EVERY[name]} steps)"
                        f"{' explained through the TF-Agents greedy policy' if agent is not name else ''}; "
                        f"deletion/insertion AUC of Q(s, a*) over the fraction of input elements removed, "
                        f"random = mean of {RANDOM_ORDERS} random orders; flip rate = fraction of states whose "
                        f"greedy action changes when the k elements with the largest attributions of the "
                        f"advantage Q(s, a*) - mean_a Q(s, a) (what decides the action) are removed, vs k random "
                        f"elements ({'exact over all k-subsets' if reference['flip_reference'] == 'exact' else '64 random k-subsets per state'})."),
        "states": int(len(x)), "episode_seed": agents.EPISODE_SEED, "background_seed": agents.BACKGROUND_SEED,
        "k": K[name], "baseline": 0.0,
        "ties": f"tied attributions in random order (mean over {RANDOM_ORDERS} orders)", "command": COMMAND,
        "methods": {m: {k: v for k, v in r.items() if k != "flip_reference"} for m, r in rows.items()},
    }
    diagnostics = _diagnostics(name, x, attributions, background)
    if "grad-cam" in attributions:
        # the same maps without Grad-CAM's gradient pooling (alpha_k A^k -> dQ/dA^k * A^k, summed over k): not
        # a method of the table, only a measurement of what the spatial mean of the gradients throws away
        unpooled = [_unpooled_cam(q_network, x, t, attributions["grad-cam"][0].extras["layer"])
                    for t in (agents._target_model(q_network, "action"), agents._target_model(q_network, "advantage"))]
        r = agents.agent_faithfulness(q_network, x, unpooled[0], k=K[name], reference=reference,
                                      flip_values=unpooled[1])
        diagnostics["grad_cam"]["same_maps_without_gradient_pooling"] = {
            k: v for k, v in r.items() if k != "flip_reference"}
    if mean_rows:
        diagnostics["removal_to_state_mean"] = {
            "baseline": [round(float(b), 5) for b in mean_base],
            "why": "0.0 is the upright, centred, resting cart (the state the controller drives to, where "
                   "episodes start); the mean of greedy states is the usual tabular choice. Same attributions, "
                   "same random reference settings; only the removal value differs.",
            "methods": mean_rows}
    return section, episodes["returns"].tolist(), diagnostics


def _unpooled_cam(model, x, target_model, layer):
    """ReLU(sum_k dQ/dA^k * A^k) (Grad-CAM without the spatial mean of the gradients), upsampled like Grad-CAM."""
    import keras
    import tensorflow as tf

    from adl_keras.explain import _inputs, gradients

    conv = model.get_layer(layer)
    sub = keras.Model(target_model.inputs, [conv.output, target_model.outputs[0]])
    greedy = _inputs.forward(model)(x).argmax(axis=1)
    with tf.GradientTape() as tape:
        maps, out = sub(tf.constant(x), training=False)
        score = tf.reduce_sum(tf.gather(out, greedy, axis=1, batch_dims=1))
    cam = tf.nn.relu(tf.reduce_sum(tape.gradient(score, maps) * maps, axis=-1)).numpy()
    cam = gradients.upsample_cam(cam, model, conv, x.shape[1:3])[..., None]
    return np.repeat(cam / x.shape[-1], x.shape[-1], axis=-1)


def _diagnostics(name, x, attributions, background):
    """Measurements that say why a method does or does not beat random on this entry."""
    out = {"nonzero_fraction_of_elements": float((x != 0).mean())}
    if "grad-cam" in attributions:
        e, decision = attributions["grad-cam"]
        zero = lambda v: float((v.reshape(len(v), -1).max(axis=1) <= 0).mean())
        out["grad_cam"] = {
            "layer": e.extras.get("layer"),
            "states_with_all_zero_map_q_target": zero(e.values),
            "states_with_all_zero_map_advantage_target": zero(decision.values),
            "why": "alpha_k = spatial mean of dQ/dA^k; this network reads the conv maps through Flatten -> Dense, "
                   "so each cell has its own weights and their mean over the 8x8 cells mostly cancels to a "
                   "negative number: ReLU(sum_k alpha_k A^k) is zero everywhere in most states, and there the "
                   "ranking (all ties) is random by construction",
        }
    if x.ndim == 2 and "saliency" in attributions:
        _, decision = attributions["saliency"]
        grad = np.abs(decision.values).astype("float64")            # |d A(s, a*) / d s_j|
        x = x.astype("float64")
        top = np.bincount(grad.argmax(axis=1), minlength=x.shape[1])
        out["saliency"] = {
            "features": ["cart position", "cart velocity", "pole angle", "pole angular velocity"],
            "mean_abs_gradient_of_advantage": grad.mean(axis=0).round(4).tolist(),
            "mean_abs_state": np.abs(x).mean(axis=0).round(4).tolist(),
            "state_std": x.std(axis=0).round(4).tolist(),
            "mean_abs_gradient_times_state": (grad * np.abs(x)).mean(axis=0).round(4).tolist(),
            "top1_feature_counts": top.tolist(),
            "why": "the gradient is the change of Q per unit of a variable; the pole angle (radians, "
                   "std ~0.01) gets the largest gradient in nearly every state, but removing it moves it by "
                   "~0.005 and changes Q least: saliency measures sensitivity, the removal measures "
                   "contribution ~ |gradient| x |distance moved|, which ranks position / angular velocity first",
        }
    return out


def main():
    import adl_keras
    from adl_keras.explain import agents

    adl_keras.quiet()
    start = time.perf_counter()
    table, returns, diagnostics = {}, {}, {}
    for name in ("dqn.cartpole", "dqn_tfagents.cartpole", "cnn_dqn.minatar_breakout"):
        table[name], returns[name], diagnostics[name] = measure_entry(name)
        agents.write_card_section(name, table[name], root=ZOO)
    pairs = [(n, m) for n, s in table.items() for m in s["methods"]]
    beating = [p for p in pairs if table[p[0]]["methods"][p[1]]["beats_random"]]
    noisy, clear = [], []
    for n, m in beating:
        margins = agents.auc_margins(table[n]["methods"][m])
        if min(margins) < NOISE_SEM:
            noisy.append(f"{n} x {m} (deletion {margins[0]:.1f}, insertion {margins[1]:.1f} standard errors)")
        else:
            clear.append((n, m))
    # A pair counts only when it beats random beyond the random reference's
    # noise: a margin of a fraction of a standard error is a tie, not a win.
    result = {
        "name": "xai_agents",
        "metric": "(entry, method) pairs whose attributions beat random on deletion AUC, insertion AUC and "
                  f"action flip rate, both AUC margins at least {NOISE_SEM} standard errors",
        "unit": "pairs",
        "value": len(clear),
        "anchor": "random attributions on the same states (all pairs)",
        "anchor_value": len(pairs),
        "ratio": len(clear) / len(pairs),
        "goal": "ratio >= 1.0",
        "meets_goal": len(clear) == len(pairs),
        "repeats": RANDOM_ORDERS,
        "machine": machine(),
        "versions": versions(),
        "command": COMMAND,
        "details": {
            "anchor_config": (f"random attributions: deletion/insertion over {RANDOM_ORDERS} seeded uniform random "
                              "orders of the input elements; flip rate over every k-subset of the elements (CartPole) "
                              "or 64 seeded random k-subsets per state (MinAtar); same states, same removal value, "
                              "same Q-network call as the methods; the methods' tied attributions are ordered at "
                              f"random too (mean over {RANDOM_ORDERS} orders), so no method gets an index order"),
            "why_best": "no library explains policies (TF-Agents has no explainability; shap and lime know no "
                        "agents), so the reference is the one faithfulness papers use: random attributions, with "
                        "the random flip rate computed exactly where the subsets can be enumerated",
            "failing_pairs": [f"{n} x {m}" for n, m in pairs if (n, m) not in clear],
            "greedy_returns_of_explained_episodes": returns,
            "removal": "elements set to 0.0 (MinAtar: no object; CartPole: the upright, centred, resting cart), "
                       "one element per deletion step (MinAtar: 100 chunks of 4); the same for every method and "
                       "for random. diagnostics.*.removal_to_state_mean repeats CartPole with the mean greedy "
                       "state as the removal value",
            "ties": f"tied attributions are taken in uniformly random order, averaged over {RANDOM_ORDERS} orders "
                    "(every method alike; random attributions have no ties)",
            "within_noise_of_random": noisy,
            "noise_rule": f"an AUC margin under {NOISE_SEM} standard errors of the random reference (spread of its "
                          f"{RANDOM_ORDERS} orders)",
            "diagnostics": diagnostics,
            "table": {n: s["methods"] for n, s in table.items()},
            "k": {n: s["k"] for n, s in table.items()},
            "states": {n: s["states"] for n, s in table.items()},
            "seconds": round(time.perf_counter() - start, 1),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS / ".xai_agents.json.part"
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, RESULTS / "xai_agents.json")
    print(json.dumps({k: result[k] for k in ("name", "value", "anchor_value", "ratio", "meets_goal")}))
    print("failing:", result["details"]["failing_pairs"])
    print("within noise of random:", noisy)


if __name__ == "__main__":
    main()

"""Explaining DQN agents: what a Q-network looks at when it picks an action.

:func:`explain_agent` (also reached through :func:`adl_keras.explain.explain`)
takes any of

* a Keras 3 Q-network, or the native :class:`adl_keras.rl.dqn.DQN` (its online network);
* a zoo Q-network entry by name (``"dqn.cartpole"``, ``"cnn_dqn.minatar_breakout"``, ...);
* a TF-Agents ``DqnAgent``, ``QPolicy``, ``GreedyPolicy``,
  ``EpsilonGreedyPolicy`` or Q-network built by :mod:`adl_keras.rl.tf_agents_dqn`:
  its Keras 2 (tf_keras) Q-network is called as it is, inside a Keras 3
  view (:class:`TFAgentsQNetworkView`), in the same process as Keras 3 models
  (:func:`adl_keras.compat.import_tf_agents` routes ``tf.keras`` to tf_keras);

and explains one scalar per observation (``target``):

* ``"action"`` (default): Q(s, a*), the greedy action a* = argmax_a Q(s, a);
* an action index a (or one per observation): Q(s, a);
* ``"q"``: the state value V(s) = max_a Q(s, a) (the max is re-taken at every
  perturbed or interpolated input);
* ``"advantage"``: Q(s, a*) - mean_a Q(s, a), the part of the greedy
  action's value that sets it apart from the others (what decides the action).

Faithfulness for agents (:func:`agent_faithfulness`): deletion / insertion
curves of the greedy action's Q-value (Petsiuk et al. 2018) and the
*action flip rate*: the fraction of states whose greedy action changes when
the k most-attributed input elements are removed (set to a baseline),
against the same for k random elements (:func:`action_flip_rate`).

Example:
    >>> from adl_keras.explain import explain
    >>> from adl_keras.explain.agents import greedy_episodes
    >>> ep = greedy_episodes("dqn.cartpole", episodes=1, max_steps=20)
    >>> e = explain("dqn.cartpole", ep["observations"], "integrated-gradients", target="advantage")
"""

import json
import os
import shutil
import tempfile
from itertools import combinations
from math import comb
from pathlib import Path

import numpy as np

from adl_keras.explain import _inputs
from adl_keras.explain.methods import AGENT_TARGETS, METHODS, check_out_dir

EPISODE_SEED = 30_000  # reset seed of explained episodes (evaluation uses 10000+, training evals 20000+)
BACKGROUND_SEED = 31_000  # reset seeds of the episodes whose states form a background

CARTPOLE_FEATURES = ["cart position", "cart velocity", "pole angle", "pole angular velocity"]
# Environments whose observation parts have names: vector features, or image channels.
_OBSERVATION_NAMES = {
    "CartPole-v1": {"feature_names": CARTPOLE_FEATURES},
    "MinAtar/Breakout": {"channel_names": ["paddle", "ball", "trail", "brick"]},
}
_NEEDS_BACKGROUND = ("shap-gradient", "shap-deep", "shap-kernel", "shap-partition")
# An AUC margin under this many standard errors of the random reference is reported as within its noise.
NOISE_SEM = 2.0


# ------------------------------------------------------------------ what an agent is
def _is_tf_agents(obj):
    return (type(obj).__module__ or "").startswith("tf_agents.")


def _is_native_dqn(obj):
    return type(obj).__name__ == "DQN" and (type(obj).__module__ or "").startswith("adl_keras.rl")


def _zoo_task(name):
    from adl_keras import zoo

    try:
        return zoo.get_entry(name).task
    except KeyError:
        return None


def is_agent(obj):
    """Whether ``obj`` is something :func:`explain_agent` resolves to a Q-network
    (a DQN, a TF-Agents object, a zoo RL entry's name); a bare keras.Model is not."""
    if isinstance(obj, str):
        return _zoo_task(obj) in ("q-network", "q-table")
    return _is_native_dqn(obj) or _is_tf_agents(obj)


def _tf_agents_network(obj):
    """The Q-network inside a TF-Agents agent or policy (following wrapped policies)."""
    from tf_agents.networks import network as tfa_network

    seen = []
    while not isinstance(obj, tfa_network.Network):
        seen.append(type(obj).__name__)
        for attr in ("_q_network", "_wrapped_policy", "_greedy_policy"):
            inner = getattr(obj, attr, None)
            if inner is not None:
                obj = inner
                break
        else:
            raise ValueError(
                f"agent_or_policy must be a TF-Agents DqnAgent, QPolicy, GreedyPolicy, EpsilonGreedyPolicy or "
                f"Q-network; this one holds no Q-network. Received: agent_or_policy of type {' -> '.join(seen)}")
    return obj


def _view_class():
    import keras

    class TFAgentsQNetworkView(keras.layers.Layer):
        """A TF-Agents (tf_keras) Q-network called from Keras 3: ``x -> Q(x, .)``.

        The network's own variables are used (nothing is copied), so the
        explanation is of the policy's network itself. A view for explaining,
        not for saving: it holds a Keras 2 object.
        """

        def __init__(self, network, num_actions, **kwargs):
            super().__init__(**kwargs)
            self.network = network
            self.num_actions = int(num_actions)

        def call(self, observations):
            q_values, _ = self.network(observations, training=False)
            return q_values

        def compute_output_shape(self, input_shape):
            return (input_shape[0], self.num_actions)

    return TFAgentsQNetworkView


def tf_agents_keras_view(network_or_policy):
    """A Keras 3 functional model around a TF-Agents Q-network (its variables, not a copy).

    Args:
        network_or_policy: a TF-Agents Q-network, or an agent/policy holding one.

    Returns:
        keras.Model ``(n, *observation_shape) -> (n, num_actions)``.
    """
    import keras
    import tensorflow as tf

    from adl_keras import compat

    compat.import_tf_agents()
    network = _tf_agents_network(network_or_policy)
    view = getattr(network, "_adl_keras3_view", None)
    if view is not None:  # one view per network: its traced functions are reused, not retraced
        return view
    spec = network.input_tensor_spec
    shape = tuple(int(d) for d in spec.shape)
    q_values, _ = network(tf.zeros((1,) + shape, spec.dtype), training=False)
    inputs = keras.Input(shape, name="observation")
    outputs = _view_class()(network, int(q_values.shape[-1]), name="tf_agents_q_values")(inputs)
    view = keras.Model(inputs, outputs, name=f"{network.name}_keras3_view")
    object.__setattr__(network, "_adl_keras3_view", view)  # plain attribute: not a tracked tf_keras dependency
    return view


def q_network_of(agent_or_policy):
    """The Keras 3 Q-network behind ``agent_or_policy`` and what is known about it.

    Returns:
        (keras.Model, info) with info keys ``source``, ``env_id`` (or None),
        ``action_names`` (or None) and, where known, ``feature_names`` /
        ``channel_names``.
    """
    import keras

    obj = agent_or_policy
    info = {"source": type(obj).__name__, "env_id": None, "action_names": None}
    if isinstance(obj, str):
        from adl_keras import zoo
        from adl_keras.rl import zoo_entries

        entry = zoo.get_entry(obj)
        if entry.task != "q-network":
            raise ValueError(f"agent_or_policy must name a zoo Q-network entry (task 'q-network'); {obj!r} has task "
                             f"{entry.task!r}, a table indexed by state with no observation to attribute. "
                             f"Received: agent_or_policy={obj!r}")
        model = zoo.load_model(obj)
        info.update(source=f"zoo entry {obj}", env_id=zoo_entries.ENV_IDS.get(obj),
                    action_names=(entry.preprocessing or {}).get("action_names"))
    elif _is_native_dqn(obj):
        model = obj.online
        info.update(source="adl_keras.rl.dqn.DQN (online network)", env_id=obj.config.env_id)
    elif _is_tf_agents(obj):
        model = tf_agents_keras_view(obj)
        info["source"] = f"TF-Agents {type(obj).__name__} (its tf_keras Q-network)"
    elif isinstance(obj, keras.Model):
        model = obj
        info["source"] = f"Keras Q-network {obj.name!r}"
    else:
        raise ValueError(f"agent_or_policy must be a Keras 3 Q-network, an adl_keras DQN, a zoo Q-network name or a "
                         f"TF-Agents agent/policy. Received: agent_or_policy of type {type(obj).__name__}")
    if len(model.outputs) != 1 or len(model.outputs[0].shape) != 2:
        raise ValueError(f"A Q-network has one output (batch, num_actions). Received: model {model.name!r} with "
                         f"outputs {[tuple(o.shape) for o in model.outputs]}")
    info.update(_OBSERVATION_NAMES.get(info["env_id"], {}))
    return model, info


def _target_model(q_network, target):
    """The model whose outputs ``target`` explains: Q itself, V = max_a Q, or Q - mean_a Q."""
    import keras
    from keras import ops

    if target not in ("q", "advantage"):
        return q_network
    cache = q_network.__dict__.setdefault("_adl_target_models", {})
    if target not in cache:
        q = q_network.outputs[0]
        out = ops.max(q, axis=-1, keepdims=True) if target == "q" else q - ops.mean(q, axis=-1, keepdims=True)
        cache[target] = keras.Model(q_network.inputs, out, name=f"{q_network.name}_{target}")
    return cache[target]


def _check_target(target):
    if isinstance(target, str):
        if target not in AGENT_TARGETS:
            raise ValueError(f"target must be one of {AGENT_TARGETS} or an action index. Received: target={target!r}")
        return
    if isinstance(target, (bool, np.bool_)) or target is None:
        raise ValueError(f"target must be one of {AGENT_TARGETS} or an action index. Received: target={target!r}")


def explain_agent(agent_or_policy, observations, method="integrated-gradients", target="action", background=None,
                  **options):
    """Attributions of a Q-network's ``target`` to each observation element.

    Args:
        agent_or_policy: Keras 3 Q-network, :class:`adl_keras.rl.dqn.DQN`, zoo
            Q-network name, or TF-Agents agent / policy / Q-network.
        observations: ``(n, *observation_shape)`` or one observation.
        method: an :data:`adl_keras.explain.METHODS` name (default
            ``"integrated-gradients"``); ``"perturbation"`` is Greydanus et
            al.'s saliency (images: blurred Gaussian patches per channel;
            vectors: one feature at a time replaced by the background mean).
        target: ``"action"`` (default), ``"q"``, ``"advantage"``, an action
            index, or one action index per observation.
        background: ``(m, *observation_shape)`` states (SHAP methods need
            them; greedy-episode states are a good choice, see
            :func:`greedy_episodes`).
        **options: as for :func:`adl_keras.explain.explain`.

    Returns:
        Explanation; ``extras`` adds ``agent`` (what was explained),
        ``target``, ``q_values`` ``(n, A)`` and ``greedy_actions`` ``(n,)``.

    Example:
        >>> e = explain_agent("cnn_dqn.minatar_breakout", frames, "perturbation")
        >>> e.values.shape == frames.shape
        True
    """
    from adl_keras.explain.api import explain

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}. Received: method={method!r}")
    _check_target(target)
    q_network, info = q_network_of(agent_or_policy)
    x = _inputs.check_batch(observations, _inputs.model_input_shape(q_network), "observations")
    q_values = _inputs.forward(q_network)(x)
    greedy = np.argmax(q_values, axis=1)
    num_actions = q_values.shape[1]
    actions = list(info.get("action_names") or [f"action {a}" for a in range(num_actions)])
    if target == "q":
        targets, names = np.zeros(len(x), dtype=int), ["V(s) = max_a Q(s, a)"]
    elif target == "advantage":
        targets, names = greedy, [f"A(s, {a}) = Q - mean Q" for a in actions]
    else:
        targets = greedy if target == "action" else _inputs.resolve_targets(target, q_values)
        names = [f"Q(s, {a})" for a in actions]
    options.pop("output_names", None)
    if info.get("feature_names") and x.ndim == 2:
        options.setdefault("feature_names", info["feature_names"])
    if background is None and method in _NEEDS_BACKGROUND:
        raise ValueError(f"method={method!r} needs background= states (e.g. greedy_episodes(...)['observations']). "
                         f"Received: background=None")
    expl = explain(_target_model(q_network, target), x, method, background=background, target=targets,
                   output_names=names, **options)
    expl.extras.update(agent=info["source"], target=target if isinstance(target, str) else "action index",
                       q_values=q_values, greedy_actions=greedy, action_names=actions,
                       channel_names=info.get("channel_names"))
    return expl


# ------------------------------------------------------------------ observations
def greedy_episodes(agent_or_policy, env_id=None, episodes=1, seed=EPISODE_SEED, max_steps=None, every=1):
    """Observations of seeded greedy episodes, with Q-values and actions.

    Episode ``i`` resets with ``seed + i``; all episodes run in lockstep, one
    batched Q-network call per step, so the result is a deterministic
    function of the network.

    Args:
        agent_or_policy: as for :func:`explain_agent`.
        env_id: environment (default: the agent's own, known for zoo entries
            and DQN agents).
        episodes: int >= 1 (default 1).
        seed: first reset seed (default :data:`EPISODE_SEED`).
        max_steps: cap on steps per episode (default None: to the end).
        every: keep every ``every``-th state (default 1).

    Returns:
        dict: ``observations`` ``(N, *shape)``, ``episode`` and ``step``
        ``(N,)``, ``actions`` ``(N,)``, ``q_values`` ``(N, A)``, ``returns``
        ``(episodes,)``, ``env_id``.
    """
    from adl_keras.rl import envs as envs_lib

    for name, value, low in (("episodes", episodes, 1), ("every", every, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an int >= {low}. Received: {name}={value!r}")
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer))
                                  or max_steps < 1):
        raise ValueError(f"max_steps must be None or an int >= 1. Received: max_steps={max_steps!r}")
    q_network, info = q_network_of(agent_or_policy)
    env_id = env_id or info["env_id"]
    if env_id is None:
        raise ValueError("env_id is needed for this agent (it does not name its environment). Received: env_id=None")
    fwd = _inputs.forward(q_network)
    envs = [envs_lib.make_env(env_id)[0] for _ in range(episodes)]
    obs = np.stack([np.asarray(env.reset(seed=seed + i)[0], dtype="float32") for i, env in enumerate(envs)])
    alive = np.ones(episodes, dtype=bool)
    returns = np.zeros(episodes)
    rows = {"observations": [], "episode": [], "step": [], "actions": [], "q_values": []}
    t = 0
    while alive.any() and (max_steps is None or t < max_steps):
        idx = np.flatnonzero(alive)
        q = fwd(obs[idx])
        actions = q.argmax(axis=1)
        if t % every == 0:
            rows["observations"].append(obs[idx].copy())
            rows["episode"].append(idx)
            rows["step"].append(np.full(len(idx), t))
            rows["actions"].append(actions)
            rows["q_values"].append(q)
        for j, i in enumerate(idx):
            o, r, terminated, truncated, _ = envs[i].step(int(actions[j]))
            obs[i] = o
            returns[i] += r
            alive[i] = not (terminated or truncated)
        t += 1
    out = {k: np.concatenate(v) for k, v in rows.items()}
    order = np.lexsort((out["step"], out["episode"]))  # episode by episode, in time order
    out = {k: v[order] for k, v in out.items()}
    out.update(returns=returns, env_id=env_id)
    return out


# ------------------------------------------------------------------ faithfulness
def _element_scores(values):
    return np.asarray(values, dtype="float64").reshape(len(values), -1)


def _removed(x, chosen, baseline):
    """``x`` (n, F) with the elements ``chosen`` (n, ..., k) set to ``baseline`` (F,)."""
    out = np.repeat(x[:, None], chosen.shape[1], axis=1) if chosen.ndim == 3 else x.copy()
    if chosen.ndim == 3:  # (n, r, k): r removal sets per example
        n, r, _ = chosen.shape
        rows = np.arange(n)[:, None, None]
        sets = np.arange(r)[None, :, None]
        out[rows, sets, chosen] = baseline[chosen]
    else:
        out[np.arange(len(x))[:, None], chosen] = baseline[chosen]
    return out


def action_flip_rate(q_network, x, values, k=1, baseline=0.0, max_subsets=256, random_sets=64, seed=0,
                     batch_size=1024, tie_breaks=0):
    """Fraction of states whose greedy action changes when the ``k`` most-attributed
    input elements are removed, and the same for ``k`` random elements.

    The greedy action is argmax_a Q(s, a). "Removed" sets an element to
    ``baseline``. Elements are ranked by decreasing attribution (as in
    deletion curves). The random reference is exact (every k-subset of the
    F elements, uniformly) when C(F, k) <= ``max_subsets``, else the mean over
    ``random_sets`` seeded random k-subsets per state.

    Args:
        q_network: keras.Model ``(n, *shape) -> (n, A)``.
        x: ``(n, *shape)`` observations.
        values: attributions of ``x``'s shape.
        k: elements removed (int >= 1, at most the element count).
        baseline: a number or one observation's array (default 0.0).
        max_subsets: enumerate all subsets up to this many (default 256).
        random_sets: random subsets per state otherwise (default 64).
        seed: seeds the random subsets (default 0).
        batch_size: forward batch (default 1024).
        tie_breaks: 0 (default) takes tied elements in index order; r > 0
            averages over r uniformly random orders of the tied elements
            (:func:`adl_keras.explain.metrics.tie_broken_orders`), so
            ``flipped`` is then a per-state probability.

    Returns:
        dict: ``flip_rate``, ``random_flip_rate``, ``flipped`` ``(n,)`` bool (or probability),
        ``random_flipped`` ``(n,)`` per-state probability, ``k``, ``random`` ("exact" or "sampled").
    """
    from adl_keras.explain import metrics

    x = np.asarray(x, dtype="float32")
    values = np.asarray(values)
    if values.shape != x.shape:
        raise ValueError(f"values must have x's shape {x.shape}. Received: values.shape={values.shape}")
    n, shape = len(x), x.shape[1:]
    features = int(np.prod(shape))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= features:
        raise ValueError(f"k must be an int in [1, {features}]. Received: k={k!r}")
    base = np.broadcast_to(np.asarray(baseline, dtype="float32"), shape).reshape(-1)
    flat = x.reshape(n, -1)
    fwd = _inputs.forward(q_network, batch_size)
    greedy = fwd(x).argmax(axis=1)
    if isinstance(tie_breaks, bool) or not isinstance(tie_breaks, (int, np.integer)) or tie_breaks < 0:
        raise ValueError(f"tie_breaks must be an int >= 0. Received: tie_breaks={tie_breaks!r}")
    rng = np.random.default_rng(seed)
    top = [metrics.tie_broken_orders(row, tie_breaks, rng)[:, :k] for row in _element_scores(values)]
    draws = max(len(t) for t in top)
    top = np.stack([np.resize(t, (draws, k)) for t in top])                        # (n, r, k); one order = r copies
    removed = _removed(flat, top, base).reshape((n * draws,) + shape)
    flipped = (fwd(removed).argmax(axis=1).reshape(n, draws) != greedy[:, None]).mean(axis=1)
    flipped = flipped.astype(bool) if draws == 1 else flipped
    if comb(features, k) <= max_subsets:
        subsets = np.array(list(combinations(range(features), k)))                 # (S, k)
        chosen = np.broadcast_to(subsets[None], (n,) + subsets.shape)
        how = "exact"
    else:
        rng = np.random.default_rng(seed)
        chosen = np.argsort(rng.random((n, random_sets, features)), axis=2)[:, :, :k]  # k distinct elements
        how = "sampled"
    sets = chosen.shape[1]
    perturbed = _removed(flat, np.ascontiguousarray(chosen), base).reshape((n * sets,) + shape)
    random_flipped = (fwd(perturbed).argmax(axis=1).reshape(n, sets) != greedy[:, None]).mean(axis=1)
    return {"k": int(k), "flip_rate": float(flipped.mean()), "random_flip_rate": float(random_flipped.mean()),
            "flipped": flipped, "random_flipped": random_flipped, "random": how}


def random_reference(q_network, x, k=1, baseline=0.0, steps=None, random_orders=20, seed=0):
    """The random-attribution side of :func:`agent_faithfulness`, computed once per set of states.

    Returns:
        dict: ``random_deletion_auc``, ``random_insertion_auc`` (means over
        ``random_orders`` random orders, as
        :func:`adl_keras.explain.metrics.random_baseline_auc`), their standard
        errors over the orders (``random_deletion_auc_sem``, ...: how far a
        method's AUC must be from the reference to differ from it),
        ``random_flip_rate``, ``flip_reference``.
    """
    from adl_keras.explain import metrics

    x = np.asarray(x, dtype="float32")
    targets = _inputs.forward(q_network)(x).argmax(axis=1)
    kw = dict(baseline=baseline, steps=steps, kind="tabular")
    out = {}
    for mode in ("deletion", "insertion"):
        aucs = [metrics.deletion_insertion(q_network, x, metrics.random_attributions(x.shape, seed + r), targets,
                                           mode=mode, **kw)["auc"].mean() for r in range(int(random_orders))]
        out[f"random_{mode}_auc"] = float(np.mean(aucs))
        out[f"random_{mode}_auc_sem"] = float(np.std(aucs, ddof=1) / np.sqrt(len(aucs))) if len(aucs) > 1 else 0.0
    # the random flip rate does not depend on the attributions: any values of x's shape will do
    flips = action_flip_rate(q_network, x, np.zeros(x.shape, dtype="float32"), k=k, baseline=baseline, seed=seed)
    out.update(random_flip_rate=flips["random_flip_rate"], flip_reference=flips["random"])
    return out


def agent_faithfulness(q_network, x, values, k=1, baseline=0.0, steps=None, random_orders=20, seed=0,
                       reference=None, flip_values=None, tie_breaks=None):
    """Deletion / insertion AUCs of the greedy action's Q-value and the action
    flip rate, each beside its random-attribution reference.

    Input elements (every pixel of every channel, or every state variable)
    are removed one chunk at a time in order of decreasing attribution; the
    curve is Q(s~, a*) with a* the greedy action of the original state.
    Elements with tied attributions (Grad-CAM's zero map after its ReLU, a
    map shared by a pixel's channels, exact zeros of gradients) are taken
    in uniformly random order, averaged over ``tie_breaks`` orders: the
    index order would be a raster scan (top rows first) that no method gave.

    Args:
        q_network: keras.Model.
        x: ``(n, *shape)`` observations.
        values: attributions of ``x``'s shape.
        k: elements removed for the flip rate (default 1).
        baseline: removal value (default 0.0: no object in MinAtar, the
            upright centred cart in CartPole).
        steps: deletion chunks (default: one per element, at most 100).
        random_orders: random orders of the deletion reference (default 20).
        seed: default 0.
        reference: :func:`random_reference` of the same states and
            settings, to share between methods (default: computed here).
        flip_values: attributions that rank elements for the flip rate
            (default ``values``). The action is decided by the advantage
            Q(s, a*) - mean_a Q(s, a), not by Q(s, a*) alone, so attributions
            of ``target="advantage"`` are the ones to test against flips.
        tie_breaks: random orders of tied elements averaged over (default
            ``random_orders``, as many as the random reference; 0 takes
            ties in index order).

    Returns:
        dict of floats: ``deletion_auc``, ``random_deletion_auc``,
        ``insertion_auc``, ``random_insertion_auc``, ``flip_rate``,
        ``random_flip_rate``, ``k``, plus ``beats_random`` (lower deletion,
        higher insertion and higher flip rate than random: all three).
    """
    from adl_keras.explain import metrics

    x = np.asarray(x, dtype="float32")
    targets = _inputs.forward(q_network)(x).argmax(axis=1)
    tie_breaks = random_orders if tie_breaks is None else tie_breaks
    kw = dict(baseline=baseline, steps=steps, kind="tabular")  # element-wise: every channel of every pixel
    if reference is None:
        reference = random_reference(q_network, x, k, baseline, steps, random_orders, seed)
    out = {}
    for mode in ("deletion", "insertion"):
        out[f"{mode}_auc"] = float(metrics.deletion_insertion(q_network, x, values, targets, mode=mode,
                                                               tie_breaks=tie_breaks, seed=seed, **kw)["auc"].mean())
        out[f"random_{mode}_auc"] = float(reference[f"random_{mode}_auc"])
        if f"random_{mode}_auc_sem" in reference:
            out[f"random_{mode}_auc_sem"] = float(reference[f"random_{mode}_auc_sem"])
    flips = action_flip_rate(q_network, x, values if flip_values is None else flip_values, k=k, baseline=baseline,
                             seed=seed, tie_breaks=tie_breaks)
    out.update(flip_rate=flips["flip_rate"], random_flip_rate=float(reference["random_flip_rate"]), k=int(k),
               flip_reference=reference["flip_reference"])
    out["beats_random"] = bool(out["deletion_auc"] < out["random_deletion_auc"]
                               and out["insertion_auc"] > out["random_insertion_auc"]
                               and out["flip_rate"] > out["random_flip_rate"])
    return out


# ------------------------------------------------------------------ cards
def render_card_section(section):
    """Markdown lines of a card's ``explainability`` record."""
    lines = ["## Explainability (faithfulness of attributions)", "", section.get("description", ""), "",
             f"k = {section['k']} element(s) removed for the flip rate; removed elements are set to "
             f"{section['baseline']}" + (f"; {section['ties']}" if section.get("ties") else "") + ".", "",
             "| method | deletion AUC (random) | insertion AUC (random) | flip rate (random) | beats random |",
             "| --- | --- | --- | --- | --- |"]
    for method, r in section["methods"].items():
        lines.append(f"| {method} | {r['deletion_auc']:.4g} ({r['random_deletion_auc']:.4g}) | "
                     f"{r['insertion_auc']:.4g} ({r['random_insertion_auc']:.4g}) | "
                     f"{r['flip_rate']:.3f} ({r['random_flip_rate']:.3f}) | {verdict(r)} |")
    lines += ["", f"Reproduce: `{section['command']}`"]
    return lines


def auc_margins(row):
    """(deletion, insertion) margins over random in standard errors of the random reference, or None."""
    if "random_deletion_auc_sem" not in row:
        return None
    return ((row["random_deletion_auc"] - row["deletion_auc"]) / max(row["random_deletion_auc_sem"], 1e-12),
            (row["insertion_auc"] - row["random_insertion_auc"]) / max(row["random_insertion_auc_sem"], 1e-12))


def verdict(row):
    """"yes", "NO", or "no: ahead only within noise (...)" for one method's
    faithfulness ``row``: a win counts only when both AUC margins over random
    are at least ``NOISE_SEM`` standard errors of the random reference."""
    if not row["beats_random"]:
        return "NO"
    margins = auc_margins(row)
    if margins is not None and min(margins) < NOISE_SEM:
        return f"no: ahead only within noise (AUC margins {margins[0]:.1f} / {margins[1]:.1f} s.e.)"
    return "yes"


def write_card_section(name, section, root=None):
    """Stores ``section`` as the ``explainability`` record of entry ``name``'s
    meta.json and re-renders its README card; the weights are untouched."""
    from adl_keras.zoo import cards, store

    meta = cards.read_meta(name, root)
    if meta is None:
        raise ValueError(f"Zoo entry {name!r} has no card in {cards.entry_dir(name, root)}. Received: name={name!r}")
    meta["explainability"] = cards._jsonable(section)
    folder = cards.entry_dir(name, root)
    store.atomic_write_bytes(folder / cards.META_FILE, (json.dumps(meta, indent=2) + "\n").encode())
    store.atomic_write_bytes(folder / cards.CARD_FILE, cards.render_card(meta).encode())
    return meta


# ------------------------------------------------------------------ episodes as pictures
def plot_episode_frames(expl, folder, step_labels=None, fps=4):
    """One PNG per observation of ``expl`` and an animated GIF of them.

    Images (MinAtar): one panel per channel, the channel's map in grey under
    its attribution (red supports the explained Q-value, blue opposes it; one
    colour scale for the whole episode). Vectors (CartPole): a bar per state
    variable on a fixed axis.

    Args:
        expl: an agent :class:`Explanation` (from :func:`explain_agent`).
        folder: existing folder to write ``frame_000.png``... and ``episode.gif``.
        step_labels: label per frame (default the index).
        fps: GIF frames per second (default 4).

    Returns:
        (list of PNG paths, GIF path).
    """
    from PIL import Image

    from adl_keras.explain.plots import _pyplot

    plt = _pyplot()
    folder = Path(folder)
    values, data = np.asarray(expl.values), np.asarray(expl.data)
    lim = float(np.abs(values).max()) or 1.0
    actions = expl.extras.get("action_names") or []
    greedy = expl.extras.get("greedy_actions", expl.targets)
    labels = step_labels if step_labels is not None else range(len(values))
    pngs = []
    if expl.kind == "image":
        channels = data.shape[-1]
        names = expl.extras.get("channel_names") or [f"channel {c}" for c in range(channels)]
        fig, axes = plt.subplots(1, channels, figsize=(2.3 * channels, 3), squeeze=False)
        ims = []
        for c, ax in enumerate(axes[0]):
            ims.append((ax.imshow(data[0, ..., c], cmap="gray", vmin=0, vmax=1),
                        ax.imshow(values[0, ..., c], cmap="RdBu_r", vmin=-lim, vmax=lim, alpha=0.7)))
            ax.set_title(names[c], fontsize=8)
            ax.axis("off")
        fig.colorbar(ims[-1][1], ax=list(axes[0]), fraction=0.02)
        for i, label in enumerate(labels):
            for c, (frame_im, heat_im) in enumerate(ims):
                frame_im.set_data(data[i, ..., c])
                heat_im.set_data(values[i, ..., c])
            fig.suptitle(_frame_title(expl, i, label, actions, greedy), fontsize=8)
            pngs.append(folder / f"frame_{i:03d}.png")
            fig.savefig(pngs[-1], dpi=80)
    else:
        flat = values.reshape(len(values), -1)
        names = expl.feature_names or [f"x{j}" for j in range(flat.shape[1])]
        fig, ax = plt.subplots(figsize=(5.5, 3))
        bars = ax.barh(range(len(names)), flat[0])
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.set_xlim(-lim * 1.05, lim * 1.05)
        ax.axvline(0, color="k", lw=0.5)
        ax.set_xlabel(f"{expl.method} attribution", fontsize=8)
        fig.subplots_adjust(left=0.3, top=0.82, bottom=0.17)
        for i, label in enumerate(labels):
            for bar, v in zip(bars, flat[i]):
                bar.set_width(v)
                bar.set_color("#d62728" if v > 0 else "#1f77b4")
            fig.suptitle(_frame_title(expl, i, label, actions, greedy), fontsize=8)
            pngs.append(folder / f"frame_{i:03d}.png")
            fig.savefig(pngs[-1], dpi=80)
    plt.close(fig)
    frames = [Image.open(p).convert("RGB") for p in pngs]
    gif = folder / "episode.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0)
    return pngs, gif


def _frame_title(expl, i, label, actions, greedy):
    a = int(greedy[i])
    name = actions[a] if a < len(actions) else str(a)
    return f"step {label}: greedy action {name}\n{expl.output_names[i]} = {expl.output_values[i]:.3f} ({expl.method})"


def explain_episode(agent_or_policy, out, method="integrated-gradients", target="action", env_id=None,
                    seed=EPISODE_SEED, max_steps=50, overwrite=False, fps=4, **options):
    """Explains every state of one seeded greedy episode and writes the pictures.

    ``out`` gets ``frame_000.png``..., ``episode.gif`` and ``summary.json``.
    The folder is written beside ``out`` and renamed into place, so ``out``
    holds a complete result or its previous content; a non-empty ``out`` is
    refused unless ``overwrite=True``.

    Args:
        agent_or_policy: as for :func:`explain_agent`.
        out: output folder.
        method, target: as for :func:`explain_agent`.
        env_id: default the agent's environment.
        seed: reset seed of the episode (default :data:`EPISODE_SEED`).
        max_steps: states explained, from the start (default 50).
        overwrite: replace a non-empty ``out`` (default False).
        fps: GIF speed (default 4).
        **options: explain options; SHAP methods get a background of
            greedy-episode states (seeds :data:`BACKGROUND_SEED`+) unless
            ``background=`` is given.

    Returns:
        dict: the summary written to ``summary.json`` (paths are file names in ``out``).
    """
    from adl_keras.zoo import store

    out = check_out_dir(out, overwrite)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}. Received: method={method!r}")
    _check_target(target)
    episode = greedy_episodes(agent_or_policy, env_id, episodes=1, seed=seed, max_steps=max_steps)
    if method in _NEEDS_BACKGROUND and options.get("background") is None:
        options["background"] = greedy_episodes(agent_or_policy, episode["env_id"], episodes=2,
                                                seed=BACKGROUND_SEED, max_steps=max_steps, every=2)["observations"]
    expl = explain_agent(agent_or_policy, episode["observations"], method, target, **options)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        os.chmod(stage, 0o777 & ~store._umask())  # mkdtemp makes 0700; the result is a normal folder
        pngs, gif = plot_episode_frames(expl, stage, episode["step"], fps=fps)
        summary = {
            "agent": expl.extras["agent"], "env_id": episode["env_id"], "seed": int(seed), "method": expl.method,
            "target": expl.extras["target"], "steps": int(len(pngs)), "return": float(episode["returns"][0]),
            "actions": [expl.extras["action_names"][a] for a in episode["actions"]],
            "explained": list(expl.output_names), "explained_values": expl.output_values.tolist(),
            "frames": [p.name for p in pngs], "gif": gif.name,
        }
        (stage / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if out.is_dir():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / "previous")
            os.replace(stage, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(stage, out)
        store.fsync_dir(out.parent)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return summary

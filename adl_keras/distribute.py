"""Training on several devices and machines with TensorFlow's own engine.

``get_strategy()`` returns the ``tf.distribute`` strategy a run should use:
``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names a cluster,
``MirroredStrategy`` when the host has several accelerators, else the
default strategy. Build and compile the model under ``strategy.scope()`` and
call ``fit`` as usual; every zoo recipe does this through ``zoo.train(...,
strategy=...)`` and ``adl-zoo train NAME --workers N``.

Semantics (the same as Keras' and TensorFlow's): ``batch_size`` is the
*global* batch. With N workers each reads a disjoint shard of every global
batch (worker r gets rows ``[r*b, (r+1)*b)``, ``b = batch_size / N``,
TensorFlow's ``AutoShardPolicy.DATA``), gradients are averaged over the global
batch by an all-reduce, and every worker applies the same update. So the
learning rate needs no change: N workers at global batch B take the same step
as one process at batch B, and a recipe's numbers do not depend on N.

Keras 3.15 (tested with TensorFlow 2.21) cannot ``fit`` under
``MultiWorkerMirroredStrategy`` (keras-team/keras#20585,
tensorflow/tensorflow#72388). :func:`fix_keras_multi_worker` patches the two
places that break, only for the collective multi-worker strategy:

1. ``TensorFlowTrainer._maybe_symbolic_build`` averages the first distributed
   batch with ``strategy.reduce("MEAN", batch)`` only to learn its shapes; the
   collective strategy cannot reduce a ``PerReplica`` of inputs eagerly
   (``ValueError: Attempt to convert a value (PerReplica...)``). The patch
   builds from the first local replica's batch, which has the same structure.
2. ``reduce_per_replica(..., "mean")`` calls ``strategy.reduce("MEAN", v,
   axis=0)`` on the scalar logs of every step (``Invalid reduction dimension 0
   for input with 0 dimensions``). The patch reduces across replicas only
   (``axis=None``), as the single-host branch of the same function does.

Example:
    >>> from adl_keras import distribute
    >>> strategy = distribute.get_strategy()          # reads TF_CONFIG
    >>> with strategy.scope():
    ...     model = zoo.load_model("lenet5.digits", pretrained=False)
    ...     model.compile("adam", "sparse_categorical_crossentropy")
    >>> model.fit(x, y, batch_size=64)                 # global batch 64
"""

import contextlib
import json
import os
import socket
import sys

__all__ = [
    "ClusterSpec",
    "connect_timeout",
    "fix_keras_multi_worker",
    "get_strategy",
    "is_chief",
    "parse_tf_config",
    "worker_count",
]

KINDS = ("auto", "default", "mirrored", "multi_worker")
# Keras versions the multi-worker patch was written and tested for; newer
# versions are left alone (drop the patch once keras-team/keras#20585 closes).
KERAS_FIX_VERSIONS = ((3, 0), (3, 16))
CONNECT_TIMEOUT_ENV = "ADL_KERAS_CONNECT_TIMEOUT"
DEFAULT_CONNECT_TIMEOUT = 120.0


class ClusterSpec(dict):
    """The validated ``TF_CONFIG``: ``cluster`` (job -> addresses) and ``task``."""

    @property
    def task_type(self):
        return self["task"]["type"]

    @property
    def task_index(self):
        return self["task"]["index"]

    @property
    def num_workers(self):
        return sum(len(v) for job, v in self["cluster"].items() if job in ("chief", "worker"))

    @property
    def address(self):
        return self["cluster"][self.task_type][self.task_index]

    def peers(self):
        """(job, index, address) of every other chief/worker task."""
        return [(job, i, addr) for job in ("chief", "worker") for i, addr in enumerate(self["cluster"].get(job, []))
                if (job, i) != (self.task_type, self.task_index)]


def parse_tf_config(value=None):
    """Parses and validates ``TF_CONFIG`` (the environment's, or ``value``).

    Args:
        value: a JSON string or dict, or None to read ``os.environ["TF_CONFIG"]``.

    Returns:
        ClusterSpec, or None when no cluster is configured.

    Raises:
        ValueError: naming the field and the value received, for malformed
            JSON, a missing ``cluster``/``task``, an unknown job, an index out
            of range or an address listed twice.
    """
    if value is None:
        value = os.environ.get("TF_CONFIG", "")
        if not value.strip():
            return None
    if isinstance(value, str):
        try:
            config = json.loads(value)
        except json.JSONDecodeError as err:
            raise ValueError(f"TF_CONFIG is not valid JSON ({err.msg} at char {err.pos}). "
                             f"Received: TF_CONFIG={value!r}") from None
    else:
        config = value
    if not isinstance(config, dict):
        raise ValueError(f"TF_CONFIG must be a JSON object. Received: TF_CONFIG={value!r}")
    cluster = config.get("cluster")
    if not isinstance(cluster, dict) or not cluster:
        raise ValueError("TF_CONFIG needs a non-empty 'cluster' object mapping job names to address lists. "
                         f"Received: cluster={cluster!r}")
    seen = {}
    for job, addresses in cluster.items():
        if job not in ("chief", "worker", "evaluator", "ps"):
            raise ValueError(f"TF_CONFIG cluster jobs must be 'chief', 'worker', 'evaluator' or 'ps'. "
                             f"Received: cluster[{job!r}]")
        if not isinstance(addresses, list) or not addresses or not all(
                isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses):
            raise ValueError(f"TF_CONFIG cluster[{job!r}] must be a non-empty list of 'host:port' strings. "
                             f"Received: cluster[{job!r}]={addresses!r}")
        for i, address in enumerate(addresses):
            if address in seen:
                raise ValueError(f"TF_CONFIG lists address {address!r} twice: cluster[{seen[address][0]!r}]"
                                 f"[{seen[address][1]}] and cluster[{job!r}][{i}].")
            seen[address] = (job, i)
    if "ps" in cluster:
        raise ValueError("adl_keras trains with MultiWorkerMirroredStrategy, which has no parameter servers. "
                         f"Received: cluster['ps']={cluster['ps']!r}")
    if len(cluster.get("chief", [])) > 1:
        raise ValueError(f"TF_CONFIG may list at most one chief. Received: cluster['chief']={cluster['chief']!r}")
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise ValueError(f"TF_CONFIG needs a 'task' object with 'type' and 'index'. Received: task={task!r}")
    if task["type"] not in cluster:
        raise ValueError(f"TF_CONFIG task type must be a job of the cluster ({', '.join(cluster)}). "
                         f"Received: task.type={task['type']!r}")
    index = task["index"]
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cluster[task["type"]]):
        raise ValueError(f"TF_CONFIG task.index must be an int in [0, {len(cluster[task['type']])}) for job "
                         f"{task['type']!r}. Received: task.index={index!r}")
    return ClusterSpec(cluster=cluster, task={"type": task["type"], "index": index})


def worker_count(strategy=None):
    """How many worker processes take part (1 without a cluster)."""
    if strategy is not None:
        extended = getattr(strategy, "extended", None)
        spec = getattr(getattr(extended, "_cluster_resolver", None), "cluster_spec", None)
        if spec is not None:
            jobs = spec().as_dict()
            return max(1, sum(len(jobs.get(job, [])) for job in ("chief", "worker")))
        return 1
    spec = parse_tf_config()
    return spec.num_workers if spec else 1


def strategy_name(strategy):
    """The public ``tf.distribute`` name of ``strategy`` (e.g. ``MultiWorkerMirroredStrategy``)."""
    import tensorflow as tf

    for name in ("MultiWorkerMirroredStrategy", "MirroredStrategy", "TPUStrategy", "OneDeviceStrategy"):
        if isinstance(strategy, getattr(tf.distribute, name)):
            return name
    return type(strategy).__name__


def xla_supported(strategy=None):
    """Whether ``jit_compile=True`` can train under ``strategy`` (default: the current one).

    TensorFlow has no XLA collectives on CPU ("Collectives are not yet
    implemented for CPU devices when compiling with XLA"), so a multi-worker
    run on CPUs must train without XLA; recipes that ask for XLA use this.
    """
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    if strategy.num_replicas_in_sync == 1 and worker_count(strategy) == 1:
        return True
    return bool(_local_accelerators())


def steps_per_execution(requested, strategy=None):
    """``requested``, or 1 under a multi-worker strategy.

    Keras 3.15 runs ``steps_per_execution > 1`` as a ``tf.while_loop`` over
    ``get_next_as_optional`` inside one ``tf.function``; with the collective
    all-reduce of ``MultiWorkerMirroredStrategy`` in that loop, TensorFlow
    2.21 fails with "You must feed a value for placeholder tensor
    'while/.../Placeholder'". One step per call trains identically (the same
    steps in the same order), only with more Python dispatch.
    """
    import tensorflow as tf

    strategy = strategy or tf.distribute.get_strategy()
    return 1 if worker_count(strategy) > 1 else requested


def is_chief(spec=None):
    """Whether this process writes the run's outputs: the ``chief`` task, or
    worker 0 when the cluster has no chief, or any process without a cluster."""
    spec = parse_tf_config() if spec is None else spec
    if not spec:
        return True
    if spec.task_type == "chief":
        return True
    return spec.task_type == "worker" and spec.task_index == 0 and "chief" not in spec["cluster"]


def connect_timeout():
    """Seconds a worker waits for its peers (``ADL_KERAS_CONNECT_TIMEOUT``, default 120)."""
    raw = os.environ.get(CONNECT_TIMEOUT_ENV)
    if raw is None or raw == "":
        return DEFAULT_CONNECT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"{CONNECT_TIMEOUT_ENV} must be a number of seconds > 0. "
                         f"Received: {CONNECT_TIMEOUT_ENV}={raw!r}")
    return value


_WATCHDOG = r"""
import os, select, signal, socket, sys
pid, timeout, who = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
ready, _, _ = select.select([sys.stdin], [], [], timeout)
if ready:
    sys.exit(0)  # the parent formed the cluster (or exited): nothing to do
missing = []
for peer in sys.argv[4:]:
    name, _, address = peer.partition("=")
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=1.0).close()
    except OSError:
        missing.append(f"{name} at {address}")
sys.stderr.write(
    f"adl_keras.distribute: {who} could not form the cluster within {timeout:g} s; unreachable: "
    + (", ".join(missing) or "none (the peers answered TCP but never joined the cluster)")
    + ". Start every task with the same TF_CONFIG cluster, or raise ADL_KERAS_CONNECT_TIMEOUT.\n")
sys.stderr.flush()
os.kill(pid, signal.SIGKILL)
"""


@contextlib.contextmanager
def _peer_watchdog(spec, timeout):
    """Ends this process with a message naming the unreachable peers if the
    cluster has not formed within ``timeout`` seconds.

    TensorFlow waits inside the strategy's constructor, in C++ and without
    releasing the interpreter, until every task has registered; no Python
    thread or signal handler runs meanwhile and SIGTERM is not honoured. So a
    separate watchdog process names the missing peers and ends this one
    (SIGKILL). It exits by itself as soon as the cluster forms.
    """
    import subprocess

    peers = [f"{job}[{i}]={addr}" for job, i, addr in spec.peers()]
    who = f"{spec.task_type}[{spec.task_index}] ({spec.address})"
    watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(timeout), who, *peers],
                                stdin=subprocess.PIPE)
    try:
        yield
    finally:
        watchdog.stdin.close()
        watchdog.wait()


def _keras_version():
    import keras

    return tuple(int(p) for p in keras.__version__.split(".")[:2])


_FIX_INSTALLED = []


def fix_keras_multi_worker():
    """Makes Keras 3 ``fit``/``evaluate``/``predict`` work under
    ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585). Idempotent.

    Only Keras versions in ``KERAS_FIX_VERSIONS`` are patched and only the
    collective multi-worker strategy takes the new branches; every other
    strategy runs Keras' code unchanged.

    Returns:
        True if the patch is (now) installed, False on an untested Keras version.
    """
    if _FIX_INSTALLED:
        return True
    low, high = KERAS_FIX_VERSIONS
    if not low <= _keras_version() < high:
        return False
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer

    import tensorflow as tf

    stock_build = tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    stock_reduce = tf_trainer.reduce_per_replica
    multi_worker = tf_trainer._collective_all_reduce_multi_worker

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if strategy is None or iterator is None or not multi_worker(strategy):
            return stock_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:
            batch = next(it)
            break
        # Shapes and dtypes are all the build needs: one replica's batch has them.
        batch = tree.map_structure(
            lambda v: strategy.experimental_local_results(v)[0]
            if isinstance(v, tf.distribute.DistributedValues) else v, batch)
        return stock_build(self, data_batch=batch)

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and multi_worker(strategy):
            return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return stock_reduce(values, strategy, reduction)

    tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    tf_trainer.reduce_per_replica = reduce_per_replica
    _FIX_INSTALLED.append((stock_build, stock_reduce))
    return True


def _remove_keras_fix():
    """Restores Keras' own functions (for the regression test)."""
    from keras.src.backend.tensorflow import trainer as tf_trainer

    if _FIX_INSTALLED:
        stock_build, stock_reduce = _FIX_INSTALLED.pop()
        tf_trainer.TensorFlowTrainer._maybe_symbolic_build = stock_build
        tf_trainer.reduce_per_replica = stock_reduce


def _local_accelerators():
    import tensorflow as tf

    return [d.name for d in tf.config.list_logical_devices() if d.device_type in ("GPU", "TPU")]


def get_strategy(kind="auto", *, tf_config=None, connect_timeout_s=None, fix_keras=True,
                 communication_options=None):
    """The ``tf.distribute`` strategy to train under.

    Args:
        kind: ``"auto"`` (default): ``"multi_worker"`` when ``TF_CONFIG`` names
            a cluster, ``"mirrored"`` when several local accelerators exist,
            else ``"default"``. ``"default"``: no distribution.
            ``"mirrored"``: ``MirroredStrategy`` over the local devices.
            ``"multi_worker"``: ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``.
        tf_config: a ``TF_CONFIG`` JSON string or dict to use instead of the
            environment's (it is validated and exported to the environment,
            where TensorFlow reads it).
        connect_timeout_s: seconds to wait for every peer to join before the
            process ends with a message naming the unreachable addresses
            (default ``ADL_KERAS_CONNECT_TIMEOUT`` or 120).
        fix_keras: install :func:`fix_keras_multi_worker` for multi-worker
            strategies (default True).
        communication_options: a ``tf.distribute.experimental.CommunicationOptions``
            for the multi-worker all-reduce (e.g. ``bytes_per_pack`` to split
            the gradients into packs whose all-reduce overlaps the rest of the
            backward pass), or None for TensorFlow's defaults (one pack).

    Returns:
        tf.distribute.Strategy.

    Raises:
        ValueError: for an unknown ``kind`` or an invalid ``TF_CONFIG``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}. Received: kind={kind!r}")
    spec = parse_tf_config(tf_config)
    timeout = connect_timeout() if connect_timeout_s is None else connect_timeout_s
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ValueError(f"connect_timeout_s must be a number of seconds > 0. "
                         f"Received: connect_timeout_s={connect_timeout_s!r}")
    import tensorflow as tf

    if kind == "auto":
        if spec is not None and spec.num_workers > 1:
            kind = "multi_worker"
        elif len(_local_accelerators()) > 1:
            kind = "mirrored"
        else:
            kind = "default"
    if communication_options is not None and not isinstance(
            communication_options, tf.distribute.experimental.CommunicationOptions):
        raise ValueError("communication_options must be a tf.distribute.experimental.CommunicationOptions. "
                         f"Received: communication_options={communication_options!r}")
    if kind == "default":
        return tf.distribute.get_strategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    if spec is None:
        raise ValueError("kind='multi_worker' needs TF_CONFIG naming the cluster and this task, e.g. "
                         '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                         '"index": 0}}. Received: TF_CONFIG unset.')
    if tf_config is not None:
        os.environ["TF_CONFIG"] = json.dumps(dict(spec))
    if fix_keras:
        fix_keras_multi_worker()
    guard = _peer_watchdog(spec, timeout) if timeout else contextlib.nullcontext()
    with guard:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=communication_options)
    return strategy


# ---------------------------------------------------------------- recipe runs
class RecipeRun:
    """One ``zoo.train`` run under a strategy: where its ``fit`` calls back up.

    Every ``fit`` of a recipe (``fit_classifier``, ``fine_tune``'s two phases,
    ``train_gan``) asks :meth:`fit_backup_dir` for its own folder, so that a
    restarted run restores each phase from its own ``BackupAndRestore`` state.
    Each worker backs up into its own sub-folder (``worker-I``): Keras'
    ``BackupAndRestore`` has no chief logic, and the workers' states are
    identical after every synchronous step.
    """

    def __init__(self, strategy=None, backup_dir=None):
        self.strategy = strategy
        self.backup_dir = None if backup_dir is None else os.fspath(backup_dir)
        self._fits = 0
        self.resumed_epochs = []  # per fit: epochs restored from a backup (0: started afresh)

    def fit_backup_dir(self):
        """A fresh per-fit backup folder, or None when the run has no backup_dir.

        Before the folder is handed out the workers agree on the epoch to
        resume from (the newest one all of them hold) and drop newer local
        backups, so a data pipeline built from :func:`backup_epoch` starts at
        the epoch that ``fit`` restores.
        """
        if self.backup_dir is None:
            return None
        from adl_keras import _backup

        spec = parse_tf_config()
        task = f"{spec.task_type}-{spec.task_index}" if spec else "worker-0"
        path = os.path.join(self.backup_dir, task, f"fit-{self._fits}")
        self._fits += 1
        self.resumed_epochs.append(_backup.agree_and_prune(os.path.join(path, "keras"), self.strategy))
        return path


_RUNS = []


def current_run():
    """The innermost active :func:`recipe_run`, or None."""
    return _RUNS[-1] if _RUNS else None


@contextlib.contextmanager
def recipe_run(strategy=None, backup_dir=None):
    """Runs a zoo recipe under ``strategy.scope()`` with resumable ``fit`` calls.

    Args:
        strategy: a ``tf.distribute.Strategy`` or None (the default strategy).
        backup_dir: folder for ``keras.callbacks.BackupAndRestore`` state, or
            None for no backups. A run killed part-way and started again with
            the same arguments resumes from the last completed epoch.

    Yields:
        RecipeRun.
    """
    run = RecipeRun(strategy, backup_dir)
    _RUNS.append(run)
    try:
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            yield run
    finally:
        _RUNS.remove(run)


def backup_callbacks():
    """``[BackupAndRestore]`` for the next ``fit`` of the active :func:`recipe_run`
    when it has a ``backup_dir``, else ``[]``. Recipes add these to their ``fit``.

    The callback is :class:`adl_keras._backup.ConsistentBackupAndRestore`:
    Keras' ``BackupAndRestore`` with backups written whole (a killed save
    leaves the previous one) and, under several workers, restored from the
    newest epoch every worker holds.
    """
    run = current_run()
    path = run.fit_backup_dir() if run is not None else None
    if path is None:
        return []
    from adl_keras import _backup

    return [_backup.ConsistentBackupAndRestore(os.path.join(path, "keras"))]


def backup_epoch(backup_dir):
    """Epochs completed according to a backup folder (0 if none)."""
    if backup_dir is None:
        return 0
    from adl_keras import _backup

    return max(_backup.snapshot_epochs(backup_dir), default=0)


def epoch_ordered_dataset(x, y, batch_size, seed, epochs, initial_epoch=0):
    """Batches of ``(x, y)`` whose order in epoch e depends only on ``(seed, e)``.

    Keras shuffles arrays with a random stream that restarts with the process,
    so a run resumed at epoch k would see epoch 0's order again. Here epoch
    e is a stateless permutation keyed by ``(seed, e)`` and the dataset starts
    at ``initial_epoch``: a resumed run sees exactly the batches an
    uninterrupted one would.

    Returns:
        (tf.data.Dataset, steps_per_epoch); pass ``steps_per_epoch`` to ``fit``.
    """
    import numpy as np
    import tensorflow as tf

    x, y = np.asarray(x), np.asarray(y)
    n = len(x)
    steps = -(-n // batch_size)
    xs, ys = tf.constant(x), tf.constant(y)

    def epoch(e):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), e]))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    ds = tf.data.Dataset.range(initial_epoch, epochs).flat_map(epoch)
    ds = ds.map(lambda i: (tf.gather(xs, i), tf.gather(ys, i)))
    return ds.prefetch(2), steps


def resumable_callbacks(backup_dir, early_stopping=None):
    """A backup callback for ``backup_dir`` plus, when given, an
    ``EarlyStopping`` whose best weights and patience counter are saved in
    each backup and restored with it.

    Args:
        backup_dir: the fit's backup folder (:meth:`RecipeRun.fit_backup_dir`).
        early_stopping: dict of ``keras.callbacks.EarlyStopping`` arguments, or None.

    Returns:
        ``[early_stopping, backup]`` (or ``[backup]``): early stopping comes
        first so that its state is updated before the backup saves it at the
        end of an epoch, and the backup restores it after early stopping has
        reset itself at the start of ``fit``.
    """
    import keras
    import numpy as np

    from adl_keras import _backup

    if early_stopping is None:
        return [_backup.ConsistentBackupAndRestore(os.path.join(backup_dir, "keras"))]

    class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
        """EarlyStopping whose state travels with the backups."""

        def backup_state(self):
            best = None if self.best is None else float(self.best)
            weights = [] if self.best_weights is None else [np.asarray(w) for w in self.best_weights]
            return {"wait": self.wait, "best_epoch": self.best_epoch, "best": best,
                    "stopped_epoch": self.stopped_epoch}, weights

        def restore_state(self, state, arrays):
            self.wait, self.best_epoch, self.stopped_epoch = state["wait"], state["best_epoch"], state["stopped_epoch"]
            if state["best"] is not None:
                self.best = state["best"]
            self.best_weights = list(arrays) if arrays else None

    stop = ResumableEarlyStopping(**early_stopping)
    return [stop, _backup.ConsistentBackupAndRestore(os.path.join(backup_dir, "keras"), state_callbacks=[stop])]


# ---------------------------------------------------------------- local launch
THREADS_ENV = "ADL_KERAS_THREADS"


def configure_threads(threads=None):
    """Sets TensorFlow's intra- and inter-op thread pools (before any op runs).

    Args:
        threads: int >= 1, or None to read ``ADL_KERAS_THREADS`` (unset: leave
            TensorFlow's defaults).
    """
    if threads is None:
        raw = os.environ.get(THREADS_ENV, "")
        if not raw:
            return
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"{THREADS_ENV} must be an int >= 1. Received: {THREADS_ENV}={raw!r}")
        threads = int(raw)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an int >= 1. Received: threads={threads!r}")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def free_local_addresses(count):
    """``count`` distinct ``127.0.0.1:PORT`` addresses that were free just now."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [f"127.0.0.1:{s.getsockname()[1]}" for s in socks]
    finally:
        for s in socks:
            s.close()


def local_tf_configs(num_workers):
    """TF_CONFIG JSON strings of a ``num_workers`` cluster on 127.0.0.1."""
    addresses = free_local_addresses(num_workers)
    return [json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": i}})
            for i in range(num_workers)]


def launch_local_workers(args, num_workers, *, threads=1, log_dir=None, poll_s=0.2):
    """Runs ``python -m adl_keras.cli ARGS`` as a cluster of local worker processes.

    For trying multi-worker training on one machine: each worker gets its own
    ``TF_CONFIG`` on a free 127.0.0.1 port and ``threads`` TensorFlow threads.
    The chief's output goes to this process's stdout/stderr; the others' to
    ``log_dir/worker-I.log``. If any worker fails, the rest are stopped and
    the failing worker's last lines are reported.

    Args:
        args: CLI arguments for each worker (without ``--workers``).
        num_workers: int >= 1.
        threads: TensorFlow threads per worker (default 1).
        log_dir: folder for the non-chief logs (default: a temporary folder).

    Returns:
        int exit code: 0 when every worker succeeded, else the first failure's.
    """
    import subprocess
    import tempfile
    import time

    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise ValueError(f"num_workers must be an int >= 1. Received: num_workers={num_workers!r}")
    log_dir = log_dir or tempfile.mkdtemp(prefix="adl_keras-workers-")
    os.makedirs(log_dir, exist_ok=True)
    procs, logs = [], []
    for i, config in enumerate(local_tf_configs(num_workers)):
        env = {**os.environ, "TF_CONFIG": config, THREADS_ENV: str(threads)}
        if i == 0:
            out = None
        else:
            out = open(os.path.join(log_dir, f"worker-{i}.log"), "w", encoding="utf-8")
            logs.append(out)
        procs.append(subprocess.Popen([sys.executable, "-m", "adl_keras.cli", *args], env=env,
                                      stdout=out, stderr=subprocess.STDOUT if out else None))
    try:
        while True:
            codes = [p.poll() for p in procs]
            failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                index, code = failed[0]
                for p in procs:
                    if p.poll() is None:
                        p.kill()
                tail = ""
                if index > 0:
                    with open(os.path.join(log_dir, f"worker-{index}.log"), encoding="utf-8",
                              errors="replace") as f:
                        tail = "".join(f.readlines()[-15:])
                sys.stderr.write(f"adl-zoo: worker {index} exited with code {code}; stopped the others.\n{tail}")
                return code
            if all(c == 0 for c in codes):
                return 0
            time.sleep(poll_s)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for f in logs:
            f.close()


# ---------------------------------------------------------------- Ray Train
def ray_train_loop(config):
    """``train_loop_per_worker`` for Ray Train's ``TensorflowTrainer``.

    Ray starts the workers and sets each one's ``TF_CONFIG``; this trains the
    zoo entry under ``MultiWorkerMirroredStrategy`` like ``adl-zoo train``
    (needs ``pip install adl_keras[ray]``).

    Args:
        config: dict with ``name`` (zoo entry) and optionally ``seed``,
            ``root`` (zoo folder the chief writes to), ``backup_dir``,
            ``threads`` and recipe arguments under ``recipe`` (e.g.
            ``{"epochs": 2}``).

    Example:
        >>> from ray.train import ScalingConfig
        >>> from ray.train.tensorflow import TensorflowTrainer
        >>> TensorflowTrainer(ray_train_loop, train_loop_config={"name": "lenet5.digits", "root": "/tmp/zoo"},
        ...                   scaling_config=ScalingConfig(num_workers=2)).fit()   # doctest: +SKIP
    """
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError(f"config must be a dict with the zoo entry's 'name'. Received: config={config!r}")
    configure_threads(config.get("threads"))
    from adl_keras import zoo

    strategy = get_strategy("multi_worker" if parse_tf_config() else "default")
    meta = zoo.train(config["name"], seed=config.get("seed", 0), root=config.get("root"), strategy=strategy,
                     backup_dir=config.get("backup_dir"), **config.get("recipe", {}))
    try:
        from ray import train as ray_train

        ray_train.report({k: v["value"] for k, v in meta["metrics"].items()})
    except ImportError:  # pragma: no cover - only called by Ray
        pass
    return meta

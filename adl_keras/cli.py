"""``adl-zoo``: list, inspect, train, evaluate, export and explain zoo entries.

    adl-zoo list [PATTERN] [--topic T] [--task T] [--pretrained] [--json]
    adl-zoo info NAME [--json]
    adl-zoo train NAME [--seed N] [--epochs N] [--out ZOO_DIR] [--workers N | --strategy S] [--backup-dir DIR]
    adl-zoo evaluate NAME [--against shipped|user] [--weights shipped|user] [--json] [--figures [--out ZOO_DIR]]
    adl-zoo export NAME --format savedmodel|keras --out DIR [--overwrite]
    adl-zoo explain NAME --index I --method M --out FILE.png
    adl-zoo explain NAME --episode --out DIR [--method M] [--target T] [--steps N] [--seed S] [--overwrite]

``adl-zoo [--verbose] COMMAND``: every failure is one line on stderr naming
the file, variable or argument, with exit code 2 (1 for an evaluation that
does not match its card); ``--verbose`` shows the traceback instead.

``list``, ``info`` and argument checks read the zoo index and cards
(:mod:`adl_keras.zoo.catalog`) and never import TensorFlow, so they answer at
once. Commands that do import it hide its start-up noise unless ``--verbose``
or ``ADL_KERAS_VERBOSE=1`` is given (:mod:`adl_keras._logging`).
"""

import argparse
import json
import os
import sys


class _Progress:
    """The CLI's progress: a Keras Progbar (with an ETA) over training epochs,
    and plain lines on stderr for everything else."""

    def __init__(self):
        self._bar = None

    def __call__(self, message):
        print(message, file=sys.stderr, flush=True)

    def epoch(self, epoch, total, logs=None, unit="epoch"):
        """Advances the bar to ``epoch`` of ``total`` ``unit``s; the RL loops
        report env steps, episodes or iterations the same way.

        A run reports ``epoch=0`` (or where it resumes) when it starts, so the
        bar's clock starts with the work and the first unit's time and the ETA
        are real; a new bar starts then, or when ``total`` changes or the
        count goes back."""
        import keras

        values = [(k, float(v)) for k, v in (logs or {}).items() if isinstance(v, (int, float))]
        if self._bar is None or self._bar.target != total or epoch == 0 or epoch < self._bar._seen_so_far:
            self.done()
            # no metric is averaged by the bar: each epoch's are shown as logged (the bar starts
            # before the first epoch, so their names are not known yet)
            self._bar = keras.utils.Progbar(total, unit_name=unit, stateless_metrics=())
        self._bar.update(epoch, values=values, finalize=epoch >= total)
        if epoch >= total:
            self._bar = None

    def done(self):
        """Closes a bar left open by early stopping (so the next line starts afresh)."""
        if self._bar is not None:
            self._bar.update(self._bar._seen_so_far, finalize=True)
            self._bar = None


def _progress(message):
    print(message, file=sys.stderr, flush=True)


def _quiet(args):
    from adl_keras import _logging

    _logging.quiet(True if args.verbose else None)


def _cmd_list(args):
    from adl_keras.zoo import catalog
    from adl_keras.zoo.cards import CardError

    names = catalog.list_names(args.pattern, topic=args.topic, task=args.task,
                               pretrained=True if args.pretrained else None)
    rows, broken = [], {}
    for n in names:
        try:
            rows.append(catalog.describe(n))
        except CardError as err:  # one bad card must not hide the others
            broken[n] = str(err)
    if args.json:
        print(json.dumps([{k: r[k] for k in ("name", "topic", "task", "dataset", "params", "metrics", "pretrained")}
                          for r in rows] + [{"name": n, "error": e} for n, e in broken.items()], indent=2))
        return 0
    for n, e in broken.items():
        print(f"{n:<28} BROKEN CARD: {e}")
    for r in rows:
        metrics = ", ".join(f"{k}={v['value']:.4g}" for k, v in r["metrics"].items()) or "-"
        flag = "pretrained" if r["pretrained"] else "no weights"
        print(f"{r['name']:<28} {r['topic']:<12} {r['task']:<24} {flag:<11} {metrics}")
    return 0


def _describe(name):
    """The card data of ``name`` without TensorFlow: the installed zoo's index, else the
    user zoo's card, else (for entries registered in code only) the registry."""
    from adl_keras.zoo import catalog, registry, store

    try:
        return catalog.describe(name)
    except KeyError as err:
        unknown = err
    try:
        return catalog.describe(name, root=store.user_zoo_dir())
    except (KeyError, OSError):
        pass
    entry = registry._REGISTRY.get(name)  # registered in this process; never loads the topic modules
    if entry is None:
        raise unknown
    from adl_keras import zoo

    return {"name": name, "topic": entry.topic, "task": entry.task,
            "pretrained": zoo.list_models(name, pretrained=True) == [name]}


def _cmd_info(args):
    from adl_keras.zoo import catalog

    info = catalog.describe(args.name)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key:>12}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")
    return 0


def _cmd_train(args):
    from adl_keras import distribute
    from adl_keras.zoo import catalog

    info = _describe(args.name)  # an unknown name fails here, before TensorFlow loads
    if args.workers is not None:
        if args.workers < 1:
            raise ValueError(f"--workers must be >= 1. Received: --workers {args.workers}")
        if args.strategy not in ("auto", "multi_worker"):
            raise ValueError(f"--workers starts a multi-worker cluster; it cannot be combined with "
                             f"--strategy {args.strategy}.")
        if os.environ.get("TF_CONFIG"):
            raise ValueError("--workers starts its own local cluster; unset TF_CONFIG (or drop --workers "
                             "and run one command per task with --strategy multi_worker).")
        # An RL entry refuses in the parent already, before any worker starts.
        if info["topic"] == "rl" and args.workers > 1:
            raise ValueError(f"Zoo entry {args.name!r} trains in one process (its environment loop is not "
                             f"distributed). Received: --workers {args.workers}")
        worker_args = ["--verbose"] if args.verbose else []
        worker_args += ["train", args.name, "--seed", str(args.seed), "--strategy", "multi_worker"]
        if args.backup_dir:
            worker_args += ["--backup-dir", args.backup_dir]
        if args.epochs is not None:
            worker_args += ["--epochs", str(args.epochs)]
        if args.out:
            worker_args += ["--out", args.out]
        _progress(f"starting {args.workers} local workers on 127.0.0.1 ({args.threads} thread(s) each)")
        return distribute.launch_local_workers(worker_args, args.workers, threads=args.threads)

    _quiet(args)
    distribute.configure_threads()
    from adl_keras import zoo
    from adl_keras.zoo import cards, store

    strategy = None if args.strategy == "default" else distribute.get_strategy(args.strategy)
    chief = distribute.is_chief()  # other workers of a cluster write and print nothing
    if chief and args.out:
        store.writable_dir(args.out, f"--out={args.out}")
    root = args.out or store.user_zoo_dir()
    if chief:
        _progress(f"training {args.name} (seed {args.seed}) into {root}")
    kwargs = {} if args.epochs is None else {"epochs": args.epochs}
    meta = zoo.train(args.name, seed=args.seed, progress=_Progress(), root=args.out, strategy=strategy,
                     backup_dir=args.backup_dir, **kwargs)
    if not chief:
        return 0
    for key, m in meta["metrics"].items():
        print(f"{args.name}: {key} = {m['value']:.4f} on the {m['split']} split")
    print(f"wrote {cards.entry_dir(args.name, root) / meta['weights']['file']} (sha256 {meta['weights']['sha256']})")
    return 0


def _cmd_evaluate(args):
    from adl_keras.zoo import catalog

    if args.out and not args.figures:
        raise ValueError(f"--out is where --figures writes its pictures; add --figures. Received: --out={args.out}")
    _describe(args.name)
    _quiet(args)
    from adl_keras import zoo

    _progress(f"evaluating {args.name}")
    report = zoo.evaluate(args.name, against=args.against, source=args.weights)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['weights']} weights measured against the {report['against']} card {report['card']}")
        for key, m in report["metrics"].items():
            card = "n/a" if m["card"] is None else f"{m['card']:.4f}"
            print(f"{key}: measured {m['measured']:.4f}, card {card} -> {'match' if m['match'] else 'MISMATCH'}")
        print("all metrics match the card" if report["match"] else "metrics do NOT match the card")
    if args.figures:
        from adl_keras.zoo import figures

        _progress(f"drawing the card pictures of {args.name} from its held-out data")
        written, card = figures.figures_for_entry(args.name, out=args.out, source=args.weights)
        for path, size in zip(written, figures.png_sizes(written).values()):
            print(f"wrote {path} ({size:,} bytes)", file=sys.stderr if args.json else sys.stdout)
        if card:
            print(f"card updated: {written[0].parent / 'README.md'}", file=sys.stderr if args.json else sys.stdout)
    return 0 if report["match"] else 1


def _cmd_export(args):
    from adl_keras.zoo import catalog

    if not _describe(args.name)["pretrained"]:
        raise ValueError(f"Zoo entry {args.name!r} has no pretrained weights to export; "
                         f"train them with `adl-zoo train {args.name}`.")
    _quiet(args)
    from adl_keras import zoo

    _progress(f"exporting {args.name} as {args.format}")
    path = zoo.export_model(args.name, args.out, fmt=args.format, overwrite=args.overwrite)
    print(path)
    return 0


def _agent_target(text):
    """``--target``: a named target or an action index."""
    from adl_keras.explain.methods import AGENT_TARGETS

    if text in AGENT_TARGETS:
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(f"--target must be one of {', '.join(AGENT_TARGETS)} or an action index >= 0. "
                         f"Received: --target={text!r}")
    return value


def _cmd_explain_episode(args, task):
    from adl_keras.explain.methods import AGENT_TASKS, check_out_dir

    if task not in AGENT_TASKS:
        raise ValueError(f"--episode explains an agent's greedy episode; zoo entry {args.name!r} has task {task!r} "
                         f"(agents: {', '.join(AGENT_TASKS)}). Drop --episode to explain a test example.")
    if args.steps < 1:
        raise ValueError(f"--steps must be >= 1. Received: --steps={args.steps}")
    target = _agent_target(args.target)
    check_out_dir(args.out, args.overwrite)  # refused before TensorFlow loads
    _quiet(args)
    from adl_keras.explain import agents

    _progress(f"explaining {args.steps} steps of a greedy episode of {args.name} (seed {args.seed}) "
              f"with {args.method}")
    summary = agents.explain_episode(args.name, args.out, args.method, target, seed=args.seed,
                                     max_steps=args.steps, overwrite=args.overwrite)
    print(f"wrote {summary['steps']} frames and {os.path.join(args.out, summary['gif'])} "
          f"({summary['method']}, target {summary['target']})")
    return 0


def _cmd_explain(args):
    from adl_keras.explain.methods import AGENT_TASKS, EXPLAINABLE_TASKS, METHODS
    from adl_keras.zoo import catalog

    # Checked before TensorFlow loads, so a typo costs no start-up time.
    if args.method not in METHODS:
        raise ValueError(f"--method must be one of {', '.join(METHODS)}. Received: --method={args.method!r}")
    if args.index < 0:
        raise ValueError(f"--index must be >= 0. Received: --index={args.index}")
    task = _describe(args.name)["task"]
    if args.episode:
        return _cmd_explain_episode(args, task)
    if task in AGENT_TASKS:
        raise ValueError(f"Zoo entry {args.name!r} is an agent (task {task!r}); explain a greedy episode with "
                         f"`adl-zoo explain {args.name} --episode --out DIR`.")
    if task not in EXPLAINABLE_TASKS:
        raise ValueError(f"Zoo entry {args.name!r} has task {task!r}; explain handles {EXPLAINABLE_TASKS}.")
    _quiet(args)
    from adl_keras import explain

    _progress(f"explaining test example {args.index} of {args.name} with {args.method}")
    result = explain.explain_zoo_entry(args.name, args.index, args.method, args.out)
    print(f"wrote {args.out} ({result.method}, {result.seconds:.2f}s)")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="adl-zoo", description="adl_keras model zoo")
    parser.add_argument("--verbose", action="store_true",
                        help="show tracebacks on errors, TensorFlow start-up lines and third-party warnings "
                             "(or ADL_KERAS_VERBOSE=1)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="list zoo entries")
    p.add_argument("pattern", nargs="?", default=None, help="glob on names, e.g. '*.digits'")
    p.add_argument("--topic")
    p.add_argument("--task")
    p.add_argument("--pretrained", action="store_true", help="only entries with weights")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=_cmd_list)
    p = sub.add_parser("info", help="show an entry's card data")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=_cmd_info)
    p = sub.add_parser("train", help="reproduce an entry's weights with its recipe")
    p.add_argument("name")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epoch budget")
    p.add_argument("--out", default=None,
                   help="zoo folder to write into (default: $ADL_KERAS_HOME/zoo, never the installed package)")
    p.add_argument("--strategy", choices=("auto", "default", "mirrored", "multi_worker"), default="auto",
                   help="tf.distribute strategy; multi_worker reads TF_CONFIG (auto: from TF_CONFIG and devices)")
    p.add_argument("--workers", type=int, default=None,
                   help="start N local worker processes on 127.0.0.1 (tries multi-worker training on one box)")
    p.add_argument("--threads", type=int, default=1, help="TensorFlow threads per local worker (with --workers)")
    p.add_argument("--backup-dir", default=None,
                   help="BackupAndRestore folder: a killed run started again with the same command resumes")
    p.set_defaults(fn=_cmd_train)
    p = sub.add_parser("evaluate", help="re-measure an entry's metrics against its card")
    p.add_argument("name")
    p.add_argument("--against", choices=("shipped", "user"), default="shipped",
                   help="the card to compare with (default: shipped, the reference)")
    p.add_argument("--weights", choices=("shipped", "user"), default=None,
                   help="the weights to measure (default: the user zoo's if `train` wrote some, else shipped)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--figures", action="store_true",
                   help="also draw the card pictures from the held-out data (confusion matrix, examples, "
                        "explanation; samples; gradient norms; learning curve and episode frames)")
    p.add_argument("--out", default=None,
                   help="with --figures: zoo folder whose NAME/ entry gets the pictures and its card updated "
                        "(default: the user zoo's entry when its weights are measured, else "
                        "$ADL_KERAS_HOME/figures/NAME; never the installed package)")
    p.set_defaults(fn=_cmd_evaluate)
    p = sub.add_parser("export", help="export a pretrained entry")
    p.add_argument("name")
    p.add_argument("--format", choices=("savedmodel", "keras"), default="savedmodel")
    p.add_argument("--out", required=True)
    p.add_argument("--overwrite", action="store_true", help="replace an existing file or non-empty folder")
    p.set_defaults(fn=_cmd_export)
    p = sub.add_parser("explain", help="explain one test example of an entry as a PNG, or an agent's episode")
    p.add_argument("name")
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--method", default="integrated-gradients")
    p.add_argument("--out", required=True, help="PNG file; with --episode a folder for frames, GIF and summary")
    p.add_argument("--episode", action="store_true",
                   help="agents: explain every state of a seeded greedy episode (PNG per step, episode.gif)")
    p.add_argument("--target", default="action",
                   help="with --episode: action (greedy Q-value), q (max_a Q), advantage, or an action index")
    p.add_argument("--steps", type=int, default=50, help="with --episode: states explained (default 50)")
    p.add_argument("--seed", type=int, default=30_000, help="with --episode: the episode's reset seed")
    p.add_argument("--overwrite", action="store_true", help="with --episode: replace a non-empty --out folder")
    p.set_defaults(fn=_cmd_explain)
    return parser


def _one_line(err):
    """One line naming what failed: the file for OS errors, the message otherwise."""
    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        return f"{err.strerror}: {err.filename}"
    text = " ".join(str(err).split()) or type(err).__name__
    return text if isinstance(err, (ValueError, RuntimeError, OSError)) else f"{type(err).__name__}: {text}"


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        print("adl-zoo: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # every failure: one clear line, the traceback only with --verbose
        if args.verbose:
            raise
        print(f"adl-zoo: {_one_line(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

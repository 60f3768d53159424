"""``adl-zoo``: list, inspect, train, evaluate, export and explain zoo entries.

    adl-zoo list [PATTERN] [--topic T] [--task T] [--pretrained] [--json]
    adl-zoo info NAME [--json]
    adl-zoo train NAME [--seed N]
    adl-zoo evaluate NAME [--json]
    adl-zoo export NAME --format savedmodel|keras --out DIR
    adl-zoo explain NAME --index I --method M --out FILE.png

``list``, ``info`` and argument checks read the zoo index and cards
(:mod:`adl_keras.zoo.catalog`) and never import TensorFlow, so they answer at
once. Commands that do import it hide its start-up noise unless ``--verbose``
or ``ADL_KERAS_VERBOSE=1`` is given (:mod:`adl_keras._logging`).
"""

import argparse
import json
import sys


class _Progress:
    """The CLI's progress: a Keras Progbar (with an ETA) over training epochs,
    and plain lines on stderr for everything else."""

    def __init__(self):
        self._bar = None

    def __call__(self, message):
        print(message, file=sys.stderr, flush=True)

    def epoch(self, epoch, total, logs=None):
        """Advances the bar to ``epoch`` of ``total`` (a new bar when ``total`` changes)."""
        import keras

        values = [(k, float(v)) for k, v in (logs or {}).items() if isinstance(v, (int, float))]
        if self._bar is None or self._bar.target != total or epoch == 1:
            self.done()
            # stateful: show each epoch's metrics as logged, not a running average over epochs
            self._bar = keras.utils.Progbar(total, unit_name="epoch", stateful_metrics=[k for k, _ in values])
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

    names = catalog.list_names(args.pattern, topic=args.topic, task=args.task,
                               pretrained=True if args.pretrained else None)
    rows = [catalog.describe(n) for n in names]
    if args.json:
        print(json.dumps([{k: r[k] for k in ("name", "topic", "task", "dataset", "params", "metrics", "pretrained")}
                          for r in rows], indent=2))
        return 0
    for r in rows:
        metrics = ", ".join(f"{k}={v['value']:.4g}" for k, v in r["metrics"].items()) or "-"
        flag = "pretrained" if r["pretrained"] else "no weights"
        print(f"{r['name']:<28} {r['topic']:<12} {r['task']:<24} {flag:<11} {metrics}")
    return 0


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
    from adl_keras.zoo import catalog

    catalog.describe(args.name)
    _quiet(args)
    from adl_keras import zoo

    _progress(f"training {args.name} (seed {args.seed})")
    meta = zoo.train(args.name, seed=args.seed, progress=_Progress())
    for key, m in meta["metrics"].items():
        print(f"{args.name}: {key} = {m['value']:.4f} on the {m['split']} split")
    print(f"wrote {meta['weights']['file']} (sha256 {meta['weights']['sha256']})")
    return 0


def _cmd_evaluate(args):
    from adl_keras.zoo import catalog

    catalog.describe(args.name)
    _quiet(args)
    from adl_keras import zoo

    _progress(f"evaluating {args.name}")
    report = zoo.evaluate(args.name)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, m in report["metrics"].items():
            card = "n/a" if m["card"] is None else f"{m['card']:.4f}"
            print(f"{key}: measured {m['measured']:.4f}, card {card} -> {'match' if m['match'] else 'MISMATCH'}")
        print("all metrics match the card" if report["match"] else "metrics do NOT match the card")
    return 0 if report["match"] else 1


def _cmd_export(args):
    from adl_keras.zoo import catalog

    if not catalog.describe(args.name)["pretrained"]:
        raise ValueError(f"Zoo entry {args.name!r} has no pretrained weights to export; "
                         f"train them with `adl-zoo train {args.name}`.")
    _quiet(args)
    from adl_keras import zoo

    _progress(f"exporting {args.name} as {args.format}")
    path = zoo.export_model(args.name, args.out, fmt=args.format)
    print(path)
    return 0


def _cmd_explain(args):
    from adl_keras.explain.methods import EXPLAINABLE_TASKS, METHODS
    from adl_keras.zoo import catalog

    # Checked before TensorFlow loads, so a typo costs no start-up time.
    if args.method not in METHODS:
        raise ValueError(f"--method must be one of {', '.join(METHODS)}. Received: --method={args.method!r}")
    if args.index < 0:
        raise ValueError(f"--index must be >= 0. Received: --index={args.index}")
    task = catalog.describe(args.name)["task"]
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
                        help="show TensorFlow start-up lines and third-party warnings (or ADL_KERAS_VERBOSE=1)")
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
    p.set_defaults(fn=_cmd_train)
    p = sub.add_parser("evaluate", help="re-measure an entry's metrics against its card")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=_cmd_evaluate)
    p = sub.add_parser("export", help="export a pretrained entry")
    p.add_argument("name")
    p.add_argument("--format", choices=("savedmodel", "keras"), default="savedmodel")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=_cmd_export)
    p = sub.add_parser("explain", help="explain one test example of an entry as a PNG")
    p.add_argument("name")
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--method", default="integrated-gradients")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=_cmd_explain)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except KeyError as err:
        print(f"adl-zoo: {err.args[0]}", file=sys.stderr)
        return 2
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        print(f"adl-zoo: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

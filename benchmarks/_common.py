"""Shared helpers of the benchmark scripts: timing, result files (DESIGN.md format)."""

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# Load average when the benchmark started (this module is imported first), kept in every result's details:
# on a shared machine it shows whether other work was running beside the timings.
_LOAD_AT_START = os.getloadavg() if hasattr(os, "getloadavg") else None


def median_time(fn, repeats=5, warmup=1):
    """Median wall-clock seconds of ``fn()`` over ``repeats`` calls, after warm-up."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def versions():
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("tensorflow", "keras", "numpy", "scipy", "tf-agents", "shap", "lime", "scikit-learn"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def machine():
    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def write_result(name, metric, unit, value, anchor, anchor_value, goal, higher_is_better, repeats,
                 command=None, ratio=None, extra=None):
    """Writes ``benchmarks/results/NAME.json``.

    ``ratio`` defaults to value / anchor_value. ``goal`` is a ratio bound:
    met when ratio >= goal (``higher_is_better``) or ratio <= goal.
    """
    if ratio is None:
        ratio = value / anchor_value if anchor_value else float("nan")
    meets = ratio >= goal if higher_is_better else ratio <= goal
    result = {
        "name": name,
        "metric": metric,
        "unit": unit,
        "value": value,
        "anchor": anchor,
        "anchor_value": anchor_value,
        "ratio": ratio,
        "goal": f"ratio {'>=' if higher_is_better else '<='} {round(goal, 4)}",
        "meets_goal": bool(meets),
        "repeats": repeats,
        "machine": machine(),
        "versions": versions(),
        "command": command or f"python -m benchmarks.{Path(sys.argv[0]).stem}",
    }
    details = dict(extra or {})
    if _LOAD_AT_START is not None:
        details.setdefault("load_average_1_5_15_min", {"at_start": [round(v, 2) for v in _LOAD_AT_START],
                                                        "at_end": [round(v, 2) for v in os.getloadavg()]})
    if details:
        result["details"] = details
    RESULTS.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS / f".{name}.json.part"
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, RESULTS / f"{name}.json")
    print(json.dumps({k: result[k] for k in ("name", "value", "anchor_value", "ratio", "goal", "meets_goal")}))
    return result

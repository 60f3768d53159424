"""Executing the topic notebooks and checking their stored outputs (``make notebooks``).

``python -m adl_keras.testing.notebooks [NOTEBOOK ...]`` executes each
notebook top to bottom with the kernel importing this checkout and writes it
back with its outputs (plots re-encoded as small palette PNGs, no timing
metadata), so readers and the docs site see results without running anything.

The kernel starts with every random generator seeded (:data:`KERNEL_STARTUP`),
so reruns print the same numbers. ``tests/test_notebooks.py`` executes each notebook once and compares what it
produced with what is stored (:func:`compare_outputs`), so a notebook whose
stored outputs no longer match the code fails with the command to run.

Comparison rule (run-to-run noise is tolerated, changed results are not):

- per code cell, the number of images must be equal, and so must the
  text (stdout and the ``text/plain`` of results; stderr is left out, it
  holds warnings and progress bars) once normalised:
- a line that reports a duration (``12ms/step``, ``3.1 s``, ``ETA: 4s``,
  ``it/s``, ``seconds``) keeps its words but not its numbers; memory
  addresses (``0x7f..``) are masked; carriage-return progress lines keep
  their final state only;
- every other number must agree within ``abs 1e-3 + rel 2e-2`` (float
  summation order and threading move the last digits of a loss or an
  accuracy; a code change moves them further or changes the words).
"""

import argparse
import base64
import copy
import io
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
ABS_TOL = 1e-3
REL_TOL = 2e-2
TIMEOUT_S = 300
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_DURATION = re.compile(r"(\d\s?(ms|us|µs|s|sec|secs|seconds|min)\b|ETA|it/s|s/it|/step|elapsed|took|seconds)",
                       re.IGNORECASE)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
# Run in the kernel before the first cell (not part of the notebook): TensorFlow loads quietly and
# every random generator (Python, NumPy, TensorFlow, Keras) starts from seed 0, so a cell that
# draws unseeded weights (e.g. a layer built without seed=) prints the same numbers every run.
KERNEL_STARTUP = "import adl_keras; adl_keras.quiet(); import keras; keras.utils.set_random_seed(0)"
FIGURE_DPI = 72  # inline plots: readable on screen, about half the bytes of matplotlib's 100
REMEDY = "run `make notebooks` to store outputs of the current code and commit the notebooks"


def notebooks():
    """The topic notebooks, sorted by name."""
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def kernel_env():
    """Environment of the executing kernel: this checkout first on the path,
    matplotlib's inline backend (figures become stored PNG outputs), the hash
    seed fixed.

    ``TF_DETERMINISTIC_OPS`` is deliberately not set: ops without a deterministic
    kernel would then raise, and on one CPU the comparison's tolerance covers
    what thread scheduling moves."""
    env = {
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONHASHSEED": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                                                    if p]),
    }
    return env


def execute(nb, path, timeout=TIMEOUT_S):
    """Executes ``nb`` (a NotebookNode, changed in place) as the notebook at ``path``."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            extra_arguments=[f"--IPKernelApp.exec_lines={KERNEL_STARTUP}",
                                             f"--InlineBackend.rc=figure.dpi={FIGURE_DPI}"],
                            resources={"metadata": {"path": str(Path(path).parent)}})
    # The kernel's environment only: the calling process (a test session) keeps its own.
    client.execute(env={**os.environ, **kernel_env()})
    return nb


def has_outputs(nb):
    """Whether any code cell of ``nb`` holds an output (a stored, executed notebook)."""
    return any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def _text(outputs):
    parts = []
    for o in outputs:
        kind = o.get("output_type")
        if kind == "stream" and o.get("name") == "stdout":
            parts.append(o.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            text = o.get("data", {}).get("text/plain", "")
            if "image/png" not in o.get("data", {}):  # a figure's repr names its size, not a result
                parts.append(text if isinstance(text, str) else "".join(text))
        elif kind == "error":
            parts.append(f"{o.get('ename')}: {o.get('evalue')}")
    return "".join(parts)


def _images(outputs):
    return sum(1 for o in outputs if "image/png" in o.get("data", {}))


def normalise(text):
    """(words, numbers) of a cell's text: durations and addresses masked, ``\\r`` lines collapsed."""
    words, numbers = [], []
    for line in text.split("\n"):
        line = _ADDRESS.sub("0xADDR", line.split("\r")[-1]).rstrip()
        if not line:
            continue
        if _DURATION.search(line):
            words.append(_NUMBER.sub("#", line))
            continue
        words.append(_NUMBER.sub("N", line))
        numbers += [float(n) for n in _NUMBER.findall(line)]
    return words, numbers


def _close(a, b):
    return abs(a - b) <= ABS_TOL + REL_TOL * max(abs(a), abs(b))


def compare_outputs(stored, fresh):
    """Differences between a stored notebook's outputs and a fresh execution's.

    Returns:
        list of one-line descriptions (empty when they agree under the rule
        in this module's docstring).
    """
    problems = []
    old = [c for c in stored.cells if c.cell_type == "code"]
    new = [c for c in fresh.cells if c.cell_type == "code"]
    if len(old) != len(new):
        return [f"{len(old)} code cells stored, {len(new)} executed"]
    for i, (a, b) in enumerate(zip(old, new), start=1):
        ia, ib = _images(a.get("outputs", [])), _images(b.get("outputs", []))
        if ia != ib:
            problems.append(f"code cell {i}: {ia} image(s) stored, {ib} produced")
        (wa, na), (wb, nb_) = normalise(_text(a.get("outputs", []))), normalise(_text(b.get("outputs", [])))
        if wa != wb:
            diff = next(((x, y) for x, y in zip(wa, wb) if x != y), (wa[len(wb):][:1], wb[len(wa):][:1]))
            problems.append(f"code cell {i}: text differs, stored {diff[0]!r} vs now {diff[1]!r}")
        elif len(na) != len(nb_) or not all(_close(x, y) for x, y in zip(na, nb_)):
            bad = next(((x, y) for x, y in zip(na, nb_) if not _close(x, y)), (len(na), len(nb_)))
            problems.append(f"code cell {i}: numbers differ beyond abs {ABS_TOL} + rel {REL_TOL}: "
                            f"stored {bad[0]} vs now {bad[1]}")
    return problems


def shrink_images(nb, max_colours=256):
    """Re-encodes every PNG output as an optimised palette PNG (about a third of the bytes)."""
    from PIL import Image

    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if "image/png" not in data:
                continue
            raw = base64.b64decode(data["image/png"])
            image = Image.open(io.BytesIO(raw)).convert("RGB")
            out = io.BytesIO()
            image.quantize(colors=max_colours, method=Image.Quantize.MEDIANCUT,
                           dither=Image.Dither.NONE).save(out, format="PNG", optimize=True)
            if out.tell() < len(raw):
                data["image/png"] = base64.b64encode(out.getvalue()).decode() + "\n"
    return nb


def store(path):
    """Executes the notebook at ``path`` and writes it back with its outputs (atomically)."""
    import nbformat

    from adl_keras.zoo.store import atomic_write_bytes

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    fresh = execute(copy.deepcopy(nb), path)
    errors = [o for c in fresh.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    if errors:
        raise RuntimeError(f"{path.name} raised {errors[0].get('ename')}: {errors[0].get('evalue')}")
    shrink_images(fresh)
    fresh.metadata.pop("widgets", None)
    atomic_write_bytes(path, (nbformat.writes(fresh) + "\n").encode())
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m adl_keras.testing.notebooks",
                                     description="execute the topic notebooks and store their outputs")
    parser.add_argument("paths", nargs="*", help="notebooks (default: every notebooks/*.ipynb)")
    args = parser.parse_args(argv)
    for path in args.paths or notebooks():
        print(f"executing {Path(path).name}", flush=True)
        store(path)
        print(f"stored {path} ({Path(path).stat().st_size:,} bytes)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

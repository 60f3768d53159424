"""Executes every notebook top to bottom (each must finish in under 2 minutes
on CPU with pretrained weights; the timeout leaves room for a loaded CI box)."""

import os
import time
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ["MPLBACKEND"] = "Agg"
    # The kernel imports adl_keras from this checkout, not another install.
    root = str(path.parent.parent)
    os.environ["PYTHONPATH"] = os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    # Quiet by default (adl_keras.quiet() in the first cell): no TensorFlow start-up block
    # or retracing warnings in what the reader sees.
    stderr = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                     if o.get("output_type") == "stream" and o.get("name") == "stderr")
    noise = [n for n in ("oneDNN", "absl::InitializeLog", "cuda drivers", "retracing") if n in stderr]
    assert not noise, stderr[:2000]
    assert elapsed < 300, f"{path.name} took {elapsed:.0f}s"

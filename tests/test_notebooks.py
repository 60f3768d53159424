"""Executes every notebook top to bottom (each must finish in under 2 minutes
on CPU with pretrained weights; the timeout leaves room for a loaded CI box),
and checks in the same run that the outputs stored in the notebook (``make
notebooks``) are those the current code produces (rule in
:mod:`adl_keras.testing.notebooks`)."""

import copy
import os
import time

import pytest

from adl_keras.testing import notebooks as nbtools

NOTEBOOKS = nbtools.notebooks()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    import nbformat

    stored = nbformat.read(path, as_version=4)
    nb = copy.deepcopy(stored)
    start = time.perf_counter()
    nbtools.execute(nb, path)
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
    # The stored outputs, compared with this very execution (no second run).
    if not nbtools.has_outputs(stored):
        message = f"{path.name} is stored without outputs; {nbtools.REMEDY}."
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    problems = nbtools.compare_outputs(stored, nb)
    assert not problems, (f"{path.name}: stored outputs are not those of the current code; {nbtools.REMEDY}.\n  "
                          + "\n  ".join(problems[:10]))

"""The docs site (`make docs`) built from this checkout and opened page by page in headless
Chromium (Debian's package, `make chromium`): no JavaScript error, no broken link or image, every
formula typeset by MathJax; screenshots of the gallery and a topic page are saved in
docs/_build/screenshots/ for a person to look at."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "docs" / "_build" / "html"


def _missing(what):
    message = f"{what}; run `make chromium` (Debian's chromium and libjs-mathjax) and `make docs`."
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.mark.slow
def test_docs_site_builds_and_every_page_renders_in_chromium():
    from adl_keras.testing import browser

    try:
        import myst_nb  # noqa: F401
        import sphinx  # noqa: F401
    except ImportError:
        _missing("the docs extra is not installed (pip install -e '.[docs]')")
    if browser.find_chromium() is None:
        _missing("Chromium is not installed")
    if not Path("/usr/share/javascript/mathjax/MathJax.js").exists():
        _missing("Debian's libjs-mathjax is not installed (formulas would need MathJax's CDN)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    build = subprocess.run([sys.executable, "-m", "sphinx", "-E", "-b", "html", "-q", "docs", str(SITE)],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stderr[-3000:]

    result = browser.check_site(SITE, browser.SCREENSHOTS)

    problems = [f"{page}: {item}" for page, found in result["problems"].items() for item in found]
    assert not problems, "\n".join(problems[:40])
    reports = result["reports"]
    topics = [p for p in reports if p.startswith("topics/")]
    assert len(topics) == 7
    assert all(reports[p]["math"] > 0 for p in topics), {p: reports[p]["math"] for p in topics}
    index = json.loads((ROOT / "zoo" / "index.json").read_text())
    gallery = (SITE / "_generated" / "gallery.html").read_text()
    assert gallery.count('class="tile') == len(index)  # one tile per zoo entry
    assert all(f"_generated/zoo/{name}.html" in reports for name in index)
    assert reports["_generated/gallery.html"]["images"] > 0
    assert reports["_generated/benchmarks.html"]["images"] >= 1  # the ratio chart
    notebooks = [p for p in reports if p.startswith("_generated/notebooks/")]
    assert len(notebooks) == len(list((ROOT / "notebooks").glob("*.ipynb")))
    for shot in result["screenshots"]:
        assert shot.stat().st_size > 20_000, shot  # a rendered page, not a blank one

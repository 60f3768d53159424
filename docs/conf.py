"""Sphinx configuration of the adl_keras docs site (``make docs``; output in docs/_build/html).

Sphinx + myst-nb: MyST Markdown pages, the notebooks rendered from their stored
outputs (never executed here: ``make notebooks`` stores them), autodoc +
napoleon for the API reference from the Google-style docstrings, and the
generated pages (zoo gallery, benchmark table and chart) from ``_ext/adl_docs.py``.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import adl_keras  # noqa: E402

adl_keras.quiet()  # no TensorFlow start-up lines in the build log (autodoc imports the topics)

project = "adl_keras"
author = "adl_keras authors"
release = version = adl_keras.__version__
copyright = "adl_keras authors, Apache-2.0"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "adl_docs",
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "README.md"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # stored outputs only (`make notebooks`)
nb_merge_streams = True
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_inherit_docstrings = False  # Keras base-class docstrings are not ours
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # dataclass fields: listed once, not again as attribute entries

html_theme = "furo"
html_title = f"adl_keras {release}"
html_static_path = ["_static"]
html_css_files = ["adl.css"]
html_show_sourcelink = False
html_theme_options = {"sidebar_hide_name": False, "navigation_with_keys": True}

# Math: MathJax from Debian's libjs-mathjax when installed (`make docs` installs it where it can),
# copied into the site so pages render offline; otherwise MathJax's CDN.
LOCAL_MATHJAX = Path("/usr/share/javascript/mathjax")
if (LOCAL_MATHJAX / "MathJax.js").exists():
    mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_SVG"
    mathjax3_config = None
    # MyST marks pages mathjax_ignore and its math "math" (what MathJax 3's processHtmlClass names)
    mathjax2_config = {"messageStyle": "none", "showMathMenu": False,
                       "tex2jax": {"processClass": "tex2jax_process|mathjax_process|math|output_area"}}

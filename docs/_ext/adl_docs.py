"""Sphinx extension of the adl_keras site: generates the pages that come from data.

At ``builder-inited`` it writes ``docs/_generated/`` (git-ignored):

- ``gallery.md``: one tile per zoo entry (its picture, headline metric and
  command) linking to the entry's card, ``zoo/NAME.md`` (the card's README
  with its pictures, copied from ``zoo/NAME/``);
- ``benchmarks.md`` and ``benchmark_ratios.png``: README's benchmark table
  (``benchmarks/readme_table.py``) and a bar chart of the ratios against
  their goals, from ``benchmarks/results/*.json``;
- ``notebooks/*.ipynb``: the topic notebooks as stored (outputs included;
  myst-nb does not execute them).

At ``build-finished`` it copies the part of Debian's MathJax 2 the pages use
(TeX input, SVG output drawn from TeX font paths: no web fonts needed) into ``_static/mathjax`` so
formulas render with no network.
"""

import json
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
GENERATED = DOCS / "_generated"
MATHJAX = Path("/usr/share/javascript/mathjax")
# The picture a tile shows: the first of these the card has, else its first picture.
TILE_PREFERENCE = ("samples.png", "examples.png", "learning_curve.png", "predictions.png", "episode.png",
                   "confusion_matrix.png")
TOPIC_TITLES = {"convolution": "Convolution", "rnn": "LSTM / GRU", "gan": "GANs", "rl": "Q-learning / DQN",
                "bptt": "BPTT", "transfer": "Transfer learning", "explain": "Explainability"}


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:  # unchanged files keep Sphinx's cache valid
        path.write_text(text)


def _copy(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists() or dst.read_bytes() != src.read_bytes():
        shutil.copyfile(src, dst)


def _headline(meta):
    metrics = meta.get("metrics") or {}
    if not metrics:
        return "no metrics on the card"
    key, m = next(iter(metrics.items()))
    return f"{key} = {m['value']:.4g} ({m['split']})"


def _card_pictures(meta, folder, card):
    """Every picture the card shows that sits beside it: the drawn figures and
    files a recipe wrote (a GAN's sample grid), in the card's figure order."""
    files = [fig["file"] for fig in meta.get("figures") or []]
    files += [f for f in re.findall(r"\]\(([\w.-]+\.(?:png|gif|jpg|svg))\)", card) if f not in files]
    return [f for f in files if (folder / f).exists()]


def _tile_picture(files):
    for name in TILE_PREFERENCE:
        if name in files:
            return name
    return files[0] if files else None


def gallery():
    """Writes the gallery page and one card page per entry; returns the entry names."""
    zoo = ROOT / "zoo"
    index = json.loads((zoo / "index.json").read_text())
    by_topic = {}
    for name in sorted(index):
        folder = zoo / name
        meta = json.loads((folder / "meta.json").read_text())
        card = (folder / "README.md").read_text()
        pictures = _card_pictures(meta, folder, card)
        for file in pictures:  # the card's pictures sit beside it; here in zoo/NAME/
            _copy(folder / file, GENERATED / "zoo" / name / file)
            card = card.replace(f"]({file})", f"]({name}/{file})")
        _write(GENERATED / "zoo" / f"{name}.md", card)
        by_topic.setdefault(meta["topic"], []).append((name, meta, folder, pictures))
    lines = ["# Zoo gallery", "",
             "Every zoo entry with its picture (drawn from held-out data by "
             "`adl-zoo evaluate NAME --figures`), its headline metric and the command that re-measures it. "
             "Click a tile for the full model card.", ""]
    toc = []
    for topic in TOPIC_TITLES:
        entries = by_topic.get(topic)
        if not entries:
            continue
        lines += [f"## {TOPIC_TITLES[topic]}", "", "::::{container} gallery", ""]
        for name, meta, folder, pictures in entries:
            picture = _tile_picture(pictures)
            lines += [":::{container} tile", ""]
            if picture:
                lines += [f"```{{image}} zoo/{name}/{picture}", f":alt: {name}: {picture[:-4].replace('_', ' ')}",
                          f":target: zoo/{name}.html", "```", ""]
            else:
                weights = meta.get("weights") or {}
                if weights.get("file") and (folder / weights["file"]).exists():
                    why = "no picture yet: `make figures` draws it"
                elif weights.get("url"):
                    why = "no picture: weights are fetched from their URL (hash checked) when loaded"
                else:
                    why = "no picture: no weights shipped yet (`adl-zoo train " + name + "`)"
                lines += ["```{container} no-picture", why, "```", ""]
            command = next(iter((meta.get("metrics") or {}).values()), {}).get("command") or \
                f"adl-zoo info {name}"
            lines += [f"**[{name}](zoo/{name}.md)**", "", f"{_headline(meta)}", "", f"`{command}`", "", ":::", ""]
            toc.append(f"zoo/{name}")
        lines += ["::::", ""]
    lines += ["```{toctree}", ":hidden:", "", *toc, "```", ""]
    _write(GENERATED / "gallery.md", "\n".join(lines))
    return list(index)


def _goal(text):
    """('<=' or '>=', threshold) from a goal such as 'ratio >= 0.95', or None."""
    parts = str(text or "").split()
    if len(parts) == 3 and parts[0] == "ratio" and parts[1] in ("<=", ">="):
        try:
            return parts[1], float(parts[2])
        except ValueError:
            return None
    return None


def ratio_chart(results, path):
    """Horizontal bars of each benchmark's ratio (log scale), its goal marked, green when met."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results if isinstance(r.get("ratio"), (int, float)) and r["ratio"] > 0]
    fig, ax = plt.subplots(figsize=(8, 0.36 * len(rows) + 1.4), dpi=90)
    labels = []
    for i, r in enumerate(rows):
        colour = "#2e8b57" if r.get("meets_goal") else "#c0392b"
        ax.barh(i, r["ratio"], color=colour, height=0.6)
        goal = _goal(r.get("goal"))
        right = r["ratio"]
        if goal:
            ax.plot([goal[1], goal[1]], [i - 0.42, i + 0.42], color="black", lw=2)
            right = max(right, goal[1])
        ax.text(right * 1.08, i, f"{r['ratio']:.3g}", va="center", fontsize=7.5)
        sign = {"<=": "\u2264", ">=": "\u2265"}.get(goal[0]) if goal else None
        labels.append(f"{r.get('name', '?')}  (goal {sign} {goal[1]:g})" if goal else r.get("name", "?"))
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ticks = [t for t in (0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30) if
             min(r["ratio"] for r in rows) / 3 <= t <= max(r["ratio"] for r in rows) * 3]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_xlim(right=max(max(r["ratio"] for r in rows), 3.5) * 1.6)
    ax.axvline(1.0, color="gray", lw=0.8, ls="--")
    ax.set_xlabel("ratio to the anchor (log scale); black tick: goal; green: met, red: not met")
    ax.set_title("adl_keras vs anchors, measured side by side in the same run", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def benchmarks():
    sys.path.insert(0, str(ROOT))
    from benchmarks import readme_table

    results = readme_table._results()
    ratio_chart(results, GENERATED / "benchmark_ratios.png")
    text = ["# Benchmarks", "",
            "Each script in `benchmarks/` runs adl_keras and its anchor (the implementation people already "
            "use, in its best documented configuration) side by side in the same run and writes "
            "`benchmarks/results/NAME.json`; `make bench` runs them all. Timings are medians on a shared "
            "2-core machine, so the ratio, not the seconds, is the result.", "",
            "```{image} benchmark_ratios.png", ":alt: bar chart of the benchmark ratios against their goals",
            "```", "", readme_table.table(), ""]
    _write(GENERATED / "benchmarks.md", "\n".join(text))


def notebooks():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        _copy(path, GENERATED / "notebooks" / path.name)


def generate(app):
    GENERATED.mkdir(exist_ok=True)
    gallery()
    benchmarks()
    notebooks()


def copy_mathjax(app, exception):
    """MathJax 2's TeX input and SVG output (about 3 MB) into the built site."""
    if exception is not None or app.builder.format != "html" or not (MATHJAX / "MathJax.js").exists():
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if (target / "MathJax.js").exists():
        return
    keep_output = {"SVG", "PreviewHTML"}  # PreviewHTML: the fast preview TeX-AMS_SVG shows first

    def ignore(folder, names):
        rel = Path(folder).relative_to(MATHJAX)
        skip = {"unpacked", "test", "fonts", "docs"} if rel == Path(".") else set()
        if rel == Path("jax/output"):
            skip |= {n for n in names if n not in keep_output}
        if rel == Path("jax/output/SVG/fonts"):
            skip |= {n for n in names if n != "TeX"}
        if rel == Path("localization"):
            skip |= {n for n in names if n != "en"}
        if rel == Path("config"):
            skip |= {n for n in names if n not in ("TeX-AMS-MML_HTMLorMML.js", "TeX-AMS_SVG.js", "local")}
        return skip

    shutil.copytree(MATHJAX, target, ignore=ignore, symlinks=False)


_LONE_STAR = re.compile(r"(?<![*\\\w])\*(?=\w[^*]*$)")


def escape_plain_text_markup(app, what, name, obj, options, lines):
    """Docstrings are plain text with Google sections: ``|x|`` means an absolute value or
    norm and ``*shape`` unpacking, which reStructuredText would read as a substitution
    and an unclosed emphasis. Both are escaped (grid-table rows are left alone)."""
    for i, line in enumerate(lines):
        text = line.strip()
        if "|" in line and not (text.startswith("+") or (text.startswith("|") and text.endswith("|") and
                                                          text.count("|") > 2)):
            line = line.replace("\\|", "|").replace("|", "\\|")
        lines[i] = _LONE_STAR.sub(r"\\*", line)


def setup(app):
    app.connect("autodoc-process-docstring", escape_plain_text_markup)
    app.connect("builder-inited", generate)
    app.connect("build-finished", copy_mathjax)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}

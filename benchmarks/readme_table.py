"""Regenerates README.md's benchmark table from benchmarks/results/*.json.

The table has one row per result file; below it, each result's anchor
configuration and why it is the anchor's best (``details.anchor_config`` and
``details.why_best``; results that do not record them say so).
"""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _results():
    out = []
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        try:
            out.append(json.loads(path.read_text()))
        except ValueError:
            continue
    return out


def table():
    rows = ["| benchmark | metric | adl_keras | anchor | anchor value | ratio | goal | met |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    notes = ["", "Anchor configurations (and why each is the anchor's best):", ""]
    for r in _results():
        name = r.get("name", "?")
        met = r.get("meets_goal")
        rows.append(f"| {name} | {r.get('metric', '')} ({r.get('unit', '')}) | {_fmt(r.get('value'))} | "
                    f"{r.get('anchor', '')} | {_fmt(r.get('anchor_value'))} | {_fmt(r.get('ratio'))} | "
                    f"{r.get('goal', '')} | {'yes' if met else 'no' if met is not None else '-'} |")
        details = r.get("details") if isinstance(r.get("details"), dict) else {}
        config, why = details.get("anchor_config"), details.get("why_best")
        if config or why:
            notes.append(f"- **{name}**: {config or '(configuration not recorded)'}. Why its best: "
                         f"{why or '(not recorded)'}.")
        else:
            notes.append(f"- **{name}**: the result does not record the anchor's configuration.")
    return "\n".join(rows + notes)


if __name__ == "__main__":
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: f"{START}\n{table()}\n{END}", text,
                 flags=re.S)
    readme.write_text(new)
    print(table())

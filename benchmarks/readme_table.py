"""Regenerates README.md's benchmark table from benchmarks/results/*.json."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def table():
    rows = ["| benchmark | metric | adl_keras | anchor | anchor value | ratio | goal | met |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        r = json.loads(path.read_text())
        fmt = lambda v: f"{v:.4g}" if isinstance(v, (int, float)) else str(v)
        rows.append(f"| {r['name']} | {r['metric']} ({r.get('unit', '')}) | {fmt(r['value'])} | {r['anchor']} | "
                    f"{fmt(r['anchor_value'])} | {fmt(r['ratio'])} | {r['goal']} | {'yes' if r['meets_goal'] else 'no'} |")
    return "\n".join(rows)


if __name__ == "__main__":
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = re.sub(re.escape(START) + ".*?" + re.escape(END), f"{START}\n{table()}\n{END}", text, flags=re.S)
    readme.write_text(new)
    print(table())

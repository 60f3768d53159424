"""Runs every ``benchmarks/bench_*.py`` in its own process (``make bench``)."""

import subprocess
import sys
from pathlib import Path

if __name__ == "__main__":
    failed = []
    for script in sorted(Path(__file__).parent.glob("bench_*.py")):
        print(f"== {script.stem}", flush=True)
        if subprocess.call([sys.executable, "-m", f"benchmarks.{script.stem}"]) != 0:
            failed.append(script.stem)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")

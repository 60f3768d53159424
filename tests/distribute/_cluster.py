"""Starts a local cluster of worker processes for the multi-worker tests."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cluster(argv, num_workers=2, timeout=600, env=None, kill=None):
    """Runs ``python ARGV`` once per worker with TF_CONFIG on 127.0.0.1.

    Args:
        argv: arguments after ``python``.
        kill: optional ``(worker_index, predicate(chief_output_so_far) -> bool)``:
            SIGKILL that worker once the predicate holds.

    Returns:
        list of (returncode, output) per worker.
    """
    from adl_keras import distribute

    configs = distribute.local_tf_configs(num_workers)
    base = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2",
            "ADL_KERAS_CONNECT_TIMEOUT": "120", **(env or {})}
    logs = [open(os.devnull) for _ in range(0)]
    procs, outs = [], []
    for i, config in enumerate(configs):
        out = Path(os.environ.get("TMPDIR", "/tmp")) / f"adl_mw_{os.getpid()}_{i}_{time.time_ns()}.log"
        outs.append(out)
        f = open(out, "w")
        logs.append(f)
        procs.append(subprocess.Popen([sys.executable, *argv], cwd=ROOT, env={**base, "TF_CONFIG": config},
                                      stdout=f, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + timeout
    killed = False
    try:
        while any(p.poll() is None for p in procs):
            if time.monotonic() > deadline:
                raise TimeoutError(f"cluster did not finish within {timeout} s")
            if kill and not killed and kill[1](outs[0].read_text(errors="replace")):
                procs[kill[0]].kill()
                killed = True
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        for f in logs:
            f.close()
    result = [(p.returncode, o.read_text(errors="replace")) for p, o in zip(procs, outs)]
    for o in outs:
        o.unlink(missing_ok=True)
    return result

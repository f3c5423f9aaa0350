"""Independent annealing runs in helper processes; the best timetable wins.

Simulated annealing's result varies from seed to seed, so on a machine with spare cores the best of
several independent runs of the full time limit is better on average than one run. The helpers are
plain subprocesses (``python -m timetable.engine.parallel IN OUT``), not ``multiprocessing``
children, so they also work inside a daemonic Celery worker process. The problem and the starting
timetable go to the helper as a pickle file, the helper's best timetable comes back the same way;
the caller keeps running its own search meanwhile and keeps checking ``should_stop`` (a cancelled run
kills its helpers).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .core import Compiled, State


class Helper:
    """One annealing run in a subprocess."""

    def __init__(self, problem, starts, rooms, seed: int, deadline: float, kw: dict):
        self.dir = tempfile.mkdtemp(prefix="campus-anneal-")
        self.inp = Path(self.dir) / "in.pickle"
        self.out = Path(self.dir) / "out.pickle"
        payload = {"problem": problem, "starts": starts, "rooms": rooms, "seed": seed, "deadline": deadline, "kw": kw}
        self.inp.write_bytes(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "timetable.engine.parallel", str(self.inp), str(self.out)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=root,
        )

    def result(self, timeout: float) -> dict | None:
        """The helper's best timetable, or None (failed, or not finished within ``timeout``)."""
        try:
            self.proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        try:
            if self.proc.returncode == 0 and self.out.exists():
                return pickle.loads(self.out.read_bytes())  # noqa: S301 - written by our own helper
            return None
        finally:
            self.cleanup()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.cleanup()

    def cleanup(self) -> None:
        for p in (self.inp, self.out):
            p.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            os.rmdir(self.dir)


def _main(inp: str, out: str) -> int:
    import random

    from .restarts import anneal_with_restarts

    data = pickle.loads(Path(inp).read_bytes())  # noqa: S301 - written by our parent process
    cp = Compiled(data["problem"])
    st = State(cp)
    st.load(data["starts"], data["rooms"])
    info = anneal_with_restarts(st, random.Random(data["seed"]), data["deadline"], **data["kw"])
    tmp = out + ".tmp"
    Path(tmp).write_bytes(pickle.dumps({"starts": st.start, "rooms": st.room, "cost": st.cost, "stats": info}))
    os.replace(tmp, out)
    return 0


def anneal_best_of(st: State, rng, deadline: float, helpers: int, should_stop=None, **kw) -> dict:
    """Anneal ``st`` here and in ``helpers`` subprocesses (other seeds) until the deadline; leave the
    best timetable in ``st``. Deterministic for a seed when every run ends on its iteration budget."""
    from .restarts import anneal_with_restarts

    seeds = [rng.getrandbits(62) for _ in range(helpers)]
    starts, rooms = st.snapshot()
    kw_helper = {k: v for k, v in kw.items() if k not in ("progress", "started")}
    procs = [Helper(st.cp.problem, starts, rooms, s, deadline, kw_helper) for s in seeds]
    try:
        info = anneal_with_restarts(st, rng, deadline, should_stop=should_stop, **kw)
        cancelled = should_stop is not None and should_stop()
        runs = [{"seed": "main", "cost": st.cost, "iterations": info.get("iterations")}]
        for h in procs:
            res = None if cancelled else h.result(timeout=deadline - time.monotonic() + 5.0)
            if res is None:
                h.kill()
                runs.append({"cost": None})
                continue
            runs.append({"cost": res["cost"], "iterations": res["stats"].get("iterations")})
            if res["cost"] < st.cost - 1e-9:
                st.load(res["starts"], res["rooms"])
        info["runs"] = runs
        return info
    finally:
        for h in procs:
            h.kill()


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1], sys.argv[2]))

"""FET comparison: fet-cl and our generator on the same ``.fet`` files, side by side.

    python bench/fet.py FILE… [--seconds N] [--quality-seconds Q]

Needs Debian's ``fet`` and ``fet-data`` (``apt-get install -y fet fet-data``); examples live under
``/usr/share/doc/fet-data/examples/``. For each file:

* fet-cl: ``QT_QPA_PLATFORM=offscreen fet-cl --inputfile=F --outputdir=D --timelimitseconds=N``;
  wall time; valid when it wrote a timetable;
* ours: the import report (skipped constraint types), wall time to the first timetable without hard
  violations (``stop_when_feasible``, as FET stops at its first valid timetable), then the soft
  penalty after a run of Q seconds; the timetable is exported as locked activities and re-checked by
  fet-cl itself (``fet-check``), which also covers constraints our import skipped.

Last line: ``valid=<k>/<n> median_speedup=<x>`` with k the files where our timetable is valid and
the speedup the median of fet seconds / our seconds over files where both found one. Our seconds are
those of ``solve()`` in a process that has loaded the compiled search, as the product's worker does at
start; the load time is printed once. fet-cl's include its own start.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timetable.engine import fet, solve  # noqa: E402


def run_fet(path: Path, seconds: float, grace: float = 120) -> tuple[bool, float, str]:
    exe = shutil.which("fet-cl")
    if exe is None:
        raise SystemExit("fet-cl not found: apt-get install -y fet fet-data")
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        t = time.monotonic()
        try:
            proc = subprocess.run(
                [exe, f"--inputfile={path}", f"--outputdir={out}", f"--timelimitseconds={int(max(1, seconds))}"],
                env=env,
                capture_output=True,
                text=True,
                timeout=seconds + grace,
            )
        except subprocess.TimeoutExpired:
            return False, time.monotonic() - t, "fet-cl did not finish (killed)"
        secs = time.monotonic() - t
        produced = any(p.name.endswith("_data_and_timetable.fet") for p in Path(out).rglob("*.fet"))
        msg = (proc.stdout + proc.stderr).strip().splitlines()
        return proc.returncode == 0 and produced, secs, (msg[-1] if msg else "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--seconds", type=float, default=60, help="time limit for fet-cl and for our first timetable")
    ap.add_argument("--quality-seconds", type=float, default=20, help="our run for the soft penalty")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    valid = 0
    speedups = []
    # The product's worker loads the compiled search once at start (timetable.apps); do the same here,
    # so the first file does not pay for it, and show what it costs.
    from timetable.engine.kernel import warm_up

    print(f"compiled search loaded in {warm_up():.2f} s (once per process, not counted below)")
    for f in map(Path, args.files):
        print(f"== {f}")
        imp = fet.load(f)
        pb = imp.problem
        skipped = ", ".join(f"{k}×{v}" for k, v in sorted(imp.skipped.items())) or "none"
        print(f"  import: {sum(c.lessons for c in pb.courses)} lessons, skipped: {skipped}")
        fet_ok, fet_secs, fet_msg = run_fet(f, args.seconds)
        print(f"  fet-cl: valid={fet_ok} seconds={fet_secs:.2f}  ({fet_msg[:100]})")
        t = time.monotonic()
        first = solve(pb, "auto", time_limit=args.seconds, seed=args.seed, stop_when_feasible=True)
        our_secs = time.monotonic() - t
        ours_ok = first.feasible
        print(
            f"  ours:   valid={ours_ok} seconds={our_secs:.2f} unplaced={len(first.unplaced)} "
            f"hard={len(first.hard_violations)} {first.hard_violations[:2]}"
        )
        best = first
        if args.quality_seconds > 0:
            full = solve(pb, "auto", time_limit=args.quality_seconds, seed=args.seed, initial=first.solution)
            if (not full.unplaced, not full.hard_violations, -full.cost) >= (ours_ok, ours_ok, -first.cost):
                best = full
        print(f"  ours:   soft penalty {best.cost} {best.breakdown} after {args.quality_seconds:g} s more")
        if best.feasible:
            text = fet.export_fet(pb, best.solution, imp.activity_of, imp.source)
            with tempfile.TemporaryDirectory() as d:
                p = Path(d) / f"{f.stem}-ours.fet"
                p.write_text(text, encoding="utf-8")
                chk_ok, chk_secs, chk_msg = run_fet(p, 20, grace=10)
            print(f"  fet-check of our timetable (all locked): valid={chk_ok} ({chk_secs:.1f} s) {chk_msg[:80]}")
        if ours_ok:
            valid += 1
            if fet_ok:
                speedups.append(fet_secs / max(our_secs, 1e-3))
    med = statistics.median(speedups) if speedups else float("nan")
    print(f"valid={valid}/{len(args.files)} median_speedup={med:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

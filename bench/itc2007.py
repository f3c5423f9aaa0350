"""ITC-2007 track 3 benchmark of the timetable generator.

    python bench/itc2007.py [FOLDER] [--seconds N] [--out DIR] [--seed S] [--algorithm auto] [--workers W]

Runs the generator on every ``.ctt`` in FOLDER (default ``../shared/bench/itc2007`` beside the
repository), N seconds each, writes ``DIR/<instance>.sol`` in the competition format, re-reads and
checks each solution with the independent validator (:func:`timetable.engine.itc2007.validate`),
and prints hard violations, soft cost, best known, ratio and seconds per instance; the last line is
``feasible=<k>/<n> mean_ratio=<x>`` (mean over instances with a best-known cost, feasible ones).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timetable.engine import itc2007, solve  # noqa: E402

BEST_KNOWN = {"comp01": 5, "comp02": 24, "comp03": 66, "comp04": 35, "comp05": 284, "comp06": 27, "comp07": 6}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", default=str(ROOT.parent / "shared" / "bench" / "itc2007"))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--out", default=str(ROOT / "var" / "bench-itc2007"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--algorithm", default="auto")
    ap.add_argument("--workers", type=int, default=2, help="cores for CP-SAT and parallel annealing runs")
    args = ap.parse_args(argv)
    files = sorted(Path(args.folder).glob("*.ctt"))
    if not files:
        print(f"no .ctt files in {args.folder}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{'instance':10} {'hard':>5} {'cost':>6} {'best':>5} {'ratio':>6} {'secs':>6}  breakdown")
    feasible = 0
    ratios = []
    for f in files:
        inst, problem = itc2007.load(f)
        t = time.monotonic()
        res = solve(problem, algorithm=args.algorithm, time_limit=args.seconds, seed=args.seed, workers=args.workers)
        secs = time.monotonic() - t
        text = itc2007.format_solution(res.solution)
        (out / f"{f.stem}.sol").write_text(text)
        score = itc2007.validate(inst, itc2007.parse_solution((out / f"{f.stem}.sol").read_text()))
        if score.cost != res.cost and not score.violations:
            print(f"  warning: engine cost {res.cost} != validator cost {score.cost}")
        best = BEST_KNOWN.get(f.stem)
        ok = score.violations == 0
        feasible += ok
        ratio = score.cost / best if best and ok else None
        if ratio is not None:
            ratios.append(ratio)
        parts = (
            f"cap={score.room_capacity} mwd={score.min_working_days} "
            f"cc={score.curriculum_compactness} rs={score.room_stability}"
        )
        print(
            f"{f.stem:10} {score.violations:>5} {score.cost:>6} {best if best else '-':>5} "
            f"{f'{ratio:.2f}' if ratio is not None else '-':>6} {secs:>6.1f}  {parts}",
            flush=True,
        )
    mean = sum(ratios) / len(ratios) if ratios else float("nan")
    print(f"feasible={feasible}/{len(files)} mean_ratio={mean:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

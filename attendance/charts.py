"""The weekly trend chart as plain numbers for an inline SVG template (no script, no inline style).

The page's CSP forbids inline scripts and styles, so the chart is drawn on the server with SVG
presentation attributes (``fill``, ``stroke``), which the CSP allows. Colour is never the only signal:
weeks under the warning line are drawn as squares, the others as circles, and the same figures are in a
table next to the chart.
"""

from dataclasses import dataclass

WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 28, 12, 36
MAX_X_LABELS = 12


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    below: bool
    title: str

    @property
    def corner(self) -> tuple[float, float]:
        """Top-left of the 8 × 8 square drawn for a week under the warning line."""
        return round(self.x - 4, 1), round(self.y - 4, 1)


def _y(percent: float) -> float:
    return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - percent / 100), 1)


def trend_chart(*, weeks: list[dict], threshold: int, name: str = "") -> dict | None:
    """Coordinates for ``attendance/_trend_chart.html`` from ``reports.fill_weeks`` rows; None without data."""
    if not any(w["percent"] is not None for w in weeks):
        return None
    inner = WIDTH - LEFT - RIGHT
    step = inner / max(len(weeks) - 1, 1)
    points, segments, current = [], [], []
    for i, week in enumerate(weeks):
        x = round(LEFT + (step * i if len(weeks) > 1 else inner / 2), 1)
        week["x"] = x
        if week["percent"] is None:  # a week with no counted marks breaks the line
            if current:
                segments.append(current)
            current = []
            continue
        y = _y(week["percent"])
        counted = week["present"] + week["late"] + week["absent"]
        attended = week["present"] + week["late"]
        title = f"Week of {week['week']:%d %b}: {week['percent']:.0f} % ({attended} of {counted} classes attended)"
        points.append(Point(x=x, y=y, below=week["percent"] < threshold, title=title))
        current.append(f"{x},{y}")
    if current:
        segments.append(current)
    every = max(1, -(-len(weeks) // MAX_X_LABELS))  # ceil: at most MAX_X_LABELS labels on the axis
    x_labels = [{"x": w["x"], "label": f"{w['week']:%d %b}"} for i, w in enumerate(weeks) if i % every == 0]
    valued = [w for w in weeks if w["percent"] is not None]
    low = min(valued, key=lambda w: w["percent"])
    high = max(valued, key=lambda w: w["percent"])
    below = sum(1 for w in valued if w["percent"] < threshold)
    desc = (
        f"Attendance per week from {weeks[0]['week']:%d %b} to {weeks[-1]['week']:%d %b %Y}: "
        f"lowest {low['percent']:.0f} % (week of {low['week']:%d %b}), highest {high['percent']:.0f} %, "
        f"latest {valued[-1]['percent']:.0f} %. {below} of {len(valued)} weeks are under the {threshold} % line."
    )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "tick_x": LEFT - 6,
        "right": WIDTH - RIGHT,
        "bottom": HEIGHT - BOTTOM,
        "label_y": HEIGHT - BOTTOM + 18,
        "grid": [{"y": _y(p), "label": f"{p} %"} for p in (0, 25, 50, 75, 100)],
        "threshold": threshold,
        "threshold_y": _y(threshold),
        "segments": [" ".join(s) for s in segments],
        "points": points,
        "x_labels": x_labels,
        "title": f"Weekly attendance{f' of {name}' if name else ''}",
        "desc": desc,
    }

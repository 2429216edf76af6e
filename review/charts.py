"""Small server-side SVG charts (bars and lines), inlined into pages: no JavaScript.

Every label goes through XML escaping; colours come from the stylesheet classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from markupsafe import Markup

WIDTH, HEIGHT = 520, 220
PAD_L, PAD_R, PAD_T, PAD_B = 56, 28, 24, 42


#: A month at either end of an axis with fewer claims than this share of the
#: busiest month's is taken for corrupt dates (a claim "discharged" in 2016) and left off.
EDGE_MONTH_SHARE = 0.05


def plausible_months(counts: dict[str, int]) -> set[str]:
    """The months of ``counts`` (month -> claims) an axis shows: sparse ends trimmed.

    Months inside the range are kept whatever their count; only leading and
    trailing months with fewer than :data:`EDGE_MONTH_SHARE` of the busiest
    month's claims are dropped, so a handful of corrupt dates cannot stretch
    the axis over ten empty years.
    """
    months = sorted(m for m in counts if m)
    if not months:
        return set()
    busiest = max(counts[m] for m in months)

    def sparse(month: str) -> bool:
        return counts[month] < busiest * EDGE_MONTH_SHARE

    start, end = 0, len(months)
    while start < end and sparse(months[start]):
        start += 1
    while end > start and sparse(months[end - 1]):
        end -= 1
    return set(months[start:end])


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.2f}"


def _frame(title: str, top: float, body: list[str]) -> Markup:
    plot_h = HEIGHT - PAD_T - PAD_B
    grid = []
    for i in range(5):
        y = PAD_T + plot_h - plot_h * i / 4
        grid.append(
            f'<line class="grid" x1="{PAD_L}" y1="{y:.1f}" x2="{WIDTH - PAD_R}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{PAD_L - 4}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(_fmt(top * i / 4))}</text>"
        )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title, {chr(34): "&quot;"})}" xmlns="http://www.w3.org/2000/svg">'
        f'<text class="title" x="{PAD_L}" y="14">{escape(title)}</text>'
        + "".join(grid)
        + "".join(body)
        + "</svg>"
    )


def bar_chart(
    labels: Sequence[str], values: Sequence[float], title: str, highlight: int | None = None
) -> Markup:
    """Vertical bars, one per label; ``highlight`` marks one bar (e.g. this hospital)."""
    top = max([v for v in values if v is not None] + [0.0]) * 1.1 or 1.0
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B
    step = plot_w / max(1, len(values))
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * (value or 0.0) / top
        x = PAD_L + i * step + step * 0.15
        cls = "bar hi" if i == highlight else "bar"
        body.append(
            f'<rect class="{cls}" x="{x:.1f}" y="{PAD_T + plot_h - h:.1f}" '
            f'width="{step * 0.7:.1f}" height="{h:.1f}"><title>{escape(label)}: '
            f"{escape(_fmt(value or 0.0))}</title></rect>"
            f'<text class="axis" x="{x + step * 0.35:.1f}" y="{HEIGHT - PAD_B + 14}" '
            f'text-anchor="middle">{escape(label[:12])}</text>'
        )
    return _frame(title, top, body)


def line_chart(
    x_labels: Sequence[str], series: dict[str, Sequence[float | None]], title: str
) -> Markup:
    """One polyline per series over shared x labels (months).

    A month without a value (None) gets no dot, and the line is drawn straight
    across it from the month before to the month after.
    """
    values = [v for vs in series.values() for v in vs if v is not None]
    top = max([*values, 0.0]) * 1.1 or 1.0
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B
    n = max(1, len(x_labels) - 1)
    body = []
    for i, label in enumerate(x_labels):
        x = PAD_L + plot_w * i / n
        body.append(
            f'<text class="axis" x="{x:.1f}" y="{HEIGHT - PAD_B + 14}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    for k, (name, vs) in enumerate(series.items()):
        points = [
            f"{PAD_L + plot_w * i / n:.1f},{PAD_T + plot_h - plot_h * v / top:.1f}"
            for i, v in enumerate(vs)
            if v is not None
        ]
        body.append(f'<polyline class="line s{k}" points="{" ".join(points)}"/>')
        for point in points:
            cx, cy = point.split(",")
            body.append(f'<circle class="dot s{k}" cx="{cx}" cy="{cy}" r="3"/>')
        body.append(
            f'<text class="legend s{k}" x="{PAD_L + 8 + 130 * k}" y="{HEIGHT - 8}">'
            f"■ {escape(name)}</text>"
        )
    return _frame(title, top, body)

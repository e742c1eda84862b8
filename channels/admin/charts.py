"""Server-rendered SVG charts for the stats page (no JavaScript library).

Each function returns :class:`markupsafe.Markup`; every label is escaped here, so residents'
text can never inject markup. Charts scale to their container (``viewBox`` + ``width=100%``).
"""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 600, 220, 44, 28, 16
COLORS = ("#2f6fdf", "#2a9d5c", "#d9534f", "#e0a020")


def _frame(body: str, title: str, height: int = HEIGHT) -> Markup:
    return Markup(f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
                  f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
                  f'<title>{escape(title)}</title>{body}</svg>')


def _nice_top(value: float) -> float:
    """An axis maximum >= ``value`` whose quarters are whole numbers (4, 8, 12, 20, 40 ...)."""
    step = max(1, -(-int(value) // 4))
    magnitude = 10 ** (len(str(step)) - 1)
    for nice in (1, 2, 2.5, 5, 10):
        if nice * magnitude >= step and float(nice * magnitude).is_integer():
            return 4 * nice * magnitude
    return 4 * step


def _axis(top: float, percent: bool) -> str:
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    out = []
    for i in range(5):
        value = top * i / 4
        y = HEIGHT - PAD_BOTTOM - plot_h * i / 4
        label = f"{value * 100:.0f}%" if percent else f"{value:.0f}"
        out.append(f'<line x1="{PAD_LEFT}" x2="{WIDTH - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                   f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#6b7280">'
                   f'{label}</text>')
    return "".join(out)


def _x_labels(labels: list[str]) -> str:
    n = len(labels)
    step = max(1, n // 8)
    slot = (WIDTH - PAD_LEFT - 4) / max(n, 1)
    return "".join(f'<text x="{PAD_LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                   f'font-size="11" fill="#6b7280">{escape(label)}</text>'
                   for i, label in enumerate(labels) if i % step == 0)


def _empty(title: str) -> Markup:
    return _frame(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" font-size="14" fill="#6b7280">'
                  f'暂无数据</text>', title)


def bar_chart(points: list[tuple[str, float]], *, title: str) -> Markup:
    """Vertical bars, one per ``(label, value)``; values >= 0."""
    if not points:
        return _empty(title)
    top = _nice_top(max(v for _, v in points))
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT - 4) / len(points)
    width = min(slot * 0.7, 40)
    bars = "".join(
        f'<rect x="{PAD_LEFT + slot * (i + 0.5) - width / 2:.1f}" y="{HEIGHT - PAD_BOTTOM - plot_h * v / top:.1f}" '
        f'width="{width:.1f}" height="{plot_h * v / top:.1f}" fill="{COLORS[0]}">'
        f'<title>{escape(label)}：{v:g}</title></rect>' for i, (label, v) in enumerate(points))
    return _frame(_axis(top, False) + bars + _x_labels([label for label, _ in points]), title)


def line_chart(points: list[tuple[str, float]], *, title: str, percent: bool = False) -> Markup:
    """A line through ``(label, value)`` points; with ``percent`` values are 0..1."""
    if not points:
        return _empty(title)
    top = 1.0 if percent else _nice_top(max(v for _, v in points))
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = (WIDTH - PAD_LEFT - 4) / len(points)
    xy = [(PAD_LEFT + slot * (i + 0.5), HEIGHT - PAD_BOTTOM - plot_h * v / top) for i, (_, v) in enumerate(points)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLORS[1]}"><title>{escape(label)}：'
                   f'{v * 100:.0f}%</title></circle>' if percent else
                   f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLORS[1]}"/>'
                   for (x, y), (label, v) in zip(xy, points))
    body = (f'<polyline points="{path}" fill="none" stroke="{COLORS[1]}" stroke-width="2"/>' + dots)
    return _frame(_axis(top, percent) + body + _x_labels([label for label, _ in points]), title)


def share_bar(parts: list[tuple[str, int]], *, title: str) -> Markup:
    """One horizontal bar split by share, with a legend (label, count, percent)."""
    total = sum(n for _, n in parts)
    height = 90
    if not total:
        return _frame(f'<text x="{WIDTH / 2}" y="45" text-anchor="middle" font-size="14" fill="#6b7280">暂无数据</text>',
                      title, height)
    x, body, legend_x = 4.0, [], 4.0
    for i, (label, n) in enumerate(parts):
        w = (WIDTH - 8) * n / total
        color = COLORS[i % len(COLORS)]
        body.append(f'<rect x="{x:.1f}" y="8" width="{w:.1f}" height="30" fill="{color}">'
                    f'<title>{escape(label)}：{n}</title></rect>')
        body.append(f'<rect x="{legend_x:.1f}" y="56" width="12" height="12" fill="{color}"/>'
                    f'<text x="{legend_x + 17:.1f}" y="67" font-size="12" fill="#111827">'
                    f'{escape(label)} {n}（{100 * n / total:.0f}%）</text>')
        x += w
        legend_x += WIDTH / len(parts)
    return _frame("".join(body), title, height)

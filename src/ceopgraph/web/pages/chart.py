"""The chart of a dataset's figures: horizontal bars, server-rendered as SVG by the page template.

No script and no library: the page stays within its Content-Security-Policy and works without
JavaScript. This module only lays the bars out; ``templates/macros.html`` draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ceopgraph.web.pages.model import Figure


@dataclass(frozen=True)
class Bar:
    label: str
    shown: str
    href: str | None
    derived: bool
    y: int
    width: float


@dataclass(frozen=True)
class Panel:
    title: str
    y: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    panels: tuple[Panel, ...]


CHART_WIDTH = 720
CHART_BAR_AREA = 560
CHART_ROW = 46
CHART_PANEL_GAP = 40


def chart(figures_: Sequence[Figure]) -> Chart | None:
    """Horizontal bars, one panel per unit of measure, each panel on its own scale from zero."""
    panels: dict[str, list[Figure]] = {}
    for fig in sorted(figures_, key=lambda f: (f.statistic.label, f.period.label)):
        panels.setdefault(fig.unit or "per cent", []).append(fig)
    if not panels:
        return None
    y = 0
    built = []
    for unit, members in panels.items():
        top = max((f.value for f in members), default=Decimal(0)) or Decimal(1)
        panel_y = y
        y += CHART_PANEL_GAP
        bars = []
        for fig in members:
            width = float(fig.value / top) * CHART_BAR_AREA if fig.value > 0 else 0.0
            label = f"{fig.statistic.label}, {fig.period.label.removeprefix('Government year ')}"
            bars.append(
                Bar(
                    label,
                    fig.shown + (" (derived)" if fig.derived else ""),
                    fig.obs.href,
                    fig.derived,
                    y,
                    round(width, 1),
                )
            )
            y += CHART_ROW
        built.append(Panel(unit.capitalize(), panel_y, tuple(bars)))
        y += 10
    return Chart(CHART_WIDTH, y + 10, tuple(built))

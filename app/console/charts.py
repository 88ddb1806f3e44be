"""Charts drawn on the server as inline SVG (no chart library, no script, no inline style).

Bar charts for the income statement's monthly trend (revenue and expenses as bars, net as
a line), Home's daily deposit and withdrawal volumes and the teller summary; the axis
helpers (a round step, a compact money label) for those and the statement's balance line.
Values stay ``Decimal``; only the pixel positions are floats (they are drawing, not money).
Every chart carries a text description and its figures as a table beside it, so nothing is
only in the picture.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from app.console.formatting import CURRENCY_SYMBOLS, money


@dataclass(frozen=True)
class Series:
    """One kind of figure in the chart: its key, its legend label and its CSS modifier."""

    key: str
    label: str
    css: str


@dataclass(frozen=True)
class Group:
    """One x-axis position (a month, a day) with a value per series key."""

    label: str
    values: dict[str, Decimal]
    long_label: str = ""


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass
class BarChart:
    """The geometry of one bar chart (see ``templates/components/charts.html``)."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    bars: list[Bar] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    zero_y: float = 0.0
    line: str = ""
    line_css: str = ""
    points: list[Point] = field(default_factory=list)
    legend: list[Series] = field(default_factory=list)
    description: str = ""


def compact_money(value: Decimal, currency: str) -> str:
    """An axis label: ``₦1.25m``, ``₦480k``, ``₦950``."""
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), "")
    sign = "−" if value < 0 else ""
    magnitude = abs(value)
    for size, suffix in ((Decimal(10) ** 9, "bn"), (Decimal(10) ** 6, "m"), (Decimal(1000), "k")):
        if magnitude >= size:
            shown = (magnitude / size).quantize(Decimal("0.01")).normalize()
            return f"{sign}{symbol}{shown:f}{suffix}"
    return f"{sign}{symbol}{magnitude.quantize(Decimal(1)):,}"


def nice_step(span: Decimal, steps: int = 4) -> Decimal:
    """A round axis step (1, 2, 2.5 or 5 times a power of ten) for about ``steps`` ticks."""
    raw = span / steps if span > 0 else Decimal(1)
    base = Decimal(10) ** raw.adjusted()
    for multiple in ("1", "2", "2.5", "5", "10"):
        step = base * Decimal(multiple)
        if step >= raw:
            return step
    return base * 10


def value_axis(values: Sequence[Decimal]) -> tuple[Decimal, Decimal, Decimal]:
    """A value axis that holds ``values`` and zero: its low and high ends on round steps,
    and the step."""
    low = min([*values, Decimal(0)])
    high = max([*values, Decimal(0)])
    step = nice_step(high - low)
    axis_low = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    axis_high = (high / step).to_integral_value(rounding="ROUND_CEILING") * step
    if axis_high == axis_low:
        axis_high = axis_low + step
    return axis_low, axis_high, step


def bar_chart(
    groups: Sequence[Group],
    bars: Sequence[Series],
    currency: str,
    *,
    line: Series | None = None,
    description: str = "",
    width: int = 760,
    height: int = 240,
) -> BarChart | None:
    """Bars for each of ``bars`` side by side per group, and ``line`` (if any) across them.

    ``None`` when there is no group to draw.
    """
    if not groups:
        return None
    keys = [s.key for s in bars] + ([line.key] if line else [])
    values = [g.values.get(k, Decimal(0)) for g in groups for k in keys]
    axis_low, axis_high, step = value_axis(values)

    left, right, top, bottom = 72, 16, 14, 30
    plot_w = width - left - right
    plot_h = height - top - bottom
    slot = plot_w / len(groups)
    gap = slot * 0.22
    bar_w = (slot - gap) / max(len(bars), 1)

    def y_of(value: Decimal) -> float:
        share = float((value - axis_low) / (axis_high - axis_low))
        return round(top + plot_h * (1 - share), 1)

    zero_y = y_of(Decimal(0))
    chart = BarChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        zero_y=zero_y,
        legend=[*bars, *([line] if line else [])],
        description=description,
    )
    for index, group in enumerate(groups):
        slot_x = left + slot * index
        for position, series in enumerate(bars):
            value = group.values.get(series.key, Decimal(0))
            y = y_of(value)
            chart.bars.append(
                Bar(
                    x=round(slot_x + gap / 2 + bar_w * position, 1),
                    y=min(y, zero_y),
                    width=round(max(bar_w - 1, 1), 1),
                    height=round(abs(zero_y - y), 1),
                    css=series.css,
                    title=f"{group.long_label or group.label} · {series.label}: "
                    f"{money(value, currency)}",
                )
            )
        chart.x_ticks.append(Tick(round(slot_x + slot / 2, 1), group.label))
    if line is not None:
        chart.line_css = line.css
        for index, group in enumerate(groups):
            value = group.values.get(line.key, Decimal(0))
            chart.points.append(
                Point(
                    x=round(left + slot * index + slot / 2, 1),
                    y=y_of(value),
                    title=f"{group.long_label or group.label} · {line.label}: "
                    f"{money(value, currency)}",
                )
            )
        chart.line = " ".join(
            f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(chart.points)
        )
    value = axis_low
    while value <= axis_high:
        chart.y_ticks.append(Tick(y_of(value), compact_money(value, currency)))
        value += step
    return chart

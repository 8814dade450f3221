"""Charts drawn on the server as inline SVG: no script, no library, nothing fetched.

Each chart names its figures in words (its title and description) and every page shows
the same figures in a table beside it, so nothing is told by colour or shape alone.
"""

from collections.abc import Sequence

from markupsafe import Markup, escape
from pydantic import BaseModel

ROW_HEIGHT = 28
LABEL_WIDTH = 200
BAR_WIDTH = 260
VALUE_WIDTH = 50


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, int, str]]) -> Markup:
    """Horizontal bars, one per (label, value, CSS class), longest for the largest value."""
    largest = max((value for _, value, _ in bars), default=0) or 1
    height = ROW_HEIGHT * len(bars) + 8
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    description = "; ".join(f"{label}: {value}" for label, value, _ in bars)
    rows = []
    for index, (label, value, css_class) in enumerate(bars):
        y = 4 + index * ROW_HEIGHT
        length = round(BAR_WIDTH * value / largest)
        rows.append(
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{y + 18}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect class="bar {escape(css_class)}" x="{LABEL_WIDTH}" y="{y + 4}" '
            f'width="{length}" height="{ROW_HEIGHT - 8}"/>'
            f'<text class="chart-value" x="{LABEL_WIDTH + length + 6}" y="{y + 18}">{value}</text>'
        )
    name = escape(chart_id)
    return Markup(
        f'<svg class="chart" id="{name}" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-labelledby="{name}-title {name}-desc">'
        f'<title id="{name}-title">{escape(title)}</title>'
        f'<desc id="{name}-desc">{escape(description)}</desc>'
        f"{''.join(rows)}</svg>"
    )


def words(value: str) -> str:
    """A status or colour as people write it: ``not_started`` -> ``Not started``."""
    return str(value).replace("_", " ").capitalize()


def counts_chart(chart_id: str, title: str, counts: BaseModel, css_prefix: str) -> Markup:
    """One bar per field of a counts schema (RagCounts, StatusCounts...), in the schema's order."""
    bars = [(words(name), value, f"{css_prefix}-{name}") for name, value in counts.model_dump().items()]
    return bar_chart(chart_id, title, bars)

"""Inline SVG charts: every value visible for what it is, text escaped."""

import re

from app.web.charts import bar_chart


def _bars(svg: str) -> list[tuple[str, float]]:
    return [
        (cls, float(height))
        for cls, height in re.findall(r'<rect class="([\w-]+)" [^>]*height="([\d.]+)"', svg)
    ]


def test_bars_scale_to_the_maximum() -> None:
    bars = _bars(bar_chart([50, 100, 25], label="rate", maximum=100))
    assert [cls for cls, _ in bars] == ["bar", "bar", "bar"]
    heights = [h for _, h in bars]
    assert heights[1] == 2 * heights[0] == 4 * heights[2]


def test_a_zero_rate_is_drawn_apart_from_no_data() -> None:
    """An hour in which every attempt failed is not a quiet hour."""
    bars = _bars(bar_chart([0, None, 100], label="rate", maximum=100, zero_is_bad=True))
    assert [cls for cls, _ in bars] == ["bar-zero", "bar-empty", "bar"]
    assert bars[0][1] > 0


def test_a_zero_count_is_a_quiet_interval() -> None:
    bars = _bars(bar_chart([0, None, 3], label="attempts"))
    assert [cls for cls, _ in bars] == ["bar-empty", "bar-empty", "bar"]


def test_labels_and_titles_are_escaped() -> None:
    svg = bar_chart([1], label="<script>x</script>", titles=['"><img src=x>'])
    assert "<script>" not in svg
    assert "<img" not in svg
    assert 'role="img"' in svg

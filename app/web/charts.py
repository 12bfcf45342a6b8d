"""Small charts as inline SVG, drawn on the server: no chart library, no script, and they pass
the pages' Content-Security-Policy (presentation attributes and classes, no inline style)."""

from collections.abc import Sequence

from markupsafe import Markup, escape

_WIDTH = 240
_HEIGHT = 48


def bar_chart(
    values: Sequence[float | None],
    *,
    label: str,
    maximum: float | None = None,
    titles: Sequence[str] = (),
    css_class: str = "chart",
    zero_is_bad: bool = False,
) -> Markup:
    """Bars for ``values`` left to right, scaled to ``maximum`` (the largest value when not
    given). ``None`` (no data) is a faint stub, and so is zero, unless ``zero_is_bad`` (a success
    rate): then it is a stub in the warning colour, so an hour where every attempt failed never
    looks like a quiet one. ``label`` is what a screen reader hears; ``titles`` are per-bar
    tooltips."""
    top = maximum if maximum is not None else max((v for v in values if v), default=0.0)
    step = _WIDTH / max(len(values), 1)
    bars = []
    for index, value in enumerate(values):
        x = index * step + 0.5
        width = max(step - 1, 1)
        tooltip = f"<title>{escape(titles[index])}</title>" if index < len(titles) else ""
        if not value or top <= 0:
            stub = "bar-zero" if zero_is_bad and value == 0 else "bar-empty"
            bars.append(
                f'<rect class="{stub}" x="{x:.1f}" y="{_HEIGHT - 2}" '
                f'width="{width:.1f}" height="2">{tooltip}</rect>'
            )
            continue
        height = max(value / top * (_HEIGHT - 2), 1.0)
        bars.append(
            f'<rect class="bar" x="{x:.1f}" y="{_HEIGHT - height:.1f}" '
            f'width="{width:.1f}" height="{height:.1f}">{tooltip}</rect>'
        )
    return Markup(
        f'<svg class="{escape(css_class)}" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
        f'preserveAspectRatio="none" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{''.join(bars)}</svg>"
    )

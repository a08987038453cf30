"""Small multiples: one contour panel per run, same axes and colours, so runs can be compared side by
side without paths hiding one another."""
from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .contour import contour_trace
from .data import check_grid, check_positive_int, check_runs, check_style, check_surface
from .levels import levels_for
from .overlay import critical_traces, domain_axes, run_traces
from .style import CONTOUR_SCALE, Style
from .surface3d import downsample

PANEL_SIDE = 100       # each panel's grid is downsampled to at most this many points per axis


def small_multiples_figure(surface, grid, runs, style: Style | None = None, *,
                           cols: int | None = None) -> go.Figure:
    """A grid of contour panels, one per run (title = its label, "diverged at step k" added when it
    did), with the run's path in its colour. Panels share x/y ranges (the domain) and one colour axis,
    so the colour bar appears once. ``cols`` defaults to 2 for up to 4 runs, else 3."""
    check_surface(surface)
    runs = check_runs(runs)
    style = check_style(style)
    full = check_grid(grid)
    n = max(len(runs), 1)
    cols = check_positive_int("cols", cols) if cols is not None else (n if n <= 2 else 2 if n <= 4 else 3)
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    titles = [r.label + (f" — {r.diverged_note()}" if r.diverged_note() else "") for r in runs]
    # Shared zoom through x only: every y axis is tied to its own x by an equal-aspect anchor, which
    # Plotly drops when the y axes also "match" each other (the panels then get unequal widths).
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles or [surface.label],
                        horizontal_spacing=0.04, vertical_spacing=0.1 if rows > 1 else 0.05)
    fig.update_annotations(font_size=style.small_font_size)
    lv = levels_for(full[2])
    small = downsample(full, PANEL_SIDE)
    for idx in range(n):
        row, col = idx // cols + 1, idx % cols + 1
        fig.add_trace(contour_trace(surface, small, style, levels=lv, coloraxis="coloraxis"), row=row, col=col)
        if runs:
            for trace in run_traces(runs[idx], surface, style, show_legend=False):
                fig.add_trace(trace, row=row, col=col)
        for trace in critical_traces(surface, style):
            fig.add_trace(trace, row=row, col=col)
        domain_axes(fig, surface, row=row, col=col)
    if not runs:
        style.empty(fig, "no runs")
    fig.update_layout(coloraxis=dict(colorscale=[list(s) for s in CONTOUR_SCALE], cmin=lv.lo, cmax=lv.hi,
                                     colorbar=lv.colorbar(style)))
    style.apply(fig, legend=False)
    fig.update_xaxes(title_text="", matches="x")
    fig.update_yaxes(title_text="")
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    for col in range(1, cols + 1):      # x labels under the lowest panel of each column
        last_row = (n - col) // cols + 1
        fig.update_xaxes(showticklabels=True, row=last_row, col=col)
    fig.update_yaxes(showticklabels=True, col=1)
    fig.update_layout(height=round(300 * rows * style.zoom) + 60, hovermode="closest")
    return fig

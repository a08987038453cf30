"""The main view: the surface as filled contours with every run's path over it."""
from __future__ import annotations

from typing import NamedTuple

import plotly.graph_objects as go

from .data import TRUSTED, check_grid, check_runs, check_style, check_surface, f32
from .levels import Levels, levels_for
from .overlay import axis_specs, click_grid_trace, critical_traces, layered, run_traces
from .style import CONTOUR_SCALE, Style

N_LEVELS = 24


def contour_trace(surface, grid, style: Style | None = None, *, levels: Levels | None = None,
                  coloraxis: str | None = None, showscale: bool = True,
                  n_levels: int = N_LEVELS, hover: bool = False) -> go.Contour:
    """The bare filled-contour trace of ``grid`` = (xs, ys, Z) (as from ``surface.grid(n)``).

    Levels are linear, or log10(f − min Z + ε) when the values span more than ~2.4 decades (see
    :mod:`plots.levels`), with the colour bar labelled in real f. Z is sent as float32. With
    ``coloraxis`` the colour bar lives in ``layout[coloraxis]`` (shared by several panels). With
    ``hover`` the trace shows (x, y) and the real f under the mouse (it carries f as ``customdata``)."""
    check_surface(surface)
    style = check_style(style)
    xs, ys, z = check_grid(grid)
    lv = levels or levels_for(z)
    zt = lv.transform(z)
    size = (lv.hi - lv.lo) / n_levels
    trace = dict(
        x=f32(xs), y=f32(ys), z=f32(zt), hoverinfo="skip", name=surface.label,
        contours=dict(coloring="fill", showlines=True, start=lv.lo, end=lv.hi, size=size),
        line=dict(width=0.5, color=style.contour_line, smoothing=0),   # smoothing: +40 ms per redraw (measured)
        meta=dict(role="contour", log=lv.log),
    )
    if hover:
        trace.update(customdata=f32(z), hoverinfo=None,
                     hovertemplate="(%{x:.3g}, %{y:.3g})  f=%{customdata:.4g}<extra></extra>")
    if coloraxis:
        trace.update(coloraxis=coloraxis)
    else:
        trace.update(colorscale=[list(s) for s in CONTOUR_SCALE], zmin=lv.lo, zmax=lv.hi,
                     showscale=showscale, colorbar=lv.colorbar(style))
    return go.Contour(**trace, **TRUSTED)


def contour_figure(surface, grid, runs=(), style: Style | None = None, *, click_grid: bool = True,
                   show_legend: bool = True, height: int | None = None) -> go.Figure:
    """Filled contour of the surface with all runs' paths: start ● / end ■ markers, known minima ★,
    saddles ◆, ✕ where a run diverged ("diverged at step k" in its legend label, its hover text, and
    an annotation when the legend is hidden). ``click_grid`` lays an invisible 40×40 scatter over the
    domain so point selection reports clicks (contours report none). Axes span the domain, equal aspect
    where the box is not too long."""
    parts = contour_parts(surface, grid, runs, style, show_legend=show_legend, height=height)
    data = list(parts.base.data)
    if click_grid:
        data.append(click_grid_trace(surface))
    data += layered([t for traces in parts.runs.values() for t in traces]) + parts.critical
    # One constructor call with checked inputs: building the figure step by step (add_traces,
    # update_layout) re-walks it through Plotly's property machinery, ~25 ms per slider move (measured).
    return go.Figure(data=data, layout=parts.base.layout, **TRUSTED)


class ContourParts(NamedTuple):
    """The contour figure in pieces: ``base`` (the contour, axes, colour bar and layout), each run's
    traces by run key, and the traces of the known minima and saddles (drawn over the runs)."""

    base: go.Figure
    runs: dict
    critical: list


def contour_parts(surface, grid, runs=(), style: Style | None = None, *, show_legend: bool = True,
                  height: int | None = None, hover: bool = False) -> ContourParts:
    """The pieces :func:`contour_figure` is made of (the page's chart draws the base once and redraws
    only the runs on top of it when a run changes); ``hover`` as for :func:`contour_trace`."""
    check_surface(surface)
    runs = check_runs(runs)
    style = check_style(style)
    grid = check_grid(grid)
    xaxis, yaxis, equal = axis_specs(surface)
    if equal:
        yaxis.update(scaleanchor="x", scaleratio=1)
    layout = dict(style.layout(legend=show_legend), xaxis=xaxis, yaxis=yaxis, hovermode="closest")
    if height is not None:
        layout["height"] = height
    notes = [f"{r.label}: {r.diverged_note()}" for r in runs if r.diverged_note()]
    if notes and not show_legend:
        layout["annotations"] = [dict(
            text="<br>".join(notes), xref="paper", yref="paper", x=0.01, y=0.99, xanchor="left", yanchor="top",
            showarrow=False, align="left", bgcolor=style.paper_bg, opacity=0.85,
            font=dict(size=style.small_font_size, color=style.text_color))]
    base = go.Figure(data=[contour_trace(surface, grid, style, hover=hover)], layout=layout, **TRUSTED)
    return ContourParts(base,
                        {run.key: run_traces(run, surface, style, show_legend=show_legend) for run in runs},
                        critical_traces(surface, style))

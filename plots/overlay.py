"""Traces drawn over a surface, shared by the contour, animation, small-multiples and inspector figures.

Every trace carries ``meta={"role": ..., "run": key}`` so the app and the tests can find it: roles are
"contour", "click", "halo", "path", "endpoints", "diverged", "minima", "saddles", "marker" (animation).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .data import MAX_RUN_POINTS, TRUSTED, RunView, f32
from .levels import fmt

MAX_PATH_POINTS = 4000      # per start; longer paths are thinned evenly (first and last point kept)
CLICK_GRID = 40             # the invisible click grid is CLICK_GRID × CLICK_GRID points


def thin_index(n: int, max_points: int = MAX_PATH_POINTS) -> np.ndarray:
    """Indices 0..n-1, evenly thinned to at most ``max_points`` (always with the first and last)."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(int))


def path_xy(run: RunView, *, upto: int | None = None, start: int | None = None,
            max_points: int = MAX_PATH_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """All starts' paths (or one ``start``) as one float32 polyline with NaN gaps between starts.

    Points after a start diverged are dropped (the path is frozen there); ``upto`` keeps steps ≤ upto."""
    starts = range(run.k) if start is None else [start]
    max_points = min(max_points, max(2, MAX_RUN_POINTS // len(starts)))   # a budget for the whole run
    xs, ys = [], []
    for i in starts:
        d = int(run.diverged_at[i])
        last = run.steps if d < 0 else max(d - 1, 0)
        if upto is not None:
            last = min(last, upto)
        p = run.path[i, :last + 1]
        p = p[thin_index(len(p), max_points)]
        xs += [p[:, 0], [np.nan]]
        ys += [p[:, 1], [np.nan]]
    return f32(np.concatenate(xs[:-1])), f32(np.concatenate(ys[:-1]))


def exit_point(points: np.ndarray, domain) -> np.ndarray:
    """The last point of a polyline if it is inside ``domain``, else where the polyline last left it
    (so a marker for a run that flew off stays on screen, at the edge it crossed)."""
    (x0, x1), (y0, y1) = domain
    lo, hi = np.array([x0, y0]), np.array([x1, y1])
    inside = np.all((points >= lo) & (points <= hi), axis=1)
    if inside[-1]:
        return points[-1]
    if not inside.any():
        return np.clip(points[-1], lo, hi)
    j = int(np.flatnonzero(inside)[-1])
    a, b = points[j], points[j + 1]
    d = b - a
    with np.errstate(divide="ignore", invalid="ignore"):
        ts = np.concatenate([(lo - a) / d, (hi - a) / d])
    ts = ts[np.isfinite(ts) & (ts >= 0) & (ts <= 1)]
    t = ts.min() if ts.size else 0.0
    return np.clip(a + t * d, lo, hi)


def run_traces(run: RunView, surface, style, *, show_legend: bool = True, faint: bool = False,
               upto: int | None = None) -> list[go.Scatter]:
    """A run over a surface: dark halo, light casing, path (one trace for all K starts), start/end
    markers, ✕ where a start diverged. ``faint`` draws the path lighter (under the animation's moving
    markers); ``upto`` draws steps 0..upto only (no end markers)."""
    note = run.diverged_note()
    name = f"{run.label} ({note})" if note else run.label
    group = run.key
    x, y = path_xy(run, upto=upto)
    width = style.line_width * (0.8 if faint else 1.0)
    opacity = 0.55 if faint else 1.0
    common = dict(legendgroup=group, mode="lines", x=x, y=y, connectgaps=False)
    traces = [
        go.Scatter(**TRUSTED, **common, line=dict(color=style.halo_color, width=width + style.halo_width),
                   opacity=opacity * 0.8, hoverinfo="skip", showlegend=False,
                   meta=dict(role="halo", run=run.key)),
        go.Scatter(**TRUSTED, **common, line=dict(color=style.casing_color, width=width + style.casing_width),
                   opacity=opacity * 0.8, hoverinfo="skip", showlegend=False,
                   meta=dict(role="casing", run=run.key)),
        go.Scatter(**TRUSTED, **common, line=dict(color=run.color, width=width), opacity=opacity, name=name,
                   showlegend=show_legend,
                   hovertemplate=f"{run.label}<br>(%{{x:.4g}}, %{{y:.4g}})<extra></extra>",
                   meta=dict(role="path", run=run.key)),
    ]
    ends = [i for i in range(run.k) if run.diverged_at[i] < 0] if upto is None else []
    pts = np.concatenate([run.path[:, 0], run.path[ends, -1]])
    symbols = ["circle"] * run.k + ["square"] * len(ends)
    hover = ["start"] * run.k + [f"end (step {run.steps})"] * len(ends)
    traces.append(go.Scatter(**TRUSTED,
        x=f32(pts[:, 0]), y=f32(pts[:, 1]), mode="markers", legendgroup=group, showlegend=False,
        marker=dict(color=run.color, size=style.marker_size, symbol=symbols,
                    line=dict(color=style.marker_line, width=1.5)),
        hovertext=[f"{run.label}: {h}" for h in hover], hoverinfo="text",
        unselected=dict(marker=dict(opacity=1)), meta=dict(role="endpoints", run=run.key)))
    div = [i for i in range(run.k) if 0 <= run.diverged_at[i] <= (run.steps if upto is None else upto)]
    if div:
        pts = np.array([exit_point(run.path[i, :max(int(run.diverged_at[i]), 1)], surface.domain)
                        for i in div])
        traces.append(go.Scatter(**TRUSTED,
            x=f32(pts[:, 0]), y=f32(pts[:, 1]), mode="markers", legendgroup=group, showlegend=False,
            marker=dict(color=run.color, size=style.marker_size * 1.6, symbol="x",
                        line=dict(color=style.marker_line, width=1.5)),
            hovertext=[f"{run.label}: diverged at step {int(run.diverged_at[i])}" for i in div],
            hoverinfo="text", cliponaxis=False, unselected=dict(marker=dict(opacity=1)),
            meta=dict(role="diverged", run=run.key, steps=[int(run.diverged_at[i]) for i in div])))
    return traces


LAYER = {"halo": 0, "casing": 1, "path": 2, "endpoints": 3, "diverged": 4}


def layered(traces) -> list:
    """Traces of several runs reordered like a map: every halo, then every casing, then every path,
    then the markers — so no run's casing cuts another's line and no path hides a marker."""
    return sorted(traces, key=lambda t: LAYER.get((t.meta or {}).get("role"), 2))


def critical_traces(surface, style, *, show_legend: bool = False) -> list[go.Scatter]:
    """Known minima (white stars, black outline: visible in both themes) and saddle points (diamonds)."""
    out = []
    for pts, role, symbol, label in ((surface.minima, "minima", "star", "minimum"),
                                     (getattr(surface, "saddles", np.zeros((0, 2))), "saddles",
                                      "diamond", "saddle")):
        pts = np.asarray(pts, dtype=float).reshape(-1, 2)
        if not len(pts):
            continue
        with np.errstate(all="ignore"):
            vals = np.asarray(surface.f(pts), dtype=float).reshape(-1)
        out.append(go.Scatter(**TRUSTED,
            x=pts[:, 0].tolist(), y=pts[:, 1].tolist(), mode="markers", name=label + "s",
            showlegend=show_legend,
            marker=dict(symbol=symbol, size=style.marker_size * (1.5 if symbol == "star" else 1.1),
                        color="#ffffff", line=dict(color="#000000", width=1.5)),
            hovertext=[f"{label} f={fmt(v, 4)}" for v in vals], hoverinfo="text",
            unselected=dict(marker=dict(opacity=1)), meta=dict(role=role)))
    return out


def click_grid_trace(surface, n: int = CLICK_GRID) -> go.Scatter:
    """Invisible n×n points over the domain: a contour reports no clicks, these do (Streamlit's
    ``on_select="rerun", selection_mode="points"`` returns their x, y). Hover shows f there."""
    (x0, x1), (y0, y1) = surface.domain
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    pts = np.stack([gx.ravel(), gy.ravel()], axis=-1)
    with np.errstate(all="ignore"):
        f = np.asarray(surface.f(pts), dtype=float)
    return go.Scatter(**TRUSTED, x=f32(pts[:, 0]), y=f32(pts[:, 1]), customdata=f32(f), mode="markers",
                      name="click", showlegend=False,
                      marker=dict(size=10, opacity=0, color="#000000"),
                      selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
                      hovertemplate="(%{x:.3g}, %{y:.3g})  f=%{customdata:.4g}<extra></extra>",
                      meta=dict(role="click"))


def axis_specs(surface, *, equal: bool | None = None, x_range=None, y_range=None) -> tuple[dict, dict, bool]:
    """The x and y axis settings for a domain (or the given ranges), fixed, and whether the aspect is
    equal (unless the box is very long)."""
    (x0, x1), (y0, y1) = surface.domain
    xr = list(x_range or (x0, x1))
    yr = list(y_range or (y0, y1))
    if equal is None:
        ratio = (xr[1] - xr[0]) / (yr[1] - yr[0])
        equal = 1 / 3 <= ratio <= 3
    xaxis = dict(range=xr, autorange=False, constrain="domain", constraintoward="center", showgrid=False,
                 zeroline=False, title=dict(text="x"))
    yaxis = dict(range=yr, autorange=False, constrain="domain", showgrid=False, zeroline=False,
                 title=dict(text="y"))
    return xaxis, yaxis, equal


def domain_axes(fig: go.Figure, surface, *, row=None, col=None, equal: bool | None = None,
                x_range=None, y_range=None) -> go.Figure:
    """:func:`axis_specs` applied to ``fig`` (to the subplot ``row``, ``col`` if given)."""
    xaxis, yaxis, equal = axis_specs(surface, equal=equal, x_range=x_range, y_range=y_range)
    kw = {} if row is None else dict(row=row, col=col)
    fig.update_xaxes(xaxis, **kw)
    fig.update_yaxes(yaxis, **kw)
    if equal:
        for ax in _y_axes(fig, row, col):
            anchor = ax.anchor or "x"
            ax.update(scaleanchor=anchor, scaleratio=1)
    return fig


def _y_axes(fig, row, col):
    if row is None:
        return [fig.layout.yaxis]
    return list(fig.select_yaxes(row=row, col=col))

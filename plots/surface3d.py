"""The surface in 3-D with the runs' paths lying on it."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .data import check_grid, check_runs, check_style, check_surface, f32
from .levels import Levels, levels_for
from .style import CONTOUR_SCALE, Style

MAX_SIDE = 80          # the surface mesh is downsampled to at most MAX_SIDE × MAX_SIDE
CLIP_PERCENTILE = 99   # z above this percentile of the grid is clipped (no single spike dominates)
LIFT = 0.012           # paths float this fraction of the z range above the surface (no z-fighting)


def downsample(grid, side: int = MAX_SIDE):
    """(xs, ys, Z) thinned by even index selection to at most ``side`` points per axis."""
    xs, ys, z = grid
    ix = np.unique(np.round(np.linspace(0, len(xs) - 1, min(side, len(xs)))).astype(int))
    iy = np.unique(np.round(np.linspace(0, len(ys) - 1, min(side, len(ys)))).astype(int))
    return xs[ix], ys[iy], z[np.ix_(iy, ix)]


def surface3d_figure(surface, grid, runs=(), style: Style | None = None) -> go.Figure:
    """go.Surface of the grid (≤ 80×80) with each run's path as a Scatter3d line on it.

    z uses the same transform as the contour colours: on a log scale (Rosenbrock) z is
    log10(f − min Z + ε) and the z axis says so and is labelled in real f; z is clipped at the 99th
    percentile of the grid so one corner cannot flatten the rest. Path points outside the domain are
    not drawn (the view ends at the domain's edge)."""
    check_surface(surface)
    runs = check_runs(runs)
    style = check_style(style)
    full = check_grid(grid)
    lv = levels_for(full[2])
    xs, ys, z = downsample(full)
    zt = lv.transform(z)
    top = float(np.nanpercentile(lv.transform(full[2]), CLIP_PERCENTILE))
    top = top if top > lv.lo else lv.hi
    zt = np.minimum(zt, top)
    span = top - lv.lo
    lift = LIFT * span
    clipped = Levels(lv.log, lv.offset, lv.eps, lv.lo, top)

    fig = go.Figure(go.Surface(
        x=f32(xs), y=f32(ys), z=f32(zt), colorscale=[list(s) for s in CONTOUR_SCALE], cmin=lv.lo,
        cmax=top, showscale=False, opacity=0.95, hoverinfo="skip", name=surface.label,
        contours=dict(z=dict(show=True, usecolormap=False, color=style.contour_line, width=1,
                             start=lv.lo, end=top, size=span / 16)),
        lighting=dict(ambient=0.75, diffuse=0.5, specular=0.05), meta=dict(role="surface", log=lv.log)))

    (x0, x1), (y0, y1) = surface.domain
    for run in runs:
        line_x, line_y, line_z, ends = [], [], [], []
        for i in range(run.k):
            d = int(run.diverged_at[i])
            p = run.path[i, :(run.steps + 1 if d < 0 else max(d, 1))]
            inside = (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)
            with np.errstate(all="ignore"):
                h = np.minimum(lv.transform(surface.f(p)), top) + lift
            h[~inside] = np.nan
            line_x += [p[:, 0], [np.nan]]
            line_y += [p[:, 1], [np.nan]]
            line_z += [h, [np.nan]]
            ends.append((p[0], h[0], "circle"))
            if inside[-1]:
                ends.append((p[-1], h[-1], "x" if d >= 0 else "square"))
        fig.add_trace(go.Scatter3d(
            x=f32(np.concatenate(line_x[:-1])), y=f32(np.concatenate(line_y[:-1])),
            z=f32(np.concatenate(line_z[:-1])), mode="lines", name=run.label, legendgroup=run.key,
            line=dict(color=run.color, width=style.line_width * 2.5), connectgaps=False,
            hovertemplate=f"{run.label}<br>(%{{x:.4g}}, %{{y:.4g}})<extra></extra>",
            meta=dict(role="path", run=run.key)))
        ends = [e for e in ends if np.isfinite(e[1])]
        if ends:
            fig.add_trace(go.Scatter3d(
                x=[e[0][0] for e in ends], y=[e[0][1] for e in ends], z=[float(e[1]) for e in ends],
                mode="markers", legendgroup=run.key, showlegend=False, hoverinfo="skip",
                marker=dict(color=run.color, size=style.marker_size * 0.6, symbol=[e[2] for e in ends],
                            line=dict(color=style.marker_line, width=1)),
                meta=dict(role="endpoints", run=run.key)))

    if len(surface.minima):
        with np.errstate(all="ignore"):
            mz = np.minimum(lv.transform(surface.f(surface.minima)), top) + lift
        fig.add_trace(go.Scatter3d(
            x=surface.minima[:, 0].tolist(), y=surface.minima[:, 1].tolist(), z=mz.tolist(),
            mode="markers", showlegend=False, hovertext="minimum", hoverinfo="text",
            marker=dict(symbol="diamond", size=style.marker_size * 0.6, color="#ffffff",
                        line=dict(color="#000000", width=1)), meta=dict(role="minima")))

    ticks = clipped.ticks()
    ztitle = "f (log scale)" if lv.log else "f"
    zaxis = dict(title=dict(text=ztitle), range=[lv.lo, top + 2 * lift])
    if ticks:
        keep = [(v, t) for v, t in list(zip(*ticks))[1:] if v <= top]   # decades only
        zaxis.update(tickmode="array", tickvals=[v for v, _ in keep], ticktext=[t for _, t in keep])
    dx, dy = x1 - x0, y1 - y0
    scale = max(dx, dy)
    axis = dict(showbackground=False, gridcolor=style.muted_color, zerolinecolor=style.muted_color)
    fig.update_layout(scene=dict(
        xaxis=dict(title="x", range=[x0, x1], **axis), yaxis=dict(title="y", range=[y0, y1], **axis),
        zaxis=dict(**zaxis, **axis), aspectmode="manual",
        aspectratio=dict(x=dx / scale, y=dy / scale, z=0.6),
        camera=dict(eye=dict(x=-0.6, y=-1.2, z=1.9))))
    style.apply(fig)
    fig.update_layout(margin=dict(l=0, r=0, t=round(36 * style.zoom), b=0))
    return fig

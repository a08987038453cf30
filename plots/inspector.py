"""One step under the magnifier: the contour around θ_{t−1} with the vectors that made step t.

Step t goes from θ_{t−1} to θ_t; every arrow starts at θ_{t−1}:
  Δθ_t (the actual update) at true scale, in the run's colour;
  −g_t (the negative gradient) and −m_t (the momentum buffer or first moment, where the run has one),
  both multiplied by one common factor (named in the legend and the note) so the longer of them is as
  long as Δθ_t — their directions and relative sizes are exact, their length is not.
``step_latex`` (re-exported here) writes the same step as an equation with its numbers.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .contour import contour_trace
from .data import check_grid, check_run, check_step, check_style, check_surface
from .levels import fmt
from .overlay import critical_traces, domain_axes, run_traces
from .steplatex import step_latex
from .style import Style

LOCAL_GRID = 70        # the zoomed window is re-evaluated on this many points per axis
MARGIN = 1.6           # window half-width = MARGIN × the longest arrow
ARROW = "#ffffff"      # −g (solid) and −m (dotted) arrows: white over a dark halo, readable on any level

__all__ = ["inspector_figure", "step_latex"]


def _vector(fig, tail, vec, color, label, legend, style, *, dash="solid", shift=0):
    """An arrow tail → tail + vec as two traces (a dark halo, then the coloured line with an arrowhead
    marker turned along the line), so it reads on the dark and the light end of the contour scale; its
    label sits at the head."""
    head = tail + vec
    x, y = [float(tail[0]), float(head[0])], [float(tail[1]), float(head[1])]
    w, size = style.line_width * 1.3, style.marker_size * 1.5
    for halo in (True, False):
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines+markers", showlegend=False, name=legend,
            line=dict(color=style.halo_color if halo else color, width=w + (style.halo_width if halo else 0),
                      dash="solid" if halo else dash),
            marker=dict(symbol=["circle", "arrow"], angleref="previous", size=[0, size + (3 if halo else 0)],
                        color=style.halo_color if halo else color, line=dict(width=0)),
            hoverinfo="skip" if halo else "text",
            hovertext=None if halo else f"{legend}: ({vec[0]:.4g}, {vec[1]:.4g})",
            meta=dict(role="arrow-halo" if halo else "arrow", arrow=label)))
    key = style.text_color if color == ARROW else color      # white would vanish on a white legend
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=legend, hoverinfo="skip",
                             line=dict(color=key, width=w, dash=dash), meta=dict(role="arrow-key", arrow=label)))
    fig.add_annotation(x=head[0], y=head[1], xref="x", yref="y", text=label, showarrow=False,
                       xanchor="left" if vec[0] >= 0 else "right", yanchor="bottom" if vec[1] >= 0 else "top",
                       xshift=8 if vec[0] >= 0 else -8, yshift=shift,
                       font=dict(size=style.font_size, color=style.text_color),
                       bgcolor="rgba(14,17,23,0.75)" if style.dark else "rgba(255,255,255,0.8)", borderpad=2)


def inspector_figure(surface, grid, run, t: int, style: Style | None = None, *,
                     start_index: int = 0) -> go.Figure:
    """The contour zoomed around θ_{t−1} of ``run`` (start ``start_index``), the path up to θ_t, and
    arrows for Δθ_t, −g_t and −m_t (see the module docstring for the scale). The window is re-evaluated
    on a fine local grid (at step t, for time-varying surfaces) when it is much smaller than ``grid``'s
    domain; ``grid`` is used as it is when the window covers most of the domain."""
    check_surface(surface)
    run = check_run(run)
    style = check_style(style)
    grid = check_grid(grid)
    t, i = check_step(run, t, start_index)
    for key in ("grad", "update"):
        if key not in run.internals:
            raise ValueError(f"{run.label}: the inspector needs internals; run with record_internals=True")
    tail = run.path[i, t - 1]
    upd = run.internals["update"][i, t - 1]
    g = run.internals["grad"][i, t - 1]
    m = run.internals["m"][i, t - 1] if "m" in run.internals else None
    d = int(run.diverged_at[i])
    taken = not (0 <= d <= t)

    (x0, x1), (y0, y1) = surface.domain
    span = surface.span
    L = float(np.hypot(*upd)) if taken else 0.0
    if not np.isfinite(L) or L < 1e-12 * span:
        L = 0.05 * span                         # no visible step: draw the others at 5% of the view
    ref = max(float(np.hypot(*g)), float(np.hypot(*m)) if m is not None else 0.0)
    scale = L / ref if ref > 0 and np.isfinite(ref) else 0.0
    half = MARGIN * L
    cx, cy = tail
    xr, yr = (cx - half, cx + half), (cy - half, cy + half)

    inside = xr[0] >= x0 and xr[1] <= x1 and yr[0] >= y0 and yr[1] <= y1
    if not (inside and 2 * half >= 0.5 * span):
        xs, ys = np.linspace(*xr, LOCAL_GRID), np.linspace(*yr, LOCAL_GRID)
        with np.errstate(all="ignore"):
            z = surface.f(np.stack(np.meshgrid(xs, ys), axis=-1), t)
        local = (xs, ys, z)
    else:
        local = grid
    fig = go.Figure(contour_trace(surface, local, style, showscale=False))
    fig.data[0].update(hovertemplate="f=%{z:.4g}<extra></extra>" if not fig.data[0].meta["log"] else None,
                       hoverinfo=None if not fig.data[0].meta["log"] else "skip")
    fig.add_traces(run_traces(run.only(i), surface, style, upto=t, show_legend=False))
    fig.add_traces(critical_traces(surface, style))

    lift = style.font_size + 6      # label offsets, so labels of coinciding arrows do not overlap
    items = []      # drawn in this order: Δθ last, on top (for SGD it coincides with the scaled −g)
    if scale > 0:
        items.append(("−g<sub>t</sub>", -g * scale, ARROW, "solid", f"−g<sub>{t}</sub> × {fmt(scale, 3)}", lift))
        if m is not None:
            items.append(("−m<sub>t</sub>", -m * scale, ARROW, "dot", f"−m<sub>{t}</sub> × {fmt(scale, 3)}",
                          -lift))
    if taken:
        items.append(("Δθ<sub>t</sub>", upd, run.color, "solid",
                      f"Δθ<sub>{t}</sub> (true scale, |Δθ| = {fmt(np.hypot(*upd), 3)})", 0))
    for label, vec, color, dash, legend, shift in items:
        _vector(fig, tail, vec, color, label, legend, style, dash=dash, shift=shift)
    fig.add_trace(go.Scatter(x=[tail[0]], y=[tail[1]], mode="markers", showlegend=False,
                             marker=dict(color=run.color, size=style.marker_size,
                                         line=dict(color=style.marker_line, width=1.5)),
                             hovertext=f"θ_{t - 1} = ({tail[0]:.4g}, {tail[1]:.4g})", hoverinfo="text", meta=dict(role="point")))
    note = f"{run.label}" + (f", start {i}" if run.k > 1 else "") + f": step {t} from θ<sub>{t - 1}</sub>"
    if not taken:
        note += f" — diverged at step {d}; no update drawn"
    elif scale > 0:
        note += f"; {'−g and −m' if m is not None else '−g'} drawn × {fmt(scale, 3)}, Δθ at true scale"
    fig.add_annotation(text=note, xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top",
                       yshift=-round(40 * style.zoom), showarrow=False,
                       font=dict(size=style.small_font_size, color=style.muted_color))
    domain_axes(fig, surface, x_range=xr, y_range=yr, equal=True)
    style.apply(fig)
    fig.update_layout(margin_b=round(70 * style.zoom), hovermode="closest")
    return fig

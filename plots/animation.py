"""Animated trajectories: all runs move in lockstep over fully drawn, faint paths.

How it is built, and why (measured with the plotly.js 4.1.1 bundled with plotly 7.1, in Chromium):

* Frames move one marker trace per run (K points each), name only those traces
  (``go.Frame(traces=[...])``) and play with ``redraw=False``: a frame costs a few SVG transforms, and
  the figure stays small (frames that repeat the surface or grow the paths are 10–250× larger).
* The surface is a **layout image** (the contour's colour bands rendered by :mod:`plots.raster`), not a
  contour trace. A frame played with ``redraw=False`` replots only the "animatable" traces of a subplot
  and drops that subplot's other SVG layers: a contour trace disappears when Play starts (plotly.js
  issue 4491). Layout images are not traces, so they stay.
* The moving markers are SVG ``go.Scatter``, not ``go.Scattergl``. Scattergl is not "animatable":
  with ``redraw=False`` its frames update the data but never repaint the WebGL canvas (the markers stay
  at step 0 while the slider runs — that is what "keeps the contour" in that setup), and with
  ``redraw=True`` each frame redraws the whole figure (≈1 frame/s for a 150² contour in headless
  Chromium).
* Frames are subsampled to at most ``max_frames`` evenly over the steps, always including step 0 and
  the last step; each run stops at its own last step.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .data import check_grid, check_positive_int, check_runs, check_style, check_surface
from .levels import levels_for
from .overlay import critical_traces, domain_axes, layered, run_traces
from .raster import domain_size, image_uri, surface_image
from .style import CONTOUR_SCALE, Style

IMAGE_SIDE = 480       # pixels on the longer side of the background image


def frame_steps(steps: int, max_frames: int) -> np.ndarray:
    """At most ``max_frames`` step numbers spread evenly over 0..steps, with 0 and ``steps``."""
    n = min(steps + 1, max_frames)
    return np.unique(np.round(np.linspace(0, steps, n)).astype(int))


def _compact(values) -> list:
    """Short JSON numbers (6 significant digits) for the tiny per-frame arrays; NaN → None."""
    return [float(f"{v:.6g}") if np.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def background_image(surface, grid, *, side: int = IMAGE_SIDE) -> dict:
    """Layout image (a dict for ``layout.images``) of the surface's colour bands over its domain."""
    (x0, x1), (y0, y1) = surface.domain
    img = surface_image(grid, domain_size(surface.domain, side))
    return dict(source=image_uri(img), xref="x", yref="y", x=x0, y=y1, sizex=x1 - x0, sizey=y1 - y0,
                sizing="stretch", layer="below", name="surface")


def colorbar_trace(grid, style: Style) -> go.Scatter:
    """A point-less scatter that only shows the colour bar of the background image."""
    lv = levels_for(grid[2])
    return go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                      marker=dict(color=[lv.lo], cmin=lv.lo, cmax=lv.hi, showscale=True,
                                  colorscale=[list(s) for s in CONTOUR_SCALE], colorbar=lv.colorbar(style)),
                      meta=dict(role="colorbar", log=lv.log))


def animation_figure(surface, grid, runs, style: Style | None = None, *, max_frames: int = 300,
                     frame_ms: int = 50) -> go.Figure:
    """The surface (as a background image), faint full paths, and one moving marker per start, with
    Play/Pause buttons and a step slider; frames carry only the marker traces' x/y (4 runs × 500 steps
    on a 150² grid: ~0.2 MB of JSON). See the module docstring for why it is built this way."""
    check_surface(surface)
    runs = check_runs(runs)
    style = check_style(style)
    grid = check_grid(grid)
    max_frames = check_positive_int("max_frames", max_frames, lo=2)
    frame_ms = check_positive_int("frame_ms", frame_ms)

    fig = go.Figure(colorbar_trace(grid, style))
    fig.add_layout_image(background_image(surface, grid))
    fig.add_traces(layered([t for run in runs for t in run_traces(run, surface, style, faint=True)]))
    fig.add_traces(critical_traces(surface, style))
    first_marker = len(fig.data)
    for run in runs:
        fig.add_trace(go.Scatter(
            x=_compact(run.path[:, 0, 0]), y=_compact(run.path[:, 0, 1]), mode="markers",
            name=run.label, legendgroup=run.key, showlegend=False, hoverinfo="skip",
            marker=dict(color=run.color, size=style.marker_size * 1.4,
                        line=dict(color=style.marker_line, width=2)),
            meta=dict(role="marker", run=run.key)))
    marker_idx = list(range(first_marker, len(fig.data)))

    # Hundreds of tiny frames: built without Plotly's per-property validation (4× faster); every value
    # here is a plain list of numbers made above.
    steps = max((r.steps for r in runs), default=0)
    frames = []
    for s in frame_steps(steps, max_frames):
        data = [go.Scatter(x=_compact(r.path[:, min(s, r.steps), 0]),
                           y=_compact(r.path[:, min(s, r.steps), 1]), _validate=False) for r in runs]
        frames.append(go.Frame(name=str(int(s)), data=data, traces=marker_idx, _validate=False))
    fig.frames = frames

    still = dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0), mode="immediate")
    play = dict(frame=dict(duration=frame_ms, redraw=False), transition=dict(duration=0),
                fromcurrent=True, mode="immediate")
    z = style.zoom
    fig.update_layout(
        updatemenus=[dict(type="buttons", direction="left", showactive=False, x=0, y=0,
                          xanchor="left", yanchor="top", pad=dict(t=round(40 * z), r=10),
                          font=dict(size=style.small_font_size),
                          buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                                   dict(label="❚❚ Pause", method="animate", args=[[None], still])])],
        sliders=[go.layout.Slider(
            active=0, x=0.2, len=0.8, y=0, yanchor="top", pad=dict(t=round(30 * z)),
            currentvalue=dict(prefix="step ", font=dict(size=style.small_font_size)),
            font=dict(size=style.small_font_size), transition=dict(duration=0),
            steps=[dict(method="animate", label=f.name, args=[[f.name], still]) for f in frames],
            _validate=False)],
    )
    domain_axes(fig, surface)
    style.apply(fig)
    fig.update_layout(margin=dict(b=round(110 * z)), hovermode="closest")
    return fig

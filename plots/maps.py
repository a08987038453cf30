"""Maps over many runs at once: basins of attraction over a grid of starts, and hyperparameter sweeps.

Both are heatmaps of per-run summaries (``optimizers.run(..., record="summary")``), one panel per
optimizer, side by side on the same axes and the same colour scale:

* :func:`basin_figure` colours every start of an n×n grid over the domain by the minimum it reached
  (categorical colours, one per known minimum; "no minimum" grey, "diverged" red), by the steps it
  took to converge, or by its final loss (log colour).
* :func:`sweep_figure` colours every cell of a grid of two hyperparameters (α on a log axis, β on a
  −log10(1 − β) axis so that 0.9, 0.99 and 0.999 are evenly spaced, the rest linear) by final loss (log)
  or steps to converge. An invisible scatter with one marker per cell lies over the heatmap (heatmaps
  report no clicks in Streamlit; the markers do) and carries ``customdata = [panel, ix, iy]``.

From a notebook::

    import numpy as np, optimizers, surfaces
    from plots import maps
    s = surfaces.get("himmelblau")
    xs, ys = maps.start_axes(s.domain, 100)
    starts = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    traj = optimizers.run(optimizers.get("adam", lr=0.05), s, starts, 1000, record="summary")
    maps.basin_figure(s, s.grid(120), [maps.BasinMap.from_trajectory("adam", "Adam", xs, ys, traj)]).show()

Every trace carries ``meta={"role": ...}``: "basin", "special" (never converged / diverged cells),
"value" (continuous heatmap), "contour", "minima", "legend", "click", "current".
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .data import check_grid, check_style, check_surface, f32
from .levels import fmt, levels_for
from .overlay import domain_axes
from .style import Style
from .surface3d import downsample

BASIN_COLOR_BY = {"minimum": "minimum reached", "steps": "steps to converge", "loss": "final loss"}
SWEEP_COLOR_BY = {"loss": "final loss", "steps": "steps to converge"}

# One colour per known minimum (Okabe & Ito without their vermillion and black, then Paul Tol's muted
# colours): red is kept for "diverged", grey for "no minimum".
MINIMA_COLORS: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442",
                                  "#332288", "#44AA99", "#999933", "#882255")
DIVERGED_COLOR = "#C4122F"
NONE_COLOR = {False: "#b9bcc2", True: "#5b6069"}          # light / dark theme
# Sequential scale for steps and log loss (low = good = dark): perceptually uniform, no red, no grey.
VALUE_SCALE = "Viridis"
LOSS_FLOOR = 1e-12           # final f − f_min is drawn down to this (× max(1, |f_min|)); below reads "≤"
PANEL_PX = 330               # height of one row of basin panels (screen style)
CONTOUR_SIDE = 100           # the faint surface contours under a basin map use at most this many points
MAX_COLS = 4


# ---- data ------------------------------------------------------------------------------------------

def start_axes(domain, n: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y of an n×n grid of starts at the centres of n×n equal cells covering ``domain``
    (so the heatmap's cells tile the domain exactly)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")
    (x0, x1), (y0, y1) = domain
    c = (np.arange(n) + 0.5) / n
    return x0 + (x1 - x0) * c, y0 + (y1 - y0) * c


def _grid_array(name, value, shape, dtype):
    arr = np.asarray(value, dtype=dtype)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    return arr


@dataclass(frozen=True, eq=False)
class BasinMap:
    """One optimizer's basin map: per start of the grid (row iy = ys[iy], column ix = xs[ix]) the index
    of the minimum reached (−1 none), the first converged step (−1 never), the final loss and the
    divergence step (−1 never), as from ``Trajectory`` with the starts in row-major order."""

    key: str
    label: str
    xs: np.ndarray
    ys: np.ndarray
    minimum: np.ndarray
    converged_at: np.ndarray
    final_loss: np.ndarray
    diverged_at: np.ndarray
    steps: int

    def __post_init__(self):
        xs, ys = np.asarray(self.xs, float).reshape(-1), np.asarray(self.ys, float).reshape(-1)
        shape = (len(ys), len(xs))
        if not len(xs) or not len(ys):
            raise ValueError("a basin map needs at least one start")
        set_ = object.__setattr__
        set_(self, "xs", xs)
        set_(self, "ys", ys)
        set_(self, "minimum", _grid_array("minimum", self.minimum, shape, int))
        set_(self, "converged_at", _grid_array("converged_at", self.converged_at, shape, int))
        set_(self, "final_loss", _grid_array("final_loss", self.final_loss, shape, float))
        set_(self, "diverged_at", _grid_array("diverged_at", self.diverged_at, shape, int))

    @classmethod
    def from_trajectory(cls, key: str, label: str, xs, ys, traj) -> "BasinMap":
        """From a summary Trajectory of the starts ``meshgrid(xs, ys)`` flattened row by row."""
        shape = (len(ys), len(xs))
        return cls(key, label, xs, ys, traj.minimum.reshape(shape), traj.converged_at.reshape(shape),
                   traj.final_loss.reshape(shape), traj.diverged_at.reshape(shape), traj.steps)

    def category(self, n_minima: int) -> np.ndarray:
        """(ny, nx) int: the minimum's index, ``n_minima`` for "no minimum", ``n_minima + 1`` for diverged."""
        cat = np.where((self.minimum >= 0) & (self.minimum < n_minima), self.minimum, n_minima)
        cat[self.diverged_at >= 0] = n_minima + 1
        return cat

    def shares(self, n_minima: int) -> dict:
        """Fractions of starts: per minimum, "none", "diverged" and "converged"."""
        cat = self.category(n_minima)
        counts = np.bincount(cat.reshape(-1), minlength=n_minima + 2) / cat.size
        return {"minima": counts[:n_minima], "none": counts[n_minima], "diverged": counts[n_minima + 1],
                "converged": float(np.mean((self.converged_at >= 0) & (self.diverged_at < 0)))}


SCALES = ("log", "beta", "linear")


@dataclass(frozen=True, eq=False)
class SweepAxis:
    """The values of one swept hyperparameter and how they are laid out on the axis.

    ``scale`` is "log" (coordinate log10 v), "beta" (coordinate −log10(1 − v): 0, 0.9, 0.99, 0.999 at
    0, 1, 2, 3 — values for β < 1 dense near 1) or "linear". :meth:`make` spaces n values evenly in
    that coordinate between ``lo`` and ``hi``."""

    hyper: str
    label: str
    values: np.ndarray
    scale: str = "linear"

    def __post_init__(self):
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {self.scale!r}")
        v = np.asarray(self.values, dtype=float).reshape(-1)
        if not len(v) or not np.all(np.isfinite(v)):
            raise ValueError(f"{self.hyper}: values must be finite numbers, got {self.values!r}")
        if self.scale == "log" and np.any(v <= 0):
            raise ValueError(f"{self.hyper}: a log axis needs values > 0")
        if self.scale == "beta" and np.any((v < 0) | (v >= 1)):
            raise ValueError(f"{self.hyper}: a β axis needs values in [0, 1)")
        object.__setattr__(self, "values", v)

    @classmethod
    def make(cls, hyper: str, label: str, scale: str, lo: float, hi: float, n: int) -> "SweepAxis":
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a whole number >= 1, got {n!r}")
        if scale == "log":
            u = np.linspace(math.log10(lo), math.log10(hi), n)
            v = 10.0 ** u
        elif scale == "beta":
            u = np.linspace(-math.log10(1 - lo), -math.log10(1 - hi), n)
            v = 1.0 - 10.0 ** -u
        else:
            v = np.linspace(lo, hi, n)
        v = np.array([float(f"{x:.12g}") for x in v])         # 0.999, not 0.9989999999999999
        v[0], v[-1] = lo, hi
        return cls(hyper, label, v, scale)

    def coord(self, values) -> np.ndarray:
        """Axis coordinate of hyperparameter values."""
        v = np.asarray(values, dtype=float)
        with np.errstate(all="ignore"):
            if self.scale == "log":
                return np.log10(v)
            if self.scale == "beta":
                return -np.log10(1.0 - v)
        return v.copy()

    @property
    def coords(self) -> np.ndarray:
        return self.coord(self.values)

    def ticks(self) -> tuple[list[float], list[str]] | None:
        """(tickvals, ticktext) in real values for log and β axes; None (Plotly's own) for linear."""
        lo, hi = float(self.coords.min()), float(self.coords.max())
        if self.scale == "log":
            vals = [float(e) for e in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)]
            return vals, [fmt(10.0 ** e) for e in vals]
        if self.scale == "beta":
            betas = [0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999]
            pairs = [(float(self.coord(b)), fmt(b, 4)) for b in betas
                     if lo - 1e-9 <= float(self.coord(b)) <= hi + 1e-9]
            return [p[0] for p in pairs], [p[1] for p in pairs]
        return None

    def edges(self) -> tuple[float, float]:
        """Axis range: half a cell beyond the first and last coordinate."""
        c = self.coords
        half = (c[-1] - c[0]) / (2 * (len(c) - 1)) if len(c) > 1 else 0.5
        return float(c[0] - half), float(c[-1] + half)


@dataclass(frozen=True, eq=False)
class Sweep:
    """One optimizer's sweep: cell (iy, ix) ran with x.hyper = x.values[ix] and y.hyper = y.values[iy].
    ``current`` is the (x, y) setting in use (drawn as a ring), or None; ``note`` is shown after the
    label (e.g. the hyperparameters held fixed)."""

    key: str
    label: str
    x: SweepAxis
    y: SweepAxis
    final_loss: np.ndarray
    converged_at: np.ndarray
    diverged_at: np.ndarray
    steps: int
    current: tuple | None = None
    note: str = ""

    def __post_init__(self):
        shape = (len(self.y.values), len(self.x.values))
        object.__setattr__(self, "final_loss", _grid_array("final_loss", self.final_loss, shape, float))
        object.__setattr__(self, "converged_at", _grid_array("converged_at", self.converged_at, shape, int))
        object.__setattr__(self, "diverged_at", _grid_array("diverged_at", self.diverged_at, shape, int))

    @classmethod
    def from_trajectory(cls, key, label, x: SweepAxis, y: SweepAxis, traj, current=None, note="") -> "Sweep":
        """From a summary Trajectory whose run i = iy·nx + ix swept (x.values[ix], y.values[iy])."""
        shape = (len(y.values), len(x.values))
        return cls(key, label, x, y, traj.final_loss.reshape(shape), traj.converged_at.reshape(shape),
                   traj.diverged_at.reshape(shape), traj.steps, current, note)

    def setting(self, ix: int, iy: int) -> dict:
        """The hyperparameters of cell (ix, iy)."""
        return {self.x.hyper: float(self.x.values[ix]), self.y.hyper: float(self.y.values[iy])}


# ---- colour values shared by both maps -----------------------------------------------------------------

@dataclass(frozen=True)
class _LossScale:
    offset: float        # f_min, or the lowest final loss when f_min is unknown
    known: bool          # offset is the surface's f_min
    lo: float            # log10 range
    hi: float
    floor: float

    def values(self, loss, diverged) -> np.ndarray:
        with np.errstate(all="ignore"):
            v = np.log10(np.maximum(np.asarray(loss, float) - self.offset, self.floor))
        v[~np.isfinite(v) | diverged] = np.nan
        return v

    def colorbar(self, style: Style) -> dict:
        vals = [float(e) for e in range(math.ceil(self.lo - 1e-9), math.floor(self.hi + 1e-9) + 1)]
        text = [fmt(10.0 ** e) for e in vals]
        if vals and abs(vals[0] - math.log10(self.floor)) < 1e-9:
            text[0] = "≤" + text[0]
        if len(vals) > 8:
            stride = math.ceil(len(vals) / 8)
            vals, text = vals[::-stride][::-1], text[::-stride][::-1]
        title = "final f − f<sub>min</sub>" if self.known else "final f − lowest"
        return _colorbar(style, title, tickmode="array", tickvals=vals, ticktext=text)


def _loss_scale(f_min, losses, diverged) -> _LossScale:
    """The shared log scale of final f − f_min over every panel (non-diverged runs)."""
    ok = [np.asarray(l, float)[~d & np.isfinite(l)] for l, d in zip(losses, diverged)]
    ok = np.concatenate(ok) if ok else np.zeros(0)
    known = f_min is not None and math.isfinite(f_min)
    offset = float(f_min) if known else (float(ok.min()) if ok.size else 0.0)
    floor = LOSS_FLOOR * max(1.0, abs(offset))
    if ok.size:
        with np.errstate(all="ignore"):
            logs = np.log10(np.maximum(ok - offset, floor))
        logs = logs[np.isfinite(logs)]
    else:
        logs = np.zeros(0)
    lo = float(logs.min()) if logs.size else math.log10(floor)
    hi = float(logs.max()) if logs.size else lo + 1
    if hi - lo < 1:
        hi = lo + 1
    return _LossScale(offset, known, lo, hi, floor)


def _colorbar(style: Style, title: str, **extra) -> dict:
    return dict(title=dict(text=title, side="right", font=dict(size=style.small_font_size)),
                thickness=round(12 * style.zoom), len=0.9, outlinewidth=0,
                tickfont=dict(size=style.small_font_size), **extra)


def _discrete_scale(colors) -> list:
    """A Plotly colourscale giving integer z = i the colour ``colors[i]`` (zmin −0.5, zmax n − 0.5)."""
    n = len(colors)
    out = []
    for i, c in enumerate(colors):
        out += [[i / n, c], [(i + 1) / n, c]]
    return out


def _special_traces(x, y, never, diverged, style, *, key: str, head: str | None = None,
                    final_loss=None) -> list[go.Heatmap]:
    """Cells with no value on the continuous scale, one layer each over the value heatmap (whose NaN
    gaps they fill): "not converged" grey, "diverged" red. With ``head`` (a hovertemplate start) each
    layer hovers with its own words (and the final f of runs that did not converge); without it, they
    skip hover (the sweep's click layer hovers instead)."""
    out = []
    for kind, mask, color in (("not converged", never, NONE_COLOR[style.dark]), ("diverged", diverged, DIVERGED_COLOR)):
        if not mask.any():
            continue
        z = np.where(mask, 1.0, np.nan).astype(np.float32)
        hover = dict(hoverinfo="skip")
        if head is not None:
            hover = dict(hovertemplate=head + kind + "<extra></extra>")
            if kind == "not converged" and final_loss is not None:
                hover = dict(customdata=f32(final_loss),
                             hovertemplate=head + kind + "<br>final f = %{customdata:.4g}<extra></extra>")
        out.append(go.Heatmap(x=x, y=y, z=z, colorscale=[[0, color], [1, color]], zmin=0, zmax=1,
                              showscale=False, hoverongaps=False, name=kind,
                              meta=dict(role="special", kind=kind, run=key), **hover))
    return out


def _legend_entry(name: str, color: str, style: Style) -> go.Scatter:
    return go.Scatter(x=[None], y=[None], mode="markers", name=name, showlegend=True, hoverinfo="skip",
                      marker=dict(symbol="square", size=13, color=color,
                                  line=dict(color=style.marker_line, width=1)),
                      meta=dict(role="legend"))


def _layout_grid(n: int, max_cols: int = MAX_COLS) -> tuple[int, int]:
    cols = max(1, min(n, max_cols))
    return math.ceil(max(n, 1) / cols), cols


def _pct(x: float) -> str:
    p = 100 * x
    return "0%" if p == 0 else "<1%" if p < 1 else ">99%" if 99 < p < 100 else f"{p:.0f}%"


# ---- basins ------------------------------------------------------------------------------------------

def minimum_labels(surface) -> list[str]:
    """"minimum 1 (3, 2)" … for the surface's known minima."""
    mins = np.asarray(surface.minima, float).reshape(-1, 2)
    return [f"minimum {i + 1} ({fmt(x)}, {fmt(y)})" for i, (x, y) in enumerate(mins)]


def minimum_colors(n: int) -> list[str]:
    return [MINIMA_COLORS[i % len(MINIMA_COLORS)] for i in range(n)]


def _contour_lines(surface, grid, style) -> go.Contour:
    xs, ys, z = downsample(check_grid(grid), CONTOUR_SIDE)
    lv = levels_for(z)
    zt = lv.transform(z)
    return go.Contour(x=f32(xs), y=f32(ys), z=f32(zt), showscale=False, hoverinfo="skip", showlegend=False,
                      contours=dict(coloring="none", showlines=True, start=lv.lo, end=lv.hi,
                                    size=(lv.hi - lv.lo) / 14),
                      line=dict(color="rgba(0,0,0,0.28)", width=0.7, smoothing=0.85),
                      name="contours of f", meta=dict(role="contour"))


def _minima_trace(surface, style) -> go.Scatter | None:
    mins = np.asarray(surface.minima, float).reshape(-1, 2)
    if not len(mins):
        return None
    with np.errstate(all="ignore"):
        f = np.asarray(surface.f(mins), float).reshape(-1)
    labels = minimum_labels(surface)
    return go.Scatter(x=mins[:, 0].tolist(), y=mins[:, 1].tolist(), mode="markers", showlegend=False,
                      marker=dict(symbol="star", size=style.marker_size * 1.6,
                                  color="#ffffff",
                                  line=dict(color="#000000", width=1.5)),
                      hovertext=[f"{l}, f = {fmt(v, 4)}" for l, v in zip(labels, f)], hoverinfo="text",
                      cliponaxis=False, meta=dict(role="minima"))


def basin_title(m: BasinMap, n_minima: int, color_by: str) -> str:
    s = m.shares(n_minima)
    div = f" · diverged {_pct(s['diverged'])}" if s["diverged"] else ""
    if color_by == "minimum":
        return f"<b>{m.label}</b> — reached a minimum: {_pct(1 - s['none'] - s['diverged'])}{div}"
    if color_by == "steps":
        ok = (m.converged_at >= 0) & (m.diverged_at < 0)
        med = f", median {int(np.median(m.converged_at[ok]))} steps" if ok.any() else ""
        return f"<b>{m.label}</b> — converged {_pct(s['converged'])}{med}{div}"
    return f"<b>{m.label}</b>{' — diverged ' + _pct(s['diverged']) if s['diverged'] else ''}"


def basin_figure(surface, grid, results, style: Style | None = None, *, color_by: str = "minimum",
                 max_cols: int = MAX_COLS, height: int | None = None) -> go.Figure:
    """One heatmap panel per :class:`BasinMap` (same axes: the domain; same colours), each start's cell
    coloured by ``color_by``:

    * "minimum": the known minimum it reached (one colour each; the minima are drawn as ★),
      "no minimum" grey, "diverged" red — a categorical legend lists those present;
    * "steps": the first step within tolerance (Viridis, 0 … steps), "not converged" grey, "diverged" red;
    * "loss": log10(final f − f_min) on one colour bar for all panels, "diverged" red.

    ``grid`` = (xs, ys, Z) from ``surface.grid(n)`` adds faint contour lines of f for orientation
    (None: none). Panels run left to right, ``max_cols`` per row."""
    check_surface(surface)
    style = check_style(style)
    if color_by not in BASIN_COLOR_BY:
        raise ValueError(f"color_by must be one of {', '.join(BASIN_COLOR_BY)}, got {color_by!r}")
    results = list(results or [])
    for r in results:
        if not isinstance(r, BasinMap):
            raise TypeError(f"results must be BasinMap objects, got {type(r).__name__}")
    n_min = len(np.asarray(surface.minima).reshape(-1, 2))
    rows, cols = _layout_grid(len(results), max_cols)
    titles = [basin_title(r, n_min, color_by) for r in results] or [surface.label]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.035,
                        vertical_spacing=0.12 if rows > 1 else 0.05)
    fig.update_annotations(font_size=style.small_font_size)
    contour = _contour_lines(surface, grid, style) if grid is not None else None
    labels = minimum_labels(surface) + ["no minimum", "diverged"]
    short = [f"minimum {i + 1}" for i in range(n_min)] + ["no minimum", "diverged"]
    colors = minimum_colors(n_min) + [NONE_COLOR[style.dark], DIVERGED_COLOR]
    loss = (_loss_scale(surface.f_min, [r.final_loss for r in results], [r.diverged_at >= 0 for r in results])
            if color_by == "loss" else None)
    present = np.zeros(n_min + 2, bool)
    for idx, r in enumerate(results):
        row, col = idx // cols + 1, idx % cols + 1
        cat = r.category(n_min)
        present |= np.bincount(cat.reshape(-1), minlength=n_min + 2) > 0
        diverged = r.diverged_at >= 0
        conv = np.where((r.converged_at >= 0) & ~diverged, r.converged_at, -1).astype(float)
        conv[conv < 0] = np.nan
        x, y, final = f32(r.xs), f32(r.ys), f32(r.final_loss)
        head = "start (%{x:.3g}, %{y:.3g})<br>"
        tail = "final f = %{customdata:.4g}<extra>" + r.label + "</extra>"
        common = dict(x=x, y=y, customdata=final, name=r.label, hoverongaps=False)
        if color_by == "minimum":
            # The category's short name as hover text ("minimum 2"; the legend gives its coordinates).
            text = np.array(short, dtype=object)[cat]
            fig.add_trace(go.Heatmap(z=cat.astype(np.float32), colorscale=_discrete_scale(colors),
                                     zmin=-0.5, zmax=len(colors) - 0.5, showscale=False, text=text,
                                     hovertemplate=head + "%{text}<br>" + tail,
                                     meta=dict(role="basin", run=r.key), **common), row=row, col=col)
        else:
            if color_by == "steps":
                z, never = conv, np.isnan(conv) & ~diverged
                hover = head + "converged at step %{z:.0f}<br>" + tail
            else:
                z, never = loss.values(r.final_loss, diverged), np.zeros_like(diverged)
                hover = head + tail
            fig.add_trace(go.Heatmap(z=f32(z), coloraxis="coloraxis", hovertemplate=hover,
                                     meta=dict(role="value", run=r.key), **common), row=row, col=col)
            for t in _special_traces(x, y, never, diverged, style, key=r.key, head=head,
                                     final_loss=r.final_loss):
                fig.add_trace(t, row=row, col=col)
        if contour is not None:
            fig.add_trace(contour, row=row, col=col)
        stars = _minima_trace(surface, style)
        if stars is not None:
            fig.add_trace(stars, row=row, col=col)
        domain_axes(fig, surface, row=row, col=col)
    if not results:
        style.empty(fig, "no optimizer chosen")
    # The legend: the categories drawn (minimum colours), or the two special colours.
    if color_by == "minimum":
        entries = [(labels[i], colors[i]) for i in range(n_min + 2) if present[i]]
    else:
        entries = []
        if color_by == "steps" and any(((r.converged_at < 0) & (r.diverged_at < 0)).any() for r in results):
            entries.append(("not converged", NONE_COLOR[style.dark]))
        if any((r.diverged_at >= 0).any() for r in results):
            entries.append(("diverged", DIVERGED_COLOR))
    for name, color in entries:
        fig.add_trace(_legend_entry(name, color, style), row=1, col=1)
    style.apply(fig, legend=bool(entries))
    if color_by == "steps":
        fig.update_layout(coloraxis=dict(colorscale=VALUE_SCALE, cmin=0,
                                         cmax=max([r.steps for r in results], default=1),
                                         colorbar=_colorbar(style, "steps to converge")))
    elif color_by == "loss":
        fig.update_layout(coloraxis=dict(colorscale=VALUE_SCALE, cmin=loss.lo, cmax=loss.hi,
                                         colorbar=loss.colorbar(style)))
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.06, xanchor="center", x=0.5),
                      hovermode="closest")
    fig.update_xaxes(title_text="", matches="x" if len(results) > 1 else None)
    fig.update_yaxes(title_text="", showticklabels=False)
    fig.update_yaxes(showticklabels=True, col=1)
    z = style.zoom
    fig.update_layout(height=height or round((PANEL_PX * rows + 40) * z) + (50 if entries else 0),
                      margin=dict(t=round(40 * z), b=round((60 if entries else 30) * z)))
    return fig


# ---- sweeps ------------------------------------------------------------------------------------------

def _sweep_hover(s: Sweep, loss_text) -> list[str]:
    """One line of text per cell (row-major), e.g. "α = 0.0316, β₁ = 0.9<br>final f = 2e-9 · step 312"."""
    out = []
    xl, yl = s.x.label.split(" (")[0], s.y.label.split(" (")[0]
    for iy, yv in enumerate(s.y.values):
        for ix, xv in enumerate(s.x.values):
            d = int(s.diverged_at[iy, ix])
            if d >= 0:
                result = f"diverged at step {d}"
            else:
                c = int(s.converged_at[iy, ix])
                result = f"final f = {fmt(float(s.final_loss[iy, ix]), 4)}" + (
                    f" · converged at step {c}" if c >= 0 else " · not converged")
            out.append(f"{xl} = {fmt(float(xv), 4)}, {yl} = {fmt(float(yv), 4)}<br>{result}")
    return out


def sweep_figure(surface, sweeps, style: Style | None = None, *, color_by: str = "loss",
                 height: int | None = None) -> go.Figure:
    """One heatmap panel per :class:`Sweep`, side by side on ONE colour scale (a shared colour axis):
    final f − f_min (log) or steps to converge ("not converged" grey, "diverged" red). Axes are the
    sweeps' own (log α, β on −log10(1 − β), linear otherwise) labelled in real values; a ring marks the
    current setting. Over each heatmap lies an invisible scatter, one marker per cell, whose
    ``customdata`` is [panel, ix, iy] and whose hover text gives the setting and its result: a click on
    it is what Streamlit reports (``selection_mode="points"``)."""
    check_surface(surface)
    style = check_style(style)
    if color_by not in SWEEP_COLOR_BY:
        raise ValueError(f"color_by must be one of {', '.join(SWEEP_COLOR_BY)}, got {color_by!r}")
    sweeps = list(sweeps or [])
    for s in sweeps:
        if not isinstance(s, Sweep):
            raise TypeError(f"sweeps must be Sweep objects, got {type(s).__name__}")
    rows, cols = _layout_grid(len(sweeps), 2)
    titles = [f"<b>{s.label}</b>" + (f" — {s.note}" if s.note else "") for s in sweeps] or ["sweep"]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.08,
                        vertical_spacing=0.15 if rows > 1 else 0.05)
    fig.update_annotations(font_size=style.small_font_size)
    loss = (_loss_scale(surface.f_min, [s.final_loss for s in sweeps], [s.diverged_at >= 0 for s in sweeps])
            if color_by == "loss" else None)
    max_steps = max([s.steps for s in sweeps], default=1)
    any_never = any_div = False
    for idx, s in enumerate(sweeps):
        row, col = idx // cols + 1, idx % cols + 1
        diverged = s.diverged_at >= 0
        xc, yc = s.x.coords, s.y.coords
        if color_by == "loss":
            z, never = loss.values(s.final_loss, diverged), np.zeros_like(diverged)
        else:
            z = np.where((s.converged_at >= 0) & ~diverged, s.converged_at, -1).astype(float)
            never = (z < 0) & ~diverged
            z[z < 0] = np.nan
        any_never |= bool(never.any())
        any_div |= bool(diverged.any())
        fig.add_trace(go.Heatmap(x=xc, y=yc, z=f32(z), coloraxis="coloraxis", hoverinfo="skip",
                                 hoverongaps=False, name=s.label, meta=dict(role="value", run=s.key)),
                      row=row, col=col)
        for t in _special_traces(xc, yc, never, diverged, style, key=s.key):
            fig.add_trace(t, row=row, col=col)
        gx, gy = np.meshgrid(xc, yc)
        ix, iy = np.meshgrid(np.arange(len(xc)), np.arange(len(yc)))
        custom = np.stack([np.full(ix.size, idx), ix.reshape(-1), iy.reshape(-1)], axis=-1).astype(np.int32)
        fig.add_trace(go.Scatter(x=gx.reshape(-1), y=gy.reshape(-1), mode="markers", customdata=custom,
                                 hovertext=_sweep_hover(s, loss), hoverinfo="text", showlegend=False,
                                 name=f"{s.label} cells",
                                 marker=dict(size=max(6, min(24, round(480 / max(len(xc), len(yc))))),
                                             symbol="square", opacity=0, color="#000000"),
                                 selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
                                 meta=dict(role="click", run=s.key, panel=idx)), row=row, col=col)
        if s.current is not None:
            cx, cy = float(s.x.coord(s.current[0])), float(s.y.coord(s.current[1]))
            (x0, x1), (y0, y1) = s.x.edges(), s.y.edges()
            if x0 <= cx <= x1 and y0 <= cy <= y1:
                for color, width, size in (("#000000", 4.5, 17), ("#ffffff", 2, 17)):
                    fig.add_trace(go.Scatter(
                        x=[cx], y=[cy], mode="markers", showlegend=False, hoverinfo="skip",
                        marker=dict(symbol="circle-open", size=size * style.zoom, color=color,
                                    line=dict(width=width)),
                        meta=dict(role="current", run=s.key)), row=row, col=col)
        for axis, ax, update in ((s.x, "x", fig.update_xaxes), (s.y, "y", fig.update_yaxes)):
            ticks = axis.ticks()
            kw = dict(tickmode="array", tickvals=ticks[0], ticktext=ticks[1]) if ticks else {}
            update(range=list(axis.edges()), autorange=False, title_text=axis.label, showgrid=False,
                   zeroline=False, row=row, col=col, **kw)
    if not sweeps:
        style.empty(fig, "no optimizer chosen")
    entries = ([("not converged", NONE_COLOR[style.dark])] if any_never else []) + (
        [("diverged", DIVERGED_COLOR)] if any_div else [])
    for name, color in entries:
        fig.add_trace(_legend_entry(name, color, style), row=1, col=1)
    style.apply(fig, legend=bool(entries))
    if color_by == "loss":
        fig.update_layout(coloraxis=dict(colorscale=VALUE_SCALE, cmin=loss.lo, cmax=loss.hi,
                                         colorbar=loss.colorbar(style)))
    else:
        fig.update_layout(coloraxis=dict(colorscale=VALUE_SCALE, cmin=0, cmax=max_steps,
                                         colorbar=_colorbar(style, "steps to converge")))
    z = style.zoom
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.14, xanchor="center", x=0.5),
                      hovermode="closest",
                      height=height or round((440 * rows + 40) * z) + (40 if entries else 0),
                      margin=dict(t=round(40 * z), b=round((90 if entries else 60) * z)))
    return fig

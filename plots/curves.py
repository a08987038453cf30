"""Line charts over steps: loss, distance to a minimum, step size, effective learning rates, moments.

Every run keeps its colour; K > 1 starts of a run share one trace (NaN gaps between starts). Values
after a start diverged are not drawn (the run is frozen there); a ✕ marks the step where it diverged.
Internals index i is step i + 1, so internals are plotted at x = 1..S.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .data import RunView, check_run, check_runs, check_style, check_surface, f32, stacked
from .levels import fmt
from .style import Style, rgba

FLOOR = 1e-16        # log axes: values below this (exact zeros) are drawn at it
ADAM_FAMILY = ("adam", "adamw", "amsgrad", "adamax", "nadam", "radam")


def _mask_after_divergence(run: RunView, values: np.ndarray, *, internals: bool = False) -> np.ndarray:
    """Copy of (K, N) values with NaN from each start's divergence on (internals: from its step on)."""
    out = np.array(values, dtype=float)
    for i, d in enumerate(run.diverged_at[:len(out)]):
        if d >= 0:
            out[i, max(d - 1, 0) if internals else d:] = np.nan
    return out


def _line(run: RunView, values, *, x=None, name=None, dash="solid", show_legend=True, width=None,
          style: Style, color=None, opacity=1.0, row=None, hover=None) -> go.Scatter:
    xs, ys = stacked(values, x)
    return go.Scatter(x=xs, y=ys, mode="lines", name=name or run.label, legendgroup=run.key,
                      showlegend=show_legend, opacity=opacity,
                      line=dict(color=color or run.color, width=width or style.line_width, dash=dash),
                      hovertemplate=f"{hover or name or run.label}<br>step %{{x}}: %{{y:.4g}}<extra></extra>",
                      meta=dict(role="curve", run=run.key))


def _diverged_marks(run: RunView, values: np.ndarray, style: Style, *, x0: int = 0) -> list[go.Scatter]:
    """✕ at (k, last value) for every start of ``run`` that diverged at step k (values indexed from x0)."""
    pts = []
    for i, d in enumerate(run.diverged_at[:len(values)]):
        if d >= 0:
            j = min(max(d - 1 - x0, 0), values.shape[1] - 1)
            pts.append((d, values[i, j]))
    if not pts:
        return []
    return [go.Scatter(x=[p[0] for p in pts], y=[float(p[1]) for p in pts], mode="markers",
                       legendgroup=run.key, showlegend=False,
                       marker=dict(symbol="x", size=style.marker_size * 1.3, color=run.color,
                                   line=dict(color=style.marker_line, width=1)),
                       hovertext=[f"{run.label}: diverged at step {p[0]}" for p in pts], hoverinfo="text",
                       meta=dict(role="diverged", run=run.key))]


def _finish(fig: go.Figure, style: Style, *, x_title="step", y_title="", log_y=False,
            notes=(), height=None) -> go.Figure:
    style.apply(fig)
    fig.update_xaxes(title_text=x_title, showgrid=True)
    fig.update_yaxes(title_text=y_title, type="log" if log_y else "linear", showgrid=True,
                     exponentformat="power")
    if notes:   # under the x axis, left-aligned (the axis title is centred)
        fig.add_annotation(text="<br>".join(notes), xref="paper", yref="paper", x=0, y=0,
                           xanchor="left", yanchor="top", yshift=-round(40 * style.zoom), showarrow=False,
                           align="left", font=dict(size=style.small_font_size, color=style.muted_color))
        fig.update_layout(margin_b=round((62 + 14 * len(notes)) * style.zoom))
    fig.update_layout(height=height, hovermode="closest")
    return fig


def loss_figure(runs, surface, style: Style | None = None, *, bands=None) -> go.Figure:
    """Loss per step on a log axis: f − f_min (floored at 1e-16) when f_min is known and finite, else f
    itself (log axis only if every value is positive; the axis title says which).

    ``bands`` maps a run's key to the losses of the same run under N noise seeds, shape (N, steps+1):
    the 10–90 % spread across seeds is drawn as a shaded band in the run's colour."""
    runs = check_runs(runs)
    check_surface(surface)
    style = check_style(style)
    fig = go.Figure()
    f_min = float(surface.f_min)
    gap = np.isfinite(f_min)
    all_pos = True
    for run in runs:
        vals = _mask_after_divergence(run, run.loss - f_min if gap else run.loss)
        if gap:
            vals = np.where(np.isnan(vals), np.nan, np.maximum(vals, FLOOR))
        else:
            all_pos &= bool(np.all(vals[np.isfinite(vals)] > 0))
        if bands and run.key in bands:
            fig.add_traces(_band(run, bands[run.key] - f_min if gap else bands[run.key], gap))
        fig.add_trace(_line(run, vals, style=style))
        fig.add_traces(_diverged_marks(run, np.maximum(run.loss - f_min, FLOOR) if gap else run.loss, style))
    log = gap or all_pos
    title = (f"f − f_min  (f_min = {fmt(f_min, 4)}, floor 1e-16)" if gap else "f")
    if not runs:
        style.empty(fig, "no runs")
    return _finish(fig, style, y_title=title + ("" if log else "  (linear: f takes values ≤ 0)"),
                   log_y=log)


def _band(run, losses, floor: bool) -> list:
    """The 10–90 % spread of a run's loss across noise seeds, as a filled band."""
    losses = np.asarray(losses, dtype=float)
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanpercentile(losses, 10, axis=0), np.nanpercentile(losses, 90, axis=0)
    if floor:
        lo, hi = np.maximum(lo, FLOOR), np.maximum(hi, FLOOR)
    steps = np.arange(losses.shape[1])
    fill = rgba(run.color, 0.22)
    name = f"{run.label}: 10–90 % of {len(losses)} seeds"
    return [go.Scatter(x=steps, y=hi, mode="lines", line=dict(width=0), hoverinfo="skip", showlegend=False,
                       legendgroup=run.key),
            go.Scatter(x=steps, y=lo, mode="lines", line=dict(width=0), fill="tonexty", fillcolor=fill,
                       name=name, legendgroup=run.key, hoverinfo="skip")]


def distance_figure(runs, surface, style: Style | None = None) -> go.Figure:
    """Distance from each iterate to the nearest known minimum (log axis, floored at 1e-16)."""
    runs = check_runs(runs)
    check_surface(surface)
    style = check_style(style)
    fig = go.Figure()
    if len(surface.minima) == 0:
        style.empty(fig, f"{surface.label} has no known minimum to measure a distance to")
        return _finish(fig, style, y_title="distance to nearest minimum")
    for run in runs:
        dist = np.maximum(surface.nearest_minimum(run.path)[1], FLOOR)
        fig.add_trace(_line(run, _mask_after_divergence(run, dist), style=style))
        fig.add_traces(_diverged_marks(run, dist, style))
    if not runs:
        style.empty(fig, "no runs")
    return _finish(fig, style, y_title="‖θ − θ*‖ to nearest known minimum", log_y=True)


def _without(runs, key: str) -> list[str]:
    return [r.label for r in runs if key not in r.internals]


def step_figure(runs, style: Style | None = None) -> go.Figure:
    """Step length |Δθ_t| per step (log axis) with a dashed line at each run's α, in its colour."""
    runs = check_runs(runs)
    style = check_style(style)
    fig = go.Figure()
    with_update = [r for r in runs if "update" in r.internals]
    for run in with_update:
        size = np.maximum(np.sqrt((run.internals["update"] ** 2).sum(-1)), FLOOR)
        x = np.arange(1, run.steps + 1)
        fig.add_trace(_line(run, _mask_after_divergence(run, size, internals=True), x=x, style=style))
        fig.add_traces(_diverged_marks(run, size, style, x0=1))
        lr = np.atleast_1d(np.asarray(run.hyper.get("lr", np.nan), dtype=float))
        for a in np.unique(lr[np.isfinite(lr) & (lr > 0)]):
            fig.add_trace(go.Scatter(
                x=[0, run.steps], y=[a, a], mode="lines", name=f"{run.label}: α = {fmt(a, 3)}",
                legendgroup=run.key, showlegend=False, hovertemplate=f"{run.label}: α = {a:.4g}<extra></extra>",
                line=dict(color=run.color, width=max(style.line_width * 0.6, 1), dash="dash"),
                meta=dict(role="alpha", run=run.key)))
    notes = [f"no internals recorded: {', '.join(_without(runs, 'update'))}"] if _without(runs, "update") else []
    if not runs:
        style.empty(fig, "no runs")
    return _finish(fig, style, y_title="step length |Δθ|  (dashed: α)", log_y=True, notes=notes)


def lr_eff_figure(runs, style: Style | None = None) -> go.Figure:
    """Per-parameter effective learning rate (what multiplies the gradient or moment for x and y):
    x solid, y dotted, log axis."""
    runs = check_runs(runs)
    style = check_style(style)
    fig = go.Figure()
    for run in runs:
        if "lr_eff" not in run.internals:
            continue
        x = np.arange(1, run.steps + 1)
        for c, (coord, dash) in enumerate((("x", "solid"), ("y", "dot"))):
            vals = np.maximum(run.internals["lr_eff"][..., c], FLOOR)
            fig.add_trace(_line(run, _mask_after_divergence(run, vals, internals=True), x=x, dash=dash,
                                name=f"{run.label} · {coord}", style=style))
    missing = _without(runs, "lr_eff")
    notes = [f"no per-parameter learning rate: {', '.join(missing)}"] if missing else []
    if not runs:
        style.empty(fig, "no runs")
    return _finish(fig, style, y_title="effective learning rate  (x solid, y dotted)", log_y=True,
                   notes=notes)


def moments_figure(runs, style: Style | None = None) -> go.Figure:
    """Bias-corrected moments of the Adam family over time, per coordinate (x solid, y dotted):
    m̂ on top (linear), v̂ below (log). Runs without them are listed in a note."""
    runs = check_runs(runs)
    style = check_style(style)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    for row, key in ((1, "m_hat"), (2, "v_hat")):
        first = True
        for run in runs:
            if key not in run.internals:
                continue
            x = np.arange(1, run.steps + 1)
            for c, (coord, dash) in enumerate((("x", "solid"), ("y", "dot"))):
                vals = run.internals[key][..., c]
                if key == "v_hat":
                    vals = np.maximum(vals, FLOOR)
                fig.add_trace(_line(run, _mask_after_divergence(run, vals, internals=True), x=x,
                                    dash=dash, name=f"{run.label} · {coord}", style=style,
                                    show_legend=row == 1 or "m_hat" not in run.internals),
                              row=row, col=1)
            first = False
        if first:
            fig.add_annotation(text="no run with " + ("m̂" if key == "m_hat" else "v̂"), xref="x domain",
                               yref=f"y{row if row > 1 else ''} domain", x=0.5, y=0.5, showarrow=False,
                               font=dict(color=style.muted_color, size=style.font_size))
    missing = [r.label for r in runs if "m_hat" not in r.internals and "v_hat" not in r.internals]
    notes = [f"no moments: {', '.join(missing)}"] if missing else []
    _finish(fig, style, notes=notes)
    fig.update_yaxes(title_text="m̂  (bias-corrected m)", row=1, col=1)
    fig.update_yaxes(title_text="v̂  (bias-corrected v)", type="log", row=2, col=1)
    fig.update_xaxes(title_text="", row=1, col=1)
    return fig


def _key(name: str, color: str, style: Style, dash: str = "solid") -> go.Scatter:
    """A legend-only entry (no data) explaining a line style."""
    return go.Scatter(x=[None], y=[None], mode="lines", name=name, hoverinfo="skip",
                      line=dict(color=color, width=style.line_width, dash=dash), meta=dict(role="key"))


def internals_figure(run: RunView, style: Style | None = None, *, start_index: int = 0) -> go.Figure:
    """Inside one Adam-family run, four panels: m and m̂, v and v̂ (Adamax: u), the per-parameter step
    |Δθ| and the bias-correction factors 1 − β1ᵗ, 1 − β2ᵗ over t (from the run's β's; 1 when bias
    correction is off). Raw moments are grey, corrected ones in the run's colour; x solid, y dotted.

    With K > 1 starts one start is shown: ``start_index`` (default 0, the first), named in the legend.
    A run outside the family (no m and v) gets a figure holding only a note saying so."""
    run = check_run(run)
    style = check_style(style)
    if isinstance(start_index, bool) or not isinstance(start_index, (int, np.integer)) \
            or not 0 <= start_index < max(run.internals_k, 1):
        raise ValueError(f"start_index must be in 0..{max(run.internals_k, 1) - 1} (starts with internals), "
                         f"got {start_index!r}")
    if "m" not in run.internals or not ({"v", "u"} & set(run.internals)):
        fig = go.Figure()
        style.empty(fig, f"{run.label} keeps no first and second moments (m, v): "
                         "this view is for the Adam family")
        style.apply(fig)
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return fig
    i = int(start_index)
    t = np.arange(1, run.steps + 1)
    second = "v" if "v" in run.internals else "u"
    fig = make_subplots(rows=2, cols=2, shared_xaxes=True, vertical_spacing=0.1, horizontal_spacing=0.12)
    alive = _mask_after_divergence(run, np.ones((run.internals_k, run.steps)), internals=True)[i]

    def one(key, c):
        return (run.internals[key][i, :, c] * alive)[None]

    pairs = [(1, 1, "m", "m_hat", False), (1, 2, second, "v_hat" if second == "v" else None, True)]
    for c, (coord, dash) in enumerate((("x", "solid"), ("y", "dot"))):
        for row, col, raw, corr, log in pairs:
            for key, color, width in ((raw, style.muted_color, style.line_width * 0.7),
                                      (corr, run.color, style.line_width)):
                if key is None or key not in run.internals:
                    continue
                vals = np.maximum(one(key, c), FLOOR) if log else one(key, c)
                label = {"m_hat": "m̂", "v_hat": "v̂"}.get(key, key)
                fig.add_trace(_line(run, vals, x=t, dash=dash, name=f"{label} {coord}", color=color,
                                    width=width, style=style, show_legend=False), row=row, col=col)
        step = np.maximum(np.abs(one("update", c)), FLOOR)
        fig.add_trace(_line(run, step, x=t, dash=dash, name=f"|Δθ| {coord}", style=style,
                            show_legend=False), row=2, col=1)
    b1 = run.hyper_value("beta1", i, 0.9)
    b2 = run.hyper_value("beta2", i, 0.999)
    corrected = bool(run.hyper.get("bias_correction", True))
    for beta, sym, color in ((b1, "1 − β1ᵗ", run.color), (b2, "1 − β2ᵗ", style.muted_color)):
        vals = (1 - beta ** t) if corrected else np.ones_like(t, dtype=float)
        fig.add_trace(go.Scatter(x=t, y=f32(vals), mode="lines", name=f"{sym}  (β = {beta:g})",
                                 line=dict(color=color, width=style.line_width, dash="dash"),
                                 hovertemplate=f"{sym}<br>t=%{{x}}: %{{y:.4g}}<extra></extra>",
                                 meta=dict(role="bias", run=run.key)), row=2, col=2)
    who = run.label + (f" (start {i} of {run.k})" if run.k > 1 else "")
    for trace in (_key(f"{who}: bias-corrected", run.color, style), _key("raw", style.muted_color, style),
                  _key("x", style.text_color, style), _key("y", style.text_color, style, "dot")):
        fig.add_trace(trace, row=1, col=1)
    _finish(fig, style, notes=() if corrected else ("bias correction is off: m̂ = m, v̂ = v",))
    fig.update_yaxes(title_text="m, m̂", row=1, col=1)
    fig.update_yaxes(title_text=f"{second}, v̂ (log)" if second == "v" else "u (log)", type="log", row=1, col=2)
    fig.update_yaxes(title_text="|Δθ| per coordinate", type="log", row=2, col=1)
    fig.update_yaxes(title_text="1 − βᵗ", type="linear", range=[0, 1.05], row=2, col=2)
    fig.update_xaxes(title_text="", row=1)
    return fig

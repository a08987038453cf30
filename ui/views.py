"""The main area: one tab per view; only the open tab is computed and drawn."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

import optimizers
from plots import animation, contour, curves, inspector, multiples, summary, surface3d

from . import chart
from . import options as O

CHART = dict(theme=None, config={"displaylogo": False, "scrollZoom": False})
ADAM_FAMILY = {"adam", "adamw", "amsgrad", "adamax", "nadam", "radam"}


CHART_KEY = "contour_chart"
CAPTION = "Click the chart to start there. ✕ marks a run frozen at its last finite point."


def _on_click():
    """A click on the contour sets the start point (x₀, y₀)."""
    point = chart.clicked(CHART_KEY)
    if point is None:                                  # (st.plotly_chart's point selection, the fallback)
        event = st.session_state.get(CHART_KEY)
        points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else []
        if points and "x" in points[0] and "y" in points[0]:
            point = float(points[0]["x"]), float(points[0]["y"])
    if point is not None:
        st.session_state["x0"], st.session_state["y0"] = round(point[0], 4), round(point[1], 4)


def readout_line(run, surface):
    """One line beside the contour: where the run ended, when it got there, or where it diverged."""
    rows = summary.summary_rows([run], surface)
    dot = f"<span style='color:{run.color};font-size:1.3em'>●</span>"
    div = [row["diverged at"] for row in rows if row["diverged at"] != summary.DASH]
    if div:
        text = f"✕ diverged at step {min(div)}" + (f" ({len(div)} of {len(rows)} starts)" if len(rows) > 1 else "")
    else:
        best = min(rows, key=lambda row: row["final loss"])
        hit = [row["steps to tol"] for row in rows if row["steps to tol"] != summary.DASH]
        text = f"f = {best['final loss']:.3g}" + (f", converged at step {min(hit)}" if hit else "")
    st.markdown(f"{dot} **{run.label}** — {text}", unsafe_allow_html=True)


@dataclass(frozen=True)
class Sink:
    """Where an optimizer's panel, rerun on its own (``ui.sidebar``), redraws its run: a layer in the
    chart's box and its line in the read-out (both containers of the last full run)."""

    chart: Any
    readout: Any
    gen: int


@dataclass(frozen=True)
class Frame:
    """The main area's containers, made before the sidebar so the panels can write into them."""

    top: Any                       # the lesson, notices
    view: str                      # the open tab
    body: Any                      # its container
    side: Any = None               # the contour view's right column (read-out, caption)
    sink: Sink | None = None       # when the contour view is open and drawn by ``ui.chart``


def frame(gen: int) -> Frame:
    """The lesson box and the view tabs (only the open one is computed and drawn)."""
    top = st.container()
    tabs = st.tabs(list(O.VIEWS), key="view", bind="query-params", on_change="rerun")
    view, body = next(((n, t) for n, t in zip(O.VIEWS, tabs) if t.open), (O.VIEWS[0], tabs[0]))
    if view != "Contour":
        return Frame(top, view, body)
    left, right = body.columns([3, 1])
    box, readout = left.container(gap=None), right.container()        # (the layers take no space)
    return Frame(top, view, box, right, Sink(box, readout, gen) if chart.available() else None)


def contour_view(frame, surface, grid, runs, style):
    height = 720 if style.projector else 560
    if frame.sink is not None:                         # the read-out lines come from the panels
        parts = contour.contour_parts(surface, grid, runs, style, height=height, hover=True)
        with frame.body:
            chart.base(parts, key=CHART_KEY, on_click=_on_click, height=height)
        frame.side.caption(CAPTION)
        return
    fig = contour.contour_figure(surface, grid, runs, style, click_grid=True, height=height)
    with frame.body:
        st.plotly_chart(fig, key=CHART_KEY, on_select=_on_click, selection_mode="points", **CHART)
    with frame.side:
        for run in runs:
            readout_line(run, surface)
        st.caption(CAPTION)


def animation_view(surface, grid, runs, style):
    speed = st.select_slider("Speed (milliseconds per frame)", [10, 20, 40, 80, 160, 320], value=40,
                             key="speed", bind="query-params")
    fig = animation.animation_figure(surface, grid, runs, style, frame_ms=speed)
    fig.update_layout(height=780 if style.projector else 620)
    st.plotly_chart(fig, key="anim", **CHART)
    st.caption("Play/Pause and drag the step slider; all optimizers move in lockstep over their drawn paths.")


def surface3d_view(surface, grid, runs, style):
    fig = surface3d.surface3d_figure(surface, grid, runs, style)
    fig.update_layout(height=820 if style.projector else 680)
    st.plotly_chart(fig, key="3d", **CHART)


def curves_view(surface, grid, runs, style, bands=None):
    c1, c2 = st.columns(2)
    c1.plotly_chart(curves.loss_figure(runs, surface, style, bands=bands), key="loss", **CHART)
    c2.plotly_chart(curves.distance_figure(runs, surface, style), key="dist", **CHART)
    c1.plotly_chart(curves.step_figure(runs, style), key="step", **CHART)
    c2.plotly_chart(curves.lr_eff_figure(runs, style), key="lr_eff", **CHART)
    st.plotly_chart(curves.moments_figure(runs, style), key="moments", **CHART)


def multiples_view(surface, grid, runs, style):
    st.plotly_chart(multiples.small_multiples_figure(surface, grid, runs, style), key="multiples", **CHART)


def inspector_view(surface, grid, runs, style):
    labels = {r.key: r.label for r in runs}
    c1, c2 = st.columns([1, 2])
    key = c1.selectbox("Optimizer", list(labels), format_func=labels.get, key="insp_run", bind="query-params")
    run = next(r for r in runs if r.key == key)
    steps = run.path.shape[1] - 1
    if steps < 1:
        st.info("Run at least one step to inspect it.")
        return
    t = c2.slider("Step t", 1, steps, 1, key="insp_t", bind="query-params")
    left, right = st.columns([2, 3])
    left.plotly_chart(inspector.inspector_figure(surface, grid, run, t, style), key="inspector", **CHART)
    with right:
        st.markdown(f"**{run.label}** at step **t = {t}** — the rule with this step's numbers:")
        st.latex(inspector.step_latex(run, t, surface=surface))
        st.caption(optimizers.variant(run.name).paper)


def internals_view(surface, grid, runs, style):
    family = [r for r in runs if r.name in ADAM_FAMILY]
    if not family:
        st.info("Internals are drawn for the Adam family (Adam, AdamW, AMSGrad, Adamax, NAdam, RAdam). "
                "Add one of them to the scene.")
        return
    for r in family:
        st.plotly_chart(curves.internals_figure(r, style), key=f"internals_{r.key}", **CHART)


def summary_view(surface, grid, runs, style):
    rows = summary.summary_rows(runs, surface)
    # "steps to tol" and "diverged at" mix step numbers with "—"; Arrow needs one type per column
    for row in rows:
        for key in ("steps to tol", "diverged at"):
            row[key] = str(row[key])
    st.dataframe(rows, hide_index=True, width="stretch")


def export_view(surface, grid, runs, style):
    from . import exports
    exports.render(surface, grid, runs, style)


RENDER = {"Animation": animation_view, "3-D": surface3d_view, "Curves": curves_view,
          "Small multiples": multiples_view, "Step inspector": inspector_view, "Internals": internals_view,
          "Summary": summary_view, "Export": export_view}
assert ("Contour", *RENDER) == O.VIEWS


def render(frame: Frame, surface, grid, runs, style, bands=None):
    """Draw the open view into ``frame``. ``bands`` (a callable) gives the seed-spread bands, computed on
    demand."""
    if frame.view == "Contour":
        contour_view(frame, surface, grid, runs, style)
        return
    with frame.body:
        if frame.view == "Curves":
            curves_view(surface, grid, runs, style, bands=bands() if bands else None)
        else:
            RENDER[frame.view](surface, grid, runs, style)

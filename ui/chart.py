"""The contour chart as a component that stays on the page: a slider move redraws only the runs.

``st.plotly_chart`` replaces the chart whenever its figure changes, so Plotly draws the contour, its
colour bar and every trace again (~150 ms in Chromium here); and a contour reports no clicks, so the old
chart carried an invisible 40×40 grid of points just to be clickable (another 50–100 ms per draw). This
component (``chart.js``) keeps two Plotly graphs in one box: the contour with its axes below, redrawn
only when the surface or the layout changes, and the runs on a transparent graph on top. A full run of
the page sends everything (:func:`base`); an optimizer's panel, rerun on its own (``ui.sidebar``), sends
only its run (:func:`layer`). Clicks are read from the mouse: a click without a drag sets the start.

plotly.js itself is the plotly package's own file, copied once into ``static/`` and served by Streamlit
(``server.enableStaticServing``), so it works offline and is cached by the browser. If that copy cannot
be made, :func:`available` is False and the page uses ``st.plotly_chart`` instead.
"""
from __future__ import annotations

import json
import shutil
from functools import lru_cache
from pathlib import Path

import plotly
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
from plotly.io.json import to_json_plotly

from plots.contour import ContourParts
from plots.data import TRUSTED

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
_JS = (Path(__file__).with_name("chart.js")).read_text()
_component = st.components.v2.component("optimizer_contour", js=_JS, isolate_styles=False)


@lru_cache(maxsize=1)
def plotly_src() -> str | None:
    """The URL path of plotly.js as Streamlit serves it (None if it cannot be put in ``static/``)."""
    from plotly.offline import get_plotlyjs_version
    name = f"plotly-{get_plotlyjs_version()}.min.js"
    target = STATIC / name
    if not target.exists():
        source = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        try:
            STATIC.mkdir(exist_ok=True)
            tmp = target.with_suffix(".tmp")
            shutil.copyfile(source, tmp)
            tmp.replace(target)
        except OSError:
            return None
    return f"app/static/{name}"


def available() -> bool:
    return plotly_src() is not None


def _json(fig: go.Figure) -> str:
    return pio.to_json(fig, validate=False)


def _traces(traces) -> str:
    """A list of traces as JSON, numeric arrays base64-encoded as a figure's are."""
    return to_json_plotly(go.Figure(data=list(traces), layout={"template": {}}, **TRUSTED).to_dict()["data"])


def base(parts: ContourParts, *, key: str, on_click, height: int):
    """The contour, its axes and the minima of the chart ``key``, with the order of its runs (each run
    comes as a :func:`layer`). Unchanged, it is the same message, which the browser keeps: a full run of
    the page that does not change the surface sends ~0.3 MB less."""
    _component(key=key, data={
        "kind": "base", "chart": key, "src": plotly_src(), "fig": _json(parts.base),
        "order": list(parts.runs), "critical": _traces(parts.critical)}, on_click_change=on_click, height=height)


def layer(run_key: str, traces, *, chart: str, gen: int):
    """One run's traces on the chart ``chart`` (an element that takes no room on the page). ``gen``
    counts the page's full runs: the chart draws once every run has a layer of the latest one."""
    _component(key=f"{chart}.layer.{run_key}", data={
        "kind": "layer", "chart": chart, "gen": gen, "run": run_key, "traces": _traces(traces)}, height=1)


def clicked(key: str):
    """The (x, y) of the last click on the chart ``key``, or None."""
    value = (st.session_state.get(key) or {}).get("click")
    if isinstance(value, dict) and all(isinstance(value.get(k), (int, float)) for k in ("x", "y")):
        return float(value["x"]), float(value["y"])
    return None


def figure_of(payloads: list[dict]) -> dict:
    """The figure the browser shows, from the elements' data (a base and its layers): the contour, every
    run's traces in the base's order (the latest layer of each), then the minima. For tests."""
    base_ = next(p for p in payloads if p["kind"] == "base")
    fig = json.loads(base_["fig"])
    latest = max((p["gen"] for p in payloads if p["kind"] == "layer"), default=0)
    runs = {p["run"]: json.loads(p["traces"]) for p in payloads if p["kind"] == "layer" and p["gen"] == latest}
    fig["data"] += [t for run in base_["order"] for t in runs.get(run, [])] + json.loads(base_["critical"])
    return fig

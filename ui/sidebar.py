"""The sidebar: every control of the scene, each bound to a URL query parameter of the same name."""
from __future__ import annotations

import streamlit as st

import optimizers
import surfaces
from optimizers.schedules import KINDS as SCHEDULE_KINDS

from . import options as O
from . import scene as S

BOUND = dict(bind="query-params")
SCHEDULE_LABELS = {"constant": "constant", "step": "step decay", "exponential": "exponential",
                   "cosine": "cosine", "warmup": "linear warm-up"}


def _slider(label, key, options, help=None):
    """A select-slider over ``options``; a value set by a lesson off the grid is added to it."""
    current = st.session_state.get(key)
    if isinstance(current, (int, float)) and not isinstance(current, bool) and current not in options:
        options = sorted(set(options) | {float(current)})
    dflt = S.default(key)
    return st.select_slider(label, options=options, value=dflt if dflt in options else O.nearest(options, dflt),
                            key=key, format_func=O.fmt, help=help, **BOUND)


def current(key, options):
    """The value a bound widget is about to show: its state, else the link's value (the widget is seeded
    from the URL only when it is created, after a title that names the value has been drawn)."""
    if key in st.session_state:
        return st.session_state[key]
    raw = st.query_params.get(key)
    return next((o for o in options if O.fmt(o) == raw), S.default(key))


def surface_label(name):
    """What the list (and so the URL) shows for a surface."""
    return "Custom formula" if name == "custom" else surfaces.get(name).label


def optimizer_label(inst):
    return O.instance_label(inst, optimizers.variant(O.base_name(inst)).label)


STARTS_LABELS = {"single": "one", "ring": "ring", "grid": "grid"}
FLOAT_INPUTS = {"x0", "y0", "steps", "seed", "xmin", "xmax", "ymin", "ymax"}
TEXT_INPUTS = {"formula"}


def url_values(key: str, value, lesson_titles=None) -> list[str]:
    """How the bound widget ``key`` writes ``value`` into the URL (labels for keyed choices, the
    shortest exact decimal for select-sliders, Python's repr for float inputs, true/false)."""
    tail = key.rsplit(".", 1)[-1]
    if key == "surface":
        return [surface_label(value)]
    if key == "opt":
        return [optimizer_label(v) for v in value]
    if key == "lesson":
        return [(lesson_titles or {}).get(value, value)]
    if key == "starts":
        return [STARTS_LABELS[value]]
    if key == "sched" or tail == "sched":
        return ["as for all" if value == "shared" else SCHEDULE_LABELS[value]]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if key in FLOAT_INPUTS or (key.split(".")[0] in surfaces.names() and tail != "sched"):
        return [repr(float(value))]
    if key == "n" or key == "insp_t":
        return [str(int(value))]
    if key in TEXT_INPUTS or tail == "name" or key == "view":
        return [str(value)]
    return [O.fmt(value)]


# Widgets whose options are keys shown through a label: the URL carries the label; a hand-typed link
# may carry the key instead, which ``ui.pages`` translates on a session's first run.
LABELLED = {"surface": (lambda: surfaces.names() + ["custom"], surface_label),
            "opt": (lambda: O.instance_ids(optimizers.names()), optimizer_label)}


def _move_start():
    """A new surface starts from its own default start point."""
    name = st.session_state.get("surface")
    if name and name != "custom":
        s = surfaces.get(name)
        st.session_state["x0"], st.session_state["y0"] = float(s.start[0]), float(s.start[1])


def surface_controls():
    st.selectbox("Surface", surfaces.names() + ["custom"], index=surfaces.names().index(O.DEFAULT_SURFACE),
                 key="surface", format_func=surface_label, on_change=_move_start, **BOUND)
    name = st.session_state["surface"]
    if name != "custom":
        st.caption(f"{surfaces.get(name).group} surface")
    if name == "custom":
        st.text_input("f(x, y) =", value=S.default("formula"), key="formula", max_chars=500,
                      placeholder="(1-x)^2 + 100*(y-x^2)^2", help="Use x, y, numbers, + − * / ^, pi, e and "
                      "sin cos tan exp log sqrt abs tanh sinh cosh atan …", **BOUND)
        c1, c2 = st.columns(2)
        for col, key, label in ((c1, "xmin", "x from"), (c2, "xmax", "x to"), (c1, "ymin", "y from"),
                                (c2, "ymax", "y to")):
            col.number_input(label, -1e4, 1e4, float(S.default(key)), key=key, **BOUND)
    for p in (surfaces.params(name) if name != "custom" else ()):
        key = f"{name}.{p.name}"
        st.slider(p.label, p.lo, p.hi, float(p.default), key=key, **BOUND)


def optimizer_controls(extra_values, sink=None, view_of=None):
    """The optimizers list and one panel per chosen instance. Each panel is a fragment that draws its
    run on the chart and its line in the read-out (``sink``: the main area's containers,
    ``view_of(inst)``: the run as the widgets say now): moving one of its sliders reruns that panel
    alone, not the whole page."""
    ids = O.instance_ids(optimizers.names())
    st.multiselect("Optimizers", ids, default=list(O.DEFAULT_OPTIMIZERS), key="opt", format_func=optimizer_label,
                   max_selections=8, help="Choose the same optimizer again (#2, #3) to compare settings.",
                   **BOUND)
    for i, inst in enumerate(st.session_state["opt"]):
        st.fragment(_panel, key=f"panel.{inst}")(i, inst, extra_values, sink, view_of)


def _panel(i, inst, extra_values, sink, view_of):
    optimizer_panel(i, inst, extra_values)
    alone = not st.session_state.get("_full_run", True)
    seen = st.session_state.setdefault("_sched_seen", {})
    sched = st.session_state.get(f"{inst}.sched")
    if alone and (sink is None or seen.get(inst) != sched):
        st.rerun()               # another view is open, or the schedule changed the run controls: all of it
    seen[inst] = sched
    if sink is None or view_of is None:
        return
    found = view_of(inst)
    if found is None:
        return
    run, surface, style = found
    from plots.overlay import run_traces

    from . import chart, views
    with sink.readout:
        views.readout_line(run, surface)
    with sink.chart:
        chart.layer(run.key, run_traces(run, surface, style), chart=views.CHART_KEY, gen=sink.gen)


def optimizer_panel(i, inst, extra_values):
    """An optimizer instance's settings, in an expander titled with its name and α."""
    from plots.style import PALETTE
    name = O.base_name(inst)
    var = optimizers.variant(name)
    lr = current(f"{inst}.lr", O.grid_with("lr", extra_values.get("lr", ())))
    shown = S.clean_name(st.session_state.get(f"{inst}.name", "")) or optimizer_label(inst)
    with st.expander(f"{shown} — α = {O.fmt(lr)}", expanded=i == 0):
        st.markdown(f"<span style='color:{PALETTE[i % len(PALETTE)]};font-size:1.4em'>●</span> "
                    f"{var.paper}", unsafe_allow_html=True)
        for h, dflt in var.defaults.items():
            key = f"{inst}.{h}"
            if isinstance(dflt, bool):
                st.toggle(O.LABELS[h], value=bool(S.default(key)), key=key, help=O.HELP.get(h), **BOUND)
            else:
                _slider(O.LABELS[h], key, O.grid_with(h, extra_values.get(h, ())), O.HELP.get(h))
        _slider("loss scale k", f"{inst}.k", O.GRIDS["loss_scale"], O.HELP["loss_scale"])
        st.selectbox("α schedule", ["shared"] + list(SCHEDULE_KINDS), key=f"{inst}.sched",
                     format_func=lambda k: "as for all" if k == "shared" else SCHEDULE_LABELS[k], **BOUND)
        st.text_input("name in the charts", value="", key=f"{inst}.name", max_chars=40,
                      placeholder=optimizer_label(inst), **BOUND)


def start_controls(default_start):
    st.caption("Start point — type it, or click the contour chart.")
    c1, c2 = st.columns(2)
    for col, key, v in ((c1, "x0", default_start[0]), (c2, "y0", default_start[1])):
        if key not in st.session_state:
            st.session_state[key] = float(v)
        col.number_input(key.replace("0", "₀"), -1e4, 1e4, key=key, format="%.4g", step=0.1, **BOUND)
    st.radio("Starts", S.STARTS, key="starts", horizontal=True, **BOUND, format_func=STARTS_LABELS.get)
    if st.session_state["starts"] != "single":
        c1, c2 = st.columns(2)
        c1.slider("how many", 2, O.MAX_STARTS, 8, key="n", **BOUND)
        with c2:
            _slider("radius", "r", O.GRIDS["radius"])


def run_controls():
    # Whole numbers are float inputs shown without decimals: Streamlit 1.67 crashes (OverflowError) when
    # an *integer* number_input is seeded from a link such as ?steps=1e999; a float one drops the value.
    st.number_input("Steps", 1.0, float(O.MAX_STEPS), float(O.DEFAULT_STEPS), step=50.0, format="%.0f",
                    key="steps", **BOUND)
    c1, c2 = st.columns([2, 1])
    with c1:
        _slider("gradient noise σ", "noise", O.GRIDS["noise"])
    c2.number_input("seed", 0.0, float(2**31 - 1), 0.0, step=1.0, format="%.0f", key="seed", **BOUND)
    if st.session_state.get("noise", 0.0) > 0 or min(st.session_state.get("keep_x", 1.0),
                                                      st.session_state.get("keep_y", 1.0)) < 1:
        _slider("seeds drawn as a spread band (Curves)", "bands", O.GRIDS["bands"])
    with st.expander("Sparse gradients"):
        st.caption("Probability that each coordinate's gradient is seen at a step (seeded by the seed).")
        _slider("keep x", "keep_x", O.GRIDS["keep"])
        _slider("keep y", "keep_y", O.GRIDS["keep"])
    st.selectbox("α schedule (all optimizers)", list(SCHEDULE_KINDS), key="sched",
                 format_func=SCHEDULE_LABELS.get, **BOUND)
    kinds = {st.session_state["sched"]} | {st.session_state.get(f"{i}.sched") for i in st.session_state["opt"]}
    if kinds & {"step", "exponential"}:
        _slider("γ", "sched.gamma", S.SCHEDULE_PARAMS["gamma"])
    if "step" in kinds:
        _slider("every … steps", "sched.step_size", S.SCHEDULE_PARAMS["step_size"])
    if "warmup" in kinds:
        _slider("warm-up steps", "sched.warmup", S.SCHEDULE_PARAMS["warmup"])

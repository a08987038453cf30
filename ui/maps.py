"""The Maps page: basins of attraction over a grid of starts, and hyperparameter sweeps, for the
optimizers and settings chosen in the Visualizer.

The page reads the Visualizer's widget state (``opt``, ``<instance>.<hyper>``, ``surface``, ``noise`` …,
see :mod:`ui.scene`) and keeps a copy in ``_maps_scene`` so it survives Streamlit dropping the state of
widgets not drawn. Its own controls use keys ``maps_*`` (no dot: dotted keys belong to the scene).

* Basins: an n×n grid of starts (cell centres, n ≤ 200) per optimizer, computed in chunks of whole rows
  (``CHUNK_STARTS`` starts per ``optimizers.run`` call), each chunk cached on its own. A progress bar
  is updated after every chunk once the work takes more than a moment; a rerun (any setting changed)
  stops the script between chunks, and only finished chunks are ever cached, so a cancelled map is
  never mistaken for a complete one. With noise, each chunk draws from its own seed (seed, first row).
* Sweep: an n×n grid (n ≤ 60) of two hyperparameters of one optimizer (up to two optimizers side by
  side on one colour scale), as ONE batched ``optimizers.run`` call with per-run hyperparameter arrays,
  from the Visualizer's start point (the first start when it uses a ring or grid of starts). Axes:
  α log-spaced over [1e-5, 10]; β₁, β₂, momentum μ and ρ over [0, 0.999] evenly in −log10(1 − β) (so
  0, 0.9, 0.99 and 0.999 are equally far apart: values are denser near 1); any other hyperparameter
  over its slider's range, log-spaced when that range is positive, else linear. Clicking a cell loads
  that setting (snapped to the Visualizer's slider values) into the Visualizer and opens it.
"""
from __future__ import annotations

import time
from functools import lru_cache
from typing import Mapping

import numpy as np
import streamlit as st

import optimizers
import surfaces
from optimizers.schedules import Schedule
from plots import maps as M
from plots.style import PALETTE, Style

from . import compute, pages, sidebar
from . import options as O
from . import scene as S

VIEWS = {"basins": "Basins of attraction", "sweep": "Hyperparameter sweep"}
BASIN_SIDES = (10, 20, 30, 50, 75, 100, 150, 200)
SWEEP_SIDES = (4, 10, 20, 30, 40, 50, 60)
DEFAULT_BASIN_SIDE = 100
DEFAULT_SWEEP_SIDE = 30
CHUNK_STARTS = 4000            # starts per optimizers.run call of a basin map (whole rows)
PROGRESS_AFTER = 0.25          # seconds of work before the progress bar appears
BETA_LIKE = ("beta1", "beta2", "momentum", "rho")
SWEEP_LR = (1e-5, 10.0)
SWEEP_BETA = (0.0, 0.999)
CHART = dict(theme=None, config={"displaylogo": False, "scrollZoom": False})


# ---- pure work (no Streamlit): also what the tests check ---------------------------------------------

def row_chunks(n: int, chunk_starts: int = CHUNK_STARTS) -> list[tuple[int, int]]:
    """Row ranges [r0, r1) of an n×n grid of starts, about ``chunk_starts`` starts each."""
    rows = max(1, chunk_starts // n)
    return [(r, min(n, r + rows)) for r in range(0, n, rows)]


def chunk_seed(seed: int, row0: int) -> int:
    """The noise seed of the chunk starting at ``row0`` (independent streams per chunk)."""
    return int(np.random.SeedSequence([int(seed), int(row0)]).generate_state(1)[0])


def basin_rows(surface, name: str, hyper: Mapping, n: int, row0: int, row1: int, steps: int, *,
               noise: float = 0.0, seed: int = 0, loss_scale: float = 1.0,
               schedule: tuple = ("constant", ()), keep=(1.0, 1.0)) -> dict:
    """Rows ``row0 … row1-1`` of an n×n basin map: the runs from starts (xs[ix], ys[iy]) of
    :func:`plots.maps.start_axes`, as (rows, n) arrays ``minimum``, ``converged_at``, ``final_loss``,
    ``diverged_at``."""
    xs, ys = M.start_axes(surface.domain, n)
    gx, gy = np.meshgrid(xs, ys[row0:row1])
    starts = np.stack([gx.ravel(), gy.ravel()], axis=-1)
    traj = optimizers.run(optimizers.get(name, **dict(hyper)), surface, starts, steps, noise=noise,
                          seed=chunk_seed(seed, row0), record="summary",
                          schedule=Schedule(schedule[0], schedule[1]), loss_scale=loss_scale, grad_keep=keep,
                          background_build=True)
    shape = (row1 - row0, n)
    return dict(minimum=traj.minimum.reshape(shape).astype(np.int16),
                converged_at=traj.converged_at.reshape(shape).astype(np.int32),
                final_loss=traj.final_loss.reshape(shape).copy(),
                diverged_at=traj.diverged_at.reshape(shape).astype(np.int32))


def basin_map(surface, key: str, label: str, name: str, hyper: Mapping, n: int, steps: int, *,
              rows=None, **run_kw) -> M.BasinMap:
    """A whole basin map; ``rows(r0, r1)`` (default :func:`basin_rows`) computes one chunk."""
    part = rows or (lambda r0, r1: basin_rows(surface, name, hyper, n, r0, r1, steps, **run_kw))
    chunks = [part(r0, r1) for r0, r1 in row_chunks(n)]
    return assemble(key, label, surface, n, steps, chunks)


def assemble(key, label, surface, n, steps, chunks) -> M.BasinMap:
    xs, ys = M.start_axes(surface.domain, n)
    cat = {f: np.concatenate([c[f] for c in chunks]) for f in chunks[0]}
    return M.BasinMap(key, label, xs, ys, cat["minimum"], cat["converged_at"], cat["final_loss"],
                      cat["diverged_at"], steps)


def symbol(hyper: str) -> str:
    """The symbol of a hyperparameter's label: "α (learning rate)" → "α", "weight decay λ" → "λ"."""
    return O.LABELS.get(hyper, hyper).split(" (")[0].split()[-1]


def numeric_hypers(name: str) -> list[str]:
    return [h for h, v in optimizers.variant(name).defaults.items() if not isinstance(v, bool)]


def default_axes(name: str) -> tuple[str, str]:
    """α × β₁ where the optimizer has β₁, else α × its next numeric hyperparameter."""
    hs = numeric_hypers(name)
    x = "lr" if "lr" in hs else hs[0]
    rest = [h for h in hs if h != x]
    return x, ("beta1" if "beta1" in rest else rest[0])


def sweep_axis(hyper: str, n: int) -> M.SweepAxis:
    """The swept values of ``hyper`` (see the module docstring for the ranges)."""
    label = O.LABELS.get(hyper, hyper)
    if hyper == "lr":
        return M.SweepAxis.make(hyper, label, "log", *SWEEP_LR, n)
    if hyper in BETA_LIKE:
        return M.SweepAxis.make(hyper, label, "beta", *SWEEP_BETA, n)
    grid = O.GRIDS[hyper]
    lo, hi = float(min(grid)), float(max(grid))
    return M.SweepAxis.make(hyper, label, "log" if lo > 0 else "linear", lo, hi, n)


def sweep_run(surface, name: str, hyper: Mapping, x: M.SweepAxis, y: M.SweepAxis, start, steps: int, *,
              noise: float = 0.0, seed: int = 0, loss_scale: float = 1.0,
              schedule: tuple = ("constant", ()), keep=(1.0, 1.0)):
    """ONE batched run over the grid of (x, y) settings: run i = iy·nx + ix has x.hyper = x.values[ix],
    y.hyper = y.values[iy], every other hyperparameter as in ``hyper``; all from ``start``."""
    gx, gy = np.meshgrid(x.values, y.values)
    k = gx.size
    values = {**dict(hyper), x.hyper: gx.reshape(-1), y.hyper: gy.reshape(-1)}
    starts = np.broadcast_to(np.asarray(start, dtype=float), (k, 2))
    return optimizers.run(optimizers.get(name, **values), surface, starts, steps, noise=noise, seed=seed,
                          record="summary", schedule=Schedule(schedule[0], schedule[1]),
                          loss_scale=loss_scale, grad_keep=keep,
                          background_build=True)


def snap(hyper: str, value: float, extra=None) -> float:
    """A value snapped onto the Visualizer's slider grid for ``hyper``."""
    extra = pages.extra_values() if extra is None else extra
    return O.nearest(O.grid_with(hyper, extra.get(hyper, ())), value)


def click_target(points, meta) -> tuple[str, dict, dict] | None:
    """(instance, snapped values, swept values) of a clicked sweep cell; None if the click is not one.

    ``points`` is Streamlit's selection ``points`` (``customdata`` [panel, ix, iy], as a list or, for a
    typed array, a dict keyed "0", "1", "2"); ``meta[panel]`` = (instance, x hyper, x values, y hyper,
    y values) as drawn."""
    for p in points or ():
        custom = p.get("customdata")
        if isinstance(custom, dict):         # a typed-array row arrives as {"0": panel, "1": ix, "2": iy}
            custom = [custom.get(str(i), custom.get(i)) for i in range(3)]
        if not isinstance(custom, (list, tuple)) or len(custom) < 3:
            continue
        try:
            panel, ix, iy = (int(v) for v in custom[:3])
            inst, xh, xv, yh, yv = meta[panel]
            raw = {xh: float(xv[ix]), yh: float(yv[iy])}
        except (TypeError, ValueError, IndexError, KeyError):
            continue
        return inst, {h: snap(h, v) for h, v in raw.items()}, raw
    return None


def load_query(state: Mapping, overrides: Mapping) -> dict[str, list[str]]:
    """The Visualizer's canonical query parameters for the scene ``state`` with ``overrides`` on top:
    what its bound widgets would write into the URL (defaults left out, overrides always written)."""
    keys = scene_keys()
    values = {k: v for k, v in state.items() if k in keys and k != "lesson"}
    values.update(overrides)
    out = {}
    for k, v in values.items():
        if k in overrides or v != S.default(k):
            out[k] = sidebar.url_values(k, v)
    return out


@lru_cache(maxsize=1)
def scene_keys() -> frozenset:
    return frozenset(S.known_keys())


# ---- cached work -----------------------------------------------------------------------------------

@st.cache_data(max_entries=320, show_spinner=False)
def _basin_chunk(spec: S.SurfaceSpec, name: str, hyper: tuple, loss_scale: float, schedule: tuple,
                 steps: int, noise: float, seed: int, keep: tuple, n: int, row0: int, row1: int):
    """(rows of the map, seconds of compute)."""
    t0 = time.perf_counter()
    rows = basin_rows(compute.surface(spec), name, dict(hyper), n, row0, row1, steps, noise=noise,
                      seed=seed, loss_scale=loss_scale, schedule=schedule, keep=keep)
    return rows, time.perf_counter() - t0


@st.cache_data(max_entries=32, show_spinner=False)
def _sweep(spec: S.SurfaceSpec, name: str, hyper: tuple, x_hyper: str, y_hyper: str, n: int, start: tuple,
           steps: int, noise: float, seed: int, loss_scale: float, schedule: tuple, keep: tuple) -> dict:
    t0 = time.perf_counter()
    traj = sweep_run(compute.surface(spec), name, dict(hyper), sweep_axis(x_hyper, n), sweep_axis(y_hyper, n),
                     start, steps, noise=noise, seed=seed, loss_scale=loss_scale, schedule=schedule, keep=keep)
    shape = (n, n)
    return dict(final_loss=traj.final_loss.reshape(shape).copy(),
                converged_at=traj.converged_at.reshape(shape).astype(np.int32),
                diverged_at=traj.diverged_at.reshape(shape).astype(np.int32), seconds=time.perf_counter() - t0)


# ---- the page --------------------------------------------------------------------------------------

def _scene_state() -> dict:
    """The Visualizer's settings: its live widget values over the copy kept from earlier runs."""
    live = {k: st.session_state[k] for k in scene_keys() if k in st.session_state}
    state = {**st.session_state.get("_maps_scene", {}), **live}
    st.session_state["_maps_scene"] = state
    return state


def _on_sweep_click():
    """A click on a sweep cell: put that setting into the Visualizer's keys, and ask the script body
    to open the Visualizer (switch_page is not allowed inside a callback)."""
    event = st.session_state.get("maps_sweep_chart")
    points = (event or {}).get("selection", {}).get("points", [])
    target = click_target(points, st.session_state.get("_maps_sweep_meta") or [])
    if target is None:
        return
    inst, values, raw = target
    for h, v in values.items():
        st.session_state[f"{inst}.{h}"] = v
    st.session_state["lesson"] = ""              # the scene is no longer the lesson's
    st.session_state["_maps_load"] = dict(inst=inst, values=values, raw=raw)


def _open_loaded(state):
    load = st.session_state.pop("_maps_load", None)
    if not load:
        return
    overrides = {f"{load['inst']}.{h}": v for h, v in load["values"].items()}
    query = load_query(state, overrides)
    visualizer = pages.PAGES.get("visualizer")
    if visualizer is not None:
        st.switch_page(visualizer, query_params=query)
    shown = ", ".join(f"{O.LABELS.get(h, h).split(' (')[0]} = {O.fmt(v)}" for h, v in load["values"].items())
    st.success(f"Loaded {shown} into {load['inst']}'s settings.", icon=":material/check_circle:")


def _style(state) -> Style:
    dark = getattr(st.context.theme, "type", None) == "dark"
    return Style(dark=dark, projector=bool(state.get("projector", False)))


def _reset_on_scene_change(scene):
    """When the Visualizer's optimizers or steps changed, the page's choices go back to following them."""
    seen = (tuple(r.key for r in scene.runs), scene.steps)
    if st.session_state.get("_maps_seen") != seen:
        for k in ("maps_basin_opt", "maps_sweep_opt", "maps_steps"):
            st.session_state.pop(k, None)
        st.session_state["_maps_seen"] = seen


def _default_sweep_runs(scene) -> list[str]:
    """Up to two of the chosen optimizers (in the Visualizer's order): those with β₁ first, then
    SGD with momentum, then the rest."""
    def rank(r):
        hs = numeric_hypers(r.name)
        return 0 if "beta1" in hs else 1 if "momentum" in hs and "beta2" not in hs else 2
    top = {r.key for r in sorted(scene.runs, key=rank)[:2]}
    return [r.key for r in scene.runs if r.key in top]


def runs_by_key(runs) -> dict:
    return {r.key: r.label for r in runs}


def maps_page():
    state = _scene_state()
    _open_loaded(state)
    spec = S.surface_spec(state)
    try:
        surf = compute.surface(spec)
    except surfaces.ExpressionError as exc:
        st.error(f"The Visualizer's formula is not valid: {exc}", icon=":material/error:")
        return
    scene = S.build_scene(state, surf.start, PALETTE, spec)
    style = _style(state)
    st.markdown("#### Maps")
    if not scene.runs:
        st.info("Choose at least one optimizer in the Visualizer.")
        return
    _reset_on_scene_change(scene)
    runs = {r.key: r for r in scene.runs}
    st.session_state.setdefault("maps_steps", float(scene.steps))

    c1, c2, c3, c4 = st.columns([1.6, 1.1, 1.4, 0.8], vertical_alignment="bottom")
    view = c1.radio("View", list(VIEWS), format_func=VIEWS.get, key="maps_view", horizontal=True)
    basins = view == "basins"
    if basins:
        color_by = c2.selectbox("Colour by", list(M.BASIN_COLOR_BY), format_func=M.BASIN_COLOR_BY.get,
                                key="maps_basin_color")
        n = c3.select_slider("Starts per side", BASIN_SIDES, value=DEFAULT_BASIN_SIDE, key="maps_basin_n",
                             help="An n×n grid of starts over the whole domain.")
    else:
        color_by = c2.selectbox("Colour by", list(M.SWEEP_COLOR_BY), format_func=M.SWEEP_COLOR_BY.get,
                                key="maps_sweep_color")
        n = c3.select_slider("Values per axis", SWEEP_SIDES, value=DEFAULT_SWEEP_SIDE, key="maps_sweep_n",
                             help="An n×n grid of settings, run as one batch.")
    steps = int(c4.number_input("Steps", 1.0, float(O.MAX_STEPS), step=100.0, format="%.0f", key="maps_steps"))

    if basins:
        st.session_state.setdefault("maps_basin_opt", list(runs))
        chosen = st.multiselect("Optimizers", list(runs), key="maps_basin_opt",
                                format_func=lambda k: runs[k].label, max_selections=8)
        _basins_view(scene, surf, [runs[k] for k in chosen], n, steps, color_by, style)
    else:
        st.session_state.setdefault("maps_sweep_opt", _default_sweep_runs(scene))
        chosen = st.multiselect("Optimizers (up to two, side by side)", list(runs), key="maps_sweep_opt",
                                format_func=lambda k: runs[k].label, max_selections=2)
        _sweep_view(scene, surf, [runs[k] for k in chosen], n, steps, color_by, style)


def _scene_note(scene, surf, extra=""):
    noise = f" · gradient noise σ = {O.fmt(scene.noise)} (seed {scene.seed})" if scene.noise else ""
    return (f"{surf.label}{noise}{extra} — every setting as chosen in the Visualizer; change them "
            "there.")


def _basins_view(scene, surf, runs, n, steps, color_by, style):
    st.caption(_scene_note(scene, surf) + " Each cell is one start, run for the chosen steps.")
    if not runs:
        st.info("Choose at least one optimizer.")
        return
    slot = st.empty()
    chunks = row_chunks(n)
    total, done = len(runs) * len(chunks), 0
    t_start, spent, bar = time.perf_counter(), {}, None
    maps = []
    for run in runs:
        parts = []
        for r0, r1 in chunks:
            rows, seconds = _basin_chunk(scene.surface, run.name, run.hyper, run.loss_scale, run.schedule,
                                         steps, scene.noise, scene.seed, scene.grad_keep, n, r0, r1)
            parts.append(rows)
            spent[run.key] = spent.get(run.key, 0.0) + seconds
            done += 1
            if bar is None and done < total and time.perf_counter() - t_start > PROGRESS_AFTER:
                bar = True
            if bar:
                slot.progress(done / total, text=f"{run.label}: {done} of {total} chunks of up to "
                              f"{(r1 - r0) * n:,} starts × {steps:,} steps — change any setting to cancel")
        maps.append(assemble(run.key, run.label, surf, n, steps, parts))
    fig = M.basin_figure(surf, compute.grid(scene.surface), maps, style, color_by=color_by)
    slot.plotly_chart(fig, key="maps_basin_chart", **CHART)
    slowest = max(spent, key=spent.get)
    st.caption(f"{n}×{n} = {n * n:,} starts × {steps:,} steps per optimizer (compute: {spent[slowest]:.2f} s "
               f"for the slowest, {runs_by_key(runs)[slowest]}). A start "
               "“reaches” a minimum when it ends within 1% of the domain's width of it; ★ marks the known "
               "minima. Red: the run diverged (left a box 100 domain-widths wide, or became non-finite).")


def _sweep_view(scene, surf, runs, n, steps, color_by, style):
    start = scene.start
    st.caption(_scene_note(scene, surf, f" · start ({O.fmt(start[0])}, {O.fmt(start[1])})")
               + " Each cell is one run from the start point; click a cell to open that setting in the "
               "Visualizer.")
    if not runs:
        st.info("Choose one or two optimizers.")
        return
    cols = st.columns(len(runs) * 2)
    axes = []
    for i, run in enumerate(runs):
        hs = numeric_hypers(run.name)
        dx, dy = default_axes(run.name)
        kx, ky = f"maps_sweep_{run.key}_x", f"maps_sweep_{run.key}_y"
        if st.session_state.get(kx) not in hs:
            st.session_state[kx] = dx
        xh = cols[2 * i].selectbox(f"{run.label}: x axis", hs, key=kx, format_func=lambda h: O.LABELS.get(h, h))
        ys = [h for h in hs if h != xh]
        if st.session_state.get(ky) not in ys:
            st.session_state[ky] = dy if dy in ys else ys[0]
        yh = cols[2 * i + 1].selectbox(f"{run.label}: y axis", ys, key=ky,
                                       format_func=lambda h: O.LABELS.get(h, h))
        axes.append((xh, yh))
    sweeps, meta, seconds = [], [], 0.0
    with st.spinner("Running the sweep…"):
        for run, (xh, yh) in zip(runs, axes):
            hyper = dict(run.hyper)
            d = _sweep(scene.surface, run.name, run.hyper, xh, yh, n, tuple(start), steps, scene.noise,
                       scene.seed, run.loss_scale, run.schedule, scene.grad_keep)
            seconds = max(seconds, d["seconds"])
            x, y = sweep_axis(xh, n), sweep_axis(yh, n)
            fixed = " · ".join(f"{symbol(h)} = {O.fmt(hyper[h])}" for h in numeric_hypers(run.name)
                               if h not in (xh, yh))
            sweeps.append(M.Sweep(run.key, run.label, x, y, d["final_loss"], d["converged_at"], d["diverged_at"],
                                  steps, current=(hyper[xh], hyper[yh]), note=fixed))
            meta.append((run.key, xh, x.values.tolist(), yh, y.values.tolist()))
    st.session_state["_maps_sweep_meta"] = meta
    fig = M.sweep_figure(surf, sweeps, style, color_by=color_by)
    st.plotly_chart(fig, key="maps_sweep_chart", on_select=_on_sweep_click, selection_mode="points", **CHART)
    st.caption(f"{n}×{n} = {n * n:,} settings × {steps:,} steps, one batched run per optimizer "
               f"({seconds:.2f} s when computed). ◯ marks the current setting. α is log-spaced over "
               "[1e-5, 10]; β₁, β₂, μ and ρ run over [0, 0.999] evenly in −log10(1 − β). A click loads "
               "the nearest values the Visualizer's sliders offer.")

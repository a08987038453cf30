"""The Maps page: basin maps and hyperparameter sweeps checked against plain runs, the figures'
structure, the page driven by AppTest (including a sweep click loading the Visualizer), and a printed
timing of a 100×100 × 1,000-step basin map."""
from __future__ import annotations

import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import optimizers
import surfaces
from plots import maps as M
from pagefig import figures
from plots.style import Style
from ui import maps as U
from ui import options as O

TIMEOUT = 120


def one_run(name, hyper, surface, start, steps, **kw):
    return optimizers.run(optimizers.get(name, **hyper), surface, np.asarray(start, float), steps,
                          record="summary", **kw)


# ---- values --------------------------------------------------------------------------------------

def test_start_axes_are_cell_centres_and_chunks_cover_every_row():
    xs, ys = M.start_axes(((-2, 2), (-1, 3)), 4)
    assert np.allclose(xs, [-1.5, -0.5, 0.5, 1.5]) and np.allclose(ys, [-0.5, 0.5, 1.5, 2.5])
    for n in (1, 3, 7, 100, 200):
        chunks = U.row_chunks(n)
        assert chunks[0][0] == 0 and chunks[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))
        assert all((r1 - r0) * n <= max(U.CHUNK_STARTS, n) for r0, r1 in chunks)
    assert len(U.row_chunks(200)) == 10 and len(U.row_chunks(100)) == 3


@pytest.mark.parametrize("chunk_starts", [U.CHUNK_STARTS, 3])     # one chunk, and one chunk per row
def test_basin_map_entries_equal_individual_runs(monkeypatch, chunk_starts):
    monkeypatch.setattr(U, "CHUNK_STARTS", chunk_starts)
    monkeypatch.setattr(U, "row_chunks", lambda n, c=chunk_starts: [(r, min(n, r + max(1, c // n)))
                                                                     for r in range(0, n, max(1, c // n))])
    s = surfaces.get("himmelblau")
    m = U.basin_map(s, "adam", "Adam", "adam", {"lr": 0.3}, 3, 150)
    assert m.minimum.shape == (3, 3)
    for iy, y in enumerate(m.ys):
        for ix, x in enumerate(m.xs):
            t = one_run("adam", {"lr": 0.3}, s, (x, y), 150)
            assert m.minimum[iy, ix] == t.minimum[0]
            assert m.converged_at[iy, ix] == t.converged_at[0]
            assert m.diverged_at[iy, ix] == t.diverged_at[0]
            assert m.final_loss[iy, ix] == pytest.approx(t.final_loss[0], rel=1e-9, abs=1e-12)
    assert set(m.minimum.reshape(-1)) <= {-1, 0, 1, 2, 3}
    assert (m.minimum >= 0).sum() >= 5          # adam reaches Himmelblau's minima from most of the grid


def test_basin_map_counts_divergence():
    s = surfaces.get("rosenbrock")
    m = U.basin_map(s, "sgd", "SGD", "sgd", {"lr": 0.05}, 3, 50)
    t = one_run("sgd", {"lr": 0.05}, s, (m.xs[0], m.ys[0]), 50)
    assert m.diverged_at[0, 0] == t.diverged_at[0] >= 0
    assert (m.category(1)[m.diverged_at >= 0] == 2).all()


def test_basin_noise_is_deterministic_and_differs_between_chunks():
    s = surfaces.get("bowl")
    a = U.basin_rows(s, "sgd", {"lr": 0.1}, 4, 0, 2, 20, noise=1.0, seed=3)
    b = U.basin_rows(s, "sgd", {"lr": 0.1}, 4, 0, 2, 20, noise=1.0, seed=3)
    assert np.array_equal(a["final_loss"], b["final_loss"])
    assert U.chunk_seed(3, 0) != U.chunk_seed(3, 2) != U.chunk_seed(4, 2)


def test_sweep_cell_equals_a_single_run_and_is_one_batched_call(monkeypatch):
    s = surfaces.get("rosenbrock")
    x, y = U.sweep_axis("lr", 4), U.sweep_axis("beta1", 4)
    calls = []
    real = optimizers.run
    monkeypatch.setattr(optimizers, "run", lambda *a, **k: calls.append(len(a[2])) or real(*a, **k))
    tr = U.sweep_run(s, "adam", {"beta2": 0.99}, x, y, s.start, 300)
    monkeypatch.setattr(optimizers, "run", real)
    assert calls == [16]
    sw = M.Sweep.from_trajectory("adam", "Adam", x, y, tr)
    for ix, iy in ((1, 2), (3, 0), (2, 3), (0, 0)):
        setting = sw.setting(ix, iy)
        assert setting == {"lr": x.values[ix], "beta1": y.values[iy]}
        t = one_run("adam", {"beta2": 0.99, **setting}, s, s.start, 300)
        assert sw.final_loss[iy, ix] == pytest.approx(t.final_loss[0], rel=1e-9, abs=1e-300)
        assert sw.converged_at[iy, ix] == t.converged_at[0]
        assert sw.diverged_at[iy, ix] == t.diverged_at[0]


def test_sweep_axes():
    lr = U.sweep_axis("lr", 7)
    assert lr.scale == "log" and lr.values[0] == 1e-5 and lr.values[-1] == 10.0
    assert np.allclose(np.diff(np.log10(lr.values)), 1.0)
    b = U.sweep_axis("beta1", 31)
    assert b.scale == "beta" and b.values[0] == 0.0 and b.values[-1] == 0.999
    assert np.all(np.diff(b.values) > 0) and np.all(np.diff(np.diff(b.values)) < 0)   # denser near 1
    assert np.allclose(b.coord([0.0, 0.9, 0.99, 0.999]), [0, 1, 2, 3])
    assert U.sweep_axis("eps", 5).scale == "log" and U.sweep_axis("weight_decay", 5).scale == "linear"
    assert U.default_axes("adam") == ("lr", "beta1")
    assert U.default_axes("momentum") == ("lr", "momentum")
    assert U.default_axes("rmsprop") == ("lr", "beta2")
    assert U.default_axes("sgd") == ("lr", "weight_decay")
    assert U.default_axes("newton") == ("lr", "damping")
    for name in optimizers.names():                           # every optimizer accepts its sweep ranges
        xh, yh = U.default_axes(name)
        U.sweep_run(surfaces.get("bowl"), name, {}, U.sweep_axis(xh, 3), U.sweep_axis(yh, 3), (1.0, 1.0), 3)


def test_click_target_snaps_onto_the_slider_grid_and_builds_the_visualizer_link():
    x, y = U.sweep_axis("lr", 10), U.sweep_axis("beta1", 10)
    meta = [("momentum", "lr", [0.1], "momentum", [0.5]), ("adam", "lr", x.values.tolist(), "beta1",
                                                             y.values.tolist())]
    assert U.click_target([{"x": 0, "y": 0}], meta) is None                  # not a cell
    inst, values, raw = U.click_target([{"customdata": [1, 6, 8]}], meta)
    assert inst == "adam" and raw == {"lr": x.values[6], "beta1": y.values[8]}
    assert values["lr"] in O.GRIDS["lr"] and values["beta1"] in O.GRIDS["beta1"]
    assert values["lr"] == O.nearest(O.GRIDS["lr"], raw["lr"])
    # what Streamlit reports for a typed-array customdata row (seen in Chromium)
    assert U.click_target([{"customdata": {"0": 1, "1": 6, "2": 8}}], meta) == (inst, values, raw)
    assert U.click_target([{"customdata": {"0": 5, "1": 6, "2": 8}}], meta) is None       # no such panel
    state = {"surface": "himmelblau", "opt": ["sgd", "adam"], "adam.lr": 0.05, "steps": 500.0,
             "lesson": "bias-correction", "maps_view": "sweep"}
    q = U.load_query(state, {"adam.lr": values["lr"], "adam.beta1": 0.9})
    assert q["adam.lr"] == [O.fmt(values["lr"])] and q["adam.beta1"] == ["0.9"]      # written even if default
    assert q["surface"] == ["Himmelblau"] and q["opt"] == ["SGD", "Adam"]
    assert "steps" not in q and "lesson" not in q and "maps_view" not in q


# ---- figures -------------------------------------------------------------------------------------

def fake_basin(key, label, n_minima=4, n=5, diverge=True, seed=0):
    rng = np.random.default_rng(seed)
    xs, ys = M.start_axes(((-5, 5), (-5, 5)), n)
    minimum = rng.integers(-1, n_minima, (n, n))
    diverged = np.full((n, n), -1)
    if diverge:
        diverged[0, 0] = 7
        minimum[0, 0] = -1
    conv = np.where(minimum >= 0, rng.integers(1, 100, (n, n)), -1)
    loss = np.where(minimum >= 0, 10.0 ** rng.uniform(-14, -2, (n, n)), rng.uniform(1, 50, (n, n)))
    return M.BasinMap(key, label, xs, ys, minimum, conv, loss, diverged, 100)


def traces(fig, role):
    return [t for t in fig.data if (t.meta or {}).get("role") == role]


def test_basin_figure_one_panel_per_optimizer_with_categorical_colours():
    s = surfaces.get("himmelblau")
    maps = [fake_basin("a", "A"), fake_basin("b", "B", seed=1), fake_basin("c", "C", diverge=False, seed=2)]
    fig = M.basin_figure(s, s.grid(40), maps, Style(), color_by="minimum")
    heat = traces(fig, "basin")
    assert [t.meta["run"] for t in heat] == ["a", "b", "c"]
    assert len({t.xaxis for t in heat}) == 3                          # three panels …
    assert all(fig.layout[f"xaxis{i}"].matches == "x" for i in (2, 3))   # … on the same axes
    assert all(list(fig.layout[f"xaxis{i or ''}"].range) == [-5, 5] for i in (0, 2, 3))
    scale = heat[0].colorscale
    colors = [c for _, c in scale][::2]
    assert len(colors) == 6 and len(set(colors)) == 6                  # 4 minima + none + diverged, distinct
    assert colors[-1] == M.DIVERGED_COLOR and colors[-2] == M.NONE_COLOR[False]
    assert heat[0].zmin == -0.5 and heat[0].zmax == 5.5
    cat = maps[0].category(4)
    assert np.array_equal(np.asarray(heat[0].z), cat) and cat[0, 0] == 5
    legend = [t.name for t in traces(fig, "legend")]
    assert legend[-2:] == ["no minimum", "diverged"] and legend[0].startswith("minimum 1 (3, 2)")
    assert len(traces(fig, "minima")) == 3 and len(traces(fig, "contour")) == 3


def test_basin_figure_steps_and_loss_share_one_colour_axis():
    s = surfaces.get("himmelblau")
    maps = [fake_basin("a", "A"), fake_basin("b", "B", seed=1)]
    for color_by in ("steps", "loss"):
        fig = M.basin_figure(s, None, maps, Style(dark=True), color_by=color_by)
        values = traces(fig, "value")
        assert len(values) == 2 and {t.coloraxis for t in values} == {"coloraxis"}
        assert fig.layout.coloraxis.colorbar.title.text
        special = {t.meta["kind"]: t for t in traces(fig, "special") if t.meta["run"] == "a"}
        div = np.asarray(special["diverged"].z)
        assert div[0, 0] == 1 and np.isnan(div).sum() == div.size - 1      # the one diverged start
        assert "diverged" in special["diverged"].hovertemplate
        assert not traces(fig, "contour")
        if color_by == "steps":
            assert fig.layout.coloraxis.cmax == 100
            assert "not converged" in [t.name for t in traces(fig, "legend")]
        else:
            lo, hi = fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax
            z = np.concatenate([np.asarray(t.z, float).reshape(-1) for t in values])
            assert lo == pytest.approx(np.nanmin(z)) and hi == pytest.approx(np.nanmax(z))
    with pytest.raises(ValueError, match="color_by"):
        M.basin_figure(s, None, maps, color_by="nope")


def test_sweep_figure_two_panels_one_colour_scale_and_click_layer():
    s = surfaces.get("rosenbrock")
    x, y = U.sweep_axis("lr", 5), U.sweep_axis("beta1", 4)
    a = M.Sweep.from_trajectory("adam", "Adam", x, y, U.sweep_run(s, "adam", {}, x, y, s.start, 100),
                                current=(0.05, 0.9), note="β₂ = 0.999")
    y2 = U.sweep_axis("momentum", 4)
    b = M.Sweep.from_trajectory("momentum", "Momentum", x, y2,
                                U.sweep_run(s, "momentum", {}, x, y2, s.start, 100), current=(1e-3, 0.9))
    for color_by in ("loss", "steps"):
        fig = M.sweep_figure(s, [a, b], Style(), color_by=color_by)
        values = traces(fig, "value")
        assert len(values) == 2 and {t.coloraxis for t in values} == {"coloraxis"}
        assert values[0].xaxis != values[1].xaxis
        clicks = traces(fig, "click")
        assert len(clicks) == 2
        for i, c in enumerate(clicks):
            assert c.marker.opacity == 0 and len(c.x) == 20
            assert c.selected.marker.opacity == 0 and c.unselected.marker.opacity == 0
            custom = np.asarray(c.customdata)
            assert custom.shape == (20, 3) and set(custom[:, 0]) == {i}
            assert {tuple(r) for r in custom[:, 1:]} == {(ix, iy) for ix in range(5) for iy in range(4)}
        assert len(traces(fig, "current")) == 4                       # a dark and a light ring per panel
        assert "β₂ = 0.999" in fig.layout.annotations[0].text
        assert list(fig.layout.xaxis.ticktext) == ["1e-5", "0.0001", "0.001", "0.01", "0.1", "1", "10"]
    # click layer rows are cell-major: point i = iy * nx + ix
    c = np.asarray(traces(fig, "click")[0].customdata)
    assert tuple(c[7]) == (0, 2, 1)


def test_every_surface_draws_both_maps_in_every_colouring():
    basin_modes, sweep_modes = list(M.BASIN_COLOR_BY), list(M.SWEEP_COLOR_BY)
    for i, name in enumerate(surfaces.names()):                 # (one colouring each: figures take ~40 ms)
        s = surfaces.get(name)
        m = U.basin_map(s, "adam", "Adam", "adam", {"lr": 0.1}, 5, 30)
        color_by = basin_modes[i % 3]
        fig = M.basin_figure(s, s.grid(30), [m], Style(), color_by=color_by)
        assert len(traces(fig, "basin") or traces(fig, "value")) == 1, (name, color_by)
        x, y = U.sweep_axis("lr", 4), U.sweep_axis("beta2", 4)
        sw = M.Sweep.from_trajectory("adam", "Adam", x, y, U.sweep_run(s, "adam", {}, x, y, s.start, 30))
        assert traces(M.sweep_figure(s, [sw], Style(dark=True), color_by=sweep_modes[i % 2]), "click"), name


# ---- the page --------------------------------------------------------------------------------------

PAGES = '''
import streamlit as st
from ui import pages, maps
st.set_page_config(layout="wide")
pages.PAGES["visualizer"] = st.Page(pages.safely(pages.visualizer), title="Visualizer", url_path="visualizer")
pages.PAGES["maps"] = st.Page(pages.safely(maps.maps_page), title="Maps", url_path="maps", default=True)
st.navigation(list(pages.PAGES.values()), position="top").run()
'''


def ok(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_maps_page_alone():
    def script():
        import streamlit as st
        from ui import maps
        st.set_page_config(layout="wide")
        maps.maps_page()

    at = AppTest.from_function(script, default_timeout=TIMEOUT)
    at.session_state["maps_basin_n"] = 10
    at.session_state["maps_steps"] = 100.0
    at.session_state["surface"] = "himmelblau"
    at.session_state["opt"] = ["sgd", "adam"]
    at.run()
    ok(at)
    fig = figures(at)[0]
    assert [t["meta"]["run"] for t in fig["data"] if t["meta"]["role"] == "basin"] == ["sgd", "adam"]
    for color_by in ("steps", "loss"):
        at.selectbox(key="maps_basin_color").set_value(color_by).run()
        ok(at)
    at.radio(key="maps_view").set_value("sweep").run()
    ok(at)
    fig = figures(at)[0]
    assert sum(t["meta"]["role"] == "click" for t in fig["data"]) == 2
    at.selectbox(key="maps_sweep_adam_y").set_value("beta2").run()
    ok(at)
    assert "β₂" in figures(at)[0]["layout"]["yaxis2"]["title"]["text"]
    at.session_state["opt"] = []
    at.run()
    ok(at)
    assert at.info


def test_a_sweep_click_opens_the_visualizer_with_that_setting():
    at = AppTest.from_string(PAGES, default_timeout=TIMEOUT)
    at.session_state["maps_view"] = "sweep"
    at.session_state["maps_sweep_n"] = 4
    at.session_state["maps_steps"] = 50.0
    at.run()
    ok(at)
    assert figures(at)
    # What the click callback leaves behind (AppTest cannot click a chart):
    at.session_state["_maps_load"] = dict(inst="adam", values={"lr": 0.2, "beta1": 0.95},
                                          raw={"lr": 0.21, "beta1": 0.95})
    at.session_state["adam.lr"], at.session_state["adam.beta1"] = 0.2, 0.95
    at.run()
    ok(at)
    query = {k: v if isinstance(v, list) else [v] for k, v in at.query_params.items()}
    assert query["adam.lr"] == ["0.2"] and query["adam.beta1"] == ["0.95"]
    assert at.select_slider(key="adam.lr").value == 0.2
    assert at.select_slider(key="adam.beta1").value == 0.95
    assert any(t.get("type") == "contour" for t in figures(at)[0]["data"])     # the visualizer's contour


def test_timing_report_basin_100x100_1000_steps(capsys):
    """Printed, not asserted: the issue's budget is ≤ 1 s per optimizer once the core's speed-ups land."""
    s = surfaces.get("rosenbrock")
    lines = []
    for name in O.DEFAULT_OPTIMIZERS:
        t0 = time.perf_counter()
        U.basin_map(s, name, name, name, {"lr": O.PAGE_LR[name]}, 100, 1000)
        lines.append(f"  {name:9s} {time.perf_counter() - t0:6.2f} s")
    with capsys.disabled():
        print("\nbasin map 100×100 starts × 1000 steps on Rosenbrock (per optimizer):\n" + "\n".join(lines))

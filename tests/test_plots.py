"""plots/: every figure built from real runs of the core, checked on its traces, sizes and numbers."""
from __future__ import annotations

import ast
import csv
import io
import json
import math
import os
import re
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

import optimizers
import plots
import surfaces
from plots import export
from plots.data import RunView
from plots.steplatex import num, vec
from plots.style import hex_rgb

ROOT = Path(__file__).resolve().parent.parent
STEPS = 60


def make_runs(surface, specs, steps=STEPS, starts=None):
    trajs = [optimizers.run(optimizers.get(name, **hyper), surface, surface.start if starts is None else starts,
                            steps, record_internals=True) for name, hyper in specs]
    return plots.from_trajectories(trajs), trajs


@pytest.fixture(scope="module")
def rosen():
    return surfaces.get("rosenbrock")


@pytest.fixture(scope="module")
def grid(rosen):
    return rosen.grid(60)


@pytest.fixture(scope="module")
def scene(rosen):
    """SGD, momentum, Adam, a diverging SGD, and RMSprop from two starts on Rosenbrock."""
    specs = [("sgd", dict(lr=1e-3)), ("momentum", dict(lr=1e-3)), ("adam", dict(lr=0.05)),
             ("sgd", dict(lr=0.01))]
    runs, trajs = make_runs(rosen, specs)
    more, more_t = make_runs(rosen, [("rmsprop", dict(lr=0.01))], starts=[(-1.5, 2.5), (1.5, -0.5)])
    rms = RunView.from_trajectory("rmsprop-1", "RMSprop #1", plots.PALETTE[4], more_t[0])
    return runs + [rms], trajs + more_t


def roles(fig, role):
    return [t for t in fig.data if (t.meta or {}).get("role") == role]


# ---- module hygiene, style, data --------------------------------------------------------------------

def test_plots_never_import_streamlit():
    for path in (ROOT / "plots").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "streamlit" for n in names), path.name


def _contrast(a, b):
    def lum(c):
        v = np.array(hex_rgb(c)) / 255
        v = np.where(v <= 0.03928, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
        return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_palette_has_eight_distinct_colours_readable_on_white_and_near_black():
    assert len(plots.PALETTE) == 8 and len(set(plots.PALETTE)) == 8
    for c in plots.PALETTE:
        assert _contrast(c, "#ffffff") >= 1.9 and _contrast(c, "#0e1117") >= 3.0, c


def test_style_projector_is_larger_and_dark_uses_the_dark_template():
    a, b = plots.Style(), plots.Style(dark=True, projector=True)
    assert b.font_size >= 1.5 * a.font_size and b.line_width > a.line_width and b.marker_size > a.marker_size
    assert (a.template, b.template) == ("plotly_white", "plotly_dark")
    fig = b.apply(go.Figure())
    assert fig.layout.font.size == b.font_size and fig.layout.legend.orientation == "h"
    assert fig.layout.paper_bgcolor == b.paper_bg


def test_runview_from_trajectory_and_validation(scene):
    runs, trajs = scene
    adam = runs[2]
    assert (adam.key, adam.label, adam.name, adam.color) == ("adam-1", "Adam #1", "adam", plots.PALETTE[2])
    assert adam.hyper["lr"] == 0.05 and adam.path.shape == (1, STEPS + 1, 2)
    with pytest.raises(ValueError, match="colour"):
        RunView("a", "A", "red", "adam", {}, adam.path, adam.loss, adam.diverged_at)
    with pytest.raises(ValueError, match="loss"):
        RunView("a", "A", "#000000", "adam", {}, adam.path, adam.loss[:, :5], adam.diverged_at)
    with pytest.raises(ValueError, match="internals"):
        RunView("a", "A", "#000000", "adam", {}, adam.path, adam.loss, adam.diverged_at,
                {"m": np.zeros((1, 3, 2))})
    with pytest.raises(ValueError, match="unique"):
        plots.contour_figure(surfaces.get("bowl"), surfaces.get("bowl").grid(20), [adam, adam])


# ---- contour ----------------------------------------------------------------------------------------

def test_contour_figure_traces(scene, rosen, grid):
    runs, _ = scene
    fig = plots.contour_figure(rosen, grid, runs)
    assert isinstance(fig.data[0], go.Contour)
    assert len([t for t in fig.data if isinstance(t, go.Contour)]) == 1
    paths = roles(fig, "path")
    assert [p.meta["run"] for p in paths] == [r.key for r in runs]          # one trace per run
    assert all(p.legendgroup == p.meta["run"] for p in paths)
    rms = paths[-1]                                                         # K = 2 starts, one trace
    assert np.isnan(np.asarray(rms.x, float)).sum() == 1
    assert len(rms.x) == 2 * (STEPS + 1) + 1
    ends = roles(fig, "endpoints")[0]
    assert list(ends.marker.symbol) == ["circle", "square"]
    star = roles(fig, "minima")[0]
    assert star.marker.symbol == "star" and "minimum f=0" in star.hovertext[0]
    assert tuple(fig.layout.xaxis.range) == (-2, 2) and tuple(fig.layout.yaxis.range) == (-1, 3)
    assert fig.layout.yaxis.scaleanchor == "x"
    spec = json.loads(fig.to_json())
    assert spec["data"][0]["z"]["dtype"] == "f4"                            # compact typed array


def test_log_levels_for_rosenbrock_and_linear_for_the_bowl(rosen, grid):
    fig = plots.contour_figure(rosen, grid, [])
    c = fig.data[0]
    assert c.meta["log"] is True and "log" in c.colorbar.title.text
    assert c.colorbar.ticktext and "1e3" in c.colorbar.ticktext and "0.1" in c.colorbar.ticktext
    # tick labels are real f values: tickval = log10(f - min Z + eps)
    lv = plots.levels_for(grid[2])
    i = list(c.colorbar.ticktext).index("1e3")
    assert math.isclose(c.colorbar.tickvals[i], math.log10(1000 + lv.eps), rel_tol=1e-9)
    bowl = surfaces.get("bowl")
    c2 = plots.contour_figure(bowl, bowl.grid(60), []).data[0]
    assert c2.meta["log"] is False and c2.colorbar.ticktext is None
    assert math.isclose(c2.zmin, float(bowl.grid(60)[2].min()))


def test_diverged_run_is_marked_with_its_step(scene, rosen, grid):
    runs, trajs = scene
    k = int(trajs[3].diverged_at[0])
    assert k > 0 and all(t.diverged_at[0] == -1 for t in trajs[:3])
    fig = plots.contour_figure(rosen, grid, runs)
    marks = roles(fig, "diverged")
    assert len(marks) == 1 and marks[0].meta["run"] == "sgd-2" and marks[0].marker.symbol == "x"
    assert marks[0].meta["steps"] == [k] and marks[0].hovertext[0].endswith(f"diverged at step {k}")
    assert roles(fig, "path")[3].name == f"SGD #2 (diverged at step {k})"
    (x0, x1), (y0, y1) = rosen.domain                                       # ✕ stays on screen
    assert x0 <= marks[0].x[0] <= x1 and y0 <= marks[0].y[0] <= y1
    hidden = plots.contour_figure(rosen, grid, runs, show_legend=False)
    assert any(f"diverged at step {k}" in a.text for a in hidden.layout.annotations)


def test_click_grid_present_or_absent(scene, rosen, grid):
    runs, _ = scene
    on = roles(plots.contour_figure(rosen, grid, runs), "click")
    assert len(on) == 1 and on[0].name == "click" and on[0].showlegend is False
    assert on[0].marker.opacity == 0 and len(on[0].x) == 40 * 40
    assert min(on[0].x) == -2 and max(on[0].x) == 2 and min(on[0].y) == -1 and max(on[0].y) == 3
    assert roles(plots.contour_figure(rosen, grid, runs, click_grid=False), "click") == []


def test_saddles_are_marked():
    s = surfaces.get("himmelblau")
    fig = plots.contour_figure(s, s.grid(40), [])
    assert len(roles(fig, "saddles")[0].x) == 4 and len(roles(fig, "minima")[0].x) == 4


# ---- animation --------------------------------------------------------------------------------------

def test_animation_frames_move_only_the_marker_traces(scene, rosen, grid):
    runs, _ = scene
    fig = plots.animation_figure(rosen, grid, runs, max_frames=25, frame_ms=70)
    markers = [i for i, t in enumerate(fig.data) if (t.meta or {}).get("role") == "marker"]
    assert len(markers) == len(runs)
    # SVG markers over a background image: see plots/animation.py (Scattergl frames never repaint with
    # redraw=False, and a contour trace vanishes on Play); the browser test below proves both.
    assert all(type(fig.data[i]) is go.Scatter for i in markers)
    assert not [t for t in fig.data if isinstance(t, go.Contour)] and fig.layout.images[0].layer == "below"
    assert 2 <= len(fig.frames) <= 25
    assert fig.frames[0].name == "0" and fig.frames[-1].name == str(STEPS)
    for f in fig.frames:
        assert list(f.traces) == markers and len(f.data) == len(runs)
        assert set(f.data[0].to_plotly_json()) <= {"type", "x", "y"}
    last = fig.frames[-1]
    assert len(last.data[-1].x) == 2 and last.data[2].x[0] == pytest.approx(runs[2].path[0, -1, 0], rel=1e-5)
    play, pause = fig.layout.updatemenus[0].buttons
    assert play.args[0] is None and play.args[1]["frame"] == {"duration": 70, "redraw": False}
    assert play.args[1]["transition"]["duration"] == 0
    assert list(pause.args[0]) == [None] and pause.args[1]["mode"] == "immediate"
    slider = fig.layout.sliders[0]
    assert [s.label for s in slider.steps] == [f.name for f in fig.frames]
    assert all(s.args[1]["frame"]["redraw"] is False for s in slider.steps)


def test_default_scene_animation_is_small(rosen):
    runs, _ = make_runs(rosen, [("sgd", dict(lr=1e-3)), ("momentum", dict(lr=1e-3)),
                                ("rmsprop", dict(lr=1e-2)), ("adam", dict(lr=0.05))], steps=500)
    fig = plots.animation_figure(rosen, rosen.grid(150), runs)
    size = len(fig.to_json())
    assert size < 1_500_000, size
    assert len(fig.frames) == 300 and fig.frames[-1].name == "500"


# ---- 3-D, curves, multiples -------------------------------------------------------------------------

def test_surface3d(scene, rosen):
    runs, _ = scene
    fig = plots.surface3d_figure(rosen, rosen.grid(150), runs)
    surf = fig.data[0]
    assert isinstance(surf, go.Surface) and max(np.shape(surf.z)) <= 80
    assert "log" in fig.layout.scene.zaxis.title.text
    lines = roles(fig, "path")
    assert [t.meta["run"] for t in lines] == [r.key for r in runs] and all(isinstance(t, go.Scatter3d) for t in lines)
    z = np.asarray(lines[2].z, float)
    lv = plots.levels_for(rosen.grid(150)[2])
    expected = lv.transform(rosen.f(runs[2].path[0]))
    assert np.all(z[np.isfinite(z)] > np.minimum(expected, np.nanmax(np.asarray(surf.z, float)))[np.isfinite(z)])


def test_loss_and_distance_figures(scene, rosen):
    runs, trajs = scene
    fig = plots.loss_figure(runs, rosen)
    assert fig.layout.yaxis.type == "log" and "f − f_min" in fig.layout.yaxis.title.text
    assert len(roles(fig, "curve")) == len(runs)
    adam = np.asarray(roles(fig, "curve")[2].y, float)
    np.testing.assert_allclose(adam, np.maximum(trajs[2].loss[0] - 0.0, 1e-16), rtol=1e-6)
    k = int(trajs[3].diverged_at[0])
    mark = roles(fig, "diverged")[0]
    assert mark.x[0] == k and "diverged at step" in mark.hovertext[0]
    assert np.isnan(np.asarray(roles(fig, "curve")[3].y, float)[k:]).all()
    saddle = surfaces.get("saddle")
    s_runs, _ = make_runs(saddle, [("sgd", dict(lr=0.01))], steps=20)
    assert "f_min" not in plots.loss_figure(s_runs, saddle).layout.yaxis.title.text
    empty = plots.distance_figure(s_runs, saddle)
    assert "no known minimum" in empty.layout.annotations[0].text
    d = plots.distance_figure(runs, rosen)
    np.testing.assert_allclose(np.asarray(roles(d, "curve")[2].y, float),
                               np.linalg.norm(trajs[2].path[0] - [1, 1], axis=-1), rtol=1e-6)


def test_step_lr_eff_and_moments_figures(scene, rosen):
    runs, trajs = scene
    newton, _ = make_runs(rosen, [("newton", {})], steps=10)
    newton[0] = RunView.from_trajectory("newton-1", "Newton #1", plots.PALETTE[5], _[0])
    fig = plots.step_figure(runs)
    alphas = roles(fig, "alpha")
    assert [a.y[0] for a in alphas] == [r.hyper["lr"] for r in runs]
    assert all(a.line.dash == "dash" and a.line.color == r.color for a, r in zip(alphas, runs))
    np.testing.assert_allclose(np.asarray(roles(fig, "curve")[2].y, float),
                               np.linalg.norm(trajs[2].internals["update"][0], axis=-1), rtol=1e-6)
    lr = plots.lr_eff_figure(runs + newton)
    assert len(roles(lr, "curve")) == 2 * len(runs) and lr.layout.yaxis.type == "log"
    assert [t.line.dash for t in roles(lr, "curve")[:2]] == ["solid", "dot"]
    assert "Newton #1" in lr.layout.annotations[0].text
    mo = plots.moments_figure(runs)
    assert {t.meta["run"] for t in roles(mo, "curve")} == {"adam-1", "rmsprop-1"}   # RMSprop has v̂ only
    assert "SGD #1" in mo.layout.annotations[-1].text and mo.layout.yaxis2.type == "log"


def test_internals_figure(scene):
    runs, _ = scene
    adam = runs[2]
    fig = plots.internals_figure(adam)
    bias = roles(fig, "bias")
    t = np.arange(1, STEPS + 1)
    np.testing.assert_allclose(np.asarray(bias[0].y, float), 1 - 0.9 ** t, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(bias[1].y, float), 1 - 0.999 ** t, rtol=1e-6)
    curves = roles(fig, "curve")
    assert {c.line.color for c in curves} == {adam.color, plots.Style().muted_color}
    note = plots.internals_figure(runs[0])
    assert not roles(note, "curve") and "Adam family" in note.layout.annotations[0].text


def test_colours_are_the_same_in_every_figure(scene, rosen, grid):
    runs, _ = scene
    want = [r.color for r in runs]
    assert [p.line.color for p in roles(plots.contour_figure(rosen, grid, runs), "path")] == want
    assert [p.line.color for p in roles(plots.surface3d_figure(rosen, grid, runs), "path")] == want
    assert [p.line.color for p in roles(plots.small_multiples_figure(rosen, grid, runs), "path")] == want
    assert [p.line.color for p in roles(plots.loss_figure(runs, rosen), "curve")] == want
    anim = plots.animation_figure(rosen, grid, runs, max_frames=5)
    assert [m.marker.color for m in roles(anim, "marker")] == want


def test_small_multiples(scene, rosen, grid):
    runs, _ = scene
    fig = plots.small_multiples_figure(rosen, grid, runs, cols=3)
    contours = [t for t in fig.data if isinstance(t, go.Contour)]
    assert len(contours) == len(runs) and {c.coloraxis for c in contours} == {"coloraxis"}
    assert fig.layout.coloraxis.colorbar.ticktext is not None                 # one shared colour bar
    assert [a.text for a in fig.layout.annotations][:2] == ["SGD #1", "Momentum #1"]
    assert any("diverged at step" in a.text for a in fig.layout.annotations)
    paths = roles(fig, "path")
    assert [p.xaxis for p in paths] == ["x", "x2", "x3", "x4", "x5"]
    assert all(tuple(fig.layout[f"xaxis{i if i > 1 else ''}"].range) == (-2, 2) for i in range(1, 6))


# ---- inspector and the step as an equation ---------------------------------------------------------

def test_inspector_arrows(scene, rosen, grid):
    runs, _ = scene
    mom, t = runs[1], 10
    fig = plots.inspector_figure(rosen, grid, mom, t)
    arrows = {a.meta["arrow"]: a for a in roles(fig, "arrow")}
    assert set(arrows) == {"−g<sub>t</sub>", "−m<sub>t</sub>", "Δθ<sub>t</sub>"}
    tail = mom.path[0, t - 1]
    upd = arrows["Δθ<sub>t</sub>"]
    np.testing.assert_allclose([upd.x[1], upd.y[1]], tail + mom.internals["update"][0, t - 1])
    g = arrows["−g<sub>t</sub>"]
    d = np.array([g.x[1] - g.x[0], g.y[1] - g.y[0]])
    grad = mom.internals["grad"][0, t - 1]
    assert abs(d[0] * grad[1] - d[1] * grad[0]) < 1e-9 * np.linalg.norm(d) * np.linalg.norm(grad)
    assert d @ grad < 0                                                     # along −g
    keys = [k.name for k in roles(fig, "arrow-key")]
    scale = np.linalg.norm(d) / np.linalg.norm(grad)
    assert any(f"× {plots.levels.fmt(scale, 3)}" in k for k in keys)
    xr, yr = fig.layout.xaxis.range, fig.layout.yaxis.range
    assert xr[0] < mom.path[0, t, 0] < xr[1] and yr[0] < mom.path[0, t, 1] < yr[1]
    with pytest.raises(ValueError, match="t must be"):
        plots.inspector_figure(rosen, grid, mom, 0)


def test_step_latex_for_every_optimizer_is_balanced_ascii_katex(rosen):
    for name in optimizers.names():
        runs, _ = make_runs(rosen, [(name, {})], steps=6)
        for t in (1, 5):
            tex = plots.step_latex(runs[0], t)
            assert tex.startswith("\\begin{aligned}") and tex.endswith("\\end{aligned}"), name
            assert tex.isascii() and tex.count("{") == tex.count("}"), (name, t)
            depth = 0
            for ch in tex:
                depth += {"{": 1, "}": -1}.get(ch, 0)
                assert depth >= 0, name
            assert "\\Delta\\theta_t" in tex and "g_t" in tex, name
    newton, _ = make_runs(rosen, [("newton", {})], steps=2)
    assert "exact Hessian" in plots.step_latex(newton[0], 1)
    assert "pmatrix" in plots.step_latex(newton[0], 1, surface=rosen)


def test_step_latex_adam_first_step_by_hand(rosen):
    runs, trajs = make_runs(rosen, [("adam", dict(lr=0.01))], steps=3)
    tex = plots.step_latex(runs[0], 1)
    g = rosen.grad(np.array(rosen.start))
    b1, b2, lr, eps = 0.9, 0.999, 0.01, 1e-8
    m1, v1 = (1 - b1) * g, (1 - b2) * g * g
    m_hat, v_hat = m1 / (1 - b1), v1 / (1 - b2)
    step = -lr * m_hat / (np.sqrt(v_hat) + eps)
    assert f"g_t &= \\nabla f(\\theta_{{t-1}}) = {vec(g)}" in tex
    assert f"0.9\\cdot{vec([0, 0])} + 0.1\\cdot{vec(g)} = {vec(m1)}" in tex
    assert f"0.999\\cdot{vec([0, 0])} + 0.001\\cdot{vec(g * g)} = {vec(v1)}" in tex
    assert f"/ 0.1 = {vec(m_hat)}" in tex and f"= {vec(v_hat)}" in tex
    assert f"= {vec(step)}" in tex and f"= {vec(np.array(rosen.start) + step)}" in tex
    assert vec(g) == vec(m_hat) and num(-0.0) == "0" and num(1.5e-8) == "1.5\\times 10^{-8}"


def test_step_latex_after_divergence_says_so(scene):
    runs, trajs = scene
    k = int(trajs[3].diverged_at[0])
    assert f"diverged at step {k}" in plots.step_latex(runs[3], k)
    assert "diverged" not in plots.step_latex(runs[3], k - 1)


# ---- summary and exports ----------------------------------------------------------------------------

def test_summary_rows(scene, rosen):
    runs, trajs = scene
    rows = plots.summary_rows(runs, rosen)
    assert [r["run"] for r in rows] == ["SGD #1", "Momentum #1", "Adam #1", "SGD #2",
                                        "RMSprop #1 · start 0", "RMSprop #1 · start 1"]
    assert rows[3]["diverged at"] == int(trajs[3].diverged_at[0]) and rows[0]["diverged at"] == "—"
    assert rows[0]["steps to tol"] == "—"
    assert rows[2]["path length"] == pytest.approx(trajs[2].path_length[0])
    assert rows[2]["final loss"] == trajs[2].loss[0, -1]
    bowl = surfaces.get("bowl")
    newton, _ = make_runs(bowl, [("newton", {})], steps=5)
    assert plots.summary_rows(newton, bowl)[0]["steps to tol"] == 1            # a quadratic in one step


def test_trajectories_csv_round_trip(scene):
    runs, _ = scene
    text = plots.trajectories_csv(runs)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == sum(r.k * (r.steps + 1) for r in runs)
    header = text.splitlines()[0].split(",")
    assert header[:7] == ["run", "optimizer", "start", "step", "x", "y", "loss"]
    assert {"grad_x", "update_y", "m_x", "m_hat_y", "v_hat_x", "lr_eff_y"} <= set(header)
    adam = [r for r in rows if r["run"] == "Adam #1"]
    a = runs[2]
    for s in (0, 1, STEPS):
        assert float(adam[s]["x"]) == a.path[0, s, 0] and float(adam[s]["loss"]) == a.loss[0, s]
    assert adam[0]["m_x"] == "" and float(adam[7]["m_hat_y"]) == a.internals["m_hat"][0, 6, 1]
    sgd = [r for r in rows if r["run"] == "SGD #1"]
    assert sgd[5]["m_x"] == "" and float(sgd[5]["grad_x"]) == runs[0].internals["grad"][0, 4, 0]
    second = [r for r in rows if r["run"] == "RMSprop #1" and r["start"] == "1"]
    assert float(second[-1]["y"]) == runs[4].path[1, -1, 1]


def test_figure_html_is_standalone(scene, rosen, grid):
    runs, _ = scene
    html = plots.figure_html(plots.animation_figure(rosen, grid, runs, max_frames=10))
    assert not re.search(r"<script[^>]+src=[\"'][^\"']*cdn\.plot\.ly", html)
    assert "Plotly.newPlot" in html and len(html) > 1_000_000               # plotly.js is inlined


def test_animation_gif(scene, rosen):
    runs, _ = scene
    grid = rosen.grid(150)
    plots.animation_gif(rosen, grid, runs[:1], frames=3)                    # warm-up (fonts, imports)
    t0 = time.perf_counter()
    data = plots.animation_gif(rosen, grid, runs, frames=40, size=(480, 400), frame_ms=60)
    elapsed = time.perf_counter() - t0
    assert data[:4] == b"GIF8"
    im = Image.open(io.BytesIO(data))
    assert im.n_frames == 40 and im.size == (480, 400) and im.info.get("loop") == 0
    assert elapsed < 1.0, elapsed
    long_runs, _ = make_runs(rosen, [("adam", dict(lr=0.05)), ("momentum", dict(lr=1e-3))], steps=500)
    t0 = time.perf_counter()
    data = plots.animation_gif(rosen, grid, long_runs, plots.Style(dark=True), frames=80)
    elapsed = time.perf_counter() - t0
    assert Image.open(io.BytesIO(data)).n_frames == 80 and elapsed < 1.0, elapsed


def test_png_export_or_a_clear_error(monkeypatch, rosen):
    fig = plots.contour_figure(rosen, rosen.grid(40), [], click_grid=False)
    if export.find_browser() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI must have Chromium for PNG export")
        with pytest.raises(plots.ExportUnavailable):
            plots.figure_png(fig)
    else:
        png = plots.figure_png(fig, width=300, height=250)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and Image.open(io.BytesIO(png)).size == (300, 250)
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    t0 = time.perf_counter()
    with pytest.raises(plots.ExportUnavailable, match="apt-get install chromium"):
        plots.figure_png(fig)
    assert time.perf_counter() - t0 < 0.5 and not export.png_available()


# ---- in a real browser: the animation plays, and step_latex renders in Streamlit's KaTeX ------------

@pytest.fixture(scope="module")
def page():
    from browser import browser, require_browser
    require_browser()
    with browser() as b:
        pg = b.new_page(viewport=dict(width=900, height=750))
        yield pg


@pytest.mark.browser
def test_animation_plays_in_chromium_with_the_surface_kept(page, scene, rosen, grid, tmp_path):
    runs, _ = scene
    path = tmp_path / "anim.html"
    path.write_text(plots.figure_html(plots.animation_figure(rosen, grid, runs, frame_ms=20)))
    page.goto(path.as_uri())
    page.wait_for_selector(".main-svg")
    where = """() => Array.from(document.querySelectorAll('.scatterlayer .trace'))
        .slice(-%d).map(t => t.querySelector('path.point').getAttribute('transform'))""" % len(runs)
    before = page.evaluate(where)
    page.get_by_text("Play").click()
    page.wait_for_timeout(1200)
    page.get_by_text("Pause").click()
    step = int(page.evaluate("document.querySelector('.slider-label').textContent").split()[-1])
    after = page.evaluate(where)
    assert step > 0 and before != after                                   # the markers moved on screen
    assert page.evaluate("document.querySelectorAll('.imagelayer image').length") == 1    # surface kept


@pytest.mark.browser
def test_step_latex_renders_in_streamlits_katex(page, rosen):
    import streamlit
    bundle = next((Path(streamlit.__file__).parent / "static" / "static" / "js").glob("katex.*.js"))
    source = re.sub(r"export\s*\{\s*(\w+)\s+as\s+default\s*\}\s*;?\s*$", r"window.katex=\1;",
                    bundle.read_text())
    page.set_content("<html><body></body></html>")
    page.add_script_tag(content=source)
    texts = []
    for name in optimizers.names():
        runs, _ = make_runs(rosen, [(name, {})], steps=5)
        texts += [plots.step_latex(runs[0], t, surface=rosen) for t in (1, 5)]
    errors = page.evaluate("""texts => texts.map(t => { try { katex.renderToString(t,
        {displayMode: true, throwOnError: true, strict: 'error'}); return null } catch (e) { return e.message } })""",
                           texts)
    assert errors == [None] * len(texts), [e for e in errors if e]

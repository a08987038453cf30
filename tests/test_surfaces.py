"""Built-in surfaces: exact derivatives against finite differences, recorded optima against dense grids."""
import ast
import math
from pathlib import Path

import numpy as np
import pytest

import surfaces

NAMES = surfaces.names()
STATIC = [n for n in NAMES if not surfaces.get(n).time_varying]   # critical points mean nothing for f_t
ROOT = Path(__file__).resolve().parent.parent


def points_in(surface, n=40, seed=0):
    (x0, x1), (y0, y1) = surface.domain
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)], axis=-1)


def central_grad(f, p, h):
    e = np.eye(2) * h
    return np.stack([(f(p + e[i]) - f(p - e[i])) / (2 * h) for i in range(2)], axis=-1)


def test_at_least_fifteen_including_the_four_named():
    assert len(NAMES) >= 15
    assert {"bowl", "rosenbrock", "saddle", "ravine"} <= set(NAMES)
    assert {"beale", "himmelblau", "booth", "goldstein_price", "six_hump_camel", "matyas", "ackley",
            "rastrigin", "monkey_saddle", "plateau", "gaussian_wells", "styblinski_tang"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    s = surfaces.get(name)
    p = points_in(s)
    h = 1e-6 * s.span
    fd = central_grad(s.f, p, h)
    g = s.grad(p)
    scale = np.maximum(1.0, np.abs(g))
    np.testing.assert_allclose(g / scale, fd / scale, atol=2e-5 * max(1.0, np.abs(s.f(p)).max()) / s.span)


@pytest.mark.parametrize("name", NAMES)
def test_hessian_matches_differences_of_the_gradient(name):
    s = surfaces.get(name)
    p = points_in(s, seed=1)
    h = 1e-6 * s.span
    e = np.eye(2) * h
    fd = np.stack([(s.grad(p + e[j]) - s.grad(p - e[j])) / (2 * h) for j in range(2)], axis=-1)
    H = s.hessian(p)
    assert H.shape == (len(p), 2, 2)
    scale = np.maximum(1.0, np.abs(H))
    np.testing.assert_allclose(H / scale, fd / scale, atol=1e-4)
    np.testing.assert_allclose(H, np.swapaxes(H, -1, -2), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", STATIC)
def test_no_point_of_a_dense_grid_beats_the_recorded_minimum(name):
    s = surfaces.get(name)
    xs, ys, z = s.grid(601)   # odd: the grid contains the domain's centre and both edges
    assert np.isfinite(z).all()
    if math.isfinite(s.f_min):
        assert z.min() >= s.f_min - 1e-9 * max(1.0, abs(s.f_min)), (z.min(), s.f_min)
        # … and the recorded minimum is attained (the grid comes close to it, a minimum hits it)
        assert s.f(s.minima).min() == pytest.approx(s.f_min, abs=1e-9)
    else:
        assert len(s.minima) == 0 and len(s.saddles) > 0


@pytest.mark.parametrize("name", NAMES)
def test_values_gradients_and_hessians_finite_everywhere_in_the_domain(name):
    s = surfaces.get(name)
    xs, ys, _ = s.grid(201)
    p = np.stack(np.meshgrid(xs, ys), axis=-1)
    p = np.concatenate([p.reshape(-1, 2), s.minima, s.saddles, [[0.0, 0.0]]])
    p = p[(p[:, 0] >= s.domain[0][0]) & (p[:, 0] <= s.domain[0][1])
          & (p[:, 1] >= s.domain[1][0]) & (p[:, 1] <= s.domain[1][1])]
    with np.errstate(all="raise"):
        assert np.isfinite(s.f(p)).all()
        assert np.isfinite(s.grad(p)).all()
        assert np.isfinite(s.hessian(p)).all()


@pytest.mark.parametrize("name", STATIC)
def test_minima_and_saddles_are_critical_points_of_the_right_kind(name):
    s = surfaces.get(name)
    for m in s.minima:
        assert np.abs(s.grad(m)).max() < 1e-8 * max(1.0, np.abs(s.hessian(m)).max())
        assert np.linalg.eigvalsh(s.hessian(m)).min() > 0
    for p in s.saddles:
        assert np.abs(s.grad(p)).max() < 1e-8
        assert np.linalg.eigvalsh(s.hessian(p)).min() <= 0
    (x0, x1), (y0, y1) = s.domain
    assert x0 <= s.start[0] <= x1 and y0 <= s.start[1] <= y1
    assert s.label and s.latex and s.group


def test_known_minima_values():
    assert surfaces.get("goldstein_price").f_min == 3.0
    assert surfaces.get("six_hump_camel").f_min == pytest.approx(-1.0316284534898774, abs=1e-12)
    assert surfaces.get("styblinski_tang").f_min == pytest.approx(-39.16616570377142 * 2, abs=1e-9)
    assert len(surfaces.get("himmelblau").minima) == 4
    np.testing.assert_allclose(surfaces.get("beale").minima, [[3, 0.5]], atol=1e-12)
    np.testing.assert_allclose(surfaces.get("booth").minima, [[1, 3]], atol=1e-12)


def test_reddi_problem_changes_with_the_step_and_is_constrained():
    s = surfaces.get("reddi", C=5)
    assert s.time_varying and s.bounds == ((-1, 1), (-1, 1))
    g = [s.grad(np.zeros((1, 2)), t)[0, 0] for t in range(1, 7)]
    assert g == [5, -1, -1, 5, -1, -1]


def test_ackley_tip_is_finite_and_zero():
    s = surfaces.get("ackley")
    o = np.zeros((1, 2))
    assert abs(s.f(o)[0]) < 1e-12
    assert np.all(s.grad(o) == 0)
    assert np.isfinite(s.hessian(o)).all()


def test_evaluates_batches_and_meshgrid_stacks_and_broadcasts_constants():
    s = surfaces.get("booth")   # quadratic: its Hessian is a constant that lambdify returns as scalars
    assert s.f(np.zeros((5, 2))).shape == (5,)
    assert s.grad(np.zeros((3, 4, 2))).shape == (3, 4, 2)
    H = s.hessian(np.zeros((3, 4, 2)))
    assert H.shape == (3, 4, 2, 2)
    np.testing.assert_array_equal(H[1, 2], [[10, 8], [8, 10]])


def test_bowl_parameters():
    round_ = surfaces.get("bowl", condition=1, rotation=0)
    np.testing.assert_allclose(round_.hessian(np.zeros(2)), np.eye(2), atol=1e-15)
    b = surfaces.get("bowl", condition=100, rotation=45)
    w = np.linalg.eigvalsh(b.hessian(np.zeros(2)))
    np.testing.assert_allclose(w, [1, 100], rtol=1e-12)
    v = np.linalg.eigh(b.hessian(np.zeros(2)))[1][:, 1]
    np.testing.assert_allclose(np.abs(v), [2 ** -0.5, 2 ** -0.5], rtol=1e-9)  # stiff axis at 45°
    assert surfaces.get("bowl", condition=100) is surfaces.get("bowl", condition=100.0)  # cached


@pytest.mark.parametrize("call,message", [
    (lambda: surfaces.get("nope"), "unknown surface 'nope'"),
    (lambda: surfaces.get("bowl", kappa=3), "has no parameter 'kappa'"),
    (lambda: surfaces.get("bowl", condition=0.5), "condition must be in"),
    (lambda: surfaces.get("bowl", condition="big"), "must be a number"),
    (lambda: surfaces.get("saddle", condition=3), "it takes no parameters"),
])
def test_bad_requests_raise_value_error_with_a_precise_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_core_imports_neither_streamlit_nor_plotly():
    for pkg in ("optimizers", "surfaces"):
        for path in (ROOT / pkg).glob("*.py"):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                mods = []
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    mods = [node.module]
                for m in mods:
                    assert m.split(".")[0] not in {"streamlit", "plotly"}, f"{path.name} imports {m}"

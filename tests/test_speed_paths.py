"""The run loop's fast paths give the numbers of the general path.

``optimizers.run`` has three engines: "array" (all K runs on (K, 2) arrays, with a quick divergence check
and the exact one only when it fails), "scalar" (the same rule code on Python floats, one coordinate at
a time, with the surface compiled for the ``math`` module) and "compiled" (the rule recorded and fused
with the surface into one C loop). Here each fast engine and the array engine run the same problems,
for all 14 optimizers, with noise, schedules, loss scaling, sparse gradients, projection,
time-varying surfaces, divergence and both record modes, and must agree to 1e-12. Polynomial surfaces
are used where whole trajectories are compared: NumPy's and libm's exp differ in the last bit, so on
chaotic stretches of other surfaces the engines agree only as well as any two correct codes can.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import optimizers
import surfaces
from optimizers import kernel
from optimizers.base import Step
from optimizers.run import SCALAR_MAX_RUNS
from surfaces.base import T, X, Y, Surface

RTOL, ATOL = 1e-12, 1e-13
ROOT = Path(__file__).resolve().parent.parent
STARTS = np.array([[-1.2, 1.0], [0.5, -0.5], [1.3, 1.9]])

# (optimizer, hyperparameters): learning rates that keep the three Rosenbrock starts finite for 150 steps
CASES = [
    ("sgd", {"lr": 2e-4}),
    ("sgd", {"lr": 2e-4, "weight_decay": 0.1}),
    ("momentum", {"lr": 1e-4}),
    ("momentum", {"lr": 1e-4, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.05}),
    ("nesterov", {"lr": 1e-4, "momentum": 0.8}),
    ("adagrad", {"lr": 0.05, "lr_decay": 0.01, "initial_accumulator_value": 0.2}),
    ("rmsprop", {"lr": 1e-3}),
    ("rmsprop", {"lr": 1e-3, "momentum": 0.5, "centered": True, "weight_decay": 0.01}),
    ("rmsprop", {"lr": 1e-3, "bias_correction": True}),
    ("adadelta", {"lr": 0.5}),
    ("adam", {"lr": 1e-2}),
    ("adam", {"lr": 1e-2, "bias_correction": False, "weight_decay": 0.1}),
    ("adamw", {"lr": 1e-2, "weight_decay": 0.1}),
    ("amsgrad", {"lr": 1e-2}),
    ("adamax", {"lr": 1e-2}),
    ("nadam", {"lr": 1e-2}),
    ("radam", {"lr": 1e-4}),
    ("radam", {"lr": 1e-4, "beta2": 0.9}),
    ("lion", {"lr": 1e-3, "weight_decay": 0.1}),
]
ELEMENTWISE = sorted({name for name, _ in CASES})


def test_cases_cover_every_elementwise_optimizer():
    assert set(ELEMENTWISE) == set(optimizers.names()) - {"newton"}


def need_compiler():
    """The compiled engine needs a C compiler: skip without one, except under CI, where it must be there."""
    if kernel.compiler() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("no C compiler under CI (apt-get install gcc)")
        pytest.skip("no C compiler: the compiled engine is not available here")


FAST = ["scalar", "compiled"]


def both(name, hyper, surface, start, steps, fast="scalar", **kw):
    """The same run through a fast engine and the array engine (asserting that each really ran)."""
    if fast == "compiled":
        need_compiler()
    opt = optimizers.get(name, **hyper)
    s = optimizers.run(opt, surface, start, steps, engine=fast, **kw)
    a = optimizers.run(opt, surface, start, steps, engine="array", **kw)
    assert (s.engine, a.engine) == (fast, "array")
    return s, a


def same(s, a, rtol=RTOL, atol=ATOL):
    """Every recorded array and summary of two trajectories agrees."""
    for key in ("final", "final_loss", "best_loss", "path_length"):
        np.testing.assert_allclose(getattr(s, key), getattr(a, key), rtol=rtol, atol=atol, err_msg=key)
    for key in ("diverged_at", "converged_at", "minimum"):
        np.testing.assert_array_equal(getattr(s, key), getattr(a, key), err_msg=key)
    if a.path is None:
        assert s.path is None and s.loss is None
        return
    np.testing.assert_allclose(s.path, a.path, rtol=rtol, atol=atol, err_msg="path")
    np.testing.assert_allclose(s.loss, a.loss, rtol=rtol, atol=atol, err_msg="loss")
    assert list(s.internals) == list(a.internals)
    for key in a.internals:
        np.testing.assert_allclose(s.internals[key], a.internals[key], rtol=rtol, atol=atol, err_msg=key)
    for arr in (s.path, s.loss, *s.internals.values()):
        assert np.isfinite(arr).all()


@pytest.mark.parametrize("fast", FAST)
@pytest.mark.parametrize("record", ["path", "summary"])
@pytest.mark.parametrize("name,hyper", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_fast_engines_equal_the_array_engine(name, hyper, record, fast):
    s, a = both(name, hyper, surfaces.get("rosenbrock"), STARTS, 150, fast, record=record,
                record_internals=record == "path")
    same(s, a)
    assert (a.diverged_at == -1).all()


@pytest.mark.parametrize("fast", FAST)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_engines_agree_with_noise_schedule_loss_scale_and_sparse_gradients(name, fast):
    hyper = dict(CASES)[name]
    sched = optimizers.Schedule.make("cosine", eta_min=0.1)
    for kw in (dict(noise=0.3, seed=5), dict(grad_keep=(0.5, 0.8), seed=2),
               dict(noise=np.array([0.0, 0.2, 0.5]), grad_keep=(0.7, 1.0), seed=9),
               dict(loss_scale=np.array([1.0, 0.5, 2.0]), schedule=sched)):
        s, a = both(name, hyper, surfaces.get("himmelblau"), STARTS, 120, fast, record_internals=True, **kw)
        same(s, a)


@pytest.mark.parametrize("fast", FAST)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_engines_agree_with_per_run_hyperparameters(name, fast):
    hyper = dict(dict(CASES)[name])
    hyper["lr"] = hyper["lr"] * np.array([1.0, 0.5, 2.0])
    s, a = both(name, hyper, surfaces.get("bowl"), STARTS, 150, fast, record_internals=True)
    same(s, a)


@pytest.mark.parametrize("fast", FAST)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_engines_agree_on_a_projected_time_varying_problem(name, fast):
    reddi = surfaces.get("reddi")
    assert reddi.bounds is not None and reddi.time_varying
    hyper = {**dict(CASES)[name], "lr": 0.05}
    starts = np.array([[0.0, 0.0], [0.9, -0.3], [-0.5, 0.5]])
    for record in ("path", "summary"):
        s, a = both(name, hyper, reddi, starts, 100, fast, record=record, record_internals=record == "path")
        same(s, a)


@pytest.mark.parametrize("fast", FAST)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_engines_agree_where_runs_diverge(name, fast):
    """Huge rates: runs leave the box or overflow at different steps; one start is invalid from step 0."""
    starts = np.array([[-1.5, 2.5], [0.3, 0.2], [np.nan, 0.0], [1.9, -0.9]])
    lrs = np.array([1e5, 1e-4, 1.0, 5e-3])
    for record in ("path", "summary"):
        s, a = both(name, {"lr": lrs}, surfaces.get("rosenbrock"), starts, 80, fast, record=record,
                    record_internals=record == "path")
        same(s, a)
        assert a.diverged_at[2] == 0 and (a.diverged_at > 0).any()
    # a frozen run does not disturb the others: the batch equals each run alone
    s, a = both(name, {"lr": lrs}, surfaces.get("rosenbrock"), starts, 80, fast, record_internals=True)
    for k, start in enumerate(starts):
        alone = optimizers.run(optimizers.get(name, lr=lrs[k]), surfaces.get("rosenbrock"), start, 80,
                               engine="array", record_internals=True)
        np.testing.assert_array_equal(alone.path[0], a.path[k])
        for key, arr in alone.internals.items():
            np.testing.assert_array_equal(arr[0], a.internals[key][k], err_msg=key)


def test_a_step_that_overflows_python_floats_falls_back_to_numpy():
    """exp overflows as a Python float (math.exp raises) but is inf in NumPy: the run is redone by the
    array engine, which freezes it; engine='scalar' asks for the fast path, not for other numbers."""
    s = Surface(name="steep", label="steep", expr=-sp.exp(X) + Y**2, domain=((-1e3, 1e3), (-1e3, 1e3)),
                minima=np.zeros((0, 2)), f_min=-np.inf, start=(1.0, 1.0))
    opt = optimizers.get("sgd", lr=1e-308)                  # steps of exp(x)·1e-308: 0.3, 0.4, 0.6, 1.2
    tr = optimizers.run(opt, s, (708.0, 1.0), 6, engine="scalar", record_internals=True)
    ref = optimizers.run(opt, s, (708.0, 1.0), 6, engine="array", record_internals=True)
    assert tr.engine == "array"
    np.testing.assert_array_equal(tr.path, ref.path)
    assert tr.diverged_at[0] == 4


def test_a_quick_check_false_alarm_changes_nothing():
    """Gradients whose sum overflows although each is finite: the exact check finds every run fine."""
    s = Surface(name="big", label="big", expr=sp.Float(1.5e308) * (X + Y), domain=((-1, 1), (-1, 1)),
                minima=np.zeros((0, 2)), f_min=-np.inf, start=(0.0, 0.0))
    a = optimizers.run(optimizers.get("sgd", lr=1e-310), s, np.zeros((6, 2)), 4, engine="array")
    assert (a.diverged_at == -1).all()
    np.testing.assert_allclose(a.final, np.full((6, 2), -4 * (1.5e308 * 1e-310)))


def test_newton_couples_coordinates_and_keeps_the_array_engine():
    s = surfaces.get("rosenbrock")
    with pytest.raises(ValueError, match="engine='scalar'"):
        optimizers.run(optimizers.get("newton"), s, (-1.5, 2.5), 5, engine="scalar")
    assert optimizers.run(optimizers.get("newton"), s, (-1.5, 2.5), 5).engine == "array"
    with pytest.raises(ValueError, match="engine must be"):
        optimizers.run(optimizers.get("adam"), s, (-1.5, 2.5), 5, engine="gpu")


def test_auto_picks_the_scalar_engine_for_a_few_runs_only(monkeypatch, tmp_path):
    monkeypatch.setenv("OPTIMIZERS_KERNEL_CACHE", str(tmp_path))    # no compiled kernel built yet
    monkeypatch.setattr(kernel, "_loaded", {})
    s, opt = surfaces.get("rosenbrock"), optimizers.get("adam")
    assert optimizers.run(opt, s, (-1.5, 2.5), 5).engine == "scalar"
    many = np.zeros((SCALAR_MAX_RUNS + 1, 2))
    assert optimizers.run(opt, s, many, 5).engine == "array"


@pytest.mark.parametrize("engine", ["scalar", "array", "compiled"])
def test_summary_record_equals_the_path_record_exactly(engine):
    if engine == "compiled":
        need_compiler()
    s = surfaces.get("himmelblau")
    xs = np.linspace(-4.5, 4.5, 3 if engine == "scalar" else 9)
    starts = np.stack(np.meshgrid(xs, xs[:1]), -1).reshape(-1, 2)
    opt = optimizers.get("adam", lr=0.1)
    full = optimizers.run(opt, s, starts, 300, engine=engine)
    summ = optimizers.run(opt, s, starts, 300, record="summary", engine=engine)
    assert full.engine == summ.engine == engine
    for key in ("final", "final_loss", "best_loss", "diverged_at", "converged_at", "path_length", "minimum"):
        np.testing.assert_array_equal(getattr(full, key), getattr(summ, key), err_msg=key)
    assert (full.converged_at > 0).any()
    # and the summaries are what the recorded path says
    np.testing.assert_allclose(full.path_length, np.linalg.norm(np.diff(full.path, axis=1), axis=-1).sum(1),
                               rtol=1e-12)
    np.testing.assert_array_equal(full.best_loss, full.loss.min(1))


@pytest.mark.parametrize("diverging", [0.05, 0.5])
def test_the_array_engine_with_a_small_ring_and_frozen_runs_leaving_the_batch(diverging):
    """record="summary" keeps a ring of a few steps; once more than 1/8 of the runs froze they leave the
    working arrays. Many wraps, divergence inside the ring: the summaries equal those of the full path,
    and runs equal the same runs stepped alone by the scalar engine."""
    s = surfaces.get("rosenbrock")
    rng = np.random.default_rng(3)
    k = 40_000
    starts = rng.uniform([-2, -1], [2, 3], (k, 2))
    lr = np.where(rng.random(k) < diverging, 5e-3, 1e-4)
    opt = optimizers.get("momentum", lr=lr)
    full = optimizers.run(opt, s, starts, 25, record_internals=True)
    summ = optimizers.run(opt, s, starts, 25, record="summary")
    assert (full.diverged_at > 0).any() and (full.diverged_at == -1).any()
    for key in ("final", "final_loss", "best_loss", "diverged_at", "converged_at", "path_length"):
        np.testing.assert_array_equal(getattr(full, key), getattr(summ, key), err_msg=key)
    picks = np.concatenate([np.flatnonzero(full.diverged_at > 0)[:2], np.flatnonzero(full.diverged_at < 0)[:2]])
    for i in picks:
        alone = optimizers.run(optimizers.get("momentum", lr=lr[i]), s, starts[i], 25, engine="scalar",
                               record_internals=True)
        np.testing.assert_allclose(alone.path[0], full.path[i], rtol=RTOL, atol=ATOL)
        assert alone.diverged_at[0] == full.diverged_at[i]
        for key, arr in alone.internals.items():
            np.testing.assert_allclose(arr[0], full.internals[key][i], rtol=RTOL, atol=ATOL, err_msg=key)


def test_optimizer_update_stays_a_pure_function_for_notebooks():
    """Rules update state in place; Optimizer.update copies first, so old states and aux stay valid and
    a hand-written loop equals run()."""
    s = surfaces.get("rosenbrock")
    for name in optimizers.names():
        opt = optimizers.get(name, lr=1e-3 if name != "newton" else 0.5)
        xy = STARTS.copy()
        state = opt.init(xy)
        kept = []
        for t in range(1, 31):
            before = [np.array(v, copy=True) for v in state]
            delta, new_state, aux = opt.update(s.grad(xy, t), state, Step(t, opt.hyper["lr"], xy,
                                                                          lambda p, t=t: s.hessian(p, t)))
            for old, now in zip(before, state):
                np.testing.assert_array_equal(old, now)          # the state passed in is untouched
            kept.append({k: np.array(v, copy=True) for k, v in aux.items()})
            if t > 1:
                for k, v in kept[-2].items():
                    np.testing.assert_array_equal(prev_aux[k], v)   # earlier aux was not overwritten
            prev_aux = aux
            state, xy = new_state, xy + delta
        tr = optimizers.run(opt, s, STARTS, 30, engine="array")
        np.testing.assert_allclose(tr.final, xy, rtol=1e-13, atol=1e-15, err_msg=name)


def test_internals_are_copies_step_by_step():
    tr = optimizers.run(optimizers.get("adam", lr=0.01), surfaces.get("rosenbrock"), STARTS, 20,
                        engine="array", record_internals=True)
    m = tr.internals["m"]
    assert not np.allclose(m[:, 3], m[:, 10])
    ref = optimizers.run(optimizers.get("adam", lr=0.01), surfaces.get("rosenbrock"), STARTS[:1], 20,
                         engine="scalar", record_internals=True)
    np.testing.assert_allclose(ref.internals["m"][0], m[0], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("fast", FAST)
def test_time_varying_surface_with_a_custom_expression_and_the_scalar_kernels(fast):
    expr = sp.Piecewise((1010 * X, sp.Eq(sp.Mod(T, 3), 1)), (-10 * X, True)) + Y**2
    s = Surface(name="reddi", label="Reddi", expr=expr, domain=((-1, 1), (-1, 1)), minima=[(-1, 0)],
                f_min=-np.inf, start=(0.5, 0.0), bounds=((-1, 1), (-1, 1)))
    f, g, fg = s.scalar_kernels
    assert g(0.3, 0.2, 1) == [1010.0, 0.4] and g(0.3, 0.2, 2) == [-10.0, 0.4]
    assert all(isinstance(v, float) for v in fg(0.3, 0.2, 1))
    for name in ("adam", "sgd", "lion"):
        a, b = both(name, {"lr": 0.01}, s, np.array([[0.5, 0.0], [-0.2, 0.7]]), 60, fast, record_internals=True)
        same(a, b)


def test_surface_kernels_match_the_public_callables():
    rng = np.random.default_rng(0)
    for name in surfaces.names():
        s = surfaces.get(name)
        xy = np.asfortranarray(rng.uniform(-2, 2, (64, 2)))
        f, g = np.empty(64), np.empty((2, 64)).T
        with np.errstate(all="ignore"):
            s.value_and_grad_into(xy, 1, f, g)
            np.testing.assert_array_equal(g, s.grad(xy, 1), err_msg=name)      # bit for bit
            np.testing.assert_allclose(f, s.f(xy, 1), rtol=1e-12, err_msg=name)
        f_s, g_s, fg_s = s.scalar_kernels
        for x, y in xy[:8].tolist():
            np.testing.assert_allclose(fg_s(x, y, 1), [s.f([x, y], 1), *s.grad([x, y], 1)], rtol=1e-12,
                                       atol=1e-12, err_msg=name)
            np.testing.assert_allclose(g_s(x, y, 1), s.grad([x, y], 1), rtol=1e-12, atol=1e-12)


def test_the_benchmark_runs_in_quick_mode(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "core.py"), "--quick", "--no-plot"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "ns per trajectory-step" in out.stdout and "page scene" in out.stdout

"""The run loop: shapes, seeded noise, divergence freezing, recording, constraints, validation."""
import math
import warnings

import numpy as np
import pytest
import sympy as sp

import optimizers
import surfaces
from surfaces.base import T, X, Y, Surface


def test_shapes_for_one_start_and_for_a_batch():
    s = surfaces.get("rosenbrock")
    one = optimizers.run(optimizers.get("adam"), s, (-1.5, 2.5), 25)
    assert one.path.shape == (1, 26, 2) and one.loss.shape == (1, 26) and one.diverged_at.shape == (1,)
    starts = np.array([[-1.5, 2.5], [1.5, -0.5], [0.0, 0.0]])
    many = optimizers.run(optimizers.get("adam"), s, starts, 25, record_internals=True)
    assert many.path.shape == (3, 26, 2)
    np.testing.assert_array_equal(many.path[:, 0], starts)
    np.testing.assert_allclose(many.loss, s.f(many.path))
    assert many.diverged_at.dtype.kind == "i" and (many.diverged_at == -1).all()
    for key in ("grad", "update", "m", "v", "m_hat", "v_hat", "lr_eff"):
        assert many.internals[key].shape == (3, 25, 2), key
    np.testing.assert_allclose(many.internals["update"], np.diff(many.path, axis=1), atol=1e-15)
    np.testing.assert_allclose(many.internals["grad"][:, 0], s.grad(starts))


def test_batch_equals_separate_runs_including_per_run_hyperparameters():
    s = surfaces.get("himmelblau")
    starts = np.array([[-0.5, -0.5], [1.0, 1.0], [-4.0, 4.0]])
    lrs = np.array([0.01, 0.05, 0.2])
    b1 = np.array([0.0, 0.5, 0.9])
    batch = optimizers.run(optimizers.get("adam", lr=lrs, beta1=b1), s, starts, 200)
    for i in range(3):
        single = optimizers.run(optimizers.get("adam", lr=lrs[i], beta1=b1[i]), s, starts[i], 200)
        np.testing.assert_array_equal(batch.path[i], single.path[0])


def test_noise_is_seeded_and_per_run():
    s = surfaces.get("bowl")
    opt = optimizers.get("sgd", lr=0.05)
    a = optimizers.run(opt, s, s.start, 50, noise=0.5, seed=3)
    b = optimizers.run(opt, s, s.start, 50, noise=0.5, seed=3)
    c = optimizers.run(opt, s, s.start, 50, noise=0.5, seed=4)
    clean = optimizers.run(opt, s, s.start, 50)
    np.testing.assert_array_equal(a.path, b.path)
    assert not np.allclose(a.path, c.path)
    assert not np.allclose(a.path, clean.path)
    np.testing.assert_array_equal(optimizers.run(opt, s, s.start, 50, noise=0.0).path, clean.path)
    # the noise actually has standard deviation σ: gradient minus exact gradient
    n = optimizers.run(opt, s, np.zeros((2000, 2)), 1, noise=0.5, seed=1, record_internals=True)
    assert n.internals["grad"].std() == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize("name", optimizers.names())
def test_divergence_freezes_the_run_with_nothing_non_finite_and_no_warning(name):
    s = surfaces.get("rosenbrock")
    hyper = {"lr": 1e3} if name != "newton" else {"lr": 1.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = optimizers.run(optimizers.get(name, **hyper), s, [[-1.5, 2.5], [1.9, -0.9]], 300,
                            record_internals=True)
    assert np.isfinite(tr.path).all() and np.isfinite(tr.loss).all()
    for v in tr.internals.values():
        assert np.isfinite(v).all()
    for i, k in enumerate(tr.diverged_at):
        if k > 0:  # frozen at its last finite point from step k on
            assert (tr.path[i, k:] == tr.path[i, k - 1]).all()
            assert (tr.internals["update"][i, k - 1:] == 0).all()
    if name not in ("newton", "lion", "adadelta", "adagrad", "adam", "adamw", "amsgrad", "adamax",
                    "nadam", "rmsprop"):
        assert (tr.diverged_at > 0).any()


def test_sgd_with_a_huge_rate_is_flagged_at_the_right_step():
    s = surfaces.get("rosenbrock")
    tr = optimizers.run(optimizers.get("sgd", lr=0.5), s, (-1.5, 2.5), 100)
    k = int(tr.diverged_at[0])
    assert k > 0
    # an independent scalar loop shows where the iterate first leaves the box / overflows
    p = np.array([-1.5, 2.5])
    for t in range(1, 100):
        with np.errstate(all="ignore"):
            p = p - 0.5 * s.grad(p)
        if not np.isfinite(p).all() or np.abs(p - [0, 1]).max() > 100 * s.span or not np.isfinite(s.f(p)):
            break
    assert k == t


def test_invalid_start_is_marked_at_step_zero():
    s = surfaces.get("bowl")
    tr = optimizers.run(optimizers.get("sgd"), s, [[np.nan, 0.0], [1.0, 1.0]], 5)
    assert tr.diverged_at.tolist() == [0, -1]
    assert np.isfinite(tr.path).all()


def test_newton_solves_a_quadratic_in_one_step_and_stops_on_a_singular_hessian():
    for s in (surfaces.get("bowl", condition=50, rotation=20), surfaces.get("booth"), surfaces.get("matyas")):
        tr = optimizers.run(optimizers.get("newton"), s, s.start, 1)
        np.testing.assert_allclose(tr.final[0], s.minima[0], atol=1e-12)
    ms = surfaces.get("monkey_saddle")
    tr = optimizers.run(optimizers.get("newton"), ms, (0.0, 0.0), 3)
    assert tr.diverged_at[0] == 1 and np.isfinite(tr.path).all()
    # saddle-free Newton is repelled by the saddle of x² − y² while plain Newton jumps onto it
    sd = surfaces.get("saddle")
    plain = optimizers.run(optimizers.get("newton"), sd, (0.5, 0.1), 1)
    free = optimizers.run(optimizers.get("newton", saddle_free=True), sd, (0.5, 0.1), 1)
    np.testing.assert_allclose(plain.final[0], [0, 0], atol=1e-15)
    np.testing.assert_allclose(free.final[0], [0, 0.2], atol=1e-15)


def test_summary_record_matches_the_path_record():
    s = surfaces.get("himmelblau")
    xs = np.linspace(-4.5, 4.5, 7)
    starts = np.stack(np.meshgrid(xs, xs), -1).reshape(-1, 2)
    opt = optimizers.get("adam", lr=0.1)
    full = optimizers.run(opt, s, starts, 400)
    summ = optimizers.run(opt, s, starts, 400, record="summary")
    assert summ.path is None and summ.loss is None
    for key in ("final", "final_loss", "best_loss", "diverged_at", "converged_at", "path_length", "minimum"):
        np.testing.assert_array_equal(getattr(full, key), getattr(summ, key), err_msg=key)
    # independent checks of the summaries from the recorded path
    np.testing.assert_allclose(full.path_length, np.linalg.norm(np.diff(full.path, axis=1), axis=-1).sum(1))
    np.testing.assert_array_equal(full.best_loss, full.loss.min(1))
    d = np.linalg.norm(full.final[:, None] - s.minima, axis=-1)
    np.testing.assert_array_equal(full.minimum, np.where(d.min(1) < 1e-2 * s.span, d.argmin(1), -1))
    reached = full.converged_at >= 0
    assert reached.any()
    i = np.flatnonzero(reached)[0]
    t = full.converged_at[i]
    assert full.loss[i, t] <= 1e-6 or np.linalg.norm(s.minima - full.path[i, t], axis=-1).min() <= 1e-3 * s.span
    assert full.loss[i, t - 1] > 1e-6


def test_time_varying_surface_and_projection_onto_the_domain():
    # Reddi et al.'s online problem: f_t(x) = 1010 x when t mod 3 == 1, else −10 x, on x ∈ [−1, 1].
    expr = sp.Piecewise((1010 * X, sp.Eq(sp.Mod(T, 3), 1)), (-10 * X, True)) + Y**2
    s = Surface(name="reddi", label="Reddi", expr=expr, domain=((-1, 1), (-1, 1)), minima=[(-1, 0)],
                f_min=-math.inf, start=(0.5, 0.0), bounds=((-1, 1), (-1, 1)))
    assert s.time_varying
    np.testing.assert_array_equal(s.grad(np.zeros((1, 2)), 1), [[1010, 0]])
    np.testing.assert_array_equal(s.grad(np.zeros((1, 2)), 2), [[-10, 0]])
    tr = optimizers.run(optimizers.get("sgd", lr=0.01), s, (0.5, 0.0), 30)
    assert tr.path[:, :, 0].min() >= -1 and tr.path[:, :, 0].max() <= 1
    assert tr.path[0, 1, 0] == -1.0   # 0.5 − 0.01·1010 = −9.6, projected onto −1


@pytest.mark.parametrize("kwargs,message", [
    ({"steps": -1}, "steps must be"), ({"steps": 1.5}, "steps must be"), ({"steps": 10**9}, "steps must be"),
    ({"start": (1.0,)}, "start must have shape"), ({"noise": -1.0}, "noise must be"),
    ({"noise": np.ones(3)}, "one value per run"), ({"record": "all"}, "record must be"),
])
def test_bad_arguments_raise_value_error(kwargs, message):
    args = dict(optimizer=optimizers.get("sgd"), surface=surfaces.get("bowl"), start=(1.0, 1.0), steps=5)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        optimizers.run(**args)


def test_per_run_hyperparameters_must_match_the_batch():
    with pytest.raises(ValueError, match="length 3 but there are 2 runs"):
        optimizers.run(optimizers.get("adam", lr=np.ones(3)), surfaces.get("bowl"), np.zeros((2, 2)), 3)


def test_latex_is_in_the_docstring_and_names_are_complete():
    assert optimizers.names() == ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam",
                                  "adamw", "amsgrad", "adamax", "nadam", "radam", "lion", "newton"]
    for name in optimizers.names():
        opt = optimizers.get(name)
        assert opt.latex in opt.rule.__doc__
        assert r"\theta_t" in opt.latex and opt.paper


def test_one_start_is_shared_by_every_run_of_a_sweep():
    s = surfaces.get("rosenbrock")
    sweep = optimizers.run(optimizers.get("adam", lr=0.05, beta1=[0.0, 0.5, 0.9]), s, (-1.5, 2.5), 50)
    assert sweep.path.shape == (3, 51, 2)
    for i, b1 in enumerate([0.0, 0.5, 0.9]):
        single = optimizers.run(optimizers.get("adam", lr=0.05, beta1=b1), s, (-1.5, 2.5), 50)
        np.testing.assert_array_equal(sweep.path[i], single.path[0])

"""The compiled engine: the rule recorded by ``optimizers.trace`` and fused with the surface into C.

Its numbers are the array engine's (test_speed_paths compares them on every problem the other engines
are compared on); here: equality to the last bit on a polynomial surface for every optimizer across
blocks of runs, the recording itself, when ``engine="auto"`` uses it, what it refuses and why, and
that hyperparameter values are inputs (moving a slider reuses the compiled code).
"""
import os
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

import optimizers
import surfaces
from optimizers import kernel, trace
from optimizers.run import COMPILE_NOW
from surfaces.base import X, Y, Surface

from test_speed_paths import CASES, ELEMENTWISE, need_compiler, same

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _compiler():
    need_compiler()


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_bit_for_bit_the_array_engine_on_rosenbrock_across_run_blocks(name):
    """1,300 runs (two full blocks of 512 and a partial one), internals recorded: every number equal."""
    hyper = dict(CASES)[name]
    starts = np.random.default_rng(1).uniform([-1.5, -0.5], [1.5, 2.5], (1300, 2))
    opt = optimizers.get(name, **hyper)
    c = optimizers.run(opt, surfaces.get("rosenbrock"), starts, 60, engine="compiled", record_internals=True)
    a = optimizers.run(opt, surfaces.get("rosenbrock"), starts, 60, engine="array", record_internals=True)
    np.testing.assert_array_equal(c.path, a.path)
    np.testing.assert_array_equal(c.loss, a.loss)
    np.testing.assert_array_equal(c.diverged_at, a.diverged_at)
    for key in a.internals:
        np.testing.assert_array_equal(c.internals[key], a.internals[key], err_msg=key)
    np.testing.assert_array_equal(c.best_loss, a.best_loss)
    np.testing.assert_array_equal(c.converged_at, a.converged_at)
    np.testing.assert_allclose(c.path_length, a.path_length, rtol=1e-13)   # (summed in another order)


def test_noise_and_masks_drawn_in_blocks_equal_the_array_engines_draws():
    """40,000 runs: the draws go to the kernel in blocks of a few steps; per-run σ, a mask, a schedule."""
    k = 40_000
    starts = np.random.default_rng(2).uniform([-4, -4], [4, 4], (k, 2))
    sigma = np.linspace(0.0, 2.0, k)
    kw = dict(noise=sigma, grad_keep=(0.6, 0.9), seed=11, schedule=optimizers.Schedule.make("step", step_size=7))
    opt = optimizers.get("adam", lr=0.05)
    for record in ("path", "summary"):
        c = optimizers.run(opt, surfaces.get("himmelblau"), starts, 30, engine="compiled", record=record, **kw)
        a = optimizers.run(opt, surfaces.get("himmelblau"), starts, 30, engine="array", record=record, **kw)
        same(c, a)


def test_a_run_whose_exp_overflows_is_frozen_as_by_the_array_engine():
    s = Surface(name="steep", label="steep", expr=-sp.exp(X) + Y**2, domain=((-1e3, 1e3), (-1e3, 1e3)),
                minima=np.zeros((0, 2)), f_min=-np.inf, start=(1.0, 1.0))
    opt = optimizers.get("sgd", lr=1e-308)
    c = optimizers.run(opt, s, (708.0, 1.0), 6, engine="compiled", record_internals=True)
    a = optimizers.run(opt, s, (708.0, 1.0), 6, engine="array", record_internals=True)
    assert c.diverged_at[0] == a.diverged_at[0] == 4
    np.testing.assert_array_equal(c.path, a.path)
    for key in a.internals:
        np.testing.assert_array_equal(c.internals[key], a.internals[key], err_msg=key)


def test_the_recorded_programs():
    """What the recorder makes of three rules: SGD with momentum branches on t = 1 (two paths, each
    with its decision); Adam is one path with the bias corrections computed once per step; NAdam's
    running product of μ is state shared by all runs (a step-only value)."""
    def program(name, **hyper):
        opt = optimizers.get(name, **hyper)
        h = opt.bind(3)
        per_run = {k for k, v in vars(h).items() if isinstance(v, np.ndarray)}
        return trace.trace(opt.rule, h, opt.rule.init(np.zeros((3, 2)), h), per_run, internals=False)

    sgd = program("momentum")
    assert len(sgd.paths) == 2 and sorted(len(p.decisions) for p in sgd.paths) == [1, 1]
    assert {p.decisions[0][1] for p in sgd.paths} == {True, False}
    adam = program("adam")
    assert len(adam.paths) == 1
    ops = adam.paths[0].ops
    step_pows = [op for op in ops if op.name == "pow" and op.kind == trace.STEP]
    assert len(step_pows) == 3                                                      # β₁ᵗ, β₂ᵗ, √(1-β₂ᵗ)
    assert sum(op.name == "sqrt" and bool(op.kind & trace.ELEM) for op in ops) == 1
    nadam = program("nadam")
    assert nadam.state_kinds[2] == trace.STEP                                      # Π μ
    per_run = program("nadam", beta1=np.array([0.9, 0.8, 0.7]))
    assert per_run.state_kinds[2] & trace.RUN                                     # … per run when μ is


def test_the_recorder_refuses_what_it_cannot_follow():
    class Rule:                                  # a branch on a per-coordinate value
        @staticmethod
        def update(g, state, s, h):
            return (-g if g > 0 else g), state, {}
    h = type("H", (), {})()
    with pytest.raises(trace.Untraceable, match="per-run or per-coordinate"):
        trace.trace(Rule, h, (), set(), internals=False)


def test_hyperparameters_are_inputs_so_a_new_value_reuses_the_kernel():
    s = surfaces.get("rosenbrock")
    optimizers.run(optimizers.get("adam", lr=0.01), s, s.start, 50, engine="compiled")
    loaded = len(kernel._loaded)
    for lr, beta1 in ((0.02, 0.5), (0.3, 0.99)):
        tr = optimizers.run(optimizers.get("adam", lr=lr, beta1=beta1), s, s.start, 50, engine="compiled")
        ref = optimizers.run(optimizers.get("adam", lr=lr, beta1=beta1), s, s.start, 50, engine="array")
        np.testing.assert_array_equal(tr.path, ref.path)
    assert len(kernel._loaded) == loaded


def test_auto_uses_a_built_kernel_and_builds_for_large_work(monkeypatch, tmp_path):
    monkeypatch.setenv("OPTIMIZERS_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setattr(kernel, "_loaded", {})
    s, opt = surfaces.get("beale"), optimizers.get("rmsprop", lr=1e-3)
    assert optimizers.run(opt, s, s.start, 20).engine == "scalar"            # not built: not built now
    assert optimizers.run(opt, s, s.start, 20, engine="compiled").engine == "compiled"
    assert optimizers.run(opt, s, s.start, 20).engine == "compiled"          # built: used
    other = optimizers.get("adagrad", lr=0.1)
    starts = np.zeros((1000, 2))
    assert optimizers.run(other, s, starts, 10, record="summary").engine == "array"
    steps = COMPILE_NOW // len(starts)
    assert optimizers.run(other, s, starts, steps, record="summary").engine == "compiled"   # large: built


def test_background_build_makes_the_next_auto_run_compiled(monkeypatch, tmp_path):
    monkeypatch.setenv("OPTIMIZERS_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setattr(kernel, "_loaded", {})
    monkeypatch.setattr(kernel, "_queued", set())
    s, opt = surfaces.get("booth"), optimizers.get("adamax", lr=0.1)
    assert optimizers.run(opt, s, s.start, 30, background_build=True).engine == "scalar"
    for thread in [t for t in __import__("threading").enumerate() if t.name == "optimizers-kernel-build"]:
        thread.join(timeout=120)
    assert optimizers.run(opt, s, s.start, 30).engine == "compiled"


def test_a_kernel_built_by_one_process_is_found_by_the_next(tmp_path):
    code = ("import optimizers, surfaces; s = surfaces.get('matyas'); "
            "print(optimizers.run(optimizers.get('lion', lr=0.01), s, s.start, 10, engine=ENGINE).engine)")
    env = {**os.environ, "OPTIMIZERS_KERNEL_CACHE": str(tmp_path), "PYTHONPATH": ROOT}
    first = subprocess.run([sys.executable, "-c", code.replace("ENGINE", "'compiled'")], env=env,
                           capture_output=True, text=True, timeout=120)
    second = subprocess.run([sys.executable, "-c", code.replace("ENGINE", "'auto'")], env=env,
                            capture_output=True, text=True, timeout=120)
    assert (first.stdout.strip(), second.stdout.strip()) == ("compiled", "compiled"), first.stderr + second.stderr
    assert len(list(tmp_path.glob("*.so"))) == 1


def test_what_the_engine_cannot_do_falls_back_with_a_reason(monkeypatch):
    s = surfaces.get("rosenbrock")
    with pytest.raises(ValueError, match="couples the coordinates"):
        optimizers.run(optimizers.get("newton"), s, s.start, 5, engine="compiled")
    typed = surfaces.from_expression("abs(x) + max(y, 0.5*y)")
    with pytest.raises(ValueError, match="no C form"):
        optimizers.run(optimizers.get("adam"), typed, typed.start, 5, engine="compiled")
    assert optimizers.run(optimizers.get("adam"), typed, np.zeros((9, 2)), 5).engine == "array"
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.raises(ValueError, match="no C compiler"):
        optimizers.run(optimizers.get("adam"), s, s.start, 5, engine="compiled")
    assert optimizers.run(optimizers.get("adam"), s, np.zeros((1000, 2)), 10_001,
                          record="summary").engine == "array"


def test_at_most_max_kernels_stay_loaded_the_least_recently_used_unloaded(monkeypatch):
    monkeypatch.setattr(kernel, "MAX_KERNELS", 3)
    monkeypatch.setattr(kernel, "_loaded", {})
    s = surfaces.get("booth")
    for name in ("adam", "sgd", "nadam", "lion", "adagrad", "adam"):
        opt = optimizers.get(name, lr=0.01)
        tr = optimizers.run(opt, s, s.start, 40, engine="compiled")
        np.testing.assert_array_equal(tr.path, optimizers.run(opt, s, s.start, 40, engine="array").path)
        assert len(kernel._loaded) <= 3
    assert all(v.users == 0 for v in kernel._loaded.values())


def test_the_disk_cache_keeps_the_most_recently_used_kernels(monkeypatch, tmp_path):
    monkeypatch.setenv("OPTIMIZERS_KERNEL_CACHE", str(tmp_path))
    monkeypatch.setattr(kernel, "_loaded", {})
    monkeypatch.setattr(kernel, "MAX_DISK_KERNELS", 2)
    s = surfaces.get("booth")
    for i, name in enumerate(("adam", "sgd", "adam", "lion")):
        optimizers.run(optimizers.get(name), s, s.start, 5, engine="compiled")
        monkeypatch.setattr(kernel, "_loaded", {})              # (as a new process would)
    assert len(list(tmp_path.glob("*.so"))) == 2
    assert optimizers.run(optimizers.get("lion"), s, s.start, 5).engine == "compiled"      # kept
    assert optimizers.run(optimizers.get("sgd"), s, np.zeros((9, 2)), 5).engine == "array"  # dropped

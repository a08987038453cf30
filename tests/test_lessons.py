"""Lessons: every claim holds numerically, texts and scenes are what the page can show, and the checks
catch a broken core (bias correction divided by 1 − β instead of 1 − βᵗ)."""
import dataclasses
import math
import re

import numpy as np
import pytest

import lessons
import optimizers
import optimizers.adam
import surfaces
from lessons.base import MAX_SCENE_RUNS, RUN_KEYS, SCENE_KEYS, SLIDER_GRIDS, VIEWS, on_grid, word_count

ORDER = ["bias-correction", "first-step", "step-bound", "scale-invariance", "beta1-zero",
         "adagrad-vs-rmsprop", "momentum-ravine", "saddle-escape", "sparse-gradients", "noisy-gradients",
         "amsgrad-reddi", "adamw-vs-l2", "automatic-annealing"]
ALL = lessons.all()
KEYS = [lesson.key for lesson in ALL]


def test_order_and_unique_keys():
    assert KEYS == ORDER
    assert len(set(KEYS)) == len(KEYS)
    assert lessons.keys() == ORDER
    for lesson in ALL:
        assert lessons.get(lesson.key) is lesson
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", lesson.key), lesson.key
    with pytest.raises(ValueError, match="unknown lesson"):
        lessons.get("nope")


def test_lessons_are_frozen_dataclasses():
    lesson = ALL[0]
    assert dataclasses.is_dataclass(lesson)
    assert [f.name for f in dataclasses.fields(lesson)] == ["key", "title", "claim", "scene", "explanation",
                                                             "look_at", "check"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        lesson.title = "changed"


@pytest.mark.parametrize("key", KEYS)
def test_check_holds(key):
    assert lessons.get(key).check() is True


# ---- text -------------------------------------------------------------------------------------------------

def sentences(text):
    return [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text.strip()) if s]


@pytest.mark.parametrize("key", KEYS)
def test_texts(key):
    lesson = lessons.get(key)
    assert lesson.title.strip() and lesson.claim.strip() and lesson.look_at.strip()
    n = word_count(lesson.explanation)
    assert 100 <= n <= 250, f"{key}: explanation has {n} words"
    assert len(lesson.explanation.split()) <= 300      # even counting every formula's pieces as words
    assert lesson.claim.endswith(".") and len(sentences(lesson.claim)) == 1, lesson.claim
    assert lesson.look_at.endswith(".") and 1 <= len(sentences(lesson.look_at)) <= 3, lesson.look_at


def test_word_count_counts_a_formula_as_one_word():
    assert word_count(r"one $a + b = c$ two $$\frac{1}{2}\, x$$ three") == 5


@pytest.mark.parametrize("key", KEYS)
def test_math_is_katex_friendly(key):
    text = lessons.get(key).explanation
    assert text.count("$$") % 2 == 0, "unbalanced $$"
    inline = text.replace("$$", "")
    assert inline.count("$") % 2 == 0, "unbalanced $"
    for formula in re.findall(r"\$\$(.+?)\$\$|\$([^$]+?)\$", text, re.S):
        body = formula[0] or formula[1]
        assert body.strip()
        depth = 0
        for ch in re.sub(r"\\[{}]", "", body):
            depth += (ch == "{") - (ch == "}")
            assert depth >= 0, body
        assert depth == 0, body
        assert "\\(" not in body and "\\[" not in body
        assert formula[0] or "\n" not in body, f"{key}: inline formula broken across lines: {body!r}"
    for line in text.splitlines():   # no accidental Markdown lists, headings or quotes
        assert not re.match(r"\s*([-+*]\s|\d+[.)]\s|#|>)", line), f"{key}: {line!r}"
    for command in re.findall(r"\\([A-Za-z]+)", text):
        assert command in KATEX_COMMANDS, f"{key}: \\{command} is not in the list of known KaTeX commands"


KATEX_COMMANDS = {"alpha", "beta", "varepsilon", "epsilon", "lambda", "mu", "sigma", "theta", "Delta",
                  "nabla", "hat", "sqrt", "frac", "tfrac", "cdot", "approx", "lesssim", "max", "min", "big",
                  "Big", "bigl", "bigr", "left", "right", "to", "dots", "in", "qquad", "quad", "text",
                  "infty", "sum", "le", "ge", "times", "sin", "cos", "sign", "operatorname"}


def test_key_facts_in_the_texts():
    bias = lessons.get("bias-correction").explanation
    assert r"\beta_1 = 0.2" in bias and "g_1 = 10" in bias and "= 8" in bias and r"\hat m_1 = 8 / 0.8 = 10" in bias
    reddi = lessons.get("amsgrad-reddi")
    assert "Reddi, Kale & Kumar (2018)" in reddi.explanation
    assert "On the Convergence of Adam and Beyond" in reddi.explanation
    noise = lessons.get("noisy-gradients")
    assert noise.scene["band_seeds"] == 20 and noise.scene["starts"] == "single"
    assert "band" in noise.explanation and "seed" in noise.explanation


# ---- scenes -----------------------------------------------------------------------------------------------

def slider_value_ok(key, value):
    return on_grid(float(value), SLIDER_GRIDS[key], lessons.EXTRA_VALUES.get(key, ()))


@pytest.mark.parametrize("key", KEYS)
def test_scene_is_loadable(key):
    scene = lessons.get(key).scene
    assert isinstance(scene, dict)
    assert set(scene) <= SCENE_KEYS
    assert scene["surface"] in surfaces.names()
    surfaces.get(scene["surface"], **scene.get("surface_params", {}))
    assert 1 <= len(scene["runs"]) <= MAX_SCENE_RUNS
    labels = [r["label"] for r in scene["runs"]]
    assert len(set(labels)) == len(labels)
    for run in scene["runs"]:
        assert set(run) <= RUN_KEYS
        assert run["optimizer"] in optimizers.names()
        optimizers.get(run["optimizer"], **run["hyper"])
        for name, value in run["hyper"].items():
            if isinstance(value, bool):
                continue
            assert name in SLIDER_GRIDS, f"{key}: no slider for {name}"
            assert slider_value_ok(name, value), f"{key}: {name}={value} is neither on the grid nor in EXTRA_VALUES"
        assert run.get("loss_scale", 1.0) > 0
    assert isinstance(scene["steps"], int) and 1 <= scene["steps"] <= 5000
    assert scene["view"] in VIEWS
    assert scene.get("starts", "single") in ("single", "ring", "grid")
    s = surfaces.get(scene["surface"], **scene.get("surface_params", {}))
    (x0, x1), (y0, y1) = s.domain
    assert x0 <= scene["start"][0] <= x1 and y0 <= scene["start"][1] <= y1
    lessons.validate_scene(scene, lessons.EXTRA_VALUES)


def test_slider_grids():
    lr = SLIDER_GRIDS["lr"]
    assert len(lr) == 19 and lr[0] == 1e-5 and lr[-1] == 10.0 and 0.5 in lr and 5.0 in lr and 2e-4 in lr
    assert 0.999 in SLIDER_GRIDS["beta1"] and 0.99999 in SLIDER_GRIDS["beta2"]
    assert not on_grid(0.03, lr) and on_grid(0.1 + 1e-17, lr)


def test_slider_grids_are_the_pages():
    options = pytest.importorskip("ui.options")     # pure module: no streamlit needed
    for key, values in SLIDER_GRIDS.items():
        assert list(values) == list(options.GRIDS[key]), key
    assert set(VIEWS) <= set(options.VIEWS)
    assert options.MAX_STEPS >= 5000


def test_scenes_load_into_the_pages_controls():
    scene_mod = pytest.importorskip("ui.scene")
    for lesson in ALL:
        state = scene_mod.lesson_state(lesson.scene)
        assert state["surface"] == lesson.scene["surface"] and state["view"] == lesson.scene["view"]
        assert len(state["opt"]) == len(lesson.scene["runs"]) and len(set(state["opt"])) == len(state["opt"])
        for inst, run in zip(state["opt"], lesson.scene["runs"]):
            for name, value in run["hyper"].items():
                assert state[f"{inst}.{name}"] == value
            assert state[f"{inst}.k"] == run.get("loss_scale", 1.0)
        assert (state["x0"], state["y0"]) == tuple(lesson.scene["start"])


def test_extra_values_are_needed_and_used():
    used = {(name, float(v)) for lesson in ALL for run in lesson.scene["runs"]
            for name, v in run["hyper"].items() if not isinstance(v, bool)}
    for name, values in lessons.EXTRA_VALUES.items():
        for v in values:
            assert not on_grid(v, SLIDER_GRIDS[name]), f"{name}={v} is on the grid already"
            assert (name, float(v)) in used, f"EXTRA_VALUES lists {name}={v}, which no scene uses"
    assert lessons.EXTRA_VALUES == {"beta2": [0.1]}


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update(surface="nope"), "unknown surface"),
    (lambda s: s.update(steps=5001), "steps"),
    (lambda s: s.update(view="Table"), "view"),
    (lambda s: s.update(colour="red"), "unknown scene keys"),
    (lambda s: s["runs"][0]["hyper"].update(lr=0.03), "not a slider value"),
    (lambda s: s["runs"][0]["hyper"].update(beta2=0.5), "not a slider value"),
    (lambda s: s["runs"][0]["hyper"].update(rho=0.9), "has no hyperparameter"),
    (lambda s: s["runs"][0].update(optimizer="adamx"), "unknown optimizer"),
    (lambda s: s.update(runs=s["runs"] * 4), "1 to 6 runs"),
    (lambda s: s.update(start=(9.0, 0.0)), "inside the domain"),
    (lambda s: s["runs"][0].update(loss_scale=3.0), "loss_scale=3.0 is not a slider value"),
    (lambda s: s.update(noise=0.3), "noise=0.3 is not a slider value"),
    (lambda s: s.update(grad_keep=(1.0, 0.03)), "not slider values"),
    (lambda s: s.update(runs=[{**s["runs"][0], "label": f"Adam {i}"} for i in range(4)]), "at most 3 times"),
    (lambda s: s.update(runs=s["runs"] * 2), "its own non-empty label"),
])
def test_validate_scene_rejects_bad_scenes(change, message):
    import copy
    scene = copy.deepcopy(lessons.get("bias-correction").scene)
    change(scene)
    with pytest.raises(ValueError, match=message):
        lessons.validate_scene(scene, lessons.EXTRA_VALUES)


# ---- a broken core makes the checks fail --------------------------------------------------------------

def update_dividing_by_one_minus_beta(g, state, s, h):
    """optimizers.adam.update with the classic mistake: bias correction by (1 − β) instead of (1 − βᵗ)."""
    if h.decoupled:
        decay = -s.lr * h.weight_decay * s.xy
    else:
        decay = 0.0
        g = g + h.weight_decay * s.xy
    m = h.beta1 * state.m + (1 - h.beta1) * g
    v = h.beta2 * state.v + (1 - h.beta2) * g * g
    v_max = np.maximum(state.v_max, v) if h.amsgrad else state.v_max
    v_used = v_max if h.amsgrad else v
    bc1 = 1 - h.beta1 if h.bias_correction else 1.0          # wrong: should be 1 - β1^t
    bc2 = 1 - h.beta2 if h.bias_correction else 1.0          # wrong: should be 1 - β2^t
    m_hat, v_hat = m / bc1, v_used / bc2
    delta = decay - s.lr * m_hat / (np.sqrt(v_hat) + h.eps)
    aux = dict(m=m, v=v, m_hat=m_hat, v_hat=v_hat, lr_eff=s.lr / (np.sqrt(v_hat) + h.eps))
    if h.amsgrad:
        aux["v_max"] = v_max
    return delta, optimizers.adam.State(m, v, v_max), aux


def fails(check):
    try:
        return check() is not True, None
    except AssertionError as exc:
        return True, str(exc)


def test_checks_catch_bias_correction_divided_by_one_minus_beta(monkeypatch):
    s = surfaces.get("rosenbrock")
    before = optimizers.run(optimizers.get("adam", lr=0.01), s, s.start, 20).path
    monkeypatch.setattr(optimizers.adam, "update", update_dividing_by_one_minus_beta)
    after = optimizers.run(optimizers.get("adam", lr=0.01), s, s.start, 20).path
    # The registry keeps the module, so the patch reaches runs; step 1 is unchanged (1 − β¹ = 1 − β) …
    np.testing.assert_array_equal(before[:, :2], after[:, :2])
    assert not np.allclose(before, after)                      # … but later steps are not
    for key in ("bias-correction", "first-step"):
        failed, message = fails(lessons.get(key).check)
        assert failed, f"{key}: the check passed with a broken bias correction"
        assert message is None or re.search(r"\d", message), message   # the reason carries the numbers
    monkeypatch.undo()
    assert lessons.get("bias-correction").check() is True


def test_failures_are_lesson_check_failed_assertion_errors():
    assert issubclass(lessons.LessonCheckFailed, AssertionError)
    with pytest.raises(lessons.LessonCheckFailed, match="x"):
        lessons.base.require(False, "x = 1.5")
    lessons.base.require(True, "never shown")


def test_run_scene_runs_what_the_scene_says():
    scene = lessons.get("scale-invariance").scene
    runs = lessons.run_scene(scene)
    assert len(runs) == len(scene["runs"])
    for spec, traj in zip(scene["runs"], runs):
        assert traj.optimizer.name == spec["optimizer"]
        assert traj.steps == scene["steps"]
        np.testing.assert_array_equal(traj.path[0, 0], scene["start"])
        assert math.isclose(traj.optimizer.hyper["lr"], spec["hyper"]["lr"])

"""The Lesson type, the scene format, the slider grids and the helpers the lessons' checks share.

A lesson is data plus text: a scene the page loads into its controls, an explanation, and a ``check``
that runs the core and proves the claim numerically. A check returns True or raises
:class:`LessonCheckFailed` (an ``AssertionError``) whose message holds the measured numbers.

Scene dict (the page reads exactly these keys; the optional ones may be left out)::

    {
      "surface": "rosenbrock",            # a key of surfaces.names()
      "surface_params": {"b": 100.0},     # optional, per surfaces.params(name)
      "runs": [                           # 1 to 6 runs
          {"optimizer": "adam", "label": "Adam", "hyper": {"lr": 0.05}, "loss_scale": 1.0},
      ],
      "start": (-1.5, 2.5),
      "starts": "single",                 # or "ring" / "grid"
      "n_starts": 1, "radius": 0.5,       # for ring/grid
      "steps": 500,                       # ≤ 5000
      "noise": 0.0, "seed": 0,
      "grad_keep": (1.0, 1.0),
      "schedule": "constant",
      "view": "Curves",                   # one of VIEWS
      "band_seeds": 20,                   # optional: draw the spread of this many noise seeds as a band
    }
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

import optimizers
import surfaces
from optimizers import Schedule

VIEWS = ("Contour", "Animation", "3-D", "Curves", "Small multiples", "Step inspector", "Internals",
         "Summary")
MAX_SCENE_STEPS = 5000
MAX_SCENE_RUNS = 6
SCENE_KEYS = {"surface", "surface_params", "runs", "start", "starts", "n_starts", "radius", "steps",
              "noise", "seed", "grad_keep", "schedule", "view", "band_seeds"}
REQUIRED_KEYS = {"surface", "runs", "start", "steps", "view"}
RUN_KEYS = {"optimizer", "label", "hyper", "loss_scale"}
STARTS = ("single", "ring", "grid")

# The values the page's sliders can take (the same lists as ui/options.py's GRIDS, which the tests compare;
# lessons do not import the UI). lr: {1, 2, 5} × 10^k for k = −5 … 0, and 10.
LR_GRID = tuple(float(f"{m}e{k}") for k in range(-5, 1) for m in (1, 2, 5)) + (10.0,)
BETA1_GRID = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)
BETA2_GRID = (0.9, 0.95, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999, 0.99995, 0.99999)
SLIDER_GRIDS: dict[str, tuple[float, ...]] = {
    "lr": LR_GRID,
    "beta1": BETA1_GRID,
    "beta2": BETA2_GRID,
    "eps": tuple(float(f"1e{k}") for k in range(-12, 0)),
    "momentum": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99),
    "weight_decay": (0.0, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.2, 0.5, 1.0),
    # not hyperparameters, but scene settings with sliders of their own
    "loss_scale": (1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0),
    "noise": (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0),
    "keep": (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
}
SCENE_SETTINGS = ("loss_scale", "noise", "keep")
MAX_SAME_OPTIMIZER = 3          # the page offers each optimizer up to three times (adam, adam-2, adam-3)


class LessonCheckFailed(AssertionError):
    """A lesson's claim did not hold numerically; the message says what was measured."""


def require(condition, message: str) -> None:
    """Raise :class:`LessonCheckFailed` with ``message`` unless ``condition`` holds."""
    if not bool(condition):
        raise LessonCheckFailed(message)


@dataclass(frozen=True, eq=False)
class Lesson:
    """One teaching scene: what to show (``scene``), what it demonstrates (``claim``, ``explanation``,
    ``look_at``) and ``check()``, which runs the core and returns True only if the claim holds
    (otherwise it raises :class:`LessonCheckFailed` with the measured numbers).

    ``scene`` is a plain dict in the format of this module's docstring; treat it as read-only
    (``copy.deepcopy`` it before changing it)."""

    key: str
    title: str
    claim: str
    scene: dict
    explanation: str
    look_at: str
    check: Callable[[], bool]

    def __repr__(self) -> str:
        return f"Lesson({self.key!r}, {self.title!r})"


# ---- scenes -------------------------------------------------------------------------------------------

def run_spec(optimizer: str, label: str, *, loss_scale: float | None = None, **hyper) -> dict:
    """One entry of a scene's ``runs``."""
    spec = {"optimizer": optimizer, "label": label, "hyper": dict(hyper)}
    if loss_scale is not None:
        spec["loss_scale"] = float(loss_scale)
    return spec


def make_scene(surface: str, runs: list[dict], start, steps: int, view: str, *,
               surface_params: Mapping[str, float] | None = None, noise: float = 0.0, seed: int = 0,
               grad_keep=(1.0, 1.0), schedule: str = "constant", **extra) -> dict:
    """A scene dict with every key spelled out (single start)."""
    scene = {"surface": surface}
    if surface_params:
        scene["surface_params"] = {k: float(v) for k, v in surface_params.items()}
    scene.update({
        "runs": runs,
        "start": (float(start[0]), float(start[1])),
        "starts": "single",
        "n_starts": 1,
        "steps": int(steps),
        "noise": float(noise),
        "seed": int(seed),
        "grad_keep": (float(grad_keep[0]), float(grad_keep[1])),
        "schedule": schedule,
        "view": view,
    })
    scene.update(extra)
    return scene


def on_grid(value: float, grid, extra=()) -> bool:
    """Whether ``value`` is one of the grid's values (or of ``extra``), up to float rounding."""
    return any(math.isclose(value, g, rel_tol=1e-9, abs_tol=1e-15) for g in (*grid, *extra))


def validate_scene(scene: Mapping[str, Any], extra_values: Mapping[str, Any] | None = None) -> None:
    """Raise ``ValueError`` with a precise message unless ``scene`` is one the page can load.

    Checks the keys, the surface and its parameters, each run's optimizer and hyperparameters
    (``optimizers.get`` must accept them and numeric ones must lie on the sliders' grids or in
    ``extra_values``), the step count, the starts, the noise, the gradient mask and the view."""
    extra_values = extra_values or {}
    if not isinstance(scene, Mapping):
        raise ValueError(f"a scene is a dict, got {type(scene).__name__}")
    unknown = set(scene) - SCENE_KEYS
    if unknown:
        raise ValueError(f"unknown scene keys {sorted(unknown)}; allowed: {sorted(SCENE_KEYS)}")
    missing = REQUIRED_KEYS - set(scene)
    if missing:
        raise ValueError(f"scene lacks {sorted(missing)}")
    name = scene["surface"]
    if name not in surfaces.names():
        raise ValueError(f"unknown surface {name!r}")
    surface = surfaces.get(name, **dict(scene.get("surface_params", {})))   # raises on bad parameters
    runs = scene["runs"]
    if not isinstance(runs, (list, tuple)) or not 1 <= len(runs) <= MAX_SCENE_RUNS:
        raise ValueError(f"a scene has 1 to {MAX_SCENE_RUNS} runs, got {runs!r}")
    labels = [r.get("label") for r in runs]
    if len(set(labels)) != len(labels) or not all(isinstance(x, str) and x for x in labels):
        raise ValueError(f"every run needs its own non-empty label, got {labels}")
    for r in runs:
        bad = set(r) - RUN_KEYS
        if bad or "optimizer" not in r:
            raise ValueError(f"run {r.get('label')!r}: keys must be among {sorted(RUN_KEYS)} "
                             f"and include 'optimizer', got {sorted(r)}")
        hyper = dict(r.get("hyper", {}))
        optimizers.get(r["optimizer"], **hyper)                              # raises on bad hyperparameters
        for key, value in hyper.items():
            if isinstance(value, bool):
                continue
            if key not in SLIDER_GRIDS or key in SCENE_SETTINGS:
                raise ValueError(f"run {r['label']!r}: the page has no slider for {key!r}")
            if not on_grid(float(value), SLIDER_GRIDS[key], extra_values.get(key, ())):
                raise ValueError(f"run {r['label']!r}: {key}={value!r} is not a slider value "
                                 f"(nor listed in EXTRA_VALUES[{key!r}])")
        k = r.get("loss_scale", 1.0)
        if isinstance(k, bool) or not (isinstance(k, (int, float)) and math.isfinite(k) and k > 0):
            raise ValueError(f"run {r['label']!r}: loss_scale must be a positive number, got {k!r}")
        if not on_grid(float(k), SLIDER_GRIDS["loss_scale"], extra_values.get("loss_scale", ())):
            raise ValueError(f"run {r['label']!r}: loss_scale={k!r} is not a slider value")
    names = [r["optimizer"] for r in runs]
    for name in set(names):
        if names.count(name) > MAX_SAME_OPTIMIZER:
            raise ValueError(f"{name} appears {names.count(name)} times; the page offers it at most "
                             f"{MAX_SAME_OPTIMIZER} times")
    steps = scene["steps"]
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_SCENE_STEPS:
        raise ValueError(f"steps must be a whole number from 1 to {MAX_SCENE_STEPS}, got {steps!r}")
    start = np.asarray(scene["start"], dtype=float)
    (x0, x1), (y0, y1) = surface.domain
    if start.shape != (2,) or not (x0 <= start[0] <= x1 and y0 <= start[1] <= y1):
        raise ValueError(f"start {scene['start']!r} is not a point inside the domain {surface.domain}")
    if scene.get("starts", "single") not in STARTS:
        raise ValueError(f"starts must be one of {STARTS}, got {scene.get('starts')!r}")
    n = scene.get("n_starts", 1)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n_starts must be a positive whole number, got {n!r}")
    for key in ("noise", "radius"):
        v = scene.get(key, 0.0)
        if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"{key} must be a number >= 0, got {v!r}")
    seed = scene.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if not on_grid(float(scene.get("noise", 0.0)), SLIDER_GRIDS["noise"], extra_values.get("noise", ())):
        raise ValueError(f"noise={scene.get('noise')!r} is not a slider value")
    keep = scene.get("grad_keep", (1.0, 1.0))
    if len(keep) != 2 or not all(0.0 <= float(p) <= 1.0 for p in keep):
        raise ValueError(f"grad_keep must be two probabilities, got {keep!r}")
    if not all(on_grid(float(p), SLIDER_GRIDS["keep"], extra_values.get("keep", ())) for p in keep):
        raise ValueError(f"grad_keep={keep!r} are not slider values")
    Schedule(scene.get("schedule", "constant"))                             # raises on an unknown kind
    if scene["view"] not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {scene['view']!r}")
    if "band_seeds" in scene:
        b = scene["band_seeds"]
        if isinstance(b, bool) or not isinstance(b, int) or not 2 <= b <= 100:
            raise ValueError(f"band_seeds must be a whole number from 2 to 100, got {b!r}")


def scene_surface(scene: Mapping[str, Any]):
    return surfaces.get(scene["surface"], **dict(scene.get("surface_params", {})))


def run_scene(scene: Mapping[str, Any], *, record_internals: bool = False, steps: int | None = None,
              seed: int | None = None, noise: float | None = None, grad_keep=None,
              start=None) -> list:
    """Run every run of a single-start scene as the page would: one Trajectory per run, in order.

    The keyword arguments override the scene's value (a check may run longer, or with other seeds)."""
    if scene.get("starts", "single") != "single":
        raise ValueError("run_scene runs single-start scenes only")
    surface = scene_surface(scene)
    out = []
    for r in scene["runs"]:
        opt = optimizers.get(r["optimizer"], **r.get("hyper", {}))
        out.append(optimizers.run(
            opt, surface, scene["start"] if start is None else start,
            scene["steps"] if steps is None else steps,
            noise=scene.get("noise", 0.0) if noise is None else noise,
            seed=scene.get("seed", 0) if seed is None else seed,
            record_internals=record_internals,
            schedule=Schedule(scene.get("schedule", "constant")),
            loss_scale=r.get("loss_scale", 1.0),
            grad_keep=scene.get("grad_keep", (1.0, 1.0)) if grad_keep is None else grad_keep))
    return out


def runs_by_label(scene: Mapping[str, Any], trajectories) -> dict:
    return {r["label"]: t for r, t in zip(scene["runs"], trajectories)}


def require_no_divergence(scene, trajectories, allowed=()) -> None:
    """The scene is meant to be shown: only the runs in ``allowed`` may diverge."""
    for r, t in zip(scene["runs"], trajectories):
        if r["label"] not in allowed:
            require(t.diverged_at[0] < 0, f"run {r['label']!r} diverged at step {int(t.diverged_at[0])}")


# ---- text -----------------------------------------------------------------------------------------------

MATH = re.compile(r"\$\$.+?\$\$|\$[^$]+?\$", re.S)


def word_count(markdown: str) -> int:
    """Words of an explanation: whitespace-separated tokens, each $…$ or $$…$$ formula counting as one."""
    return len(MATH.sub(" formula ", markdown).split())

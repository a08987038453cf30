"""The scene: everything that decides what is computed, as a frozen value built from widget state.

Widget keys double as URL query-parameter names, so a scene round-trips through a link. The key
scheme: ``surface``, ``<surface>.<param>``, ``formula``, ``xmin``…``ymax``, ``opt`` (chosen optimizer
instances), ``<instance>.<hyper>`` (e.g. ``adam-2.lr``), ``<instance>.k`` (loss scale),
``<instance>.sched``, ``x0``, ``y0``, ``starts``, ``n``, ``r``, ``steps``, ``noise``, ``seed``,
``keep_x``, ``keep_y``, ``sched`` and ``sched.<param>``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

import optimizers
import surfaces

from . import options as O

SCHEDULE_PARAMS = {"step_size": [10, 20, 50, 100, 200, 500, 1000], "gamma": [0.1, 0.2, 0.5, 0.9, 0.95, 0.99,
                   0.995, 0.999], "warmup": [10, 20, 50, 100, 200, 500, 1000]}
SCHEDULE_DEFAULTS = {"step_size": 100, "gamma": 0.5, "warmup": 100}
EXP_GAMMA_DEFAULT = 0.995
DEFAULT_DOMAIN = (-3.0, 3.0, -3.0, 3.0)
STARTS = ("single", "ring", "grid")


@dataclass(frozen=True)
class RunSpec:
    """One optimizer instance of the scene: its own settings, colour and name."""

    key: str
    name: str
    label: str
    color: str
    hyper: tuple[tuple[str, Any], ...]
    loss_scale: float = 1.0
    schedule: tuple = ("constant", ())


@dataclass(frozen=True)
class SurfaceSpec:
    name: str                      # a built-in key, or "custom"
    params: tuple = ()
    formula: str = ""
    domain: tuple | None = None    # ((x0, x1), (y0, y1)) for a custom formula


@dataclass(frozen=True)
class Scene:
    surface: SurfaceSpec
    runs: tuple[RunSpec, ...]
    start: tuple[float, float]
    starts: str = "single"
    n_starts: int = 8
    radius: float = 0.5
    steps: int = O.DEFAULT_STEPS
    noise: float = 0.0
    seed: int = 0
    grad_keep: tuple[float, float] = (1.0, 1.0)
    bands: int = 1                 # noise seeds whose loss spread the curves draw as a band

    def start_points(self) -> np.ndarray:
        x0, y0 = self.start
        if self.starts == "ring":
            a = 2 * np.pi * np.arange(self.n_starts) / self.n_starts
            return np.stack([x0 + self.radius * np.cos(a), y0 + self.radius * np.sin(a)], -1)
        if self.starts == "grid":
            side = max(1, int(math.isqrt(self.n_starts)))
            u = np.linspace(-self.radius, self.radius, side) if side > 1 else np.zeros(1)
            gx, gy = np.meshgrid(x0 + u, y0 + u)
            return np.stack([gx.ravel(), gy.ravel()], -1)
        return np.array([[x0, y0]], dtype=float)


_MARKUP = re.compile(r"[<>\[\]`*_$~\\|{}&\x00-\x1f]")


def clean_name(text) -> str:
    """A run name safe in Markdown labels and Plotly text: markup characters removed, 40 at most."""
    return _MARKUP.sub("", str(text)).strip()[:40]


# ---- defaults of every key ------------------------------------------------------------------------

def hyper_default(name: str, hyper: str):
    """The page's default for one hyperparameter, snapped onto its slider grid."""
    if hyper == "lr":
        return O.PAGE_LR[name]
    value = optimizers.variant(name).defaults[hyper]
    if isinstance(value, bool):
        return value
    return O.nearest(O.GRIDS[hyper], value) if hyper in O.GRIDS else value


def hyper_keys(instance: str) -> list[str]:
    name = O.base_name(instance)
    return ([f"{instance}.{h}" for h in optimizers.variant(name).defaults]
            + [f"{instance}.k", f"{instance}.sched", f"{instance}.name"])


def default(key: str):
    """The default value of any widget key (used for widgets and for resetting when a lesson loads)."""
    fixed = {"surface": O.DEFAULT_SURFACE, "formula": "sin(x)*cos(y) + 0.1*(x^2+y^2)", "opt": list(O.DEFAULT_OPTIMIZERS),
             "starts": "single", "n": 8, "r": 0.5, "steps": float(O.DEFAULT_STEPS), "noise": 0.0, "seed": 0.0,
             "keep_x": 1.0, "keep_y": 1.0, "sched": "constant", "projector": False, "bands": 1,
             "view": O.VIEWS[0], "lesson": "", "speed": 40,
             "xmin": DEFAULT_DOMAIN[0], "xmax": DEFAULT_DOMAIN[1], "ymin": DEFAULT_DOMAIN[2],
             "ymax": DEFAULT_DOMAIN[3]}
    if key in fixed:
        return fixed[key]
    if key in ("x0", "y0"):
        return None  # the surface's own default start
    head, _, tail = key.partition(".")
    if head == "sched":
        return EXP_GAMMA_DEFAULT if tail == "gamma" else SCHEDULE_DEFAULTS[tail]
    if head in surfaces.names():
        return next(p.default for p in surfaces.params(head) if p.name == tail)
    if tail == "k":
        return 1.0
    if tail == "sched":
        return "shared"
    if tail == "name":
        return ""
    return hyper_default(O.base_name(head), tail)


# ---- from widget state to a Scene ---------------------------------------------------------------

def _get(state: Mapping, key: str):
    return state[key] if key in state else default(key)


def schedule_of(state: Mapping, kind: str) -> tuple:
    if kind == "step":
        return ("step", (("gamma", float(_get(state, "sched.gamma"))),
                         ("step_size", float(_get(state, "sched.step_size")))))
    if kind == "exponential":
        return ("exponential", (("gamma", float(_get(state, "sched.gamma"))),))
    if kind == "warmup":
        return ("warmup", (("warmup", float(_get(state, "sched.warmup"))),))
    return (kind, ())


def surface_spec(state: Mapping) -> SurfaceSpec:
    name = _get(state, "surface")
    if name == "custom":
        dom = tuple(float(_get(state, k)) for k in ("xmin", "xmax", "ymin", "ymax"))
        return SurfaceSpec("custom", formula=str(_get(state, "formula")),
                           domain=((dom[0], dom[1]), (dom[2], dom[3])))
    params = tuple((p.name, float(_get(state, f"{name}.{p.name}"))) for p in surfaces.params(name))
    return SurfaceSpec(name, params)


def known_keys() -> set[str]:
    """Every query parameter the page may bind."""
    keys = {"surface", "formula", "xmin", "xmax", "ymin", "ymax", "opt", "x0", "y0", "starts", "n", "r",
            "steps", "noise", "seed", "keep_x", "keep_y", "bands", "sched", "sched.gamma", "sched.step_size",
            "sched.warmup", "projector", "lesson", "view", "speed", "insp_run", "insp_t"}
    keys |= {f"{n}.{p.name}" for n in surfaces.names() for p in surfaces.params(n)}
    keys |= {k for inst in O.instance_ids(optimizers.names()) for k in hyper_keys(inst)}
    return keys


def build_scene(state: Mapping, surface_start, palette, spec: SurfaceSpec | None = None) -> Scene:
    """The Scene the widget ``state`` describes. ``surface_start`` is the chosen surface's default start;
    ``spec`` overrides the surface (the last good formula when the typed one is refused)."""
    runs = []
    shared = schedule_of(state, _get(state, "sched"))
    for i, inst in enumerate(_get(state, "opt")):
        name = O.base_name(inst)
        var = optimizers.variant(name)
        hyper = tuple((h, _get(state, f"{inst}.{h}")) for h in var.defaults)
        own = _get(state, f"{inst}.sched")
        label = clean_name(_get(state, f"{inst}.name")) or O.instance_label(inst, var.label)
        runs.append(RunSpec(inst, name, label, palette[i % len(palette)], hyper,
                            float(_get(state, f"{inst}.k")), shared if own == "shared" else schedule_of(state, own)))
    x0, y0 = _get(state, "x0"), _get(state, "y0")
    start = (float(surface_start[0] if x0 is None else x0), float(surface_start[1] if y0 is None else y0))
    return Scene(spec or surface_spec(state), tuple(runs), start, _get(state, "starts"), int(_get(state, "n")),
                 float(_get(state, "r")), int(round(_get(state, "steps"))), float(_get(state, "noise")),
                 int(round(_get(state, "seed"))), (float(_get(state, "keep_x")), float(_get(state, "keep_y"))),
                 int(_get(state, "bands")))


# ---- from a lesson's scene to widget state ------------------------------------------------------

def lesson_state(scene: Mapping, current_keys=()) -> dict[str, Any]:
    """Widget values that load a lesson's scene; every other scene key goes back to its default."""
    out: dict[str, Any] = {}
    counts: dict[str, int] = {}
    chosen = []
    for run in scene.get("runs", ()):
        name = run["optimizer"]
        counts[name] = counts.get(name, 0) + 1
        inst = name if counts[name] == 1 else f"{name}-{counts[name]}"
        chosen.append(inst)
        for key in hyper_keys(inst):
            out[key] = default(key)
        for h, v in run.get("hyper", {}).items():
            out[f"{inst}.{h}"] = v
        out[f"{inst}.k"] = float(run.get("loss_scale", 1.0))
        out[f"{inst}.name"] = str(run.get("label", ""))
    for key in current_keys:     # reset what the previous scene had set
        if "." in key and key.split(".")[0] not in chosen and key not in out:
            out[key] = default(key)
    name = scene["surface"]
    out.update({"surface": name, "opt": chosen, "steps": float(scene.get("steps", O.DEFAULT_STEPS)),
                "noise": float(scene.get("noise", 0.0)), "seed": float(scene.get("seed", 0)),
                "starts": scene.get("starts", "single"), "n": max(2, min(O.MAX_STARTS, int(scene.get("n_starts", 8)))),
                "r": float(scene.get("radius", 0.5)), "sched": scene.get("schedule", "constant")})
    out["bands"] = int(scene.get("band_seeds", 1))
    keep = scene.get("grad_keep", (1.0, 1.0))
    out["keep_x"], out["keep_y"] = float(keep[0]), float(keep[1])
    for p in surfaces.params(name):
        out[f"{name}.{p.name}"] = float(scene.get("surface_params", {}).get(p.name, p.default))
    start = scene.get("start") or surfaces.get(name, **scene.get("surface_params", {})).start
    out["x0"], out["y0"] = float(start[0]), float(start[1])
    if "view" in scene:
        out["view"] = scene["view"]
    return out

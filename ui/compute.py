"""Cached pure work: surfaces, grids and runs. Each optimizer's run is keyed by its own settings, so
changing one optimizer's α recomputes only that optimizer. Caches are bounded (``max_entries``) so
memory stays flat however long the page is used."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

import optimizers
import surfaces
from optimizers.schedules import Schedule

from .scene import RunSpec, Scene, SurfaceSpec

GRID_N = 160


def _frozen(*arrays):
    """Make cached arrays read-only: one copy is shared by every session and rerun."""
    for a in arrays:
        a.flags.writeable = False


@st.cache_resource(max_entries=48, show_spinner=False)
def surface(spec: SurfaceSpec):
    """The Surface for a spec; raises surfaces.ExpressionError for a bad custom formula."""
    if spec.name == "custom":
        return surfaces.from_expression(spec.formula, domain=spec.domain)
    return surfaces.get(spec.name, **dict(spec.params))


@st.cache_resource(max_entries=48, show_spinner=False)
def grid(spec: SurfaceSpec, n: int = GRID_N):
    xs, ys, z = surface(spec).grid(n)
    z = np.nan_to_num(z, nan=np.nanmax(z[np.isfinite(z)]) if np.isfinite(z).any() else 0.0,
                      posinf=np.finfo(float).max, neginf=-np.finfo(float).max)
    _frozen(xs, ys, z)
    return xs, ys, z


@dataclass(frozen=True)
class RunData:
    path: np.ndarray
    loss: np.ndarray
    diverged_at: np.ndarray
    internals: dict          # of start 0 only: (1, steps, 2) arrays


# 64 runs: ~10 scenes of 6 optimizers; the largest a link allows (64 starts × 5,000 steps with
# internals for one start) is ~8 MB, so the worst case stays near 0.5 GB per process. A resource
# cache (shared, read-only arrays) rather than a data cache: a data cache unpickles a copy of every
# run on every rerun, ~3 ms per optimizer (measured).
@st.cache_resource(max_entries=64, show_spinner=False)
def run(spec: SurfaceSpec, name: str, hyper: tuple, loss_scale: float, schedule: tuple, starts: tuple,
        steps: int, noise: float, seed: int, keep: tuple) -> RunData:
    opt = optimizers.get(name, **dict(hyper))
    traj = optimizers.run(opt, surface(spec), np.array(starts), steps, noise=noise, seed=seed,
                          record_internals=True, schedule=Schedule(schedule[0], schedule[1]),
                          loss_scale=loss_scale, grad_keep=keep,
                          background_build=True)
    internals = {k: v[:1].copy() for k, v in traj.internals.items()}
    _frozen(traj.path, traj.loss, traj.diverged_at, *internals.values())
    return RunData(traj.path, traj.loss, traj.diverged_at, internals)


def run_of(scene: Scene, spec: RunSpec) -> RunData:
    starts = tuple(map(tuple, scene.start_points().tolist()))
    return run(scene.surface, spec.name, spec.hyper, spec.loss_scale, spec.schedule, starts, scene.steps,
               scene.noise, scene.seed, scene.grad_keep)


@st.cache_data(max_entries=64, show_spinner=False)
def band(spec: SurfaceSpec, name: str, hyper: tuple, loss_scale: float, schedule: tuple, start: tuple,
         steps: int, noise: float, seed: int, keep: tuple, seeds: int) -> np.ndarray:
    """Losses (seeds, steps+1) of one run from one start under ``seeds`` independent noise draws: one
    batch of identical starts, each row drawing its own noise."""
    opt = optimizers.get(name, **dict(hyper))
    traj = optimizers.run(opt, surface(spec), np.repeat([start], seeds, axis=0), steps, noise=noise, seed=seed,
                          schedule=Schedule(schedule[0], schedule[1]), loss_scale=loss_scale, grad_keep=keep,
                          background_build=True)
    return traj.loss


def bands(scene: Scene) -> dict:
    """Each run's loss spread over ``scene.bands`` seeds (first start), when the gradients are random."""
    if scene.bands < 2 or (scene.noise == 0 and min(scene.grad_keep) >= 1):
        return {}
    start = tuple(scene.start_points()[0].tolist())
    return {r.key: band(scene.surface, r.name, r.hyper, r.loss_scale, r.schedule, start, scene.steps, scene.noise,
                        scene.seed, scene.grad_keep, scene.bands) for r in scene.runs}


def views(scene: Scene):
    """RunView objects (plots' input) for every run of the scene."""
    from plots.data import RunView
    out = []
    for spec in scene.runs:
        d = run_of(scene, spec)
        out.append(RunView(key=spec.key, label=spec.label, color=spec.color, name=spec.name,
                           hyper=dict(spec.hyper), path=d.path, loss=d.loss, diverged_at=d.diverged_at,
                           internals=d.internals))
    return out

"""Optimizers as pure ``init``/``update`` rules over batches of K runs, and the loop that runs them.

    >>> import optimizers, surfaces
    >>> adam = optimizers.get("adam", lr=0.05)
    >>> traj = optimizers.run(adam, surfaces.get("rosenbrock"), start=(-1.5, 2.5), steps=500)
    >>> traj.path.shape, traj.final
"""
from .base import HYPERS, Optimizer, Step
from .registry import get, names, variant
from .run import MAX_RUNS, MAX_STEPS, Trajectory, run
from .schedules import Schedule

__all__ = ["get", "names", "variant", "run", "Trajectory", "Optimizer", "Step", "Schedule", "HYPERS",
           "MAX_STEPS", "MAX_RUNS"]

"""Teaching lessons: each is a scene the page loads into its controls, an explanation, and a ``check()``
that runs the core and proves the lesson's claim numerically.

    >>> import lessons
    >>> [l.key for l in lessons.all()][:2]
    ['bias-correction', 'first-step']
    >>> lesson = lessons.get("scale-invariance")
    >>> lesson.scene["view"], lesson.check()
    ('Small multiples', True)

A check returns True or raises :class:`LessonCheckFailed` (an ``AssertionError``) whose message holds the
measured numbers. ``EXTRA_VALUES`` lists the hyperparameter values the scenes use that are not on the
page's slider grids (``SLIDER_GRIDS``), so the page can add them to its slider options.
"""
from __future__ import annotations

from .adam_basics import BETA1_ZERO, BIAS_CORRECTION, FIRST_STEP, SCALE_INVARIANCE, STEP_BOUND
from .base import (SLIDER_GRIDS, VIEWS, Lesson, LessonCheckFailed, run_scene, validate_scene,
                   word_count)
from .landscapes import ADAGRAD_VS_RMSPROP, MOMENTUM_RAVINE, NOISE, SADDLE, SPARSE
from .variants import ADAMW, ANNEALING, REDDI, REDDI_BETA2

# Off-grid values the scenes need: Reddi et al.'s β2 = 1/(1 + C²) = 0.1 for C = 3.
EXTRA_VALUES: dict[str, list[float]] = {"beta2": [REDDI_BETA2]}

LESSONS: tuple[Lesson, ...] = (       # teaching order
    BIAS_CORRECTION,
    FIRST_STEP,
    STEP_BOUND,
    SCALE_INVARIANCE,
    BETA1_ZERO,
    ADAGRAD_VS_RMSPROP,
    MOMENTUM_RAVINE,
    SADDLE,
    SPARSE,
    NOISE,
    REDDI,
    ADAMW,
    ANNEALING,
)
_BY_KEY = {lesson.key: lesson for lesson in LESSONS}
assert len(_BY_KEY) == len(LESSONS), "lesson keys must be unique"


def all() -> list[Lesson]:  # noqa: A001 — the issue names it lessons.all()
    """Every lesson, in teaching order."""
    return list(LESSONS)


def keys() -> list[str]:
    """The lessons' keys, in teaching order."""
    return [lesson.key for lesson in LESSONS]


def get(key: str) -> Lesson:
    """The lesson ``key``."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown lesson {key!r}; choose from {', '.join(_BY_KEY)}") from None


# ``all`` is left out of __all__ so that ``from lessons import *`` does not hide the builtin.
__all__ = ["Lesson", "LessonCheckFailed", "EXTRA_VALUES", "SLIDER_GRIDS", "VIEWS", "get", "keys",
           "run_scene", "validate_scene", "word_count"]

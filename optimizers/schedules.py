"""Learning-rate schedules: the factor by which α is multiplied at each step t = 1 … T.

They follow torch.optim.lr_scheduler called once after every optimizer step, so step t uses the
scheduler's value at epoch t − 1: StepLR, ExponentialLR, CosineAnnealingLR (T_max = T) and LinearLR
(a linear warm-up from ``start`` to 1 over ``warmup`` steps).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

KINDS = {
    "constant": {},
    "step": {"step_size": 100.0, "gamma": 0.5},
    "exponential": {"gamma": 0.995},
    "cosine": {"eta_min": 0.0},
    "warmup": {"warmup": 100.0, "start": 0.0},
}
LATEX = {
    "constant": r"\alpha_t = \alpha",
    "step": r"\alpha_t = \alpha\,\gamma^{\lfloor (t-1)/s \rfloor}",
    "exponential": r"\alpha_t = \alpha\,\gamma^{t-1}",
    "cosine": r"\alpha_t = \eta_{\min}\alpha + (1-\eta_{\min})\,\alpha\,\tfrac12\bigl(1 + \cos\tfrac{\pi (t-1)}{T}\bigr)",
    "warmup": r"\alpha_t = \alpha\,\bigl(s_0 + (1-s_0)\min(1, (t-1)/w)\bigr)",
}


@dataclass(frozen=True)
class Schedule:
    kind: str = "constant"
    params: tuple = field(default_factory=tuple)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown schedule {self.kind!r}; choose from {', '.join(KINDS)}")
        given = dict(self.params)
        for key, value in given.items():
            if key not in KINDS[self.kind]:
                raise ValueError(f"schedule {self.kind!r} has no parameter {key!r}; "
                                 f"it takes {', '.join(KINDS[self.kind]) or 'none'}")
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise ValueError(f"schedule parameter {key} must be a finite number, got {value!r}")
        p = {**KINDS[self.kind], **given}
        if self.kind in ("step", "exponential") and not 0 < p["gamma"] <= 1:
            raise ValueError(f"schedule gamma must be in (0, 1], got {p['gamma']:g}")
        if self.kind == "step" and p["step_size"] < 1:
            raise ValueError(f"schedule step_size must be at least 1, got {p['step_size']:g}")
        if self.kind == "warmup" and (p["warmup"] < 1 or not 0 <= p["start"] <= 1):
            raise ValueError("warm-up needs warmup >= 1 step and a start factor in [0, 1]")
        if self.kind == "cosine" and not 0 <= p["eta_min"] <= 1:
            raise ValueError(f"cosine eta_min must be in [0, 1], got {p['eta_min']:g}")

    @classmethod
    def make(cls, kind: str = "constant", **params) -> "Schedule":
        return cls(kind, tuple(sorted(params.items())))

    def factors(self, steps: int) -> np.ndarray:
        """Multipliers of α for steps 1 … ``steps``."""
        p = {**KINDS[self.kind], **dict(self.params)}
        e = np.arange(steps, dtype=float)  # the scheduler's epoch during step t is t - 1
        if self.kind == "constant":
            return np.ones(steps)
        if self.kind == "step":
            return p["gamma"] ** np.floor(e / int(p["step_size"]))
        if self.kind == "exponential":
            return p["gamma"] ** e
        if self.kind == "cosine":
            return p["eta_min"] + (1 - p["eta_min"]) * (1 + np.cos(np.pi * e / max(steps, 1))) / 2
        return p["start"] + (1 - p["start"]) * np.minimum(1.0, e / p["warmup"])

    @property
    def latex(self) -> str:
        return LATEX[self.kind]

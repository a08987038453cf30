"""Lessons 11–13: where Adam's variants differ — AMSGrad on a non-stationary problem, decoupled weight
decay, and the annealing that makes Adam settle without a schedule."""
from __future__ import annotations

import numpy as np

import optimizers

from .base import (Lesson, make_scene, require, require_no_divergence, run_scene, run_spec, runs_by_label,
                   scene_surface)

# ---- 11. Non-stationary objective: Adam vs AMSGrad -------------------------------------------------------

REDDI_C = 3.0
REDDI_BETA2 = 1.0 / (1.0 + REDDI_C ** 2)      # = 0.1, the paper's β2; off the slider grid (EXTRA_VALUES)

REDDI_SCENE = make_scene(
    "reddi",
    [run_spec("adam", "Adam", lr=0.1, beta1=0.0, beta2=REDDI_BETA2),
     run_spec("amsgrad", "AMSGrad", lr=0.1, beta1=0.0, beta2=REDDI_BETA2)],
    start=(0.0, 0.0), steps=300, view="Animation", surface_params={"C": REDDI_C})


def check_reddi() -> bool:
    tr = runs_by_label(REDDI_SCENE, run_scene(REDDI_SCENE, record_internals=True))
    require_no_divergence(REDDI_SCENE, tr.values())
    adam, ams = tr["Adam"], tr["AMSGrad"]
    g = adam.internals["grad"][0, :6, 0]
    require(np.array_equal(g, [3.0, -1.0, -1.0, 3.0, -1.0, -1.0]), f"gradients of the first cycle: {g}")
    xa, xm = float(adam.final[0, 0]), float(ams.final[0, 0])
    require(xa > 0.99, f"Adam should end at the wrong end x = +1, ended at x = {xa:.4f}")
    require(xm < -0.9, f"AMSGrad should end near the optimum x = −1, ended at x = {xm:.4f}")
    require(np.all(adam.path[0, :, 1] == 0) and np.all(ams.path[0, :, 1] == 0), "y should stay 0")
    # Not a passing visit: averaged over the last ten cycles Adam sits near +1 and AMSGrad near −1.
    mean_a, mean_m = float(adam.path[0, -30:, 0].mean()), float(ams.path[0, -30:, 0].mean())
    require(mean_a > 0.9 and mean_m < -0.9,
            f"mean x over the last 30 steps: Adam {mean_a:.3f}, AMSGrad {mean_m:.3f}")
    # Why: Adam's v forgets the rare 3 within two steps; AMSGrad's running maximum keeps it.
    v = adam.internals["v"][0, -3:, 0]
    vmax = ams.internals["v_max"][0, -3:, 0]
    require(v.max() / v.min() > 5 and vmax.max() / vmax.min() < 1.01,
            f"last cycle: Adam's v = {v.round(3)}, AMSGrad's v_max = {vmax.round(3)}")
    return True


REDDI = Lesson(
    key="amsgrad-reddi",
    title="When Adam goes the wrong way: AMSGrad on Reddi's problem",
    claim="On Reddi, Kale & Kumar's online problem Adam drifts to the worst point x = +1, while AMSGrad, "
          "which divides by the running maximum of v, goes to the optimum near x = −1.",
    scene=REDDI_SCENE,
    explanation=r"""Reddi, Kale & Kumar (2018), "On the Convergence of Adam and Beyond", built a small
online problem on which Adam fails. On $x \in [-1, 1]$ the loss changes with the step: every third step
it is $f_t = C x$ with $C = 3$, on the two steps between it is $f_t = -x$. Over a cycle of three the
total is $(C - 2)\, x = x$, so the best fixed point is $x = -1$.

The gradients run $3, -1, -1, 3, -1, -1, \dots$: the rare large one points the right way, the frequent
small ones the wrong way. Take $\beta_1 = 0$ and the paper's short memory
$\beta_2 = 1/(1 + C^2) = 0.1$. Adam divides each gradient by $\sqrt{\hat v_t}$, which jumps when the 3
arrives and has forgotten it two steps later. So the right-way step is about α, and so is each of the
two wrong-way steps: per cycle Adam goes two steps the wrong way and one the right way, and it ends at
$x = +1$, the worst point.

AMSGrad changes one line. It divides by the running maximum,

$$v^{\max}_t = \max\big(v^{\max}_{t-1},\, v_t\big),$$

so the large gradient is remembered, the wrong-way steps stay small, and AMSGrad moves toward the
optimum and ends near $x = -1$. After every step the point is clipped back into $[-1, 1]$. The value
$\beta_2 = 0.1$ is off the usual slider values; it is what the paper's construction needs.""",
    look_at="Play the animation: both points start at x = 0; Adam's drifts right to the edge x = +1, "
            "AMSGrad's left toward x = −1, each hopping back and forth within every cycle of three steps.",
    check=check_reddi,
)


# ---- 12. AdamW vs Adam with L2 ------------------------------------------------------------------------------

WD = 0.5
WD_ALPHA = 0.05
WD_KAPPA = 100.0
WD_SCENE = make_scene(
    "offset_bowl",
    [run_spec("adam", "Adam, no decay", lr=WD_ALPHA),
     run_spec("adam", "Adam + L2, λ = 0.5", lr=WD_ALPHA, weight_decay=WD),
     run_spec("adamw", "AdamW, λ = 0.5", lr=WD_ALPHA, weight_decay=WD)],
    start=(-2.0, -2.0), steps=500, view="Contour", surface_params={"condition": WD_KAPPA})


def check_adamw() -> bool:
    tr = runs_by_label(WD_SCENE, run_scene(WD_SCENE, record_internals=True))
    require_no_divergence(WD_SCENE, tr.values())
    plain, l2, w = tr["Adam, no decay"], tr["Adam + L2, λ = 0.5"], tr["AdamW, λ = 0.5"]
    require(np.allclose(plain.final[0], [1.5, 1.5], atol=1e-3), f"Adam without decay ends at {plain.final[0]}")
    # Adam + L2 converges to the minimum of f + λ/2 |θ|²: (1.5 κ/(κ + λ), 1.5/(1 + λ)) = (1.4925, 1.0).
    target = np.array([1.5 * WD_KAPPA / (WD_KAPPA + WD), 1.5 / (1 + WD)])
    require(np.allclose(l2.final[0], target, atol=2e-3),
            f"Adam + L2 ends at {l2.final[0].round(4)}, expected the L2 minimum {target.round(4)}")
    # AdamW treats both coordinates alike: its path stays on the diagonal x = y.
    off = float(np.abs(w.path[0, :, 0] - w.path[0, :, 1]).max())
    require(off < 1e-6, f"AdamW's path leaves the diagonal by up to {off:.2e}")
    require(np.abs(w.final[0] - l2.final[0]).max() > 0.2,
            f"AdamW ({w.final[0].round(4)}) and Adam + L2 ({l2.final[0].round(4)}) should end apart")
    # AdamW's decay: each step first multiplies θ by (1 − αλ), whatever the gradients, in both coordinates.
    I = w.internals
    adam_part = -WD_ALPHA * I["m_hat"][0] / (np.sqrt(I["v_hat"][0]) + 1e-8)
    decay = I["update"][0] - adam_part
    want = -WD_ALPHA * WD * w.path[0, :-1]
    err = float(np.max(np.abs(decay - want)) / (WD_ALPHA * WD))
    require(err < 1e-9, f"AdamW's decay differs from −αλθ by up to {err:.2e} (in units of αλ)")
    # Adam + L2's decay goes through the division by √v̂: per coordinate its rate is αλ/(√v̂ + ε),
    # about κ = 100 times weaker in the steep x than in y by the end.
    vh = l2.internals["v_hat"][0, -100:]
    rate = (WD_ALPHA * WD / (np.sqrt(vh) + 1e-8)).mean(axis=0)
    require(rate[1] / rate[0] > 20,
            f"Adam + L2's effective decay rate per step: x {rate[0]:.2e}, y {rate[1]:.2e} "
            f"(ratio {rate[1] / rate[0]:.1f}); AdamW's is αλ = {WD_ALPHA * WD} in both")
    # The loss's scale: AdamW's path does not change for 1000·f; Adam + L2's decay is drowned.
    s = optimizers.run(optimizers.get("adamw", lr=WD_ALPHA, weight_decay=WD),
                       scene_surface(WD_SCENE), WD_SCENE["start"], WD_SCENE["steps"],
                       loss_scale=1000.0)
    gap = float(np.abs(s.path[0] - w.path[0]).max())
    require(gap < 1e-6, f"AdamW on 1000·f moves off its path by up to {gap:.2e}")
    l2k = run_scene({**WD_SCENE, "runs": [{**WD_SCENE["runs"][1], "loss_scale": 1000.0}]})[0]
    require(abs(l2k.final[0, 1] - 1.5) < 0.01 and abs(l2.final[0, 1] - 1.0) < 0.01,
            f"Adam + L2 ends at y = {l2.final[0, 1]:.4f} for f but y = {l2k.final[0, 1]:.4f} for 1000·f")
    return True


ADAMW = Lesson(
    key="adamw-vs-l2",
    title="AdamW: weight decay that Adam's division does not touch",
    claim="Adam with an L2 term divides the decay by √v̂, so it is drowned in steep directions and strong in "
          "gentle ones, while AdamW shrinks every coordinate by the same factor (1 − αλ) per step, "
          "whatever the gradient's scale.",
    scene=WD_SCENE,
    explanation=r"""Weight decay pulls parameters toward zero to keep them small. There are two ways to
add it to Adam. *Adam with L2* adds $\lambda\theta$ to the gradient, so the pull goes through Adam's
division:

$$g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}, \qquad
\Delta\theta_t = -\alpha\, \frac{\hat m_t}{\sqrt{\hat v_t} + \varepsilon}.$$

In a steep direction $\hat v_t$ is large and the pull is divided down to almost nothing; in a gentle
direction it is divided by little. *AdamW* (Loshchilov & Hutter, 2019) decouples the decay: each step
first shrinks every coordinate by the same factor $(1 - \alpha\lambda)$, then takes Adam's step on $f$
alone.

This bowl is 100 times steeper in x than in y, its minimum is at (1.5, 1.5), and $\lambda = 0.5$. Adam
with L2 settles at the minimum of $f + \tfrac{\lambda}{2}|\theta|^2$: x stays at 1.49, the decay drowned
by the steep gradient, while y is pulled to 1.0. AdamW treats both coordinates alike: its path runs
along the diagonal $x = y$. Plain Adam goes to (1.5, 1.5).

The same holds for the loss's scale: multiply $f$ by 1000 and Adam with L2 all but forgets its decay,
while AdamW's path does not change, so λ means the same whatever the loss's scale. (AdamW has no fixed resting
point here: as $\hat v$ forgets the large early gradients, its point keeps creeping slowly on.)""",
    look_at="On the contour, AdamW's path stays on the diagonal x = y while Adam + L2 ends low in y but "
            "almost at 1.5 in x; plain Adam ends at the minimum (1.5, 1.5).",
    check=check_adamw,
)


# ---- 13. Automatic annealing ------------------------------------------------------------------------------

ANNEAL_SCENE = make_scene(
    "bowl",
    [run_spec("adam", "Adam, α = 0.05", lr=0.05), run_spec("lion", "Lion, α = 0.05", lr=0.05)],
    start=(-2.5, 2.0), steps=1000, view="Internals", surface_params={"condition": 10.0, "rotation": 30.0})


def check_annealing() -> bool:
    tr = runs_by_label(ANNEAL_SCENE, run_scene(ANNEAL_SCENE, record_internals=True))
    require_no_divergence(ANNEAL_SCENE, tr.values())
    adam, lion = tr["Adam, α = 0.05"], tr["Lion, α = 0.05"]
    I = adam.internals
    ratio = (np.abs(I["m_hat"][0]) / (np.sqrt(I["v_hat"][0]) + 1e-8)).max(axis=-1)   # per step
    early, late = float(ratio[:20].mean()), float(ratio[-100:].mean())
    mid = float(ratio[100:200].mean())
    require(early > 0.9 and 0.01 < mid < 0.05 and late < 1e-8,
            f"|m̂|/√v̂: mean {early:.3f} over the first 20 steps, {mid:.3f} over steps 100–200, "
            f"{late:.2e} over the last 100; expected > 0.9, about 0.03, < 1e-8")
    step_late = float(np.abs(I["update"][0, -100:]).max())
    require(step_late < 1e-3 * 0.05, f"Adam's late steps reach {step_late:.2e}, not ≪ α")
    require(adam.final_loss[0] < 1e-15, f"Adam's final loss {adam.final_loss[0]:.2e}")
    g = I["grad"][0, 100:]
    flips = int(np.sum(np.sign(g[1:]) != np.sign(g[:-1])))
    require(flips == 0, f"after step 100 the gradient should keep its sign; it flips {flips} times")
    # Without either memory (β1 = 0, β2 = 0.9) the ratio stays near 1 and Adam does not settle.
    bare = optimizers.run(optimizers.get("adam", lr=0.05, beta1=0.0, beta2=0.9), scene_surface(ANNEAL_SCENE),
                          ANNEAL_SCENE["start"], ANNEAL_SCENE["steps"], record_internals=True)
    J = bare.internals
    r_bare = float((np.abs(J["m_hat"][0, -100:]) / (np.sqrt(J["v_hat"][0, -100:]) + 1e-8)).max(-1).mean())
    require(r_bare > 0.5 and bare.final_loss[0] > 1e-3,
            f"Adam with β1 = 0, β2 = 0.9: late ratio {r_bare:.3f}, final loss {bare.final_loss[0]:.2e}; "
            f"expected it not to anneal")
    # Lion's sign step has no size to shrink: still exactly α per coordinate, hopping around the minimum.
    u = np.abs(lion.internals["update"][0, -100:])
    require(np.allclose(u, 0.05, rtol=1e-12), f"Lion's late steps range {u.min():.4f} … {u.max():.4f}")
    lf = float(lion.loss[0, -100:].mean())
    require(1e-3 < lf < 0.05,
            f"Lion's loss over the last 100 steps averages {lf:.2e}; expected it to hover around 0.01")
    return True


ANNEALING = Lesson(
    key="automatic-annealing",
    title="Automatic annealing: Adam slows down on its own",
    claim="Near the optimum Adam's ratio |m̂|/√v̂ falls toward 0 — m̂ follows the shrinking gradient while v̂ "
          "still remembers larger ones — so its steps shrink without any schedule, while Lion's sign-based "
          "steps stay exactly α.",
    scene=ANNEAL_SCENE,
    explanation=r"""Gradient descent with a constant step settles because the gradient itself shrinks
near a minimum. Adam divides that shrinking away, so why does it settle at all? Because of the ratio

$$\frac{|\hat m_t|}{\sqrt{\hat v_t}},$$

which sets each step as a fraction of α. Far from the minimum successive gradients agree, the ratio is
close to 1, and Adam takes full steps. Near the minimum two things pull it down. The gradient shrinks,
and $\hat m_t$, with its short memory ($\beta_1 = 0.9$, about 10 steps), follows it down, while
$\hat v_t$, with its long memory ($\beta_2 = 0.999$, about 1,000 steps), still holds the larger
gradients of the approach. And where gradients flip sign, from overshooting or from noise, $\hat m_t$
averages them away while the squares in $\hat v_t$ cannot cancel. Kingma & Ba (2015) call this
automatic annealing.

On this bowl the gradient keeps its sign after step 100, so the first effect does the work: the ratio
is above 0.9 during the first 20 steps, about 0.03 by steps 100 to 200, and below $10^{-8}$ over the
last 100 of 1,000 steps. The loss falls below $10^{-15}$ with a constant $\alpha = 0.05$.

Lion steps by α times the *sign* of its momentum, and a sign has no size that could shrink: Lion keeps
stepping exactly α and ends hopping around the minimum, its loss stuck around 0.01. Adam with
$\beta_1 = 0$ and $\beta_2 = 0.9$, which has neither memory, does much the same.""",
    look_at="In Internals, compare Adam's m̂ with √v̂: m̂ follows the gradient down toward 0 while √v̂ "
            "decays slowly, and Adam's updates shrink with their ratio; Lion's updates stay at ±0.05.",
    check=check_annealing,
)

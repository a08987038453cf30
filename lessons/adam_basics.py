"""Lessons 1–5: what Adam's step is made of — bias correction, the size of a step, scale invariance and
its relation to RMSprop."""
from __future__ import annotations

import math

import numpy as np

import optimizers
import surfaces
from optimizers.base import Step
from surfaces.base import X, Y, Surface

from .base import Lesson, make_scene, require, require_no_divergence, run_scene, run_spec, runs_by_label

ADAM_EPS = 1e-8


def plane(gx: float = 3.0, gy: float = -0.5) -> Surface:
    """f = gx·x + gy·y: the gradient is the same everywhere (a check-only surface, not in the catalog)."""
    return Surface(name="plane", label="Plane", expr=gx * X + gy * Y, domain=((-5, 5), (-5, 5)),
                   minima=np.zeros((0, 2)), f_min=-math.inf, start=(0.0, 0.0))


def bias_factor(beta1, beta2, t):
    """How much larger an uncorrected Adam step is than the corrected one, for the same gradients."""
    return (1 - beta1 ** t) / np.sqrt(1 - beta2 ** t)


# ---- 1. Bias correction ---------------------------------------------------------------------------------

BIAS_SCENE = make_scene(
    "bowl", [run_spec("adam", "Adam", lr=0.05),
             run_spec("adam", "Adam, no bias correction", lr=0.05, bias_correction=False)],
    start=(-2.5, 1.0), steps=200, view="Internals", surface_params={"condition": 10.0, "rotation": 0.0})


def check_bias_correction() -> bool:
    # The worked number: β1 = 0.2 and a first gradient of 10 give m1 = 8 and m̂1 = 10.
    bowl = surfaces.get("bowl", condition=10.0, rotation=0.0)
    one = optimizers.run(optimizers.get("adam", lr=0.05, beta1=0.2), bowl, (-2.5, 1.0), 1,
                         record_internals=True)
    g1, m1, mh1 = (float(one.internals[k][0, 0, 1]) for k in ("grad", "m", "m_hat"))
    require(g1 == 10.0 and abs(m1 - 8.0) < 1e-12 and abs(mh1 - 10.0) < 1e-12,
            f"worked number: with β1 = 0.2 and g = {g1:g} expected m1 = 8, m̂1 = 10; got m1 = {m1!r}, "
            f"m̂1 = {mh1!r}")

    # The scene: at step 1 the y-gradient is 10, m = 1 and m̂ = 10, v = 0.1 and v̂ = 100.
    tr = runs_by_label(BIAS_SCENE, run_scene(BIAS_SCENE, record_internals=True))
    require_no_divergence(BIAS_SCENE, tr.values())
    corr, raw = tr["Adam"], tr["Adam, no bias correction"]
    first = {k: float(corr.internals[k][0, 0, 1]) for k in ("grad", "m", "m_hat", "v", "v_hat")}
    want = {"grad": 10.0, "m": 1.0, "m_hat": 10.0, "v": 0.1, "v_hat": 100.0}
    require(all(math.isclose(first[k], want[k], rel_tol=1e-9) for k in want),
            f"scene, step 1 in y: expected {want}, measured {first}")

    # Over the first 50 steps: m̂ = m / (1 − β1^t) and v̂ = v / (1 − β2^t), so |m̂| ≥ |m| and v̂ ≥ v.
    t = np.arange(1, 51)[:, None]
    I = corr.internals
    m, mh, v, vh = (I[k][0, :50] for k in ("m", "m_hat", "v", "v_hat"))
    err_m = np.max(np.abs(mh * (1 - 0.9 ** t) - m) / np.maximum(np.abs(m), 1e-300))
    err_v = np.max(np.abs(vh * (1 - 0.999 ** t) - v) / np.maximum(np.abs(v), 1e-300))
    require(err_m < 1e-9 and err_v < 1e-9,
            f"m̂ = m/(1−β1^t) and v̂ = v/(1−β2^t) over 50 steps: relative errors {err_m:.2e}, {err_v:.2e}")
    require(np.all(np.abs(mh) >= np.abs(m)) and np.all(vh >= v), "the corrected averages are not larger")
    ratio_m_50, ratio_v_50 = float(mh[-1, 1] / m[-1, 1]), float(vh[-1, 1] / v[-1, 1])
    require(ratio_m_50 < 1.01 and ratio_v_50 > 15,
            f"at step 50 m's correction should have faded (m̂/m = {ratio_m_50:.4f}) while v's is still "
            f"large (v̂/v = {ratio_v_50:.1f})")

    # Without correction the steps have the wrong size: × (1−β1^t)/√(1−β2^t) — 3.2 at t = 1 with the
    # defaults, about 6.5 around t = 10 and above 3 at t = 100 (a plane keeps the gradient fixed).
    steps = np.array([1, 10, 100])
    p = plane()
    a = optimizers.run(optimizers.get("adam", lr=0.01), p, (0.0, 0.0), 100, record_internals=True)
    b = optimizers.run(optimizers.get("adam", lr=0.01, bias_correction=False), p, (0.0, 0.0), 100,
                       record_internals=True)
    ratio = np.abs(b.internals["update"][0, steps - 1, 0] / a.internals["update"][0, steps - 1, 0])
    want_ratio = bias_factor(0.9, 0.999, steps)
    require(np.allclose(ratio, want_ratio, rtol=1e-6) and ratio[0] > 3 and 6.4 < ratio[1] < 6.6 and ratio[2] > 3,
            f"uncorrected/corrected step on a plane at t = 1, 10, 100: measured {ratio.round(3)}, "
            f"expected {want_ratio.round(3)}")
    # … and the other way round when β2 is small and β1 large (β1 = 0.99, β2 = 0.9: ≈ 0.03 at t = 1).
    c = optimizers.run(optimizers.get("adam", lr=0.01, beta1=0.99, beta2=0.9, bias_correction=False),
                       p, (0.0, 0.0), 1, record_internals=True)
    small = abs(float(c.internals["update"][0, 0, 0])) / 0.01
    require(math.isclose(small, bias_factor(0.99, 0.9, 1), rel_tol=1e-6) and small < 0.05,
            f"β1 = 0.99, β2 = 0.9 without correction: first step / α = {small:.4f}, expected 0.0316")

    # In the scene: the first uncorrected step is 3.16 α per coordinate, and the first 50 steps are
    # on average more than twice as long as the corrected ones.
    u_raw = np.abs(raw.internals["update"][0, 0])
    require(np.allclose(u_raw, 0.05 * bias_factor(0.9, 0.999, 1), rtol=1e-6),
            f"scene: first uncorrected step {u_raw} should be 0.05 × 3.162 = 0.158 in each coordinate")
    mean_raw = float(np.linalg.norm(raw.internals["update"][0, :50], axis=-1).mean())
    mean_corr = float(np.linalg.norm(corr.internals["update"][0, :50], axis=-1).mean())
    require(mean_raw > 2 * mean_corr,
            f"scene: mean step over 50 steps without correction {mean_raw:.4f} vs with {mean_corr:.4f}")
    return True


BIAS_CORRECTION = Lesson(
    key="bias-correction",
    title="Bias correction: why Adam divides by 1 − βᵗ",
    claim="Adam's running averages m and v start at zero, so their early values are biased toward zero; "
          "dividing by 1 − β₁ᵗ and 1 − β₂ᵗ removes the bias, and without it the early steps come out the "
          "wrong size — with the default β's three to six and a half times too large.",
    scene=BIAS_SCENE,
    explanation=r"""Adam keeps two running averages of the gradient $g_t$: the momentum
$m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t$ and the mean square $v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2$.
Both start at $m_0 = v_0 = 0$, so at first they are mostly that zero.

A worked number: with $\beta_1 = 0.2$ and a first gradient $g_1 = 10$,
$m_1 = 0.2 \cdot 0 + 0.8 \cdot 10 = 8$, although the only gradient seen so far was 10. The fix divides by
the total weight the average has collected:

$$\hat m_t = \frac{m_t}{1-\beta_1^t}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^t},$$

so $\hat m_1 = 8 / 0.8 = 10$. As $t$ grows, $\beta^t$ goes to 0 and the correction fades.

The step uses $\hat m_t / \sqrt{\hat v_t}$, so without correction it is off by the factor
$(1-\beta_1^t)/\sqrt{1-\beta_2^t}$. The two biases do not cancel. With the defaults $\beta_1 = 0.9$ and
$\beta_2 = 0.999$ the factor is $0.1/\sqrt{0.001} \approx 3.2$ at the first step, about 6.5 around step
10, and still above 3 at step 100, because $v$ forgets so slowly: the uncorrected steps are too *large*.
With a small $\beta_2$ and a large $\beta_1$ the factor would be below 1 instead, and the early steps
too small. Bias correction makes the step size right from the start, whatever the β's.""",
    look_at="In Internals, compare m with m̂ and v with v̂ over the first steps: the y-gradient at the "
            "start is 10, so m = 1 but m̂ = 10, and v = 0.1 but v̂ = 100. Then compare the updates: "
            "the run without correction takes steps three to six times longer at first.",
    check=check_bias_correction,
)


# ---- 2. The first step is α -----------------------------------------------------------------------------

FIRST_STEP_SCENE = make_scene(
    "rosenbrock", [run_spec("adam", "Adam, α = 0.1", lr=0.1), run_spec("sgd", "SGD, α = 0.001", lr=0.001)],
    start=(-1.5, 2.5), steps=100, view="Step inspector")


def check_first_step() -> bool:
    # Step 1 on several surfaces, starts and α: Δθ = −α g / (|g| + ε) in each coordinate.
    alphas = np.array([1e-3, 1e-2, 0.1, 1.0])
    rng = np.random.default_rng(7)
    worst, tiny, huge = 0.0, np.inf, 0.0
    for name in ("rosenbrock", "bowl", "himmelblau", "goldstein_price", "beale"):
        s = surfaces.get(name)
        (x0, x1), (y0, y1) = s.domain
        starts = np.vstack([s.start, np.column_stack([rng.uniform(x0, x1, 2), rng.uniform(y0, y1, 2)])])
        xy = np.repeat(starts, len(alphas), axis=0)
        lr = np.tile(alphas, len(starts))
        tr = optimizers.run(optimizers.get("adam", lr=lr), s, xy, 1, record_internals=True)
        g = tr.internals["grad"][:, 0]
        want = -lr[:, None] * g / (np.abs(g) + ADAM_EPS)
        got = tr.internals["update"][:, 0]
        worst = max(worst, float(np.max(np.abs(got - want) / lr[:, None])))
        tiny, huge = min(tiny, float(np.abs(g).min())), max(huge, float(np.abs(g).max()))
        ok = np.abs(g) > 1e-4
        require(np.allclose(np.abs(got[ok]) / np.broadcast_to(lr[:, None], got.shape)[ok], 1.0, rtol=1e-4),
                f"{name}: first steps / α = {np.abs(got[ok]) / np.broadcast_to(lr[:, None], got.shape)[ok]}")
    require(worst < 1e-12, f"first step differs from −α g/(|g|+ε) by up to {worst:.2e} α")
    require(huge / tiny > 1e3, f"the gradients tried span only {tiny:.3g} … {huge:.3g}")

    # While the gradient stays the same (a plane), every step is α: m̂_t = g and v̂_t = g² exactly.
    for beta1, beta2 in ((0.9, 0.999), (0.5, 0.99), (0.0, 0.9)):
        tr = optimizers.run(optimizers.get("adam", lr=0.01, beta1=beta1, beta2=beta2), plane(),
                            (0.0, 0.0), 20, record_internals=True)
        r = np.abs(tr.internals["update"][0]) / 0.01
        require(np.allclose(r, 1.0, rtol=1e-6),
                f"constant gradient, β = ({beta1}, {beta2}): steps / α over 20 steps range "
                f"{r.min():.6f} … {r.max():.6f}, expected 1")

    # The scene: Adam's first step is (−0.1, −0.1) although the gradient is (145, 50); SGD's is −α g.
    adam, sgd = run_scene(FIRST_STEP_SCENE, record_internals=True)
    require_no_divergence(FIRST_STEP_SCENE, (adam, sgd))
    g = adam.internals["grad"][0, 0]
    da, ds = adam.internals["update"][0, 0], sgd.internals["update"][0, 0]
    require(np.allclose(g, [145.0, 50.0]) and np.allclose(da, [-0.1, -0.1], rtol=1e-9)
            and np.allclose(ds, [-0.145, -0.05]),
            f"scene step 1: gradient {g}, Adam step {da}, SGD step {ds}")
    return True


FIRST_STEP = Lesson(
    key="first-step",
    title="Adam's first step is α",
    claim="With bias correction, Adam's first step moves every coordinate by α·g/(|g| + ε) — that is by α, "
          "whatever the size of the gradient — and so does every later step as long as the gradient "
          "stays the same.",
    scene=FIRST_STEP_SCENE,
    explanation=r"""At step 1, $m_1 = (1-\beta_1)\, g_1$ and $v_1 = (1-\beta_2)\, g_1^2$. Bias correction
divides them by $1-\beta_1$ and $1-\beta_2$, so $\hat m_1 = g_1$ and $\hat v_1 = g_1^2$, and the first
update is

$$\Delta\theta_1 = -\alpha\, \frac{g_1}{|g_1| + \varepsilon}.$$

Because $\varepsilon = 10^{-8}$ is tiny, this is α times minus the *sign* of the gradient, in each
coordinate separately: the first step moves x by α and y by α, whether the gradient is 0.001 or 1000.
It follows the signs of the gradient, not its direction, so it is diagonal.

Gradient descent is different: its step $-\alpha\, g$ is proportional to the gradient. At this start on
Rosenbrock's function the gradient is $(145, 50)$, so SGD with $\alpha = 0.001$ steps
$(-0.145, -0.05)$, while Adam with $\alpha = 0.1$ steps exactly $(-0.1, -0.1)$.

The same holds later whenever the gradient does not change: then $\hat m_t = g$ and
$\hat v_t = g^2$ exactly, and every step is α again. This is why Adam's α reads as a distance — roughly
how far each coordinate moves per step — while SGD's α is a distance per unit of gradient.""",
    look_at="In the Step inspector at step 1, compare the gradient with each run's step: Adam moves "
            "exactly 0.1 in x and 0.1 in y although the gradient is three times larger in x, while "
            "SGD's step is the gradient times 0.001.",
    check=check_first_step,
)


# ---- 3. Steps are roughly bounded by α -----------------------------------------------------------------

STEP_BOUND_SCENE = make_scene(
    "goldstein_price", [run_spec("adam", "Adam, α = 0.02", lr=0.02), run_spec("sgd", "SGD, α = 1e-5", lr=1e-5)],
    start=(1.0, 1.5), steps=500, view="Step inspector")

BOUND_BETAS = ((0.9, 0.999), (0.0, 0.999), (0.5, 0.99), (0.9, 0.9999))


def kingma_ba_bound(beta1, beta2):
    return np.maximum(1.0, (1 - np.asarray(beta1)) / np.sqrt(1 - np.asarray(beta2)))


def check_step_bound() -> bool:
    # Long runs on several surfaces, for β's whose bound is above 1: no step beyond α·max(1, (1−β1)/√(1−β2)),
    # and with the defaults 99 % of the steps are at most about α while the largest are about α.
    b1 = np.array([b[0] for b in BOUND_BETAS])
    b2 = np.array([b[1] for b in BOUND_BETAS])
    bound = kingma_ba_bound(b1, b2)
    for name in ("rosenbrock", "beale", "goldstein_price", "himmelblau", "ravine", "ackley"):
        s = surfaces.get(name)
        lr = 0.005 * s.span
        tr = optimizers.run(optimizers.get("adam", lr=lr, beta1=b1, beta2=b2), s,
                            np.tile(s.start, (len(b1), 1)), 2000, record_internals=True)
        require((tr.diverged_at < 0).all(), f"{name}: a run diverged")
        r = np.abs(tr.internals["update"]) / lr                       # (K, steps, 2) in units of α
        top = r.max(axis=(1, 2))
        require(np.all(top <= bound * (1 + 1e-9)),
                f"{name}: largest step / α {top.round(3)} beyond the bound {bound.round(2)}")
        p99 = float(np.percentile(r[0], 99))
        require(p99 <= 1.2 and 0.99 <= top[0],
                f"{name}, default β's: 99th percentile of step / α = {p99:.3f}, largest {top[0]:.3f}; "
                f"expected steps of about α at most")
    # The rule of thumb is not a theorem: on Himmelblau with α = 0.05 growing gradients reach 1.27 α.
    s = surfaces.get("himmelblau")
    tr = optimizers.run(optimizers.get("adam", lr=0.05), s, s.start, 2000, record_internals=True)
    top = float(np.abs(tr.internals["update"]).max() / 0.05)
    require(1.1 < top < 1.5, f"Himmelblau, α = 0.05: largest step / α = {top:.3f}, expected about 1.27")

    # The scene: the gradient spans about 5 … 76,000, Adam's steps never exceed α = 0.02, SGD's follow
    # the gradient over many orders of magnitude.
    adam, sgd = run_scene(STEP_BOUND_SCENE, record_internals=True)
    require_no_divergence(STEP_BOUND_SCENE, (adam, sgd))
    g = np.abs(adam.internals["grad"][0])
    ua = np.abs(adam.internals["update"][0])
    us = np.abs(sgd.internals["update"][0])
    require(g.max() > 5e4 and g.min() < 10, f"scene: gradient spans {g.min():.3g} … {g.max():.3g}")
    require(ua.max() <= 0.02 * (1 + 1e-9) and ua.max() > 0.0199,
            f"scene: Adam's largest step {ua.max():.5f}, expected α = 0.02")
    require(us.max() > 0.5 and us.max() / us[us > 0].min() > 1e6,
            f"scene: SGD's steps span {us[us > 0].min():.3g} … {us.max():.3g}")
    require(abs(us[0].max() - 0.76) < 0.01, f"scene: SGD's first step is {us[0]}, expected 0.76 in y")
    return True


STEP_BOUND = Lesson(
    key="step-bound",
    title="Adam's steps are roughly bounded by α",
    claim="Adam's step in each coordinate is roughly bounded by α whatever the size of the gradient: "
          "almost every step is at most about α, and none in these runs exceeds Kingma & Ba's bound "
          "α·max(1, (1 − β₁)/√(1 − β₂)).",
    scene=STEP_BOUND_SCENE,
    explanation=r"""Adam's step in one coordinate is
$\Delta\theta_t = -\alpha\, \hat m_t / (\sqrt{\hat v_t} + \varepsilon)$. Its size depends on the ratio
$|\hat m_t| / \sqrt{\hat v_t}$, not on how large the gradients are: multiply every gradient by 1000 and
the ratio is unchanged.

When recent gradients agree in sign and size, $\hat m_t \approx g$ and $\sqrt{\hat v_t} \approx |g|$, so
the step is about α. When they flip sign, as near a minimum, $\hat m_t$ averages them away and the step
is much smaller. So α works like a speed limit that Adam reaches on open slopes.

Kingma & Ba (2015) give the bound

$$|\Delta\theta_t| \lesssim \alpha \cdot \max\Big(1,\ \frac{1-\beta_1}{\sqrt{1-\beta_2}}\Big).$$

The second term matters when $\beta_1$ is small: a sudden large gradient after a long calm enters
$\hat m$ with weight $1-\beta_1$ but $\sqrt{\hat v}$ only with $\sqrt{1-\beta_2}$. With the defaults it
is $0.1/\sqrt{0.001} \approx 3.2$. The bound is a rule of thumb, not a theorem: gradients that keep
growing step after step can push a step a little past α (on Himmelblau with α = 0.05 we measured
1.27 α).

On Goldstein–Price the gradient along Adam's path ranges from about 5 to 76,000. SGD's steps follow
it over many orders of magnitude — its first step jumps 0.76 — while Adam's never exceed α = 0.02.""",
    look_at="Step through the Step inspector and watch the gradient and the step of each run: the "
            "gradient changes by thousands, SGD's step with it, while Adam's step stays at or below "
            "0.02 in each coordinate.",
    check=check_step_bound,
)


# ---- 4. Scale invariance --------------------------------------------------------------------------------

SCALE_SCENE = make_scene(
    "rosenbrock",
    [run_spec("adam", "Adam, f", lr=0.05, loss_scale=1.0),
     run_spec("adam", "Adam, 1000·f", lr=0.05, loss_scale=1000.0),
     run_spec("sgd", "SGD, f", lr=0.001, loss_scale=1.0),
     run_spec("sgd", "SGD, 1000·f", lr=0.001, loss_scale=1000.0)],
    start=(-1.5, 2.5), steps=500, view="Small multiples")


def check_scale_invariance() -> bool:
    tr = runs_by_label(SCALE_SCENE, run_scene(SCALE_SCENE))
    require_no_divergence(SCALE_SCENE, tr.values(), allowed=("SGD, 1000·f",))
    span = surfaces.get("rosenbrock").span
    gap = float(np.abs(tr["Adam, f"].path - tr["Adam, 1000·f"].path).max())
    require(gap < 1e-8 and gap / span < 1e-6,
            f"Adam on f and on 1000·f: paths differ by up to {gap:.3e} (span {span:g})")
    moved = float(np.linalg.norm(tr["Adam, f"].path[0, -1] - tr["Adam, f"].path[0, 0]))
    require(moved > 1.0, f"Adam barely moved ({moved:.3f}): the comparison would say nothing")
    d = int(tr["SGD, 1000·f"].diverged_at[0])
    require(d == 2, f"SGD on 1000·f should leave the picture at step 2, diverged_at = {d}")
    require(tr["SGD, f"].final_loss[0] < tr["SGD, f"].loss[0, 0],
            "SGD on f itself should make progress")
    # k = 1/1000 makes the gradients small enough for ε to show, but only at the level of 1e-6.
    r = surfaces.get("rosenbrock")
    small = optimizers.run(optimizers.get("adam", lr=0.05), r, SCALE_SCENE["start"], SCALE_SCENE["steps"],
                           loss_scale=1e-3)
    gap_s = float(np.abs(small.path - tr["Adam, f"].path).max())
    require(1e-8 < gap_s < 1e-5, f"Adam on f/1000: paths differ by up to {gap_s:.2e}, expected about 1e-6")
    # Not only Rosenbrock: Himmelblau with k = 1/1000 and 1000.
    s = surfaces.get("himmelblau")
    k = np.array([1.0, 1e-3, 1e3])
    h = optimizers.run(optimizers.get("adam", lr=0.05), s, np.tile(s.start, (3, 1)), 300, loss_scale=k)
    gap_h = float(np.abs(h.path - h.path[:1]).max())
    require(gap_h / s.span < 1e-6,
            f"Himmelblau: Adam's paths for k = 1, 1e-3, 1e3 differ by up to {gap_h:.3e} (span {s.span:g})")
    return True


SCALE_INVARIANCE = Lesson(
    key="scale-invariance",
    title="Multiply the loss by 1000: Adam does not notice",
    claim="Adam takes the same path on f and on 1000·f (up to the tiny ε), while SGD's steps grow a "
          "thousandfold and fly off.",
    scene=SCALE_SCENE,
    explanation=r"""Scaling a loss happens all the time: averaging instead of summing over a batch, a
change of units, a weight in front of a loss term. Gradient descent feels it directly. The gradient of
$k f$ is $k \nabla f$, so SGD's step $-\alpha\, k \nabla f$ is $k$ times longer: a step size that suits
$f$ is a thousand times too large for $1000 f$, and here SGD leaves the picture at its second step.

Adam divides by its own running measure of the gradient's size. Replacing every $g_t$ by $k g_t$ gives

$$\hat m_t \to k\, \hat m_t, \qquad \sqrt{\hat v_t} \to k \sqrt{\hat v_t},$$

so the step $\alpha\, \hat m_t / (\sqrt{\hat v_t} + \varepsilon)$ does not change. Only
$\varepsilon = 10^{-8}$ is not scaled, and it matters only where gradients are about that small. The two Adam runs draw
the same path to within $10^{-8}$. With $k = 1/1000$ the gradients shrink instead, ε starts to show,
and the paths differ by about $10^{-6}$.

This is why a good α for Adam carries over between problems more easily than SGD's, and why Adam's α
reads as a distance in parameter space. The flip side: Adam cannot tell a steep direction from a gentle
one by the size of its gradient alone. The weight-decay lesson shows where that matters.""",
    look_at="Compare the panels: the two Adam paths are identical, the SGD path on f creeps along the "
            "valley, and the SGD run on 1000·f is gone after two steps.",
    check=check_scale_invariance,
)


# ---- 5. β1 = 0 is RMSprop with bias correction --------------------------------------------------------

RMSPROP_SCENE = make_scene(
    "himmelblau",
    [run_spec("adam", "Adam, β₁ = 0", lr=0.05, beta1=0.0, beta2=0.99),
     run_spec("rmsprop", "RMSprop with bias correction", lr=0.05, beta2=0.99, bias_correction=True),
     run_spec("rmsprop", "RMSprop (PyTorch)", lr=0.05, beta2=0.99)],
    start=(-0.5, -0.5), steps=500, view="Contour")


def check_beta1_zero() -> bool:
    tr = runs_by_label(RMSPROP_SCENE, run_scene(RMSPROP_SCENE, record_internals=True))
    require_no_divergence(RMSPROP_SCENE, tr.values())
    adam, rms, plain = tr["Adam, β₁ = 0"], tr["RMSprop with bias correction"], tr["RMSprop (PyTorch)"]
    gap = float(np.abs(adam.path - rms.path).max())
    require(np.allclose(adam.path, rms.path, rtol=0, atol=1e-12),
            f"Adam(β1 = 0) and RMSprop with bias correction differ by up to {gap:.3e}")
    apart = float(np.abs(adam.path - plain.path).max())
    require(apart > 0.1, f"uncorrected RMSprop should take another route, max distance {apart:.3e}")
    first = np.abs(plain.internals["update"][0, 0]) / 0.05
    require(np.allclose(first, 10.0, rtol=1e-6),
            f"uncorrected RMSprop's first step / α = {first}, expected 1/√(1−β2) = 10")

    # The two rules agree step by step, fed the same gradients (here Adam's on Rosenbrock, where long runs
    # would amplify rounding differences): the same formula, not just similar paths.
    s = surfaces.get("rosenbrock")
    a_opt = optimizers.get("adam", lr=0.01, beta1=0.0, beta2=0.99)
    r_opt = optimizers.get("rmsprop", lr=0.01, beta2=0.99, bias_correction=True)
    a = optimizers.run(a_opt, s, s.start, 300, record_internals=True)
    state = r_opt.init(a.path[:, 0])
    worst = 0.0
    for t in range(1, 301):
        delta, state, _ = r_opt.update(a.internals["grad"][:, t - 1], state, Step(t, 0.01, a.path[:, t - 1]))
        ref = a.internals["update"][:, t - 1]
        worst = max(worst, float(np.max(np.abs(delta - ref) / np.maximum(np.abs(ref), 1e-300))))
    require(worst < 1e-12, f"fed the same gradients, the steps differ by up to {worst:.2e} (relative)")
    return True


BETA1_ZERO = Lesson(
    key="beta1-zero",
    title="Adam with β₁ = 0 is RMSprop with bias correction",
    claim="With β₁ = 0 Adam's momentum is just the current gradient, and Adam becomes RMSprop with bias "
          "correction: their paths coincide to rounding error.",
    scene=RMSPROP_SCENE,
    explanation=r"""Set $\beta_1 = 0$ in Adam. Then $m_t = g_t$ and $\hat m_t = g_t$: there is no
momentum left, and each step uses only the current gradient,

$$\Delta\theta_t = -\alpha\, \frac{g_t}{\sqrt{\hat v_t} + \varepsilon}, \qquad
\hat v_t = \frac{v_t}{1-\beta_2^t}.$$

That is RMSprop (Tieleman & Hinton, 2012): divide each coordinate's gradient by the root of a running
average of its squares. The only difference is the correction. PyTorch's RMSprop does not correct $v_t$
for starting at zero, so at step 1 it divides by $\sqrt{1-\beta_2}\, |g_1|$ instead of $|g_1|$; with
$\beta_2 = 0.99$ its first step is $10\alpha$ instead of α, and its early steps stay too long until
$v_t$ has filled up.

All three runs use α = 0.05 and the same $\beta_2 = 0.99$ — Adam's usual 0.999 would be a different
average, and the paths would differ for that reason alone. The first two runs draw one path: they
agree to about $10^{-15}$, the rounding error of floating-point numbers. The uncorrected RMSprop sets
off with ten times longer steps and takes another route to the minimum.

So Adam is RMSprop plus two things: momentum ($\beta_1 > 0$) and bias correction.""",
    look_at="Only two paths are visible: Adam with β₁ = 0 and RMSprop with bias correction lie exactly on "
            "top of each other, while PyTorch's RMSprop jumps off with a ten times longer first step.",
    check=check_beta1_zero,
)

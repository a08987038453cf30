"""Lessons 6–10: how optimizers meet the shape of the landscape — long valleys, ravines, saddles, sparse
and noisy gradients."""
from __future__ import annotations

import math

import numpy as np

import optimizers

from .base import (Lesson, make_scene, require, require_no_divergence, run_scene, run_spec, runs_by_label,
                   scene_surface)

# ---- 6. AdaGrad's rate shrinks, RMSprop's does not --------------------------------------------------

ADAGRAD_SCENE = make_scene(
    "long_valley",
    [run_spec("adagrad", "AdaGrad, α = 0.1", lr=0.1),
     run_spec("rmsprop", "RMSprop, α = 0.01", lr=0.01, bias_correction=True)],
    start=(-5.0, 1.5), steps=2000, view="Internals")


def check_adagrad_vs_rmsprop() -> bool:
    tr = runs_by_label(ADAGRAD_SCENE, run_scene(ADAGRAD_SCENE, record_internals=True))
    require_no_divergence(ADAGRAD_SCENE, tr.values())
    ada, rms = tr["AdaGrad, α = 0.1"], tr["RMSprop, α = 0.01"]
    la = ada.internals["lr_eff"][0]           # (steps, 2)
    lr_ = rms.internals["lr_eff"][0]
    # AdaGrad's effective rate α/√G never rises (G only grows) and ends near 1/√2000 of its first value.
    rises = float(np.max(np.diff(la, axis=0) / la[:-1]))
    require(rises <= 1e-12, f"AdaGrad's effective rate rose by a relative {rises:.3e} at some step")
    fall = float(la[-1, 0] / la[0, 0])
    require(fall < 0.1 and 1 / 50 < fall < 1 / 38,
            f"AdaGrad's rate along x after 2000 steps is 1/{1 / fall:.1f} of its first value; expected "
            f"about 1/43 (1/√2000 ≈ 1/45 for a perfectly steady gradient)")
    # RMSprop's forgets: it never falls below 90 % of its first value, and stays within a factor 2 of it
    # while the slope is steady (x < 3).
    x = rms.path[0, :-1, 0]
    rel = lr_[:, 0] / lr_[0, 0]
    on_slope = rel[x < 3.0]
    require(rel.min() > 0.9 and on_slope.max() < 2.0,
            f"RMSprop's rate along x relative to its first value: min {rel.min():.3f}, max on the slope "
            f"{on_slope.max():.3f}")
    # The consequence: AdaGrad starts faster (ten times the α) but RMSprop overtakes it and arrives.
    xa, xr = ada.path[0, :, 0], rms.path[0, :, 0]
    require(xa[100] > xr[100], f"at step 100 AdaGrad should be ahead: x = {xa[100]:.3f} vs {xr[100]:.3f}")
    require(xr[-1] > 4.9 and xa[-1] < 4.5,
            f"after 2000 steps RMSprop should be at the minimum (x = 5) and AdaGrad still on the way: "
            f"x = {xr[-1]:.3f} (RMSprop), {xa[-1]:.3f} (AdaGrad)")
    return True


ADAGRAD_VS_RMSPROP = Lesson(
    key="adagrad-vs-rmsprop",
    title="AdaGrad's learning rate only shrinks; RMSprop's does not",
    claim="AdaGrad divides by the root of the sum of all past squared gradients, so on a long valley its "
          "effective learning rate falls to about 1/43 of its start in 2,000 steps, while RMSprop's running "
          "average forgets old gradients, so its rate never drops below where it began.",
    scene=ADAGRAD_SCENE,
    explanation=r"""AdaGrad (Duchi, Hazan & Singer, 2011) divides each coordinate's step by the root of
the *sum* of all its squared gradients so far:

$$G_t = G_{t-1} + g_t^2, \qquad \Delta\theta_t = -\frac{\alpha}{\sqrt{G_t} + \varepsilon}\, g_t .$$

The factor $\alpha / \sqrt{G_t}$ is its effective learning rate. A sum never forgets and never shrinks,
so this rate can only fall. If the gradient keeps a steady size, $G_t$ grows like $t$ and the rate falls
like $1/\sqrt{t}$: after 2,000 steps it is about $1/\sqrt{2000} \approx 1/45$ of its first value
(here we measure 1/43).

RMSprop replaces the sum by a running *average*, $v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2$, which
forgets old gradients. Its rate $\alpha / \sqrt{\hat v_t}$ follows the size of the recent gradients: flat
on a steady slope, rising only near the minimum, where the gradients themselves become small.

On this long valley the slope along x stays close to 1 for most of the way. AdaGrad gets $\alpha = 0.1$,
ten times RMSprop's 0.01 (RMSprop here with bias correction, so its first step is α), and pulls ahead at
first. But its steps keep shrinking: RMSprop overtakes it and reaches the minimum, while AdaGrad is still
on the way after 2,000 steps. This endless decay is why RMSprop and Adam took AdaGrad's place for long
training runs.""",
    look_at="In Internals, follow the effective learning rate lr_eff of each run: AdaGrad's falls steadily, "
            "RMSprop's stays flat until it rises near the minimum. On the contour, watch RMSprop pass "
            "AdaGrad.",
    check=check_adagrad_vs_rmsprop,
)


# ---- 7. Momentum damps oscillation in a ravine --------------------------------------------------------

RAVINE_SCENE = make_scene(
    "ravine",
    [run_spec("sgd", "SGD, α = 0.05", lr=0.05),
     run_spec("momentum", "Momentum, α = 0.005, μ = 0.9", lr=0.005, momentum=0.9),
     run_spec("nesterov", "Nesterov, α = 0.005, μ = 0.9", lr=0.005, momentum=0.9)],
    start=(-3.5, 0.5), steps=300, view="Contour")


def oscillation(path):
    """(reversals, across per along): how often the motion across the valley floor y = sin x reverses, and
    the distance travelled across it per unit of progress along it."""
    r = path[:, 1] - np.sin(path[:, 0])
    dr = np.diff(r)
    reversals = float(np.mean(dr[1:] * dr[:-1] < 0))
    along = abs(path[-1, 0] - path[0, 0])
    return reversals, float(np.abs(dr).sum() / along), along


def check_momentum_ravine() -> bool:
    tr = runs_by_label(RAVINE_SCENE, run_scene(RAVINE_SCENE))
    require_no_divergence(RAVINE_SCENE, tr.values())
    m = {label: oscillation(t.path[0]) for label, t in tr.items()}
    sgd = m["SGD, α = 0.05"]
    for label in ("Momentum, α = 0.005, μ = 0.9", "Nesterov, α = 0.005, μ = 0.9"):
        rev, across, along = m[label]
        require(sgd[0] > 3 * rev and sgd[1] > 3 * across,
                f"SGD reverses across the valley in {sgd[0]:.0%} of its steps and travels {sgd[1]:.3f} across "
                f"per unit along; {label}: {rev:.0%} and {across:.3f} — expected SGD's to be over 3× larger")
        require(abs(along - sgd[2]) < 0.15 * sgd[2],
                f"the race should be fair: progress along x {along:.3f} ({label}) vs {sgd[2]:.3f} (SGD)")
    return True


MOMENTUM_RAVINE = Lesson(
    key="momentum-ravine",
    title="Momentum damps the zig-zag in a ravine",
    claim="In a narrow ravine, SGD zig-zags from wall to wall, while Momentum and Nesterov, set to the same "
          "speed along the floor, glide: their motion across the ravine is several times smaller and "
          "reverses far less often.",
    scene=RAVINE_SCENE,
    explanation=r"""In a ravine the loss is steep across and gentle along. Gradient descent with a step
large enough to make progress along the floor overshoots across it: each step lands on the opposite
wall, and the next gradient points back. The path zig-zags, and much of the motion goes into crossing
the ravine instead of following it.

Momentum keeps a running sum of past gradients and steps along it:

$$b_t = \mu\, b_{t-1} + g_t, \qquad \Delta\theta_t = -\alpha\, b_t .$$

Parts of the gradient that keep their sign — along the floor — add up, to about $1/(1-\mu) = 10$ times a
single gradient. Parts that flip sign every step — across the ravine — cancel. Nesterov's variant
evaluates the push one step ahead and damps the swing further.

For a fair race the runs get the same long-run speed along the floor: SGD with $\alpha = 0.05$,
Momentum and Nesterov with $\alpha = 0.005$ and $\mu = 0.9$, since $0.005 / (1 - 0.9) = 0.05$. All three
get equally far along the valley in 300 steps. But SGD bounces between the walls, while Momentum sways
gently and Nesterov barely at all. We measure the oscillation by the distance travelled across the
floor $y = \sin x$ per unit of progress along it, and by how often that motion reverses.""",
    look_at="On the contour, follow the first 50 steps: SGD hops from one wall of the ravine to the other at "
            "every step, Momentum swings slowly, and Nesterov follows the floor.",
    check=check_momentum_ravine,
)


# ---- 8. Escaping a saddle -------------------------------------------------------------------------------

SADDLE_SCENE = make_scene(
    "saddle",
    [run_spec("sgd", "SGD", lr=0.01),
     run_spec("momentum", "Momentum, μ = 0.9", lr=0.01, momentum=0.9),
     run_spec("rmsprop", "RMSprop", lr=0.01),
     run_spec("adam", "Adam", lr=0.01)],
    start=(-0.8, 1e-4), steps=120, view="3-D")


def steps_to_leave(path, radius=1.0):
    far = np.flatnonzero(np.linalg.norm(path, axis=-1) > radius)
    return int(far[0]) if len(far) else -1


def check_saddle() -> bool:
    tr = runs_by_label(SADDLE_SCENE, run_scene(SADDLE_SCENE))
    require_no_divergence(SADDLE_SCENE, tr.values())
    # SGD multiplies y by 1 + 2α = 1.02 per step: from 1e-4 it needs ln(1e4)/ln(1.02) ≈ 466 steps.
    sgd_long = run_scene(SADDLE_SCENE, steps=600)[0]
    leave = {label: steps_to_leave(t.path[0]) for label, t in tr.items()}
    leave["SGD"] = steps_to_leave(sgd_long.path[0])
    expected = {"SGD": math.log(1e4) / math.log(1.02), "Momentum, μ = 0.9": 95, "RMSprop": 16, "Adam": 76}
    for label, want in expected.items():
        require(leave[label] > 0 and abs(leave[label] - want) <= 0.1 * want + 1,
                f"steps to leave the unit circle: measured {leave}, expected about {expected}")
    require(steps_to_leave(tr["SGD"].path[0]) < 0 and abs(tr["SGD"].final[0, 1]) < 0.01,
            f"within the scene's {SADDLE_SCENE['steps']} steps SGD should still sit at the saddle, "
            f"final point {tr['SGD'].final[0]}")
    for label in ("Momentum, μ = 0.9", "RMSprop", "Adam"):
        require(leave[label] < leave["SGD"] / 3, f"{label} should leave over 3× sooner than SGD: {leave}")
    # Momentum's growth per step: the larger root of z² − (1 + μ + 2α) z + μ.
    z = max(np.roots([1.0, -(1 + 0.9 + 2 * 0.01), 0.9]).real)
    require(abs(z - 1.107) < 1e-3, f"momentum's growth factor {z:.4f}")
    return True


SADDLE = Lesson(
    key="saddle-escape",
    title="Escaping a saddle point",
    claim="Started almost on the stable line of the saddle x² − y², plain gradient descent needs about 466 "
          "steps to get away, while Momentum, RMSprop and Adam leave more than three times sooner.",
    scene=SADDLE_SCENE,
    explanation=r"""At a saddle point the gradient is zero, yet it is not a minimum: on $f = x^2 - y^2$
the loss rises along x and falls along y. Start almost exactly on the x-axis, at $y_0 = 10^{-4}$. The
gradient's y-part, $-2y$, is then tiny, and gradient descent multiplies y by only $1 + 2\alpha = 1.02$
per step:

$$y_t = 1.02^t\, y_0 ,$$

so it takes about 466 steps for y to grow from $10^{-4}$ to 1, while x shrinks toward the saddle in the
meantime. Near a saddle plain gradient descent crawls — not stuck forever, but slowed by the flatness.

Momentum adds up the small pushes, which all point the same way, so y grows by a factor of about 1.107
per step instead of 1.02: it leaves the unit circle after about 95 steps. RMSprop and Adam divide each
coordinate's gradient by its own recent size, so a tiny but steady gradient still gets a step of about
α: Adam leaves after about 76 steps. RMSprop leaves after only 16, helped by its uncorrected average,
which makes its first steps ten times longer (see the lesson on β₁ = 0). All runs use α = 0.01.

Beyond the circle the loss falls without bound: the fast runs keep going, off the drawn surface.""",
    look_at="Watch where each path goes after the start: SGD slides into the saddle point and sits there, "
            "while the other three turn onto the y-axis and slide downhill, Momentum and RMSprop right off "
            "the drawn surface.",
    check=check_saddle,
)


# ---- 9. Sparse gradients ---------------------------------------------------------------------------------

SPARSE_SCENE = make_scene(
    "bowl",
    [run_spec("sgd", "SGD, α = 0.01", lr=0.01),
     run_spec("adagrad", "AdaGrad, α = 0.5", lr=0.5),
     run_spec("adam", "Adam, α = 0.05", lr=0.05)],
    start=(-2.0, 2.5), steps=500, view="Contour", surface_params={"condition": 100.0, "rotation": 90.0},
    grad_keep=(1.0, 0.05))


def y_progress(traj, y0):
    return 1.0 - np.abs(traj.final[:, 1]) / abs(y0)


def check_sparse() -> bool:
    y0 = SPARSE_SCENE["start"][1]
    progress = {r["label"]: [] for r in SPARSE_SCENE["runs"]}
    for seed in range(10):
        for r, t in zip(SPARSE_SCENE["runs"], run_scene(SPARSE_SCENE, seed=seed)):
            require(t.diverged_at[0] < 0, f"seed {seed}: {r['label']} diverged")
            require(abs(t.final[0, 0]) < 0.05, f"seed {seed}: {r['label']} did not settle in x: {t.final[0]}")
            progress[r["label"]].append(float(y_progress(t, y0)[0]))
    p = {k: np.array(v) for k, v in progress.items()}
    summary = {k: v.round(2).tolist() for k, v in p.items()}
    require(p["SGD, α = 0.01"].max() < 0.35, f"SGD should barely move in y: progress over 10 seeds {summary}")
    for label in ("AdaGrad, α = 0.5", "Adam, α = 0.05"):
        require(p[label].min() > 0.8, f"{label} should get most of the way in y: {summary}")
    # It is the sparsity that stops SGD: with every y-gradient present it gets 99 % of the way.
    dense = run_scene(SPARSE_SCENE, grad_keep=(1.0, 1.0))[0]
    dp = float(y_progress(dense, y0)[0])
    require(dp > 0.95, f"SGD with all y-gradients should get most of the way in y, got {dp:.3f}")
    # … and SGD's α cannot simply be raised: at α = 0.025 the steep x-direction blows up (α·100 > 2).
    s = scene_surface(SPARSE_SCENE)
    big = optimizers.run(optimizers.get("sgd", lr=0.025), s, SPARSE_SCENE["start"], 200)
    require(big.diverged_at[0] > 0, "SGD with α = 0.025 should diverge in x")
    return True


SPARSE = Lesson(
    key="sparse-gradients",
    title="Sparse gradients: rare coordinates need their own step size",
    claim="When the y-gradient shows up in only 5% of the steps, SGD — whose single α is capped by the steep "
          "x-direction — covers about a fifth of the way in y, while AdaGrad and Adam, which scale each "
          "coordinate by its own gradient history, get most of the way.",
    scene=SPARSE_SCENE,
    explanation=r"""In many models some parameters get a gradient only now and then: the weight of a
rare word gets one only when the word occurs. Here the y-gradient is seen at random in 5% of the steps
and is zero otherwise, while x gets its gradient at every step. The bowl is also 100 times steeper in
x, which is typical: frequent parameters often have the larger gradients.

SGD uses one α for both coordinates, and the steep x-direction caps it: above $\alpha = 2/100$ SGD
blows up in x. With $\alpha = 0.01$, y moves by $\alpha\, g_y$ only on the rare steps that have a
gradient, and after 500 steps it has covered about a fifth of the way. With every y-gradient present
it would have covered 99%.

Adaptive methods give each coordinate its own scale. AdaGrad divides by the root of the sum of the
squared gradients a coordinate has actually received; y has received few, so each of its updates is
large. Adam's $\hat v$ for y averages the rare squares together with all the zeros,

$$\hat v_y \approx 0.05\, g_y^2 ,$$

so each rare gradient moves y by several α in total. Both get most of the way in y and still handle
the steep x-direction. Their α differ because their steps are on different scales; each is in the
label.""",
    look_at="On the contour, SGD jumps to x = 0 at once and then inches down in y, one small hop per rare "
            "gradient, while AdaGrad and Adam come down in y in larger jumps whenever a y-gradient "
            "arrives.",
    check=check_sparse,
)


# ---- 10. Noisy gradients -----------------------------------------------------------------------------------

NOISE_SCENE = make_scene(
    "bowl",
    [run_spec("sgd", "SGD, α = 0.05", lr=0.05),
     run_spec("momentum", "Momentum, α = 0.05", lr=0.05, momentum=0.9),
     run_spec("momentum", "Momentum, α = 0.005", lr=0.005, momentum=0.9),
     run_spec("adam", "Adam, α = 0.05", lr=0.05)],
    start=(-2.5, 2.0), steps=500, view="Curves", surface_params={"condition": 10.0, "rotation": 30.0},
    noise=1.0, seed=0, band_seeds=20)

FLOOR_STEPS = 200   # the floor is the mean loss over a run's last 200 steps


def sgd_floor(alpha, sigma, curvatures):
    """Expected loss of SGD with constant α and gradient noise σ on a quadratic: Σ ασ² / (2 (2 − αλᵢ))."""
    return float(sum(alpha * sigma ** 2 / (2 * (2 - alpha * lam)) for lam in curvatures))


def check_noise() -> bool:
    seeds = NOISE_SCENE["band_seeds"]
    labels = [r["label"] for r in NOISE_SCENE["runs"]]
    floors = {label: [] for label in labels}
    for seed in range(seeds):
        for label, t in zip(labels, run_scene(NOISE_SCENE, seed=seed)):
            require(t.diverged_at[0] < 0, f"seed {seed}: {label} diverged")
            floors[label].append(float(t.loss[0, -FLOOR_STEPS:].mean()))
    mean = {k: float(np.mean(v)) for k, v in floors.items()}
    spread = {k: float(np.std(v)) for k, v in floors.items()}
    report = ", ".join(f"{k}: {mean[k]:.4f} ± {spread[k]:.4f}" for k in labels)
    clean = {label: float(t.final_loss[0]) for label, t in zip(labels, run_scene(NOISE_SCENE, noise=0.0))}
    # Without noise every run converges; with it every run stalls at a floor far above that.
    for label in labels:
        require(clean[label] < 1e-3 and mean[label] > 20 * clean[label] and mean[label] > 1e-3,
                f"{label}: noise-free final loss {clean[label]:.2e}, noisy floor {mean[label]:.2e}")
    # SGD's floor matches the theory for a quadratic bowl (curvatures 1 and 10).
    theory = sgd_floor(0.05, 1.0, (1.0, 10.0))
    sgd = mean["SGD, α = 0.05"]
    require(0.7 * theory < sgd < 1.4 * theory, f"SGD's floor {sgd:.4f}, theory {theory:.4f} ({report})")
    # Momentum with the same α sits about 1/(1 − μ) = 10 times higher; with α(1 − μ) it matches SGD.
    hi, lo = mean["Momentum, α = 0.05"], mean["Momentum, α = 0.005"]
    require(5 < hi / sgd < 20, f"Momentum at the same α: floor {hi / sgd:.1f}× SGD's ({report})")
    require(0.6 < lo / sgd < 1.6, f"Momentum at α(1 − μ): floor {lo / sgd:.2f}× SGD's ({report})")
    return True


NOISE = Lesson(
    key="noisy-gradients",
    title="Noisy gradients: a constant step leaves a noise floor",
    claim="With noisy gradients and a constant α, SGD, Momentum and Adam all stop improving at a noise floor "
          "instead of converging, and Momentum at the same α sits about ten times higher than SGD, because "
          "it acts like a ten times larger step.",
    scene=NOISE_SCENE,
    explanation=r"""Real gradients are noisy: each is computed on a small batch of data. Here every
gradient gets random Gaussian noise of size $\sigma = 1$ in each coordinate. With a constant α no method
settles at the minimum: each keeps being kicked around it, and the loss stops falling at a *noise floor*.
Without the noise, all four runs would converge.

For SGD on a bowl, theory predicts the floor: for a small α the expected loss is about
$\alpha\sigma^2/4$ per coordinate, here 0.03 with the exact formula. Halve α and the floor halves.

Momentum's path looks smoother, because it averages gradients, but that average is multiplied by about
$1/(1-\mu) = 10$: with the same α, momentum behaves like SGD with a ten times larger step, and its
floor is about ten times higher. Give it $\alpha (1-\mu) = 0.005$ and it ends at about SGD's floor.
Averaging alone does not remove noise; a smaller step does.

Adam divides by $\sqrt{\hat v} \approx \sigma$ once the noise dominates the gradient, so its floor
depends on α and σ differently; it stalls as well.

The shaded band around each loss curve shows the spread of 20 runs that differ only in the noise seed:
its width is the luck of the draw. One curve alone can mislead; the band shows what to expect.""",
    look_at="In Curves, compare where the loss curves flatten out, and how wide each band is: the "
            "Momentum run with α = 0.05 levels off about ten times higher than SGD, the one with "
            "α = 0.005 at SGD's level.",
    check=check_noise,
)

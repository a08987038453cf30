"""How fast the core steps optimizers, against a plain NumPy loop, a pure-Python loop and torch.optim.

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/core.py [--quick] [--no-plot]

All on one core, in one process, on Rosenbrock, from seeded random starts in [-1.5, 1.5] x [-0.5, 2.5], with
learning rates at which no run diverges (so every implementation does the same arithmetic). Each cell is
the best of a few repetitions of a run sized to take ~0.25 s; the unit is ns per trajectory-step (time per
step / K). Columns:

* core summ / core path: ``optimizers.run`` as a user calls it (``engine="auto"``, which takes the
  compiled engine once its kernel is built; each kernel is built before the table is timed) with
  ``record="summary"`` / ``record="path"``: divergence checks, summaries and, for path, every point
  recorded. The ratios are taken against core summ, which like the baselines keeps only the end state.
* array: the NumPy engine (``engine="array"``, record="summary"), as it runs without a C compiler.
* numpy: the textbook update written plainly (fresh temporaries) on a (K, 2) array, plus ``surface.grad``.
* python: the textbook update on Python floats, one run and coordinate at a time (K <= 1000 only).
* torch: ``torch.optim`` stepping one (K, 2) float64 tensor, ``p.grad`` assigned by hand each step from
  ``surface.grad`` (the same gradient work as the others).

Then the page's scene: six optimizers x 1000 steps x one start, as the page runs them
(``record_internals=True``), against torch.optim doing the same steps. A log-log plot of the table goes to
``benchmarks/core.png`` (plotly + kaleido with the system Chromium).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"              # before NumPy/torch load their thread pools

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import optimizers  # noqa: E402
import surfaces  # noqa: E402

try:
    import torch  # noqa: E402
    torch.set_num_threads(1)
except ImportError:                     # the table then has no torch column
    torch = None

SURFACE = surfaces.get("rosenbrock")
LR = {"sgd": 2e-4, "momentum": 1e-4, "adam": 1e-3, "nadam": 1e-3}
OPTIMIZERS = list(LR)
B1, B2, EPS, MU, PSI = 0.9, 0.999, 1e-8, 0.9, 4e-3
SCENE = ["sgd", "momentum", "rmsprop", "adam", "nadam", "adamw"]   # torch.optim has no Lion: AdamW instead
SCENE_LR = {"sgd": 2e-4, "momentum": 1e-4, "rmsprop": 1e-3, "adam": 1e-2, "nadam": 1e-2, "adamw": 1e-2}


def starts(k):
    return np.random.default_rng(0).uniform([-1.5, -0.5], [1.5, 2.5], (k, 2))


# ---- the implementations: each steps K runs `steps` times ---------------------------------------------

def run_core(name, xy, steps, record, engine="auto"):
    tr = optimizers.run(optimizers.get(name, lr=LR[name]), SURFACE, xy, steps, record=record, engine=engine)
    assert (tr.diverged_at == -1).all(), f"{name} diverged: pick a smaller rate"
    return tr.final


def build_kernels():
    """Build every kernel the table and the scene use (what a second call of the page or notebook finds),
    so "auto" takes the compiled engine; report what is missing if there is no compiler."""
    from optimizers import kernel
    if kernel.compiler() is None:
        print("(no C compiler: the core runs on its NumPy engines)")
        return
    start = np.array(SURFACE.start, dtype=float)
    for name in OPTIMIZERS:
        for record in ("path", "summary"):
            run_core(name, starts(2), 2, record, engine="compiled")
    for name in SCENE:
        optimizers.run(optimizers.get(name, lr=SCENE_LR[name]), SURFACE, start, 2, record_internals=True,
                       engine="compiled")
        optimizers.run(optimizers.get(name, lr=SCENE_LR[name]), SURFACE, start, 2, engine="compiled")


def run_numpy(name, xy, steps):
    lr, grad = LR[name], SURFACE.grad
    xy = xy.copy()
    m, v, prod = np.zeros_like(xy), np.zeros_like(xy), 1.0
    for t in range(1, steps + 1):
        g = grad(xy, t)
        if name == "sgd":
            xy = xy - lr * g
        elif name == "momentum":
            m = g if t == 1 else MU * m + g
            xy = xy - lr * m
        elif name == "adam":
            m = B1 * m + (1 - B1) * g
            v = B2 * v + (1 - B2) * g * g
            m_hat = m / (1 - B1 ** t)
            v_hat = v / (1 - B2 ** t)
            xy = xy - lr * m_hat / (np.sqrt(v_hat) + EPS)
        else:                                           # NAdam, as torch.optim.NAdam
            mu = B1 * (1 - 0.5 * 0.96 ** (t * PSI))
            mu_next = B1 * (1 - 0.5 * 0.96 ** ((t + 1) * PSI))
            prod = prod * mu
            m = B1 * m + (1 - B1) * g
            v = B2 * v + (1 - B2) * g * g
            denom = np.sqrt(v / (1 - B2 ** t)) + EPS
            xy = xy - lr * (1 - mu) / (1 - prod) * g / denom - lr * mu_next / (1 - prod * mu_next) * m / denom
    return xy


def run_python(name, xy, steps):
    lr = LR[name]
    out = []
    for x0, y0 in xy.tolist():
        p = [x0, y0]
        m, v, prod = [0.0, 0.0], [0.0, 0.0], 1.0
        for t in range(1, steps + 1):
            x, y = p
            r = y - x * x
            g = (-2 * (1 - x) - 400 * x * r, 200 * r)
            if name == "nadam":
                mu = B1 * (1 - 0.5 * 0.96 ** (t * PSI))
                mu_next = B1 * (1 - 0.5 * 0.96 ** ((t + 1) * PSI))
                prod *= mu
            for i in (0, 1):
                gi = g[i]
                if name == "sgd":
                    p[i] -= lr * gi
                elif name == "momentum":
                    m[i] = gi if t == 1 else MU * m[i] + gi
                    p[i] -= lr * m[i]
                elif name == "adam":
                    m[i] = B1 * m[i] + (1 - B1) * gi
                    v[i] = B2 * v[i] + (1 - B2) * gi * gi
                    p[i] -= lr * (m[i] / (1 - B1 ** t)) / (math.sqrt(v[i] / (1 - B2 ** t)) + EPS)
                else:
                    m[i] = B1 * m[i] + (1 - B1) * gi
                    v[i] = B2 * v[i] + (1 - B2) * gi * gi
                    denom = math.sqrt(v[i] / (1 - B2 ** t)) + EPS
                    p[i] -= lr * (1 - mu) / (1 - prod) * gi / denom + lr * mu_next / (1 - prod * mu_next) * m[i] / denom
        out.append(p)
    return np.array(out)


def torch_optimizer(name, params, lr):
    return {"sgd": lambda: torch.optim.SGD(params, lr=lr),
            "momentum": lambda: torch.optim.SGD(params, lr=lr, momentum=MU),
            "rmsprop": lambda: torch.optim.RMSprop(params, lr=lr),
            "adam": lambda: torch.optim.Adam(params, lr=lr),
            "adamw": lambda: torch.optim.AdamW(params, lr=lr),
            "nadam": lambda: torch.optim.NAdam(params, lr=lr)}[name]()


def run_torch(name, xy, steps, lr=None):
    p = torch.tensor(xy, dtype=torch.float64, requires_grad=True)
    opt = torch_optimizer(name, [p], LR[name] if lr is None else lr)
    grad = SURFACE.grad
    for t in range(1, steps + 1):
        p.grad = torch.from_numpy(grad(p.detach().numpy(), t))
        opt.step()
    return p.detach().numpy()


# ---- timing ---------------------------------------------------------------------------------------------

def timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def cell(fn, name, k, budget, reps, max_steps, *extra):
    """ns per trajectory-step, best of ``reps`` runs of a step count sized to take ~``budget`` seconds."""
    xy = starts(k)
    probe = 5 if k >= 10_000 else 20
    per_step = timed(fn, name, xy, probe, *extra) / probe
    steps = int(min(max_steps, max(10, budget / max(per_step, 1e-9))))
    best = min(timed(fn, name, xy, steps, *extra) for _ in range(reps))
    return best / steps / k * 1e9


def scene(reps):
    """The page's scene: six optimizers x 1000 steps x one start, core vs torch.optim (seconds)."""
    start = np.array(SURFACE.start, dtype=float)

    def core(internals):
        for name in SCENE:
            optimizers.run(optimizers.get(name, lr=SCENE_LR[name]), SURFACE, start, 1000,
                           record_internals=internals)

    def torch_scene():
        for name in SCENE:
            run_torch(name, start[None], 1000, lr=SCENE_LR[name])

    out = {"core (as the page: record_internals=True)": min(timed(core, True) for _ in range(reps)),
           "core (path only)": min(timed(core, False) for _ in range(reps))}
    engines = {optimizers.run(optimizers.get(n, lr=SCENE_LR[n]), SURFACE, start, 1000,
                              record_internals=True).engine for n in SCENE}
    print(f"  (engine used for the scene: {', '.join(sorted(engines))})")
    if torch is not None:
        out["torch.optim"] = min(timed(torch_scene) for _ in range(reps))
    return out


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def plot(results, ks, path):
    """A log-log chart of ns per trajectory-step against K, one panel per optimizer."""
    if not os.environ.get("BROWSER_PATH"):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            print(f"\n(no Chromium found: {path.name} not drawn)")
            return
        os.environ["BROWSER_PATH"] = chromium
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    fig = make_subplots(rows=2, cols=2, subplot_titles=OPTIMIZERS, shared_xaxes=True, shared_yaxes=True)
    colors = {"core summary": "#0072B2", "core path": "#56B4E9", "array": "#CC79A7", "numpy": "#E69F00",
              "python": "#009E73", "torch": "#D55E00"}
    for i, name in enumerate(OPTIMIZERS):
        for impl, color in colors.items():
            pts = [(k, results[name, k][impl]) for k in ks if results[name, k].get(impl) is not None]
            if pts:
                fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], name=impl,
                                         mode="lines+markers", line=dict(color=color), legendgroup=impl,
                                         showlegend=i == 0), row=i // 2 + 1, col=i % 2 + 1)
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log")
    fig.update_xaxes(title_text="K (runs in the batch)", row=2)
    fig.update_yaxes(title_text="ns per trajectory-step", col=1)
    fig.update_layout(width=1000, height=760, title="Rosenbrock, one core: cost per trajectory-step")
    try:
        fig.write_image(str(path))
        print(f"\nplot: {path}")
    except Exception as exc:            # kaleido/Chromium trouble must not lose the table
        print(f"\n(plot not drawn: {type(exc).__name__}: {exc})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke mode: three K, tiny budgets")
    ap.add_argument("--no-plot", action="store_true", help="do not draw benchmarks/core.png")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "core.png"), help="where the plot goes")
    args = ap.parse_args(argv)
    ks = [1, 100, 10_000] if args.quick else [1, 10, 100, 1_000, 10_000, 100_000]
    budget, reps = (0.01, 1) if args.quick else (0.25, 3)

    env = " ".join(f"{v}={os.environ[v]}" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"))
    print(f"command: {env} {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"torch {torch.__version__ if torch is not None else '(not installed)'}, "
          f"torch threads {torch.get_num_threads() if torch is not None else '-'}")
    print(f"cpu: {cpu_model()}, {os.cpu_count()} logical cores; load average at start "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\nns per trajectory-step (time per step / K), best of "
          f"{reps}; Rosenbrock; rates {', '.join(f'{n} {lr:g}' for n, lr in LR.items())}\n")
    build_kernels()
    head = (f"{'optimizer':<9} {'K':>7} | {'core summ':>10} {'core path':>10} {'array':>10} {'numpy':>10} "
            f"{'python':>10} {'torch':>10} | {'numpy/core':>10} {'torch/core':>10} {'array/core':>10} {'py/core':>8}")
    print(head)
    print("-" * len(head))
    results = {}
    t_start = time.perf_counter()
    for name in OPTIMIZERS:
        for k in ks:
            max_steps = 3000 if not args.quick else 200
            r = {"core summary": cell(run_core, name, k, budget, reps, max_steps, "summary"),
                 "core path": cell(run_core, name, k, budget, reps, max_steps, "path"),
                 "array": cell(run_core, name, k, budget, reps, max_steps, "summary", "array"),
                 "numpy": cell(run_numpy, name, k, budget, reps, max_steps),
                 "python": cell(run_python, name, k, budget, reps, max_steps) if k <= 1000 else None,
                 "torch": cell(run_torch, name, k, budget, reps, max_steps) if torch is not None else None}
            results[name, k] = r
            core = r["core summary"]

            def fmt(v, w=10, ratio=False):
                if v is None:
                    return f"{'-':>{w}}"
                return f"{v / core:>{w - 1}.2f}x" if ratio else f"{v:>{w}.1f}"
            print(f"{name:<9} {k:>7} | {fmt(r['core summary'])} {fmt(r['core path'])} {fmt(r['array'])} "
                  f"{fmt(r['numpy'])} {fmt(r['python'])} {fmt(r['torch'])} | {fmt(r['numpy'], ratio=True)} "
                  f"{fmt(r['torch'], ratio=True)} {fmt(r['array'], ratio=True)} {fmt(r['python'], 8, ratio=True)}",
                  flush=True)
    print("\n(ratios: the other implementation's time over core summ's; > 1 means the core is faster)")
    print(f"table took {time.perf_counter() - t_start:.0f} s")

    sc = scene(1 if args.quick else 5)
    print(f"\npage scene: {len(SCENE)} optimizers ({', '.join(SCENE)}) x 1000 steps x 1 start, best of "
          f"{1 if args.quick else 5}")
    for label, seconds in sc.items():
        print(f"  {label:<44} {seconds * 1e3:8.1f} ms  ({seconds / len(SCENE) / 1000 * 1e6:5.1f} us per step)")
    if "torch.optim" in sc:
        for label in list(sc)[:2]:
            print(f"  {label} / torch.optim = 1/{sc['torch.optim'] / sc[label]:.1f}")
    if not args.no_plot:
        plot(results, ks, Path(args.out))


if __name__ == "__main__":
    main()

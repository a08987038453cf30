"""Every optimizer PyTorch has must give torch.optim's trajectory, step for step, in float64.

The gradient is the surface's exact gradient assigned to ``p.grad`` by hand each step, so the only
thing compared is the update rule. NumPy has no fused multiply-add while torch uses one inside
``lerp``/``addcmul``, so agreement is to a few ulps per step, not bit-for-bit.
"""
import numpy as np
import pytest

import optimizers
import surfaces

torch = pytest.importorskip("torch")

CASES = [
    ("sgd", {"lr": 1e-3}, lambda p, h: torch.optim.SGD(p, lr=h["lr"])),
    ("sgd", {"lr": 2e-3, "weight_decay": 0.1}, lambda p, h: torch.optim.SGD(p, **h)),
    ("momentum", {"lr": 1e-3}, lambda p, h: torch.optim.SGD(p, lr=h["lr"], momentum=0.9)),
    ("momentum", {"lr": 5e-4, "momentum": 0.5, "dampening": 0.3, "weight_decay": 0.05},
     lambda p, h: torch.optim.SGD(p, **h)),
    ("nesterov", {"lr": 1e-3}, lambda p, h: torch.optim.SGD(p, lr=h["lr"], momentum=0.9, nesterov=True)),
    ("nesterov", {"lr": 5e-4, "momentum": 0.7, "weight_decay": 0.01},
     lambda p, h: torch.optim.SGD(p, nesterov=True, **h)),
    ("adagrad", {}, lambda p, h: torch.optim.Adagrad(p)),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.5,
                 "eps": 1e-6}, lambda p, h: torch.optim.Adagrad(p, **h)),
    ("rmsprop", {}, lambda p, h: torch.optim.RMSprop(p)),
    ("rmsprop", {"lr": 1e-3, "beta2": 0.9, "momentum": 0.8, "centered": True, "weight_decay": 0.01},
     lambda p, h: torch.optim.RMSprop(p, lr=h["lr"], alpha=h["beta2"], momentum=h["momentum"],
                                      centered=True, weight_decay=h["weight_decay"])),
    ("adadelta", {}, lambda p, h: torch.optim.Adadelta(p)),
    ("adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-4, "weight_decay": 0.1},
     lambda p, h: torch.optim.Adadelta(p, **h)),
    ("adam", {}, lambda p, h: torch.optim.Adam(p)),
    ("adam", {"lr": 0.02, "beta1": 0.5, "beta2": 0.9, "eps": 1e-6, "weight_decay": 0.1},
     lambda p, h: torch.optim.Adam(p, lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"],
                                   weight_decay=h["weight_decay"])),
    ("adamw", {}, lambda p, h: torch.optim.AdamW(p)),
    ("adamw", {"lr": 0.01, "beta1": 0.8, "weight_decay": 0.3},
     lambda p, h: torch.optim.AdamW(p, lr=h["lr"], betas=(0.8, 0.999), weight_decay=0.3)),
    ("amsgrad", {}, lambda p, h: torch.optim.Adam(p, amsgrad=True)),
    ("amsgrad", {"lr": 0.01, "beta2": 0.99, "weight_decay": 0.01},
     lambda p, h: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.99), weight_decay=0.01, amsgrad=True)),
    ("adamax", {}, lambda p, h: torch.optim.Adamax(p)),
    ("adamax", {"lr": 0.01, "beta1": 0.7, "beta2": 0.95, "weight_decay": 0.05},
     lambda p, h: torch.optim.Adamax(p, lr=0.01, betas=(0.7, 0.95), weight_decay=0.05)),
    ("nadam", {}, lambda p, h: torch.optim.NAdam(p)),
    ("nadam", {"lr": 0.01, "beta1": 0.8, "momentum_decay": 0.01, "weight_decay": 0.02},
     lambda p, h: torch.optim.NAdam(p, lr=0.01, betas=(0.8, 0.999), momentum_decay=0.01, weight_decay=0.02)),
    ("radam", {}, lambda p, h: torch.optim.RAdam(p)),
    ("radam", {"lr": 1e-3, "beta1": 0.8, "beta2": 0.9, "weight_decay": 0.01},
     lambda p, h: torch.optim.RAdam(p, lr=1e-3, betas=(0.8, 0.9), weight_decay=0.01)),
]


def torch_path(make, hyper, surface, start, steps):
    p = torch.tensor(np.asarray(start, dtype=np.float64), requires_grad=True)
    opt = make([p], hyper)
    out = [p.detach().numpy().copy()]
    for t in range(1, steps + 1):
        with torch.no_grad():
            p.grad = torch.from_numpy(surface.grad(p.detach().numpy()[None, :], t)[0].copy())
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


@pytest.mark.parametrize("surface_name,start", [("rosenbrock", (-1.5, 2.5)), ("himmelblau", (-0.5, -0.5)),
                                                ("bowl", (-2.5, 2.0))])
@pytest.mark.parametrize("name,hyper,make", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch_step_for_step(name, hyper, make, surface_name, start):
    surface = surfaces.get(surface_name)
    steps = 300
    ours = optimizers.run(optimizers.get(name, **hyper), surface, start, steps)
    assert (ours.diverged_at == -1).all(), "pick settings that do not diverge"
    ref = torch_path(make, hyper, surface, start, steps)
    # Strict while ulp-level differences cannot have grown; on chaotic stretches (centred RMSprop with
    # momentum on Rosenbrock) a 1-ulp FMA difference at step ~100 grows, so later steps get 1e-6.
    np.testing.assert_allclose(ours.path[0, :101], ref[:101], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours.path[0], ref, rtol=1e-6, atol=1e-9)


def test_batch_of_starts_matches_torch_on_a_k_by_2_tensor():
    """K runs in one batch equal one torch parameter of shape (K, 2)."""
    surface = surfaces.get("rosenbrock")
    starts = np.array([[-1.5, 2.5], [0.5, -0.5], [1.8, 2.9], [-0.3, 0.2]])
    ours = optimizers.run(optimizers.get("adam", lr=0.01), surface, starts, 200)
    p = torch.tensor(starts.copy(), requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.01)
    for t in range(1, 201):
        p.grad = torch.from_numpy(surface.grad(p.detach().numpy(), t))
        opt.step()
    np.testing.assert_allclose(ours.final, p.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind,params,make", [
    ("step", {"step_size": 7, "gamma": 0.5}, lambda o: torch.optim.lr_scheduler.StepLR(o, 7, 0.5)),
    ("exponential", {"gamma": 0.97}, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.97)),
    ("cosine", {}, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=50)),
    ("warmup", {"warmup": 10, "start": 0.1},
     lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10)),
])
def test_schedules_match_torch_lr_scheduler(kind, params, make):
    surface = surfaces.get("bowl")
    steps = 50
    ours = optimizers.run(optimizers.get("sgd", lr=0.05), surface, (-2.5, 2.0), steps,
                          schedule=optimizers.Schedule.make(kind, **params))
    p = torch.tensor([-2.5, 2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.05)
    sched = make(opt)
    for t in range(1, steps + 1):
        p.grad = torch.from_numpy(surface.grad(p.detach().numpy()[None], t)[0].copy())
        opt.step()
        sched.step()
    np.testing.assert_allclose(ours.final[0], p.detach().numpy(), rtol=1e-12, atol=1e-14)

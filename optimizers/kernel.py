"""The compiled engine: a rule, recorded by ``trace``, and a surface's C statements, fused into one C loop.

For many runs NumPy's engine makes one pass over memory per operation: Adam on Rosenbrock is some
forty passes per step. Here the whole step of one run — gradient noise and scaling, the rule, the new
point, f and ∇f there, the divergence test, what is recorded — is one iteration of a loop over runs, in
registers, which the C compiler vectorises. The C text is generated, never written by hand: the rule's
operations come from running the rule's own module on recorded values, the surface's from the same
SymPy expressions (and printing rules) as its NumPy functions. Hyperparameters are inputs of the
program, so moving α or β reuses the same compiled code.

The engine needs a C compiler (``cc``, or ``$CC``) when a kernel is first built; built kernels are kept
in ``$OPTIMIZERS_KERNEL_CACHE`` (default ``~/.cache/optimizer-trajectories``). Without a compiler,
or for what it cannot record (Newton, a surface with no C form), ``run`` uses the NumPy engine.

The semantics are the array engine's (``run``): IEEE double arithmetic without contraction into fused
multiply-adds, NumPy's rules where a value is per run or per coordinate (``a ** 0.5`` is √a, maximum
propagates NaN) and Python's where it is shared by all runs (``a ** 0.5`` is ``pow``), the same noise
draws, the same divergence test, the same recording. On polynomial surfaces the paths equal the array
engine's to the last bit in the cases the tests run, and to 1e-12 in all.
"""
from __future__ import annotations

import contextlib
import ctypes
import hashlib
import math
import os
import shutil
import subprocess
import tempfile
import threading
import _ctypes
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .trace import ELEM, RUN, STEP, Untraceable, trace

FLAGS = ["-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math",
         "-fPIC", "-shared"]
FALLBACK_FLAGS = [f for f in FLAGS if f != "-march=native"]
MAX_KERNELS = 256                  # loaded at once per process (a kernel is ~20 kB of code)
MAX_DISK_KERNELS = 2000            # kept in the cache folder (the least recently used go first)
RUN_BLOCK = 512                    # runs per block: a block's state stays in cache over its steps
_BIG = "1.7976931348623157e308"


class Unavailable(Exception):
    """No compiled kernel for this run (no compiler, or something the generator cannot express)."""


class NotBuilt(Unavailable):
    """The kernel exists as C text but was not compiled yet (``source`` holds the text)."""

    def __init__(self, src: str):
        super().__init__("not built yet")
        self.source = src


# ---- C text of one recorded operation -----------------------------------------------------------------

def _lit(x: float) -> str:
    if x != x:
        return "NAN"
    if x in (float("inf"), float("-inf")):
        return "INFINITY" if x > 0 else "(-INFINITY)"
    return f"({x.hex()})"


# Each operation's C, its operands {0}, {1}, … already C expressions (pow is below). Comparisons give 1.0
# or 0.0, as the rules then use them in np.where; max, min and sign keep NumPy's NaN handling. No && or
# ||: a loop body without branches is what the compiler vectorises.
_C = {"add": "({0} + {1})", "sub": "({0} - {1})", "mul": "({0} * {1})", "div": "({0} / {1})",
      "neg": "(-{0})", "abs": "fabs({0})", "sqrt": "sqrt({0})", "f32": "((double)(float){0})",
      "max": "((({0} >= {1}) | ({0} != {0})) ? {0} : {1})", "min": "((({0} <= {1}) | ({0} != {0})) ? {0} : {1})",
      "sign": "({0} > 0 ? 1.0 : {0} < 0 ? -1.0 : {0} == 0 ? 0.0 : {0})",
      "gt": "(({0} > {1}) ? 1.0 : 0.0)", "ge": "(({0} >= {1}) ? 1.0 : 0.0)", "lt": "(({0} < {1}) ? 1.0 : 0.0)",
      "le": "(({0} <= {1}) ? 1.0 : 0.0)", "eq": "(({0} == {1}) ? 1.0 : 0.0)", "ne": "(({0} != {1}) ? 1.0 : 0.0)",
      "where": "({0} != 0.0 ? {1} : {2})"}


def _expr(op, arg) -> str:
    """C for ``op`` whose operands ``arg(i)`` are already C expressions."""
    a = [arg(i) for i in range(len(op.args))]
    if op.name == "pow":
        e = op.args[1]
        if op.kind & (RUN | ELEM) and e[0] == "c" and op.args[0][0] == "n":   # NumPy's ndarray ** scalar
            special = {2.0: f"({a[0]} * {a[0]})", 0.5: f"sqrt({a[0]})", 1.0: a[0], -1.0: f"(1.0 / {a[0]})",
                       0.0: "1.0"}
            if e[1] in special:
                return special[e[1]]
        return f"pow({a[0]}, {a[1]})"                 # (Python's float ** where the value is shared)
    if op.name not in _C:
        raise Unavailable(f"no C for the operation {op.name!r}")
    return _C[op.name].format(*a)


@dataclass(frozen=True)
class Options:
    """What the loop does besides the rule (each a compile-time switch)."""

    internals: bool
    static: bool                 # f does not depend on t: one fused evaluation of f and ∇f
    bounds: bool                 # project onto a box
    scale: str                   # "", "shared" or "run": loss scale k
    noise: str                   # "", "shared" or "run": gradient noise σ
    sparse: bool                 # a 0/1 mask on the gradient


@dataclass(frozen=True)
class SurfaceC:
    """What the loop needs of a surface: its C statements and the known minima (for ``converged_at``)."""

    value: str                   # C statements assigning f, from x, y and t
    grad: str                    # … fx, fy
    value_and_grad: str          # … f, fx, fy (sharing subexpressions)
    minima: tuple                # ((x, y), …)
    f_min: float
    radius: float                # converged: this close to a known minimum …
    span: float


# ---- the generated C ------------------------------------------------------------------------------------

FIXED_PARAMS = ["lr0", "sigma", "scale", "cx", "cy", "limit", "xlo", "xhi", "ylo", "yhi", "gap"]


def _square_bound(r: float) -> float:
    """The largest double s with √s ≤ r (√ is correctly rounded and monotone, so √s ≤ r ⇔ s ≤ this)."""
    s = r * r
    while s > 0 and math.sqrt(s) > r:
        s = math.nextafter(s, 0.0)
    while math.sqrt(math.nextafter(s, math.inf)) <= r:
        s = math.nextafter(s, math.inf)
    return s


def _live(path, roots):
    """The nodes that ``roots`` need."""
    need, todo = set(), [r[1] for r in roots if r[0] == "n"]
    while todo:
        i = todo.pop()
        if i not in need:
            need.add(i)
            todo.extend(a[1] for a in path.ops[i].args if a[0] == "n")
    return need


def source(program, surf: SurfaceC, opt: Options) -> tuple[str, list, list]:
    """C source of ``step_block``, with the names of its parameters and of its buffers.

    ``step_block(K, t_first, n, r0, steps, B, div)`` takes steps t_first … t_first+n-1 of K runs. The
    points are rows of ``P`` (rows × 2 × K, a ring: row r0 holds step t_first-1) and the losses rows of
    ``L``; ``G`` (2 × K) holds the gradient at the current points; ``div`` is ``diverged_at``; best
    loss, path length and first converged step are updated as the steps are taken."""
    params = FIXED_PARAMS + [name for name in program.inputs if name.startswith("p.")]
    buffers = ["P", "L", "G", "factor", "param", "best", "length", "conv"]
    buffers += [name for name in program.inputs if name.startswith("h.")]
    buffers += [f"s.{i}" for i, kind in enumerate(program.state_kinds) if kind is not None]
    buffers += ["scale"] if opt.scale == "run" else []
    buffers += ["noise"] if opt.noise else []
    buffers += ["sigma"] if opt.noise == "run" else []
    buffers += ["mask"] if opt.sparse else []
    aux_names = list(program.paths[0].aux) if opt.internals else []
    buffers += [f"i.{n}" for n in ["grad", "update", *aux_names]] if opt.internals else []
    cname = {b: f"B{j}" for j, b in enumerate(buffers)}
    q = {p: f"q{j}" for j, p in enumerate(params)}

    out = ["#include <math.h>", "#include <stdint.h>", "#include <float.h>", "",
           "#define FIN(a) (fabs(a) <= DBL_MAX)          /* finite (isfinite, without a branch) */", "",
           "void step_block(int64_t K, int64_t t_first, int64_t n, int64_t r0, int64_t rows,",
           "                double *const *B, int64_t *restrict div) {"]
    out += [f"  double *restrict {c} = B[{j}];  /* {b} */" for j, (b, c) in enumerate(cname.items())]
    out += [f"  const double {q[p]} = {cname['param']}[{j}];  /* {p} */" for j, p in enumerate(params)]
    steady = [i for i, kind in enumerate(program.state_kinds) if kind is not None and not kind & (RUN | ELEM)]
    # Runs in blocks that stay in cache while the block takes all n steps; the step-only values are
    # recomputed for each block (a few operations per step), the step-only state restarted.
    out += [f"  for (int64_t ib = 0; ib < K; ib += {RUN_BLOCK}) {{",
            f"  const int64_t ie = ib + {RUN_BLOCK} < K ? ib + {RUN_BLOCK} : K;"]
    out += [f"  double st{i} = {cname[f's.{i}']}[0];" for i in steady]
    P, L = cname["P"], cname["L"]
    out += ["  for (int64_t j = 0; j < n; j++) {",
            "    const int64_t t = t_first + j, r = (r0 + j) % rows, r1 = (r0 + j + 1) % rows;",
            "    const double T = (double)t;",
            f"    const double fac = {cname['factor']}[t - 1];",
            f"    const double *restrict x0 = {P} + r * 2 * K, *restrict y0 = x0 + K;",
            f"    double *restrict x1 = {P} + r1 * 2 * K, *restrict y1 = x1 + K;",
            f"    const double *restrict l0 = {L} + r * K;",
            f"    double *restrict l1 = {L} + r1 * K;",
            "    int done = 0;"]
    for path in program.paths:
        roots = [path.delta, *[s for s, k in zip(path.state, program.state_kinds) if k is not None]]
        roots += [path.aux[n] for n in aux_names] + [("n", i) for i, _ in path.decisions]
        out.append("    if (!done) {")
        out += ["      " + line for line in _path_block(path, program, _live(path, roots), q, cname, opt,
                                                         aux_names, surf)]
        out.append("    }")
    out.append("  }")
    out += [f"  if (ie == K) {cname[f's.{i}']}[0] = st{i};" for i in steady]
    out += ["  }", "}"]
    return "\n".join(out) + "\n", params, buffers


def _input_names(program, q, cname) -> dict:
    """C for each input node (a format with ``{c}`` where it is per coordinate)."""
    names = {}
    for i, nm in enumerate(program.inputs):                    # inputs are the first nodes, in this order
        if nm in ("g", "xy"):
            names[i] = "g{c}" if nm == "g" else "p{c}"
        elif nm in ("t", "lr"):
            names[i] = "T" if nm == "t" else "lr"
        elif nm.startswith("p."):
            names[i] = q[nm]
        elif nm.startswith("h."):
            names[i] = f"{cname[nm]}[i]"
        else:                                                  # s.<field>
            kind, buf = program.state_kinds[int(nm[2:])], cname[nm]
            names[i] = f"{buf}[{{c}} * K + i]" if kind & ELEM else f"{buf}[i]" if kind & RUN else f"st{nm[2:]}"
    return names


def _path_block(path, program, live, q, cname, opt, aux_names, surf):
    """The C of one path: its step-only values, its test, and the loop over runs."""
    names = _input_names(program, q, cname)
    kinds = program.state_kinds

    def ref(a, c=None):
        if a[0] == "c":
            return _lit(a[1])
        return names[a[1]].format(c=c) if c is not None else names[a[1]]

    step_lines, run_lines, elem_ops = [], [], []
    for i in range(len(program.inputs), len(path.ops)):
        if i not in live:
            continue
        op = path.ops[i]
        if op.kind & ELEM:
            names[i] = f"e{i}_{{c}}"
            elem_ops.append((i, op))
        else:
            names[i] = f"r{i}" if op.kind & RUN else f"v{i}"
            (run_lines if op.kind & RUN else step_lines).append(
                f"const double {names[i]} = {_expr(op, lambda k: ref(op.args[k]))};")
    lr_run = program.inputs["lr"] & RUN
    lines = [] if lr_run else [f"const double lr = {q['lr0']} * fac;"]
    lines += step_lines
    test = " && ".join(f"({ref(('n', i))} != 0.0) == {int(v)}" for i, v in path.decisions) or "1"
    lines += [f"if ({test}) {{", "  done = 1;"]

    G = cname["G"]
    body = ["const double px = x0[i], py = y0[i];", f"double gx = {G}[i], gy = {G}[K + i];"]
    if opt.scale:                                              # the loop's order: k·g, + σz, × mask
        s = f"{cname['scale']}[i]" if opt.scale == "run" else q["scale"]
        body.append(f"gx = gx * {s}; gy = gy * {s};")
    if opt.noise:
        s, z = (f"{cname['sigma']}[i]" if opt.noise == "run" else q["sigma"]), cname["noise"]
        body.append(f"gx = gx + {s} * {z}[(j * K + i) * 2]; gy = gy + {s} * {z}[(j * K + i) * 2 + 1];")
    if opt.sparse:
        mk = cname["mask"]
        body.append(f"gx = gx * {mk}[(j * K + i) * 2]; gy = gy * {mk}[(j * K + i) * 2 + 1];")
    if lr_run:
        body.append(f"const double lr = {cname['h.lr']}[i] * fac;")
    body += run_lines
    for c, (g, p) in enumerate((("gx", "px"), ("gy", "py"))):
        body.append(f"const double g{c} = {g}, p{c} = {p};")
        body += [f"const double e{i}_{c} = {_expr(op, lambda k: ref(op.args[k], c))};" for i, op in elem_ops]
    body.append(f"double nx = px + {ref(path.delta, 0)}, ny = py + {ref(path.delta, 1)};")
    if opt.bounds:
        body.append(f"nx = nx < {q['xlo']} ? {q['xlo']} : nx > {q['xhi']} ? {q['xhi']} : nx;")
        body.append(f"ny = ny < {q['ylo']} ? {q['ylo']} : ny > {q['yhi']} ? {q['yhi']} : ny;")
    # f_t at the new point and ∇f_{t+1} there (for the next step), in a block of their own
    body += ["double f, fx, fy;", "{", "  const double x = nx, y = ny; double t = T + 1.0; (void)t;"]
    body += ["  " + line for line in ([surf.value_and_grad] if opt.static else [surf.grad, "t = T;", surf.value])]
    body.append("}")
    body += ["const int dead = div[i] >= 0;",
             # (& and |, not && and ||: a loop body without branches is what the compiler vectorises)
             "const int ok = FIN(gx) & FIN(gy) & FIN(nx) & FIN(ny) & FIN(f)"
             f" & (fabs(nx - {q['cx']}) <= {q['limit']}) & (fabs(ny - {q['cy']}) <= {q['limit']});",
             "const int keep = dead | !ok;                   /* frozen: the last finite point stays */",
             "div[i] = (keep & !dead) ? t : div[i];",
             "const double qx = keep ? px : nx, qy = keep ? py : ny, lq = keep ? l0[i] : f;",
             "x1[i] = qx; y1[i] = qy; l1[i] = lq;",
             f"{G}[i] = fx; {G}[K + i] = fy;"]
    # summaries: best loss, path length, first converged step
    best, length, conv = cname["best"], cname["length"], cname["conv"]
    body += ["{ const double dx = qx - px, dy = qy - py;",
             f"  {length}[i] += sqrt(dx * dx + dy * dy);",
             f"  {best}[i] = lq < {best}[i] ? lq : {best}[i];"]
    near = []
    if math.isfinite(surf.f_min):
        near.append(f"(lq - {_lit(surf.f_min)} <= {q['gap']})")
    r2 = _square_bound(surf.radius)                        # d ≤ r exactly when d² ≤ r2: no square root
    for mx, my in surf.minima:
        near.append(f"((qx - {_lit(mx)}) * (qx - {_lit(mx)}) + (qy - {_lit(my)}) * (qy - {_lit(my)}) <= {_lit(r2)})")
    if near:
        body.append(f"  {conv}[i] = (!keep & ({conv}[i] < 0) & ({' | '.join(near)})) ? T : {conv}[i];")
    body.append("}")
    for si, (s, k) in enumerate(zip(path.state, kinds)):
        if k is not None and k & ELEM:
            body.append(f"{cname[f's.{si}']}[i] = {ref(s, 0)}; {cname[f's.{si}']}[K + i] = {ref(s, 1)};")
        elif k is not None and k & RUN:
            body.append(f"{cname[f's.{si}']}[i] = {ref(s, 0)};")
    if opt.internals:                # as run._record: nan → 0, ±inf → ±max; frozen runs repeat their row
        rec = {"grad": ("g0", "g1"), "update": ("(qx - px)", "(qy - py)")}
        rec.update({nm: (ref(path.aux[nm], 0), ref(path.aux[nm], 1)) for nm in aux_names})
        for nm, values in rec.items():
            buf = cname[f"i.{nm}"]
            for c, v in enumerate(values):
                prev = "0.0" if nm == "update" else f"(t > 1 ? {buf}[((t - 2) * 2 + {c}) * K + i] : 0.0)"
                body += [f"{{ double w = {v};",
                         f"  w = w != w ? 0.0 : w > {_BIG} ? {_BIG} : w < -{_BIG} ? -{_BIG} : w;",
                         f"  {buf}[((t - 1) * 2 + {c}) * K + i] = keep ? {prev} : w; }}"]
    lines += ["  #pragma GCC ivdep", "  for (int64_t i = ib; i < ie; i++) {"]
    lines += ["    " + b for line in body for b in line.split("\n")]
    lines.append("  }")
    lines += [f"  st{si} = {ref(s)};" for si, (s, k) in enumerate(zip(path.state, kinds))
              if k is not None and not k & (RUN | ELEM)]
    lines.append("}")
    return lines


# ---- building and loading -------------------------------------------------------------------------------

_lock = threading.Lock()
_loaded: dict = {}                       # source hash -> _Loaded, least recently used first


class _Loaded:
    """A loaded kernel library and how many runs are using it (it is unloaded only when none is)."""

    def __init__(self, lib):
        self.lib, self.users = lib, 0
        self.fn = lib.step_block
        self.fn.restype = None
        self.fn.argtypes = [ctypes.c_int64] * 5 + [ctypes.c_void_p, ctypes.c_void_p]


def compiler() -> str | None:
    """The C compiler the engine uses: ``$CC``, else ``cc`` or ``gcc`` on the PATH (None: none)."""
    return _find_compiler(os.environ.get("CC"), os.environ.get("PATH"))


@lru_cache(maxsize=8)
def _find_compiler(cc, _path):
    cc = cc or shutil.which("cc") or shutil.which("gcc")
    return cc if cc and shutil.which(cc) else None


@lru_cache(maxsize=1)
def _toolchain() -> str:
    """What the built code depends on besides its text: the compiler's version and this CPU's features."""
    cc = compiler()
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    try:
        cpu = next((l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags")), "")
    except OSError:
        cpu = ""
    return f"{cc}\n{version}\n{cpu}"


def cache_dir() -> Path:
    """Where built kernels are kept: ``$OPTIMIZERS_KERNEL_CACHE``, else ``~/.cache/optimizer-trajectories``
    (a private folder in the temporary directory when the home folder cannot be written)."""
    d = os.environ.get("OPTIMIZERS_KERNEL_CACHE")
    if d:
        return Path(d)
    home = Path.home() / ".cache" / "optimizer-trajectories" / "kernels"
    try:
        home.mkdir(parents=True, exist_ok=True)
        if os.access(home, os.W_OK):
            return home
    except OSError:
        pass
    tmp = Path(tempfile.gettempdir()) / f"optimizer-trajectories-kernels-{os.getuid()}"
    tmp.mkdir(mode=0o700, exist_ok=True)
    if tmp.stat().st_uid != os.getuid() or tmp.stat().st_mode & 0o077:
        raise Unavailable(f"{tmp} is not a private folder")       # a library another user could plant
    return tmp


def _digest(src: str) -> str:
    return hashlib.sha256((_toolchain() + "\n" + " ".join(FLAGS) + "\n" + src).encode()).hexdigest()[:32]


@contextlib.contextmanager
def _kernel(src: str, build: bool):
    """The compiled ``step_block`` of ``src``, loaded from this process, from the disk cache, or built
    now (if ``build``), held while the block runs; raises :class:`Unavailable` (:class:`NotBuilt` if
    only the build is missing). At most ``MAX_KERNELS`` stay loaded: the least recently used one that
    no run is using is unloaded to make room."""
    if compiler() is None:
        raise Unavailable("no C compiler (set CC, or install gcc)")
    digest = _digest(src)
    with _lock:
        k = _loaded.pop(digest, None)
        if k is None:
            so = cache_dir() / f"{digest}.so"
            if not so.exists():
                if not build:
                    raise NotBuilt(src)
                _compile(src, so)
            else:
                os.utime(so)                  # (the disk cache drops the least recently used)
            k = _Loaded(ctypes.CDLL(str(so)))
            for old in [d for d, v in _loaded.items() if v.users == 0][:max(0, len(_loaded) + 1 - MAX_KERNELS)]:
                _ctypes.dlclose(_loaded.pop(old).lib._handle)
        _loaded[digest] = k                   # (now the most recently used)
        k.users += 1
    try:
        yield k.fn
    finally:
        with _lock:
            k.users -= 1


_queued: set = set()


def build_later(src: str):
    """Compile ``src`` in a background thread (once), so that later runs find the kernel built."""
    digest = _digest(src)
    with _lock:
        if digest in _queued:
            return
        _queued.add(digest)

    def work():
        try:
            with _kernel(src, build=True):
                pass
        except Unavailable:
            pass

    threading.Thread(target=work, name="optimizers-kernel-build", daemon=True).start()


def _compile(src: str, so: Path):
    so.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=so.parent) as tmp:
        c_file, out = Path(tmp) / "k.c", Path(tmp) / "k.so"
        c_file.write_text(src)
        for flags in (FLAGS, FALLBACK_FLAGS):
            done = subprocess.run([compiler(), *flags, "-o", str(out), str(c_file), "-lm"],
                                  capture_output=True, text=True, timeout=120)
            if done.returncode == 0:
                os.replace(out, so)              # atomic: another process may be building the same
                _prune(so.parent)
                return
        raise Unavailable(f"the C compiler refused the kernel: {done.stderr.strip()[:500]}")


def _prune(folder: Path):
    """Keep at most ``MAX_DISK_KERNELS`` kernels on disk (a process that loaded one keeps its copy)."""
    files = []
    for f in folder.glob("*.so"):
        try:
            files.append((f.stat().st_mtime, f))
        except OSError:
            pass
    for _, f in sorted(files)[:max(0, len(files) - MAX_DISK_KERNELS)]:
        f.unlink(missing_ok=True)


# ---- running --------------------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _surface_c(expr, minima: tuple, f_min: float, span: float) -> SurfaceC:
    from surfaces.ccode import c_statements

    from .run import CONVERGE_SPANS
    code = c_statements(expr)
    if code is None:
        raise Unavailable("the surface has no C form")
    return SurfaceC(code["value"], code["grad"], code["value_and_grad"], minima, f_min, CONVERGE_SPANS * span, span)


def _signature(h, per_run) -> tuple:
    """How each hyperparameter enters the program (not its value): per run, zero, a flag, or an input."""
    out = []
    for key, v in sorted(vars(h).items()):
        if key in per_run:
            out.append((key, "run"))
        elif isinstance(v, (bool, np.bool_)):
            out.append((key, bool(v)))
        else:
            out.append((key, "zero" if v == 0.0 else "input"))
    return tuple(out)


def _state_signature(state) -> tuple:
    """Each initial state field as the program sees it: per coordinate, per run, or a float."""
    return tuple(("elem" if v.ndim == 2 and v.shape[1] == 2 else "run") if isinstance(v, np.ndarray)
                 else ("float", float(v)) for v in state)


class _Stand:
    """Stand-in hyperparameters of a signature (values do not reach the program)."""

    def __init__(self, signature):
        for key, how in signature:
            setattr(self, key, how if isinstance(how, bool) else
                    np.ones(1) if how == "run" else 0.0 if how == "zero" else 1.0)


@lru_cache(maxsize=256)
def _generated(rule, update, signature, state_sig, opt, surf: SurfaceC):
    """(program, C source, parameter names, buffer names) of a rule's configuration on a surface
    (``update`` is ``rule.update``, in the key so that a replaced function is recorded anew)."""
    state = rule.State(*(np.zeros((1, 2)) if s == "elem" else np.zeros((1, 1)) if s == "run" else s[1]
                         for s in state_sig))
    per_run = {key for key, how in signature if how == "run"}
    try:
        program = trace(rule, _Stand(signature), state, per_run, opt.internals)
    except Untraceable as exc:
        raise Unavailable(str(exc)) from None
    return (program, *source(program, surf, opt))


def prepare(c):
    """The C source of the kernel for a run's setup (``run._Setup``), its program, parameter and buffer
    names and options; raises :class:`Unavailable`."""
    if not getattr(c.optimizer.rule, "ELEMENTWISE", True):
        raise Unavailable(f"{c.optimizer.name} couples the coordinates")
    if compiler() is None:
        raise Unavailable("no C compiler (set CC, or install gcc)")
    surface, h = c.surface, c.h
    noisy, scaled = bool(np.any(c.sigma)), bool(np.any(c.scale != 1.0))
    opt = Options(internals=c.internals, static=not getattr(surface, "time_varying", True),
                  bounds=c.bounds is not None,
                  scale="" if not scaled else "run" if isinstance(c.scale, np.ndarray) else "shared",
                  noise="" if not noisy else "run" if isinstance(c.sigma, np.ndarray) else "shared",
                  sparse=c.sparse)
    per_run = frozenset(key for key, v in vars(h).items() if isinstance(v, np.ndarray))
    surf = _surface_c(surface.expr, tuple(map(tuple, np.asarray(surface.minima).tolist())),
                      float(surface.f_min), float(surface.span))
    state = c.optimizer.rule.init(np.zeros((c.k, 2)), h)
    rule = c.optimizer.rule
    program, src, params, buffers = _generated(rule, rule.update, _signature(h, per_run), _state_signature(state),
                                               opt, surf)
    return src, program, params, buffers, opt


def run(c, build: bool = True):
    """``optimizers.run`` on the compiled engine (``c`` is its ``run._Setup``); raises
    :class:`Unavailable` when it cannot."""
    src, program, params, buffers, opt = prepare(c)
    with _kernel(src, build) as fn:
        return _steps(c, fn, program, params, buffers, opt)


def _steps(c, fn, program, params, buffers, opt):
    """The buffers the kernel reads and writes, the noise draws, the calls, and the Trajectory."""
    from .run import _finish, _start, _Summaries

    k, steps, rule, h, surface = c.k, c.steps, c.optimizer.rule, c.h, c.surface
    path_mode = c.record == "path"
    rows = steps + 1 if path_mode else 2              # record="summary": a ring of two rows
    P, L = np.empty((rows, 2, k)), np.empty((rows, k))
    with np.errstate(all="ignore"):
        diverged_at = _start(c, P, L).astype(np.int64)
        G = np.empty((2, k))
        G.T[...] = surface.grad(P[0].T, 1)
        state = rule.init(P[0].T, h)
    summ = _Summaries(surface, c.tol, diverged_at)   # step 0, as the other engines
    summ.start(P[0], L[0])
    values = dict(lr0=h.lr if not isinstance(h.lr, np.ndarray) else 0.0,
                  sigma=c.sigma if not isinstance(c.sigma, np.ndarray) else 0.0,
                  scale=c.scale if not isinstance(c.scale, np.ndarray) else 1.0,
                  cx=c.center[0], cy=c.center[1], limit=c.limit,
                  gap=c.tol * max(1.0, abs(surface.f_min)) if np.isfinite(surface.f_min) else 0.0)
    if c.bounds is not None:
        (values["xlo"], values["xhi"]), (values["ylo"], values["yhi"]) = c.bounds.tolist()
    values.update({p: getattr(h, p[2:]) for p in params if p.startswith("p.")})
    bufs = {"P": P, "L": L, "G": G, "factor": np.array(c.factors, dtype=float),
            "param": np.array([float(values.get(p, 0.0)) for p in params]),
            "best": summ.best, "length": summ.length, "conv": summ.conv.astype(float)}
    for name in buffers:
        if name.startswith("h."):
            bufs[name] = np.ascontiguousarray(getattr(h, name[2:])[:, 0], dtype=float)
    for i, kind in enumerate(program.state_kinds):
        if kind is not None:                          # (2, K), (K,) or one number, as the kernel reads it
            shape = (k, 2) if kind & ELEM else (k, 1) if kind & RUN else (1, 1)
            v = np.broadcast_to(np.asarray(state[i], dtype=float), shape)
            bufs[f"s.{i}"] = np.ascontiguousarray(v.T if kind & ELEM else v[:, 0])
    if opt.scale == "run":
        bufs["scale"] = np.ascontiguousarray(c.scale[:, 0])
    if opt.noise == "run":
        bufs["sigma"] = np.ascontiguousarray(c.sigma[:, 0])
    internals = {}
    for name in buffers:
        if name.startswith("i."):
            internals[name[2:]] = bufs[name] = np.zeros((steps, 2, k))
    random = bool(opt.noise or opt.sparse)
    block = max(1, min(steps, (1 << 19) // k)) if random else max(steps, 1)   # ≤ 8 MB of draws at once
    for name in ("noise", "mask"):
        if name in buffers:
            bufs[name] = np.empty((block, k, 2))
    ptrs = (ctypes.c_void_p * len(buffers))(*[bufs[b].ctypes.data for b in buffers])
    rng = np.random.default_rng(c.seed)
    t = 1
    while t <= steps:
        n = min(steps - t + 1, block)
        for j in range(n if random else 0):           # the array engine's draws, step by step
            if opt.noise:
                bufs["noise"][j] = rng.standard_normal((k, 2))
            if opt.sparse:
                bufs["mask"][j] = rng.random((k, 2)) < c.keep
        fn(k, t, n, (t - 1) % rows, rows, ptrs, diverged_at.ctypes.data)
        t += n
    summary = dict(best_loss=summ.best, converged_at=bufs["conv"].astype(int), path_length=summ.length)
    last = steps % rows
    return _finish(c, "compiled", P[last].T.copy(), L[last].copy(), diverged_at,
                   P if path_mode else None, L if path_mode else None,
                   {name: arr.transpose(2, 0, 1) for name, arr in internals.items()}, summary)

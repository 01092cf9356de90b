#!/usr/bin/python3
"""numpy peer of tl-bench-upper-bound (spec 01-upper-bound section 8).

Reads the inputs that the C program wrote to DIR (arrays.c.tsv, role
"input"), computes every kernel again in plain, idiomatic numpy, times it
with the C program's protocol (one warm-up call; calls per repetition
doubled until a repetition lasts --min-time; median of --reps repetitions,
per call), and writes its outputs, timings and BLAS to the *.numpy.* twins
of the C files.  bench/upper_bound_report.py compares the two sides.

Only numpy and the standard library: this is Debian's python3-numpy, run by
Debian's /usr/bin/python3 (scripts/install-deps --bench).  The caller sets
OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1; the script refuses to time a
multi-threaded OpenBLAS.
"""
import argparse
import ctypes
import io
import os
import statistics
import sys
import time
from contextlib import redirect_stdout

import numpy as np

# Same defaults as tl-bench-upper-bound.
REPS_DEFAULT = 7
MIN_TIME_DEFAULT = 0.020  # seconds per repetition
CALLS_MAX = 1 << 30


# ---- arrays -----------------------------------------------------------------

def read_manifest(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


def load_inputs(folder):
    """{case: {name: array}} of the C program's inputs, in native byte order."""
    inputs = {}
    for row in read_manifest(os.path.join(folder, "arrays.c.tsv")):
        if row["role"] != "input":
            continue
        a = np.fromfile(os.path.join(folder, row["file"]), dtype=np.float64)
        shape = (int(row["rows"]), int(row["cols"]))
        inputs.setdefault(row["case"], {})[row["name"]] = a.reshape(shape)
    return inputs


# ---- the kernels ------------------------------------------------------------

def unpack(theta, d, M, Q):
    """tl_net's layout: [W1 (M x d, row-major) | b1 (M) | W2 (Q x M) | b2 (Q)]."""
    W1 = theta[: M * d].reshape(M, d)
    b1 = theta[M * d: M * d + M]
    W2 = theta[M * d + M: M * d + M + Q * M].reshape(Q, M)
    b2 = theta[M * d + M + Q * M:]
    return W1, b1, W2, b2


def loss_grad(theta, X, Y):
    """C^2 = (1/N) |W2 relu(W1 X + b1 u^T) + b2 u^T - Y|_F^2 and its gradient
    (spec section 3.6)."""
    d, N = X.shape
    Q = Y.shape[0]
    M = (theta.size - Q) // (d + 1 + Q)
    W1, b1, W2, b2 = unpack(theta, d, M, Q)
    Z = W1 @ X + b1[:, None]
    H = np.maximum(Z, 0.0)
    R = W2 @ H + b2[:, None] - Y
    value = np.vdot(R, R) / N
    G = (2.0 / N) * R
    GZ = (W2.T @ G) * (Z > 0.0)
    grad = np.concatenate(((GZ @ X.T).ravel(), GZ.sum(axis=1), (G @ H.T).ravel(), G.sum(axis=1)))
    return value, grad


def construct(X0, cls, Y, margin):
    """Spec sections 3.1 and 3.2 with R = I: class means, SVD pseudo-inverse,
    noise measures, label norms, closed form C*, the network and its
    forward-pass cost."""
    M, N = X0.shape
    Q = Y.shape[0]
    E = (cls == np.arange(Q)[:, None]).astype(np.float64)  # class indicator, Q x N
    Xbar = (X0 @ E.T) / E.sum(axis=1)
    dX = X0 - Xbar[:, cls]
    U, s, Vt = np.linalg.svd(Xbar, full_matrices=False)
    Pen = (Vt.T / s) @ U.T
    UtdX = U.T @ dX
    PendX = Pen @ dX
    norms_P = np.linalg.norm(UtdX, axis=0)
    YPen = Y @ Pen
    out = {
        "delta": np.linalg.norm(dX, axis=0).max(),
        "delta_P": norms_P.max(),
        "delta_P_rms": np.sqrt(np.mean(norms_P ** 2)),
        "delta_tilde": np.linalg.norm(PendX, axis=0).max(),
        "ypen_norm": np.linalg.norm(YPen, 2),
        "y_norm": np.linalg.norm(Y, 2),
        "cost_closed": np.linalg.norm(Y @ PendX) / np.sqrt(N),
    }
    W1 = U @ U.T  # P
    beta = max(0.0, (-(W1 @ X0)).max()) + margin
    b1 = np.full(M, beta)
    W2 = YPen
    b2 = -(W2 @ b1)
    F = W2 @ np.maximum(W1 @ X0 + b1[:, None], 0.0) + b2[:, None]
    out["cost_fwd"] = np.linalg.norm(F - Y[:, cls]) / np.sqrt(N)
    out["beta"] = beta
    out["theta"] = np.concatenate((W1.ravel(), b1, W2.ravel(), b2))
    return out


def lstsq(X0, cls, Y, rcond):
    """C_int (spec section 3.4): least squares on [X0^T, u_N] against
    (Y E)^T, residual computed explicitly."""
    M, N = X0.shape
    design = np.empty((N, M + 1))
    design[:, :M] = X0.T
    design[:, M] = 1.0
    B = Y[:, cls].T
    Theta, _, rank, _ = np.linalg.lstsq(design, B, rcond=rcond)
    cost = np.linalg.norm(design @ Theta - B) / np.sqrt(N)
    return {"cost_int": cost, "A": Theta[:M].T, "c": Theta[M], "rank": rank}


def hessian_fd(theta, X, Y, h):
    """Central differences of the gradient, column k from theta +- h e_k, then
    symmetrised: tl_opt_hessian_fd, step for step (the divisor is the
    representable (x_k + h) - (x_k - h))."""
    p = theta.size
    Hm = np.empty((p, p))
    x = theta.copy()
    for k in range(p):
        xk = theta[k]
        x[k] = xk + h
        gp = loss_grad(x, X, Y)[1]
        x[k] = xk - h
        gm = loss_grad(x, X, Y)[1]
        x[k] = xk
        Hm[:, k] = (gp - gm) / ((xk + h) - (xk - h))
    return 0.5 * (Hm + Hm.T)


# ---- timing -----------------------------------------------------------------

def time_kernel(call, reps, min_time):
    """(calls per repetition, [seconds per call] of each repetition)."""
    call()  # warm-up
    calls = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        if time.perf_counter() - t0 >= min_time:
            break
        if calls >= CALLS_MAX:
            raise RuntimeError("clock not advancing")
        calls *= 2
    per_call = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        per_call.append((time.perf_counter() - t0) / calls)
    return calls, per_call


# ---- BLAS -------------------------------------------------------------------

def blas_info():
    """Which BLAS numpy really runs: numpy.show_config's BLAS entry (on Debian
    only the generic 'blas', resolved through update-alternatives), the
    shared objects mapped into this process, and OpenBLAS's own core name and
    thread count when it is the one loaded; threadpoolctl when installed."""
    np.dot(np.ones((64, 64)), np.ones((64, 64)))  # make sure BLAS is loaded
    np.linalg.svd(np.ones((4, 4)))  # and LAPACK
    info = {}
    buf = io.StringIO()
    with redirect_stdout(buf):
        np.show_config()
    libs = [line.strip() for line in buf.getvalue().splitlines() if "libraries" in line]
    info["show_config"] = libs[0] if libs else "(no libraries line)"
    mapped = set()
    with open("/proc/self/maps", encoding="utf-8") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            base = os.path.basename(path)
            if any(k in base for k in ("blas", "lapack", "mkl", "blis")):
                mapped.add(os.path.realpath(path))
    info["mapped"] = ", ".join(sorted(mapped)) or "(none)"
    info["core"] = info["threads"] = info["config"] = "?"
    try:
        lib = ctypes.CDLL("libopenblas.so.0")  # the already-loaded copy, if any
        for name in ("openblas_get_corename", "openblas_get_config"):
            getattr(lib, name).restype = ctypes.c_char_p
        info["core"] = lib.openblas_get_corename().decode()
        info["config"] = lib.openblas_get_config().decode()
        info["threads"] = str(lib.openblas_get_num_threads())
    except (OSError, AttributeError):
        pass
    try:
        import threadpoolctl  # optional; never installed by this script
        info["threadpoolctl"] = "; ".join(
            f"{d.get('internal_api')} {d.get('version')} {d.get('architecture')} "
            f"threads={d.get('num_threads')}" for d in threadpoolctl.threadpool_info())
    except ImportError:
        info["threadpoolctl"] = "(not installed)"
    return info


# ---- main -------------------------------------------------------------------

class Writer:
    def __init__(self, folder):
        self.folder = folder
        self.rows = []

    def array(self, case_id, name, a):
        a = np.atleast_2d(np.asarray(a, dtype=np.float64))
        file = f"{case_id}.{name}.numpy.f64"
        np.ascontiguousarray(a).tofile(os.path.join(self.folder, file))
        self.rows.append(f"output\t{case_id}\t{name}\t{a.shape[0]}\t{a.shape[1]}\t{file}")

    def close(self):
        with open(os.path.join(self.folder, "arrays.numpy.tsv"), "w", encoding="utf-8") as f:
            f.write("role\tcase\tname\trows\tcols\tfile\n")
            f.write("".join(r + "\n" for r in self.rows))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", help="the --out folder of tl-bench-upper-bound")
    ap.add_argument("--reps", type=int, default=REPS_DEFAULT)
    ap.add_argument("--min-time", type=float, default=MIN_TIME_DEFAULT)
    args = ap.parse_args()
    if args.reps < 1 or not args.min_time > 0:
        ap.error("--reps must be >= 1 and --min-time > 0")

    blas = blas_info()
    if blas["threads"] not in ("1", "?"):
        sys.exit(f"upper_bound_peer: OpenBLAS runs {blas['threads']} threads; "
                 "set OPENBLAS_NUM_THREADS=1")
    with open(os.path.join(args.folder, "blas.numpy.tsv"), "w", encoding="utf-8") as f:
        f.write("".join(f"{k}\t{v}\n" for k, v in blas.items()))
    env = " ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in
                   ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_CORETYPE",
                    "OPENBLAS_L2_SIZE"))
    print(f"numpy {np.__version__}: {blas['show_config']}; mapped {blas['mapped']}; "
          f"core {blas['core']}, {blas['threads']} thread(s); "
          f"threadpoolctl {blas['threadpoolctl']}")
    print(f"numpy env {env}")

    inputs = load_inputs(args.folder)
    out = Writer(args.folder)
    timings = ["case\tkernel\tsize\tcalls_per_rep\tmedian_s\tper_call_s"]

    def run(case_id, kernel, size, call, summary):
        calls, per_call = time_kernel(call, args.reps, args.min_time)
        med = statistics.median(per_call)
        timings.append(f"{case_id}\t{kernel}\t{size}\t{calls}\t{med:.6e}\t"
                       + ",".join(f"{t:.6e}" for t in per_call))
        scaled, unit = (1e6 * med, "us") if med < 1e-3 else (1e3 * med, "ms")
        print(f"numpy {case_id:<11} {size:<24} median {scaled:8.2f} {unit}  "
              f"({calls} calls/rep)  {summary}", flush=True)

    for case_id in ("grad-small", "grad-large"):
        a = inputs[case_id]
        theta, X, Y = a["theta"].ravel(), a["X"], a["Y"]
        value, grad = loss_grad(theta, X, Y)
        out.array(case_id, "value", value)
        out.array(case_id, "grad", grad)
        size = f"M={X.shape[0]} Q={Y.shape[0]} N={X.shape[1]}"
        run(case_id, "C^2 + gradient", size, lambda: loss_grad(theta, X, Y), f"C^2 = {value:.17g}")

    a = inputs["construct"]
    X0, cls, Y, margin = a["X"], a["cls"].ravel().astype(np.intp), a["Ylabels"], a["margin"].item()
    r = construct(X0, cls, Y, margin)
    for name in ("cost_fwd", "cost_closed", "beta", "delta", "delta_P", "delta_P_rms",
                 "delta_tilde", "ypen_norm", "theta"):
        out.array("construct", name, r[name])
    size = f"M={X0.shape[0]} Q={Y.shape[0]} N={X0.shape[1]}"
    run("construct", "construction + forward + closed form", size,
        lambda: construct(X0, cls, Y, margin), f"C*_fwd = {r['cost_fwd']:.17g}")

    a = inputs["lstsq"]
    X0, cls, Y, rcond = a["X"], a["cls"].ravel().astype(np.intp), a["Ylabels"], a["rcond"].item()
    r = lstsq(X0, cls, Y, rcond)
    if r["rank"] != X0.shape[0] + 1:
        sys.exit(f"upper_bound_peer: rank of [X0^T, u] is {r['rank']}, not M+1")
    for name in ("cost_int", "A", "c"):
        out.array("lstsq", name, r[name])
    size = f"{X0.shape[1]}x{X0.shape[0] + 1}, {Y.shape[0]} rhs"
    run("lstsq", "dgelsd [X0^T, 1]", size, lambda: lstsq(X0, cls, Y, rcond),
        f"C_int = {r['cost_int']:.17g}")

    a = inputs["hessian"]
    theta, X, Y, h = a["theta"].ravel(), a["X"], a["Y"], a["h"].item()
    Hm = hessian_fd(theta, X, Y, h)
    out.array("hessian", "H", Hm)
    size = f"p={theta.size} (M=Q={X.shape[0]}, N={X.shape[1]})"
    run("hessian", "FD Hessian (2p gradients)", size, lambda: hessian_fd(theta, X, Y, h),
        f"H_00 = {Hm[0, 0]:.17g}")

    out.close()
    with open(os.path.join(args.folder, "timings.numpy.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(timings) + "\n")


if __name__ == "__main__":
    main()

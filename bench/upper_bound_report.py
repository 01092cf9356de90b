#!/usr/bin/python3
"""Report of chapter 1's benchmark: the C and numpy timings and outputs that
tl-bench-upper-bound and upper_bound_peer.py left in DIR, side by side.

Prints which BLAS each side ran, then one table row per kernel (C median,
numpy median, ratio numpy/C, spec section 8's target, verdict, largest
relative difference of the outputs), then one summary line per kernel.

Agreement: for every output array, max|c - numpy| / max|c| (the normwise
relative difference in the max norm; for a scalar, |c - numpy| / |c|) must be
at most VALUE_RTOL.  Exit status 1 if any output disagrees or is missing;
a missed performance target is reported, not an error, since it depends on
the machine.
"""
import os
import sys

import numpy as np

# Both sides compute the same formulas in a different order of rounding
# (dgemm against dgemm, but bias added before or after, pairwise against
# sequential sums): differences are a few ulps amplified by the
# conditioning, far below this.
VALUE_RTOL = 1e-12

# Spec section 8: the largest C median (seconds per call) and the least
# ratio numpy/C, None where the spec sets none.
TARGETS = {
    "grad-small": (10e-6, 5.0),
    "grad-large": (200e-6, 2.0),
    "construct": (10e-3, 1.0),
    "lstsq": (20e-3, None),
    "hessian": (50e-3, None),
}
ORDER = ["grad-small", "grad-large", "construct", "lstsq", "hessian"]


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        return [dict(zip(header, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


def outputs(folder, side):
    arrays = {}
    for row in read_tsv(os.path.join(folder, f"arrays.{side}.tsv")):
        path = os.path.join(folder, row["file"])
        if row["role"] == "output" and os.path.exists(path):  # an absent file counts as missing
            a = np.fromfile(path, dtype=np.float64)
            shape = (int(row["rows"]), int(row["cols"]))
            if a.size == shape[0] * shape[1]:  # else a shape mismatch, counted as missing
                a = a.reshape(shape)
            arrays[(row["case"], row["name"])] = a
    return arrays


def timings(folder, side):
    return {row["case"]: row for row in read_tsv(os.path.join(folder, f"timings.{side}.tsv"))}


def blas(folder, side):
    with open(os.path.join(folder, f"blas.{side}.tsv"), encoding="utf-8") as f:
        return dict(line.rstrip("\n").split("\t", 1) for line in f if "\t" in line)


def fmt_time(seconds):
    if seconds < 1e-3:
        return f"{1e6 * seconds:.2f} us"
    return f"{1e3 * seconds:.2f} ms"


def fmt_target(max_s, min_ratio):
    text = f"<= {fmt_time(max_s).replace('.00', '')}"
    return text + (f", >= {min_ratio:g}x numpy" if min_ratio else "")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: upper_bound_report.py DIR")
    folder = sys.argv[1]
    c_out, np_out = outputs(folder, "c"), outputs(folder, "numpy")
    c_time, np_time = timings(folder, "c"), timings(folder, "numpy")
    c_blas, np_blas = blas(folder, "c"), blas(folder, "numpy")

    print(f"C BLAS:     {c_blas.get('library')} (core {c_blas.get('core')}, "
          f"{c_blas.get('threads')} thread)")
    print(f"numpy BLAS: {np_blas.get('mapped')} (core {np_blas.get('core')}, "
          f"{np_blas.get('threads')} thread; show_config: {np_blas.get('show_config')}; "
          f"threadpoolctl {np_blas.get('threadpoolctl')})")
    print(f"environment: OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')} "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE', '(unset)')} (both sides)")
    print(f"medians of {len(c_time[ORDER[0]]['per_call_s'].split(','))} repetitions, "
          "time per call; values: max relative difference over all outputs "
          f"(tolerance {VALUE_RTOL:g})\n")

    failed = False
    rows, summary = [], []
    for case_id in ORDER:
        ct, nt = c_time.get(case_id), np_time.get(case_id)
        if ct is None or nt is None:
            failed = True
            summary.append(f"{case_id}: MISSING timings ({'C' if ct is None else 'numpy'})")
            continue
        rel, missing = {}, []
        for (k, name), a in c_out.items():
            if k != case_id:
                continue
            b = np_out.get((k, name))
            if b is None or b.shape != a.shape:
                missing.append(name)
                continue
            scale, diff = np.abs(a).max(), np.abs(a - b).max()
            r = diff / scale if scale > 0 else diff
            rel[name] = r if np.isfinite(r) else np.inf  # a NaN never agrees
        worst_name = max(rel, key=rel.get) if rel else "no outputs"
        worst = rel.get(worst_name, np.inf)
        agree = not missing and worst <= VALUE_RTOL
        failed |= not agree
        c_med, np_med = float(ct["median_s"]), float(nt["median_s"])
        ratio = np_med / c_med
        max_s, min_ratio = TARGETS[case_id]
        misses = []
        if c_med > max_s:
            misses.append("time")
        if min_ratio and ratio < min_ratio:
            misses.append("ratio")
        verdict = "met" if not misses else "MISS (" + ", ".join(misses) + ")"
        values = f"{'agree' if agree else 'DISAGREE'} {worst:.1e} ({worst_name})"
        if missing:
            values += f" missing {', '.join(missing)}"
        rows.append([ct["kernel"], ct["size"], fmt_time(c_med), fmt_time(np_med), f"{ratio:.2f}",
                     fmt_target(max_s, min_ratio), verdict, values])
        summary.append(f"{case_id}: C {fmt_time(c_med)}, numpy {fmt_time(np_med)}, numpy/C = "
                       f"{ratio:.2f}x; target {fmt_target(max_s, min_ratio)}: {verdict}; values "
                       + ("agree" if agree else "DISAGREE"))

    header = ["kernel", "size", "C median", "numpy median", "numpy/C", "target", "verdict",
              "values (rel. diff)"]
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths]] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
    print()
    for line in summary:
        print("summary: " + line)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

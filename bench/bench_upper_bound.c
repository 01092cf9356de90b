/* tl-bench-upper-bound: the C side of chapter 1's performance benchmark
 * (spec 01-upper-bound §8).
 *
 * Four kernels, each built exactly as the chapter builds it:
 *   grad-small, grad-large  C^2 and its gradient (tl_net_loss_grad through
 *                           ub_objective_eval, spec §3.6) on the gauss set at
 *                           the quick and full GD sizes, He network (§3.7);
 *   construct               one grid point of the sweep on the full trig-qm:
 *                           statistics, label norms, construction, forward
 *                           cost (§3.1, §3.2);
 *   lstsq                   C_int by dgelsd_ on [X0^T, u_N] (§3.4);
 *   hessian                 the finite-difference Hessian at the free local
 *                           minimum of the full trig-mq, p = 144 (§3.6).
 *
 * For each kernel the program writes its inputs to --out DIR as raw float64
 * arrays (native byte order, row-major), so that the numpy peer
 * (bench/upper_bound_peer.py) computes on bit-identical inputs, times the
 * kernel, and writes the kernel's outputs beside them for the comparison
 * done by bench/upper_bound_report.py.  bench/run-bench drives all three.
 *
 * Files in DIR: arrays.c.tsv (role, case, name, rows, cols, file of every
 * array written), timings.c.tsv (per-call seconds of every repetition) and
 * blas.c.tsv (which BLAS ran).  The numpy peer writes the *.numpy.* twins.
 *
 * Timing: after one untimed warm-up call, the number of calls per
 * repetition is doubled until a repetition lasts at least --min-time
 * seconds, so that the clock's resolution and the loop's overhead are
 * negligible; then --reps repetitions are timed and the per-call time of
 * each is recorded.  The median is what the report compares.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "tl_error.h"
#include "tl_linalg.h"
#include "tl_net.h"
#include "tl_opt.h"
#include "tl_rng.h"
#include "ub_data.h"
#include "ub_model.h"

/* ---- parameters (spec §7 unless stated) ---------------------------------- */

static const uint64_t BENCH_SEED = 20230919; /* the chapter's default seed */
/* Stream ids of spec §2: the Haar rotation R_s, and GD run k = 0 (100 + k). */
enum { BENCH_TASK_HAAR = 4, BENCH_TASK_HE = 100 };

/* gauss set of the gradient kernel: (gd_M, gd_Q, gd_per_class) of the quick
 * and the full profile, N = 120 and N = 800, at gd_eps. */
static const size_t BENCH_GRAD_SIZES[][3] = {{6, 3, 40}, {16, 4, 200}};
static const char *const BENCH_GRAD_CASES[] = {"grad-small", "grad-large"};
static const double BENCH_GD_EPS = 0.05;

/* Full trig-qm (N = 5090) at eps0, and the construction's margin. */
static const size_t BENCH_QM_M = 64, BENCH_QM_Q = 10, BENCH_QM_BASE = 500;
static const double BENCH_EPS0 = 0.1;
static const double BENCH_MARGIN = 1.0;
static const double BENCH_LSTSQ_RCOND = 1e-12;
/* ub_labels_alloc's label kinds.  The construct and lstsq kernels use the
 * non-symmetric Y_2, so that a transposed Y on either side cannot go
 * unnoticed (spec pitfall 9); gauss and the Hessian use I, as the chapter. */
enum { BENCH_LABELS_IDENTITY = 0, BENCH_LABELS_Y2 = 1 };

/* Full trig-mq (M = Q = 8, N = 428) at hess_eps: p = 144; step hess_h. */
static const size_t BENCH_MQ_Q = 8, BENCH_MQ_BASE = 50;
static const double BENCH_HESS_EPS = 0.2;
static const double BENCH_HESS_H = 1e-5;

/* Timing protocol defaults (see the file comment). */
enum { BENCH_REPS_DEFAULT = 7, BENCH_REPS_MAX = 101 };
static const double BENCH_MIN_TIME_DEFAULT = 0.020; /* seconds per repetition */
/* The calls per repetition stop doubling here, so a kernel that cannot be
 * timed (a clock that does not advance) ends with an error, not a hang. */
static const size_t BENCH_CALLS_MAX = (size_t)1 << 30;

/* No sabotage is active in a benchmark. */
static const ub_faults bench_no_faults;

/* ---- output folder --------------------------------------------------------- */

/* An input is what the numpy peer reads; an output is what it must match. */
typedef enum { BENCH_INPUT, BENCH_OUTPUT } bench_role;

typedef struct {
  const char *dir;
  FILE *manifest; /* arrays.c.tsv */
  FILE *timings;  /* timings.c.tsv */
} bench_out;

static int bench_path(char *buf, size_t size, const char *dir, const char *name) {
  int n = snprintf(buf, size, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= size)
    TL_ERROR(TL_EIO, "path too long: %s/%s", dir, name);
  return TL_SUCCESS;
}

static int bench_fopen(FILE **f, const char *dir, const char *name) {
  char path[4096];
  TL_TRY(bench_path(path, sizeof path, dir, name));
  *f = fopen(path, "w");
  if (!*f)
    TL_ERROR(TL_EIO, "cannot write %s: %s", path, strerror(errno));
  return TL_SUCCESS;
}

/* fclose that reports a failed flush (a full disk shows up here). */
static int bench_fclose(FILE *f, const char *what) {
  if (f && fclose(f) != 0)
    TL_ERROR(TL_EIO, "cannot finish %s: %s", what, strerror(errno));
  return TL_SUCCESS;
}

/* Write a rows x cols block (leading dimension ld) as raw doubles to
 * "<case>.<name>.c.f64" (role "output") or "<case>.<name>.f64" (role
 * "input") and list it in the manifest. */
static int bench_write_array(bench_out *o, bench_role role, const char *case_id,
                             const char *name, const double *data, size_t rows, size_t cols,
                             size_t ld) {
  char file[512];
  int output = role == BENCH_OUTPUT;
  int n = snprintf(file, sizeof file, "%s.%s%s.f64", case_id, name, output ? ".c" : "");
  if (n < 0 || (size_t)n >= sizeof file)
    TL_ERROR(TL_EIO, "array name too long: %s.%s", case_id, name);
  FILE *f = NULL;
  TL_TRY(bench_fopen(&f, o->dir, file));
  int status = TL_SUCCESS;
  for (size_t i = 0; i < rows && !status; i++)
    if (fwrite(data + i * ld, sizeof *data, cols, f) != cols)
      status = TL_EIO;
  int closed = bench_fclose(f, file);
  if (status)
    TL_ERROR(TL_EIO, "cannot write %s/%s", o->dir, file);
  TL_TRY(closed);
  if (fprintf(o->manifest, "%s\t%s\t%s\t%zu\t%zu\t%s\n", output ? "output" : "input", case_id,
              name, rows, cols, file) < 0)
    TL_ERROR(TL_EIO, "cannot write arrays.c.tsv");
  return TL_SUCCESS;
}

static int bench_write_matrix(bench_out *o, bench_role role, const char *case_id,
                              const char *name, const gsl_matrix *A) {
  return bench_write_array(o, role, case_id, name, A->data, A->size1, A->size2, A->tda);
}

/* A vector as a 1 x n array; it must have stride 1 (every vector here does). */
static int bench_write_vector(bench_out *o, bench_role role, const char *case_id,
                              const char *name, const gsl_vector *v) {
  if (v->stride != 1)
    TL_ERROR(GSL_EINVAL, "%s.%s: vector with stride %zu", case_id, name, v->stride);
  return bench_write_array(o, role, case_id, name, v->data, 1, v->size, v->size);
}

static int bench_write_scalar(bench_out *o, bench_role role, const char *case_id,
                              const char *name, double value) {
  return bench_write_array(o, role, case_id, name, &value, 1, 1, 1);
}

/* ---- timing -------------------------------------------------------------- */

typedef int (*bench_call)(void *ctx);

typedef struct {
  size_t reps;
  double min_time;
} bench_protocol;

typedef struct {
  size_t calls;                   /* calls per repetition */
  double per_call[BENCH_REPS_MAX]; /* seconds per call, one per repetition */
  double median;
} bench_timing;

/* The monotonic clock: immune to wall-clock adjustments during a run. */
static int bench_clock_check(void) {
  struct timespec t;
  if (clock_gettime(CLOCK_MONOTONIC, &t) != 0)
    TL_ERROR(TL_EPRECOND, "CLOCK_MONOTONIC is not available: %s", strerror(errno));
  return TL_SUCCESS;
}

/* Seconds on the monotonic clock; bench_clock_check has made sure, once,
 * that reading it cannot fail, so the hot loop does not test it again. */
static double bench_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int bench_repeat(bench_call call, void *ctx, size_t calls, double *seconds) {
  double t0 = bench_now();
  for (size_t i = 0; i < calls; i++)
    TL_TRY(call(ctx));
  *seconds = bench_now() - t0;
  return TL_SUCCESS;
}

static int bench_compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int bench_time(bench_call call, void *ctx, const bench_protocol *proto,
                      bench_timing *t) {
  if (proto->reps < 1 || proto->reps > BENCH_REPS_MAX)
    TL_ERROR(GSL_EINVAL, "repetitions must be in 1..%d, got %zu", BENCH_REPS_MAX, proto->reps);
  double seconds = 0;
  TL_TRY(call(ctx)); /* warm-up: caches, page faults, OpenBLAS's thread setup */
  for (t->calls = 1;; t->calls *= 2) {
    TL_TRY(bench_repeat(call, ctx, t->calls, &seconds));
    if (seconds >= proto->min_time)
      break;
    if (t->calls >= BENCH_CALLS_MAX)
      TL_ERROR(TL_EPRECOND, "a repetition of %zu calls took only %g s: clock not advancing?",
               t->calls, seconds);
  }
  double sorted[BENCH_REPS_MAX] = {0};
  for (size_t r = 0; r < proto->reps; r++) {
    TL_TRY(bench_repeat(call, ctx, t->calls, &seconds));
    t->per_call[r] = seconds / (double)t->calls;
    sorted[r] = t->per_call[r];
  }
  qsort(sorted, proto->reps, sizeof sorted[0], bench_compare_doubles);
  size_t mid = proto->reps / 2;
  t->median = proto->reps % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
  return TL_SUCCESS;
}

/* One line of timings.c.tsv and a line on stdout. */
static int bench_record(bench_out *o, const bench_protocol *proto, const char *case_id,
                        const char *kernel, const char *size, const bench_timing *t,
                        const char *values) {
  if (fprintf(o->timings, "%s\t%s\t%s\t%zu\t%.6e\t", case_id, kernel, size, t->calls,
              t->median) < 0)
    TL_ERROR(TL_EIO, "cannot write timings.c.tsv");
  for (size_t r = 0; r < proto->reps; r++)
    if (fprintf(o->timings, "%s%.6e", r ? "," : "", t->per_call[r]) < 0)
      TL_ERROR(TL_EIO, "cannot write timings.c.tsv");
  if (fputc('\n', o->timings) == EOF)
    TL_ERROR(TL_EIO, "cannot write timings.c.tsv");
  /* Microseconds below a millisecond, else milliseconds, as the report prints them. */
  int small = t->median < 1e-3;
  printf("C     %-11s %-24s median %8.2f %s  (%zu calls/rep)  %s\n", case_id, size,
         (small ? 1e6 : 1e3) * t->median, small ? "us" : "ms", t->calls, values);
  fflush(stdout);
  return TL_SUCCESS;
}

/* Y E: the label of every column (Q x N), as ub_objective builds it. */
static int bench_labels_ext(const ub_data *d, const gsl_matrix *Y, gsl_matrix **Yext) {
  *Yext = gsl_matrix_alloc(d->Q, d->N);
  if (!*Yext)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  for (size_t n = 0; n < d->N; n++)
    for (size_t q = 0; q < d->Q; q++)
      gsl_matrix_set(*Yext, q, n, gsl_matrix_get(Y, q, d->cls[n]));
  return TL_SUCCESS;
}

/* The class of every column, as doubles (exact for these sizes). */
static int bench_write_classes(bench_out *o, const char *case_id, const ub_data *d) {
  gsl_vector *cls = gsl_vector_alloc(d->N);
  if (!cls)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  for (size_t n = 0; n < d->N; n++)
    gsl_vector_set(cls, n, (double)d->cls[n]);
  int status = bench_write_vector(o, BENCH_INPUT, case_id, "cls", cls);
  gsl_vector_free(cls);
  return status;
}

/* ---- kernel 1: C^2 and gradient ------------------------------------------ */

typedef struct {
  ub_objective *obj;
  const gsl_vector *theta;
  gsl_vector *grad;
  double c2;
} bench_grad_ctx;

static int bench_grad_call(void *ctx) {
  bench_grad_ctx *k = ctx;
  return ub_objective_eval(k->obj, k->theta, &k->c2, k->grad);
}

static int bench_grad(bench_out *o, const bench_protocol *proto, size_t which) {
  const char *case_id = BENCH_GRAD_CASES[which];
  size_t M = BENCH_GRAD_SIZES[which][0], Q = BENCH_GRAD_SIZES[which][1];
  size_t per_class = BENCH_GRAD_SIZES[which][2];
  ub_data *d = NULL;
  gsl_matrix *Y = NULL, *Yext = NULL;
  ub_objective *obj = NULL;
  gsl_vector *theta = NULL, *grad = NULL;
  gsl_rng *rng = NULL;
  bench_timing t;
  int status = ub_data_alloc(&d, UB_SET_GAUSS, M, Q, per_class, BENCH_SEED);
  if (!status) {
    ub_data_set_eps(d, BENCH_GD_EPS);
    status = ub_labels_alloc(&Y, Q, BENCH_LABELS_IDENTITY);
  }
  if (!status) status = bench_labels_ext(d, Y, &Yext);
  if (!status) status = ub_objective_alloc(&obj, d, d->X0, Y);
  if (!status) {
    const tl_net *net = ub_objective_net(obj);
    theta = gsl_vector_alloc(net->p);
    grad = gsl_vector_alloc(net->p);
    rng = tl_rng_alloc(BENCH_SEED, BENCH_TASK_HE);
    status = theta && grad && rng ? tl_net_init_he(net, theta, rng) : GSL_ENOMEM;
  }
  bench_grad_ctx k = {obj, theta, grad, NAN};
  if (!status) status = bench_time(bench_grad_call, &k, proto, &t);
  if (!status) status = bench_write_matrix(o, BENCH_INPUT, case_id, "X", d->X0);
  if (!status) status = bench_write_matrix(o, BENCH_INPUT, case_id, "Y", Yext);
  if (!status) status = bench_write_vector(o, BENCH_INPUT, case_id, "theta", theta);
  if (!status) status = bench_write_scalar(o, BENCH_OUTPUT, case_id, "value", k.c2);
  if (!status) status = bench_write_vector(o, BENCH_OUTPUT, case_id, "grad", grad);
  if (!status) {
    char size[64], values[128];
    snprintf(size, sizeof size, "M=%zu Q=%zu N=%zu", M, Q, d->N);
    snprintf(values, sizeof values, "C^2 = %.17g", k.c2);
    status = bench_record(o, proto, case_id, "C^2 + gradient", size, &t, values);
  }
  ub_data_free(d);
  if (Y) gsl_matrix_free(Y);
  if (Yext) gsl_matrix_free(Yext);
  ub_objective_free(obj);
  if (theta) gsl_vector_free(theta);
  if (grad) gsl_vector_free(grad);
  gsl_rng_free(rng);
  if (status == GSL_ENOMEM)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  return status;
}

/* ---- kernels 2 and 3: construction, least squares on the full trig-qm ---- */

typedef struct {
  const ub_data *d;
  const gsl_matrix *Y;
  ub_stats *st;
  ub_label_stats ls;
  ub_net *net;
  ub_objective *obj; /* made once per data set and labels, as the chapter does */
  double cost_fwd;
} bench_construct_ctx;

/* One grid point of the sweep for one label matrix: spec §3.1 statistics,
 * the label norms and closed form C*, the §3.2 network and its forward-pass
 * cost C*_fwd. */
static int bench_construct_call(void *ctx) {
  bench_construct_ctx *k = ctx;
  TL_TRY(ub_stats_compute(k->st, k->d, k->d->X0, &bench_no_faults));
  TL_TRY(ub_label_stats_compute(&k->ls, k->st, k->Y));
  TL_TRY(ub_construct(k->net, k->st, k->Y, NULL, k->d->X0, BENCH_MARGIN, NAN, &bench_no_faults));
  return ub_net_cost(k->net, k->obj, &k->cost_fwd);
}

typedef struct {
  const ub_data *d;
  const gsl_matrix *Y;
  gsl_matrix *A;
  gsl_vector *c;
  size_t rank;
  double cost_int;
} bench_lstsq_ctx;

static int bench_lstsq_call(void *ctx) {
  bench_lstsq_ctx *k = ctx;
  return ub_lstsq_cost(k->d, k->d->X0, k->Y, 1, BENCH_LSTSQ_RCOND, &k->cost_int, k->A, k->c,
                       &k->rank);
}

static int bench_construct_outputs(bench_out *o, const char *case_id,
                                   const bench_construct_ctx *k) {
  const struct { const char *name; double value; } scalars[] = {
      {"cost_fwd", k->cost_fwd},           {"cost_closed", k->ls.cost_closed},
      {"beta", k->net->beta},              {"delta", k->st->delta},
      {"delta_P", k->st->delta_P},         {"delta_P_rms", k->st->delta_P_rms},
      {"delta_tilde", k->st->delta_tilde}, {"ypen_norm", k->ls.ypen_norm}};
  for (size_t i = 0; i < sizeof scalars / sizeof scalars[0]; i++)
    TL_TRY(bench_write_scalar(o, BENCH_OUTPUT, case_id, scalars[i].name, scalars[i].value));
  return bench_write_vector(o, BENCH_OUTPUT, case_id, "theta", k->net->theta);
}

static int bench_qm(bench_out *o, const bench_protocol *proto) {
  ub_data *d = NULL;
  gsl_matrix *Y = NULL;
  bench_construct_ctx kc;
  bench_lstsq_ctx kl;
  bench_timing t;
  memset(&kc, 0, sizeof kc);
  memset(&kl, 0, sizeof kl);
  int status = ub_data_alloc(&d, UB_SET_TRIG_QM, BENCH_QM_M, BENCH_QM_Q, BENCH_QM_BASE, BENCH_SEED);
  if (!status) {
    ub_data_set_eps(d, BENCH_EPS0);
    status = ub_labels_alloc(&Y, BENCH_QM_Q, BENCH_LABELS_Y2);
  }
  if (!status) status = ub_stats_alloc(&kc.st, d->M, d->Q, d->N);
  if (!status) status = ub_net_alloc(&kc.net, d->M, d->Q);
  if (!status) status = ub_objective_alloc(&kc.obj, d, d->X0, Y);
  char size[64];
  if (!status) {
    snprintf(size, sizeof size, "M=%zu Q=%zu N=%zu", d->M, d->Q, d->N);
    kc.d = kl.d = d;
    kc.Y = kl.Y = Y;
    kl.A = gsl_matrix_alloc(d->Q, d->M);
    kl.c = gsl_vector_alloc(d->Q);
    if (!kl.A || !kl.c)
      status = GSL_ENOMEM;
  }
  if (!status) status = bench_time(bench_construct_call, &kc, proto, &t);
  if (!status) status = bench_write_matrix(o, BENCH_INPUT, "construct", "X", d->X0);
  if (!status) status = bench_write_classes(o, "construct", d);
  if (!status) status = bench_write_matrix(o, BENCH_INPUT, "construct", "Ylabels", Y);
  if (!status) status = bench_write_scalar(o, BENCH_INPUT, "construct", "margin", BENCH_MARGIN);
  if (!status) status = bench_construct_outputs(o, "construct", &kc);
  if (!status) {
    char values[128];
    snprintf(values, sizeof values, "C*_fwd = %.17g", kc.cost_fwd);
    status = bench_record(o, proto, "construct", "construction + forward + closed form", size,
                          &t, values);
  }

  if (!status) status = bench_time(bench_lstsq_call, &kl, proto, &t);
  if (!status && kl.rank != d->M + 1) {
    status = TL_EPRECOND;
    tl_error_set(status, __FILE__, __LINE__, "trig-qm: rank of [X0^T, u] is %zu, not M+1",
                 kl.rank);
  }
  if (!status) status = bench_write_matrix(o, BENCH_INPUT, "lstsq", "X", d->X0);
  if (!status) status = bench_write_classes(o, "lstsq", d);
  if (!status) status = bench_write_matrix(o, BENCH_INPUT, "lstsq", "Ylabels", Y);
  if (!status) status = bench_write_scalar(o, BENCH_INPUT, "lstsq", "rcond", BENCH_LSTSQ_RCOND);
  if (!status) status = bench_write_scalar(o, BENCH_OUTPUT, "lstsq", "cost_int", kl.cost_int);
  if (!status) status = bench_write_matrix(o, BENCH_OUTPUT, "lstsq", "A", kl.A);
  if (!status) status = bench_write_vector(o, BENCH_OUTPUT, "lstsq", "c", kl.c);
  if (!status) {
    char lsize[64], values[128];
    snprintf(lsize, sizeof lsize, "%zux%zu, %zu rhs", d->N, d->M + 1, d->Q);
    snprintf(values, sizeof values, "C_int = %.17g", kl.cost_int);
    status = bench_record(o, proto, "lstsq", "dgelsd [X0^T, 1]", lsize, &t, values);
  }
  ub_data_free(d);
  if (Y) gsl_matrix_free(Y);
  ub_stats_free(kc.st);
  ub_net_free(kc.net);
  ub_objective_free(kc.obj);
  if (kl.A) gsl_matrix_free(kl.A);
  if (kl.c) gsl_vector_free(kl.c);
  if (status == GSL_ENOMEM)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  return status;
}

/* ---- kernel 4: finite-difference Hessian --------------------------------- */

/* The free model's C^2 as a tl_opt objective (the chapter's ub_model_fn
 * without the tied branch). */
static int bench_obj_f(const gsl_vector *x, void *params, double *f) {
  return ub_objective_eval(params, x, f, NULL);
}
static int bench_obj_fdf(const gsl_vector *x, void *params, double *f, gsl_vector *g) {
  return ub_objective_eval(params, x, f, g);
}
static int bench_obj_df(const gsl_vector *x, void *params, gsl_vector *g) {
  double f = 0;
  return ub_objective_eval(params, x, &f, g);
}

typedef struct {
  tl_opt_function fn;
  const gsl_vector *theta;
  gsl_matrix *H;
  gsl_vector *work;
} bench_hessian_ctx;

static int bench_hessian_call(void *ctx) {
  bench_hessian_ctx *k = ctx;
  return tl_opt_hessian_fd(&k->fn, k->theta, BENCH_HESS_H, k->H, k->work);
}

static int bench_hessian(bench_out *o, const bench_protocol *proto) {
  size_t M = BENCH_MQ_Q, Q = BENCH_MQ_Q;
  ub_data *d = NULL;
  gsl_matrix *Y = NULL, *Yext = NULL, *Rs = gsl_matrix_alloc(M, M), *A = gsl_matrix_alloc(Q, M);
  gsl_vector *c = gsl_vector_alloc(Q);
  ub_net *net = NULL;
  ub_objective *obj = NULL;
  gsl_rng *rng = tl_rng_alloc(BENCH_SEED, BENCH_TASK_HAAR);
  tl_linalg_haar_workspace *hw = tl_linalg_haar_alloc(M);
  bench_hessian_ctx k;
  bench_timing t;
  memset(&k, 0, sizeof k);
  size_t rank = 0;
  double cost = 0;
  int status = Rs && A && c && rng && hw ? TL_SUCCESS : GSL_ENOMEM;
  if (!status) status = ub_data_alloc(&d, UB_SET_TRIG_MQ, M, Q, BENCH_MQ_BASE, BENCH_SEED);
  if (!status) {
    ub_data_set_eps(d, BENCH_HESS_EPS);
    status = ub_labels_alloc(&Y, Q, BENCH_LABELS_IDENTITY);
  }
  if (!status) status = bench_labels_ext(d, Y, &Yext);
  if (!status) status = ub_net_alloc(&net, M, Q);
  /* The free local minimum of spec §3.6: the all-active least-squares map
   * (A, c) realised with W1 = R_s, as ub_part_hessian builds it. */
  if (!status) status = tl_linalg_haar_orthogonal(hw, rng, Rs);
  if (!status) status = ub_lstsq_cost(d, d->X0, Y, 1, BENCH_LSTSQ_RCOND, &cost, A, c, &rank);
  if (!status && rank != M + 1) {
    status = TL_EPRECOND;
    tl_error_set(status, __FILE__, __LINE__, "trig-mq: rank of [X0^T, u] is %zu, not M+1", rank);
  }
  if (!status) status = ub_net_from_affine(net, A, c, Rs, d->X0, BENCH_MARGIN);
  if (!status) status = ub_objective_alloc(&obj, d, d->X0, Y);
  size_t p = net ? net->theta->size : 0;
  if (!status) {
    k.fn = (tl_opt_function){bench_obj_f, bench_obj_df, bench_obj_fdf, NULL, p, 0, obj};
    k.theta = net->theta;
    k.H = gsl_matrix_alloc(p, p);
    k.work = gsl_vector_alloc(3 * p);
    if (!k.H || !k.work)
      status = GSL_ENOMEM;
  }
  if (!status) status = bench_time(bench_hessian_call, &k, proto, &t);
  if (!status) status = bench_write_matrix(o, BENCH_INPUT, "hessian", "X", d->X0);
  if (!status) status = bench_write_matrix(o, BENCH_INPUT, "hessian", "Y", Yext);
  if (!status) status = bench_write_vector(o, BENCH_INPUT, "hessian", "theta", net->theta);
  if (!status) status = bench_write_scalar(o, BENCH_INPUT, "hessian", "h", BENCH_HESS_H);
  if (!status) status = bench_write_matrix(o, BENCH_OUTPUT, "hessian", "H", k.H);
  if (!status) {
    char size[64], values[128];
    snprintf(size, sizeof size, "p=%zu (M=Q=%zu, N=%zu)", p, M, d->N);
    snprintf(values, sizeof values, "H_00 = %.17g", gsl_matrix_get(k.H, 0, 0));
    status = bench_record(o, proto, "hessian", "FD Hessian (2p gradients)", size, &t, values);
  }
  ub_data_free(d);
  if (Y) gsl_matrix_free(Y);
  if (Yext) gsl_matrix_free(Yext);
  if (Rs) gsl_matrix_free(Rs);
  if (A) gsl_matrix_free(A);
  if (c) gsl_vector_free(c);
  ub_net_free(net);
  ub_objective_free(obj);
  gsl_rng_free(rng);
  tl_linalg_haar_free(hw);
  if (k.H) gsl_matrix_free(k.H);
  if (k.work) gsl_vector_free(k.work);
  if (status == GSL_ENOMEM)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  return status;
}

/* ---- main ---------------------------------------------------------------- */

/* Which BLAS ran, to stdout and blas.c.tsv; the report prints it next to
 * numpy's.  A thread count above 1 is refused: the comparison is between
 * single-threaded libraries (spec §8). */
static int bench_blas(bench_out *o) {
  tl_blas_info info;
  TL_TRY(tl_linalg_blas_info(&info));
  if (info.threads != 1)
    TL_ERROR(TL_EPRECOND, "OpenBLAS runs %d threads; set OPENBLAS_NUM_THREADS=1", info.threads);
  const char *coretype = getenv("OPENBLAS_CORETYPE"), *l2 = getenv("OPENBLAS_L2_SIZE");
  FILE *f = NULL;
  TL_TRY(bench_fopen(&f, o->dir, "blas.c.tsv"));
  int ok = fprintf(f, "library\t%s\ncore\t%s\nthreads\t%d\nconfig\t%s\n", info.library,
                   info.corename, info.threads, info.config) >= 0;
  TL_TRY(bench_fclose(f, "blas.c.tsv"));
  if (!ok)
    TL_ERROR(TL_EIO, "cannot write blas.c.tsv");
  printf("C     BLAS %s, core %s, %d thread(s); OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s\n",
         info.library, info.corename, info.threads, coretype ? coretype : "(unset)",
         l2 ? l2 : "(unset)");
  return TL_SUCCESS;
}

static int bench_puts(FILE *f, const char *text, const char *what) {
  if (fputs(text, f) == EOF)
    TL_ERROR(TL_EIO, "cannot write %s", what);
  return TL_SUCCESS;
}

static int bench_run(const char *dir, const bench_protocol *proto) {
  bench_out o = {dir, NULL, NULL};
  int status = bench_fopen(&o.manifest, dir, "arrays.c.tsv");
  if (!status) status = bench_fopen(&o.timings, dir, "timings.c.tsv");
  if (!status)
    status = bench_puts(o.manifest, "role\tcase\tname\trows\tcols\tfile\n", "arrays.c.tsv");
  if (!status)
    status = bench_puts(o.timings, "case\tkernel\tsize\tcalls_per_rep\tmedian_s\tper_call_s\n",
                        "timings.c.tsv");
  if (!status) status = bench_clock_check();
  if (!status) status = bench_blas(&o);
  for (size_t i = 0; i < sizeof BENCH_GRAD_CASES / sizeof BENCH_GRAD_CASES[0] && !status; i++)
    status = bench_grad(&o, proto, i);
  if (!status) status = bench_qm(&o, proto);
  if (!status) status = bench_hessian(&o, proto);
  int closed_manifest = bench_fclose(o.manifest, "arrays.c.tsv");
  int closed_timings = bench_fclose(o.timings, "timings.c.tsv");
  return status ? status : closed_manifest ? closed_manifest : closed_timings;
}

static void bench_usage(FILE *f) {
  fprintf(f,
          "usage: tl-bench-upper-bound --out DIR [--reps N] [--min-time SECONDS]\n"
          "  Times chapter 1's kernels (spec section 8) and writes their inputs and outputs\n"
          "  to DIR for the numpy peer; run through bench/run-bench.\n"
          "  --reps N          timed repetitions, median reported (default %d, at most %d)\n"
          "  --min-time S      least duration of one repetition (default %g s)\n",
          BENCH_REPS_DEFAULT, BENCH_REPS_MAX, BENCH_MIN_TIME_DEFAULT);
}

static int bench_parse(int argc, char **argv, const char **dir, bench_protocol *proto) {
  *dir = NULL;
  proto->reps = BENCH_REPS_DEFAULT;
  proto->min_time = BENCH_MIN_TIME_DEFAULT;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0) {
      bench_usage(stdout);
      exit(EXIT_SUCCESS);
    }
    if (i + 1 >= argc)
      TL_ERROR(TL_EUSAGE, "unknown option or missing value: '%s'", a);
    const char *v = argv[++i];
    char *end = NULL;
    errno = 0;
    if (strcmp(a, "--out") == 0) {
      *dir = v;
    } else if (strcmp(a, "--reps") == 0) {
      long n = strtol(v, &end, 10);
      if (errno || *end || n < 1 || n > BENCH_REPS_MAX)
        TL_ERROR(TL_EUSAGE, "--reps: need an integer in 1..%d, got '%s'", BENCH_REPS_MAX, v);
      proto->reps = (size_t)n;
    } else if (strcmp(a, "--min-time") == 0) {
      double s = strtod(v, &end);
      if (errno || *end || !(s > 0) || !isfinite(s))
        TL_ERROR(TL_EUSAGE, "--min-time: need a positive number of seconds, got '%s'", v);
      proto->min_time = s;
    } else {
      TL_ERROR(TL_EUSAGE, "unknown option '%s'", a);
    }
  }
  if (!*dir)
    TL_ERROR(TL_EUSAGE, "--out DIR is required");
  return TL_SUCCESS;
}

int main(int argc, char **argv) {
  tl_error_install_gsl_handler();
  const char *dir = NULL;
  bench_protocol proto;
  int status = bench_parse(argc, argv, &dir, &proto);
  if (status) {
    fprintf(stderr, "tl-bench-upper-bound: error: %s\n", tl_error_message());
    bench_usage(stderr);
    return EXIT_FAILURE;
  }
  status = bench_run(dir, &proto);
  if (status) {
    fprintf(stderr, "tl-bench-upper-bound: error: %s (%s)\n", tl_error_message(),
            tl_strerror(status));
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}

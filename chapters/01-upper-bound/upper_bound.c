/* tl-upper-bound: chapter 01 of twolayer.
 *
 * Chen and Munoz Ewald, "Geometric structure of shallow neural networks and
 * constructive L2 cost minimization" (arXiv:2309.10370).  The program builds
 * the constructive network of spec 3.2 on synthetic clustered data, checks
 * its cost against the closed form and the bounds, the M = Q tied local
 * minimum (3.5, 3.6), the metrization (3.3) and compares with gradient
 * descent (3.7).  Every number lands in results.json; the claims are checked
 * by tl-check against claims.tsv.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_statistics_double.h>

#include "tl_atomic.h"
#include "tl_build_info.h"
#include "tl_error.h"
#include "tl_linalg.h"
#include "tl_progress.h"
#include "tl_prov.h"
#include "tl_rng.h"
#include "ub_figures.h"
#include "ub_main.h"
#include "ub_shard.h"
#include "ub_train.h"

/* Stream ids of spec section 2. */
enum { UB_TASK_HAAR = 4, UB_TASK_TEST = 5, UB_TASK_PERP = 6 };

static const tl_param ub_params[] = {
    {"qm_M", TL_PARAM_INT, "6", "64", 2, 4096, "trig-qm input dimension M"},
    {"qm_Q", TL_PARAM_INT, "3", "10", 1, 4096, "trig-qm classes Q (< M)"},
    {"qm_base", TL_PARAM_INT, "10", "500", 1, 1000000, "trig-qm class sizes N_j = base + 2j"},
    {"mq_Q", TL_PARAM_INT, "4", "8", 1, 512, "trig-mq M = Q"},
    {"mq_base", TL_PARAM_INT, "5", "50", 1, 1000000, "trig-mq class sizes N_j = base + j"},
    {"eps_count", TL_PARAM_INT, "13", "31", 2, 1000, "points of the noise grid G"},
    {"test_points", TL_PARAM_INT, "1000", "100000", 1, 10000000, "test points per data set"},
    {"plane_base", TL_PARAM_INT, "30", "200", 1, 1000000, "plane class sizes base"},
    {"gd_M", TL_PARAM_INT, "6", "16", 2, 1024, "gauss input dimension"},
    {"gd_Q", TL_PARAM_INT, "3", "4", 1, 1024, "gauss classes"},
    {"gd_per_class", TL_PARAM_INT, "40", "200", 1, 1000000, "gauss samples per class"},
    {"gd_steps", TL_PARAM_INT, "5000", "20000", 1, 100000000, "GD iterations"},
    {"eps_min", TL_PARAM_DOUBLE, "1e-3", NULL, 1e-12, 1e6, "smallest noise level of G"},
    {"eps_max", TL_PARAM_DOUBLE, "1", NULL, 1e-12, 1e6, "largest noise level of G"},
    {"eps0", TL_PARAM_DOUBLE, "0.1", NULL, 1e-12, 1e6, "noise level of the eps0 part"},
    {"fit_lo", TL_PARAM_DOUBLE, "1e-3", NULL, 0, 1e6, "lower end of the gap-slope fit range"},
    {"fit_hi", TL_PARAM_DOUBLE, "1e-2", NULL, 0, 1e6, "upper end of the gap-slope fit range"},
    {"margin", TL_PARAM_DOUBLE, "1", NULL, 1e-9, 1e9, "beta = beta_min + margin"},
    {"beta_count", TL_PARAM_INT, "61", NULL, 2, 100000, "points of the beta sweep"},
    {"beta_check", TL_PARAM_LIST, "1.25,1.5,2,3", NULL, 1, 1e6, "beta/beta_min checked"},
    {"perp_amps", TL_PARAM_LIST, "0,.25,.5,1,2,4", NULL, 0, 1e6, "perp noise amplitudes eta"},
    {"perp_shift", TL_PARAM_DOUBLE, "3", NULL, 0, 1e6, "length of the perp shifts v_t"},
    {"test_scale", TL_PARAM_DOUBLE, "0.8", NULL, 0, 1e6, "spread of the test points"},
    {"hess_eps", TL_PARAM_DOUBLE, "0.2", NULL, 1e-12, 1e6, "noise level of the Hessian part"},
    {"hess_h", TL_PARAM_DOUBLE, "1e-5", NULL, 1e-12, 1, "finite-difference step"},
    {"hess_zero_tol", TL_PARAM_DOUBLE, "1e-8", NULL, 0, 1, "zero eigenvalue: |l| <= tol l_max"},
    {"grad_tol", TL_PARAM_DOUBLE, "1e-9", NULL, 0, 1e6, "critical point: |grad C^2| <= tol"},
    {"gd_eps", TL_PARAM_DOUBLE, "0.05", NULL, 0, 1e6, "gauss noise level"},
    {"gd_seeds", TL_PARAM_INT, "5", NULL, 1, 10000, "He-initialised GD runs"},
    {"gd_eta", TL_PARAM_DOUBLE, "0.05", NULL, 1e-300, 1e6, "initial GD step"},
    {"gd_eta_min", TL_PARAM_DOUBLE, "1e-12", NULL, 0, 1e6, "GD stops when eta < eta_min"},
    {"gd_gtol", TL_PARAM_DOUBLE, "1e-12", NULL, 0, 1e6, "GD stops when |g| <= gtol"},
    {"gd_record", TL_PARAM_INT, "60", NULL, 2, 10000, "recorded GD iterations (log-spaced)"},
    {"plane_eps", TL_PARAM_DOUBLE, "0.3", NULL, 0, 1e6, "plane noise level"},
    {"lstsq_rcond", TL_PARAM_DOUBLE, "1e-12", NULL, 0, 1, "dgelsd_ rcond"},
    {NULL, 0, NULL, NULL, 0, 0, NULL}};

static const char *const ub_parts[] = {"sweep", "eps0", "mq", "hessian", "gd", NULL};
static const char *const ub_sabotages[] = {
    "b2-zero", "drop-bias", "pen-norm-smax", "mean-first-sample", "forget-Rinv",
    "w1-no-projection", "y-transpose", "pen-transpose", "D-identity", "D-identity-literal",
    "free-intercept", "gap-squared-cost", "lstsq-no-intercept", "tied-point", "grad-sign", NULL};

static const tl_chapter_info ub_info = {
    "tl-upper-bound", UB_SLUG,
    "Chapter 01: constructive L2 cost minimization (Chen, Munoz Ewald, arXiv:2309.10370)",
    20230919, ub_params, ub_parts, ub_sabotages};

#define P_INT(s, k) ((size_t)tl_cli_int(&(s)->cli, k))
#define P_DBL(s, k) tl_cli_double(&(s)->cli, k)

static const char *const ub_label_names[2] = {"I", "Y2"};

typedef struct ub_set_s ub_set;
static int ub_write_data_sets(ub_state *s, ub_set *sets, int n);

/* ---- small helpers ---------------------------------------------------- */

/* OLS slope of log y on log x over the points with x_sel in [lo, hi] (ends
 * inclusive to a relative 1e-9), NaN when fewer than two points. */
static double ub_loglog_slope(const double *x, const double *y, const double *sel, size_t n,
                              double lo, double hi) {
  double lx[1000], ly[1000];
  size_t m = 0;
  for (size_t i = 0; i < n && m < 1000; i++) {
    if (sel && (sel[i] < lo * (1 - 1e-9) || sel[i] > hi * (1 + 1e-9)))
      continue;
    lx[m] = log(x[i]);
    ly[m] = log(y[i]);
    m++;
  }
  if (m < 2)
    return NAN;
  double mx = gsl_stats_mean(lx, 1, m), my = gsl_stats_mean(ly, 1, m), sxy = 0, sxx = 0;
  for (size_t i = 0; i < m; i++) {
    sxy += (lx[i] - mx) * (ly[i] - my);
    sxx += (lx[i] - mx) * (lx[i] - mx);
  }
  return sxy / sxx;
}

static int ub_check_underparametrized(const ub_data *d) {
  size_t p = d->M * d->M + d->M + d->Q * d->M + d->Q;
  if (!(d->N > d->Q * d->M))
    TL_ERROR(TL_EPRECOND, "%s: needs N > QM (N=%zu, QM=%zu)", d->name, d->N, d->Q * d->M);
  if (!(d->Q * d->N > p))
    TL_ERROR(TL_EPRECOND, "%s: needs QN > p (QN=%zu, p=%zu): not underparametrized", d->name,
             d->Q * d->N, p);
  return TL_SUCCESS;
}

/* The data sets of spec section 2. */
static int ub_make_set(ub_state *s, ub_set_kind kind, ub_data **d) {
  size_t M = 0, Q = 0, base = 0;
  switch (kind) {
  case UB_SET_TRIG_QM: M = P_INT(s, "qm_M"); Q = P_INT(s, "qm_Q"); base = P_INT(s, "qm_base"); break;
  case UB_SET_TRIG_MQ: M = Q = P_INT(s, "mq_Q"); base = P_INT(s, "mq_base"); break;
  case UB_SET_GAUSS: M = P_INT(s, "gd_M"); Q = P_INT(s, "gd_Q"); base = P_INT(s, "gd_per_class"); break;
  case UB_SET_PLANE: M = 3; Q = 2; base = P_INT(s, "plane_base"); break;
  }
  if (kind == UB_SET_TRIG_QM && !(Q < M))
    TL_ERROR(TL_EUSAGE, "qm_Q must be smaller than qm_M (got %zu and %zu)", Q, M);
  if (Q > M)
    TL_ERROR(TL_EUSAGE, "%s: Q = %zu exceeds M = %zu", kind == UB_SET_GAUSS ? "gauss" : "set", Q, M);
  TL_TRY(ub_data_alloc(d, kind, M, Q, base, s->cli.seed));
  int status = ub_check_underparametrized(*d);
  if (status) {
    ub_data_free(*d);
    *d = NULL;
  }
  return status;
}

/* A fixed bundle of per-set objects. */
struct ub_set_s {
  ub_data *d;
  ub_stats *st;
  ub_net *net;
  gsl_matrix *Y[2];
  gsl_matrix *Rs; /* Haar rotation, stream 4 */
  ub_objective *obj[2]; /* the cost on d->X0 with each label matrix */
};

static void ub_set_free(ub_set *x) {
  ub_data_free(x->d);
  ub_stats_free(x->st);
  ub_net_free(x->net);
  for (int i = 0; i < 2; i++) {
    if (x->Y[i]) gsl_matrix_free(x->Y[i]);
    ub_objective_free(x->obj[i]);
  }
  if (x->Rs) gsl_matrix_free(x->Rs);
  memset(x, 0, sizeof *x);
}

static int ub_set_init(ub_state *s, ub_set *x, ub_set_kind kind, int with_rotation) {
  memset(x, 0, sizeof *x);
  int status = ub_make_set(s, kind, &x->d);
  if (!status)
    status = ub_stats_alloc(&x->st, x->d->M, x->d->Q, x->d->N);
  if (!status)
    status = ub_net_alloc(&x->net, x->d->M, x->d->Q);
  for (int i = 0; i < 2 && !status; i++)
    status = ub_labels_alloc(&x->Y[i], x->d->Q, i);
  if (!status && with_rotation) {
    x->Rs = gsl_matrix_alloc(x->d->M, x->d->M);
    gsl_rng *rng = tl_rng_alloc(s->cli.seed, UB_TASK_HAAR);
    tl_linalg_haar_workspace *w = tl_linalg_haar_alloc(x->d->M);
    status = (x->Rs && rng && w) ? tl_linalg_haar_orthogonal(w, rng, x->Rs) : GSL_ENOMEM;
    gsl_rng_free(rng);
    tl_linalg_haar_free(w);
  }
  if (status)
    ub_set_free(x);
  return status;
}

/* The cost objective on the set's inputs with label matrix yk, made on first
 * use (its workspace is large, and not every set needs both). */
static int ub_set_objective(ub_set *x, int yk, ub_objective **obj) {
  if (!x->obj[yk])
    TL_TRY(ub_objective_alloc(&x->obj[yk], x->d, x->d->X0, x->Y[yk]));
  *obj = x->obj[yk];
  return TL_SUCCESS;
}

/* C*_fwd of the set's current network on its inputs, labels yk. */
static int ub_set_cost(ub_set *x, int yk, double *cost) {
  ub_objective *obj = NULL;
  TL_TRY(ub_set_objective(x, yk, &obj));
  return ub_net_cost(x->net, obj, cost);
}

/* Statistics at noise level eps. */
static int ub_set_eps(ub_state *s, ub_set *x, double eps) {
  ub_data_set_eps(x->d, eps);
  return ub_stats_compute(x->st, x->d, x->d->X0, &s->faults);
}

/* ---- part sweep: 3.1, 3.2, 3.4 on T over G, and gauss ------------------- */

/* excerpt: sweep-point */
static int ub_sweep_case(ub_state *s, ub_set *x, int yk, ub_point *pt, int c) {
  ub_label_stats ls;
  const gsl_matrix *Y = x->Y[yk];
  TL_TRY(ub_label_stats_compute(&ls, x->st, Y));
  TL_TRY(ub_construct(x->net, x->st, Y, NULL, x->d->X0, P_DBL(s, "margin"), NAN, &s->faults));
  TL_TRY(ub_set_cost(x, yk, &pt->cost_fwd[c]));
  size_t rank = 0;
  TL_TRY(ub_lstsq_cost(x->d, x->d->X0, Y, !s->faults.lstsq_no_intercept, P_DBL(s, "lstsq_rcond"),
                       &pt->cost_int[c], NULL, NULL, &rank));
  if (!s->faults.lstsq_no_intercept && rank != x->d->M + 1)
    TL_ERROR(TL_EPRECOND, "%s: rank of [X0^T, u] is %zu, not M+1 = %zu", x->d->name, rank,
             x->d->M + 1);
  pt->cost_closed[c] = ls.cost_closed;
  pt->delta[c] = x->st->delta;
  pt->delta_P[c] = x->st->delta_P;
  pt->delta_P_rms[c] = x->st->delta_P_rms;
  pt->delta_tilde[c] = x->st->delta_tilde;
  pt->bound_rms[c] = ls.bound_rms;
  pt->bound_sup[c] = ls.bound_sup;
  pt->bound_chain[c] = ls.bound_chain;
  pt->bound_tilde[c] = ls.bound_tilde;
  pt->ypen_norm[c] = ls.ypen_norm;
  pt->y_pen_norms[c] = ls.y_norm * x->st->pen_norm;
  return TL_SUCCESS;
}
/* end excerpt */

static int ub_part_sweep(ub_state *s) {
  ub_set sets[2];
  int status = ub_set_init(s, &sets[0], UB_SET_TRIG_QM, 0);
  if (status)
    return status;
  if ((status = ub_set_init(s, &sets[1], UB_SET_TRIG_MQ, 0))) {
    ub_set_free(&sets[0]);
    return status;
  }
  tl_progress bar;
  tl_progress_begin(&bar, "sweep", s->n_eps, s->cli.quiet);
  for (size_t k = 0; k < s->n_eps && !status; k++) {
    if (!tl_cli_shard_runs(&s->cli, k))
      continue;
    ub_point *pt = &s->points[k];
    pt->eps = s->eps_grid[k];
    for (int set = 0; set < 2 && !status; set++) {
      status = ub_set_eps(s, &sets[set], s->eps_grid[k]);
      for (int yk = 0; yk < 2 && !status; yk++)
        status = ub_sweep_case(s, &sets[set], yk, pt, 2 * set + yk);
    }
    tl_progress_advance(&bar, 1);
  }
  tl_progress_end(&bar);
  ub_set_free(&sets[0]);
  ub_set_free(&sets[1]);
  return status;
}

/* The gauss set's statistics at gd_eps (bound.rms includes it). */
typedef struct {
  double cost_fwd, cost_closed, bound_rms, bound_sup, cost_int;
} ub_gauss_summary;

static int ub_gauss_summary_compute(ub_state *s, ub_set *g, ub_gauss_summary *out) {
  ub_label_stats ls;
  TL_TRY(ub_set_eps(s, g, P_DBL(s, "gd_eps")));
  TL_TRY(ub_label_stats_compute(&ls, g->st, g->Y[0]));
  TL_TRY(ub_construct(g->net, g->st, g->Y[0], NULL, g->d->X0, P_DBL(s, "margin"), NAN, &s->faults));
  TL_TRY(ub_set_cost(g, 0, &out->cost_fwd));
  size_t rank = 0;
  TL_TRY(ub_lstsq_cost(g->d, g->d->X0, g->Y[0], !s->faults.lstsq_no_intercept,
                       P_DBL(s, "lstsq_rcond"), &out->cost_int, NULL, NULL, &rank));
  out->cost_closed = ls.cost_closed;
  out->bound_rms = ls.bound_rms;
  out->bound_sup = ls.bound_sup;
  return TL_SUCCESS;
}

/* ---- part eps0: degeneracy, metrization, perp invariance, beta sweep ---- */

/* Test points (stream 5) x_t = xbar_{j_t} + test_scale g_t around the
 * generator's averages (equal to the empirical ones, and untouched by any
 * sabotage), and perp
 * directions h_t (stream 6), M x T each.  The spec names the normal sampler
 * only for the gauss data (gsl_ran_gaussian); these 10^5-point streams use
 * GSL's ziggurat sampler, the same distribution at a third of the cost. */
static int ub_test_points(ub_state *s, const ub_set *x, gsl_matrix **Xt, gsl_matrix **Ht) {
  size_t M = x->d->M, Q = x->d->Q, T = P_INT(s, "test_points");
  double scale = P_DBL(s, "test_scale");
  *Xt = gsl_matrix_alloc(M, T);
  *Ht = gsl_matrix_alloc(M, T);
  gsl_rng *r5 = tl_rng_alloc(s->cli.seed, UB_TASK_TEST), *r6 = tl_rng_alloc(s->cli.seed, UB_TASK_PERP);
  if (!*Xt || !*Ht || !r5 || !r6) {
    gsl_rng_free(r5);
    gsl_rng_free(r6);
    TL_ERROR(GSL_ENOMEM, "out of memory");
  }
  for (size_t t = 0; t < T; t++) {
    size_t j = (size_t)gsl_rng_uniform_int(r5, (unsigned long)Q);
    for (size_t m = 0; m < M; m++)
      gsl_matrix_set(*Xt, m, t, gsl_matrix_get(x->d->Xbar, m, j) + scale * gsl_ran_gaussian_ziggurat(r5, 1.0));
    for (size_t m = 0; m < M; m++)
      gsl_matrix_set(*Ht, m, t, gsl_ran_gaussian_ziggurat(r6, 1.0));
  }
  gsl_rng_free(r5);
  gsl_rng_free(r6);
  return TL_SUCCESS;
}

static int ub_region_fraction(const ub_net *net, const gsl_matrix *X, double *fraction) {
  unsigned char *in = malloc(X->size2);
  if (!in)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  int status = ub_region_flags(net, X, in);
  size_t k = 0;
  for (size_t t = 0; t < X->size2; t++)
    k += in[t];
  *fraction = (double)k / (double)X->size2;
  free(in);
  return status;
}

/* Share of training inputs whose nearest label is their own (lowest j on ties). */
static int ub_training_accuracy(const ub_net *net, const ub_data *d, const gsl_matrix *Y,
                                double *acc) {
  gsl_matrix *F = gsl_matrix_alloc(d->Q, d->N);
  if (!F)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  int status = ub_net_outputs(net, d->X0, F);
  size_t good = 0;
  for (size_t n = 0; n < d->N && !status; n++) {
    size_t best = 0;
    double bd = INFINITY;
    for (size_t j = 0; j < d->Q; j++) {
      double s2 = 0;
      for (size_t q = 0; q < d->Q; q++) {
        double t = gsl_matrix_get(F, q, n) - gsl_matrix_get(Y, q, j);
        s2 += t * t;
      }
      if (s2 < bd) {
        bd = s2;
        best = j;
      }
    }
    good += best == d->cls[n];
  }
  *acc = (double)good / (double)d->N;
  gsl_matrix_free(F);
  return status;
}

static void ub_key(char *buf, size_t size, const char *a, const char *b, const char *c) {
  snprintf(buf, size, "%s.%s.%s", a, b, c);
}

/* T1: one row per data set and label matrix. */
static int ub_table1_row(ub_state *s, ub_set *x, int yk, double eps, double region_fraction) {
  char key[128], row[64];
  snprintf(row, sizeof row, "%s.%s", x->d->name, ub_label_names[yk]);
  const gsl_matrix *Y = x->Y[yk];
  ub_label_stats ls;
  TL_TRY(ub_set_eps(s, x, eps));
  TL_TRY(ub_label_stats_compute(&ls, x->st, Y));
  TL_TRY(ub_construct(x->net, x->st, Y, NULL, x->d->X0, P_DBL(s, "margin"), NAN, &s->faults));
  double cost_int = NAN, acc = NAN;
  size_t rank = 0;
  TL_TRY(ub_lstsq_cost(x->d, x->d->X0, Y, !s->faults.lstsq_no_intercept, P_DBL(s, "lstsq_rcond"),
                       &cost_int, NULL, NULL, &rank));
  TL_TRY(ub_training_accuracy(x->net, x->d, Y, &acc));
  const struct { const char *name; double v; const char *fmt; } cells[] = {
      {"M", (double)x->d->M, "%.0f"}, {"Q", (double)x->d->Q, "%.0f"}, {"N", (double)x->d->N, "%.0f"},
      {"eps", eps, "%.3g"}, {"cond", x->st->smax / x->st->smin, "%.3g"},
      {"beta_min", x->net->beta_min, "%.3g"}, {"delta", x->st->delta, "%.3g"},
      {"delta_P", x->st->delta_P, "%.3g"}, {"delta_P_rms", x->st->delta_P_rms, "%.3g"},
      {"delta_tilde", x->st->delta_tilde, "%.3g"}, {"ypen_norm", ls.ypen_norm, "%.3g"},
      {"y_pen_norms", ls.y_norm * x->st->pen_norm, "%.3g"}, {"cost_star", ls.cost_closed, "%.3g"},
      {"bound_rms", ls.bound_rms, "%.3g"}, {"bound_sup", ls.bound_sup, "%.3g"},
      {"cost_int", cost_int, "%.3g"},
      {"premise", ls.ypen_norm * x->st->delta_P < 0.5 * ls.min_label_dist ? 1.0 : 0.0, "%.0f"},
      {"train_accuracy", acc, "%.3f"}, {"linear_fraction", region_fraction, "%.3f"}};
  for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
    ub_key(key, sizeof key, "t1", row, cells[i].name);
    TL_TRY(tl_results_set(s->res, key, cells[i].v, cells[i].fmt));
  }
  return TL_SUCCESS;
}

/* Columns of z = P_perp zeta scaled to max |z| = 1 (3.3, perp noise). */
static int ub_perp_directions(const ub_stats *st, gsl_matrix *Z) {
  gsl_matrix *C = gsl_matrix_alloc(st->Q, Z->size2);
  if (!C)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, st->U, Z, 0.0, C);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, -1.0, st->U, C, 1.0, Z);
  gsl_matrix_free(C);
  return TL_SUCCESS;
}

static double ub_max_column_norm(const gsl_matrix *Z) {
  double mx = 0;
  for (size_t n = 0; n < Z->size2; n++) {
    gsl_vector_const_view c = gsl_matrix_const_column(Z, n);
    mx = fmax(mx, gsl_blas_dnrm2(&c.vector));
  }
  return mx;
}

/* excerpt: perp-invariance */
static int ub_perp_invariance(ub_state *s, ub_set *x, const gsl_matrix *Xt, const gsl_matrix *Ht,
                              double *max_change, ub_figure_data *fd) {
  ub_data *d = x->d;
  size_t amps_n = 0, T = Xt->size2;
  const double *amps = tl_cli_list(&s->cli, "perp_amps", &amps_n);
  double eps0 = P_DBL(s, "eps0"), margin = P_DBL(s, "margin");
  gsl_matrix *Z = NULL, *Xp = gsl_matrix_alloc(d->M, d->N), *V = gsl_matrix_alloc(d->M, T);
  gsl_matrix *F0 = gsl_matrix_alloc(d->Q, T), *F1 = gsl_matrix_alloc(d->Q, T);
  int status = (Xp && V && F0 && F1) ? ub_perp_noise_alloc(&Z, d) : GSL_ENOMEM;
  *max_change = 0;
  if (!status)
    status = ub_set_eps(s, x, eps0);
  if (!status) {
    status = ub_perp_directions(x->st, Z);
    gsl_matrix_scale(Z, 1.0 / ub_max_column_norm(Z));
  }
  for (int yk = 0; yk < 2 && !status; yk++) {
    const gsl_matrix *Y = x->Y[yk];
    ub_label_stats ls;
    double c0 = NAN, d0 = NAN, dp0 = NAN, ci0 = NAN;
    ub_objective *objp = NULL;
    status = ub_objective_alloc(&objp, d, Xp, Y);
    /* (i) Rebuild the construction on x + eta z: its cost does not move. */
    for (size_t a = 0; a < amps_n && !status; a++) {
      gsl_matrix_memcpy(Xp, Z);
      gsl_matrix_scale(Xp, amps[a]);
      gsl_matrix_add(Xp, d->X0);
      double cost = NAN, cint = NAN;
      size_t rank = 0;
      if (!status) status = ub_stats_compute(x->st, d, Xp, &s->faults);
      if (!status) status = ub_label_stats_compute(&ls, x->st, Y);
      if (!status) status = ub_construct(x->net, x->st, Y, NULL, Xp, margin, NAN, &s->faults);
      if (!status) status = ub_net_cost(x->net, objp, &cost);
      if (!status) status = ub_lstsq_cost(d, Xp, Y, !s->faults.lstsq_no_intercept,
                                          P_DBL(s, "lstsq_rcond"), &cint, NULL, NULL, &rank);
      if (status)
        break;
      if (a == 0) {
        c0 = cost;
        d0 = x->st->delta;
        dp0 = x->st->delta_P;
        ci0 = cint;
      }
      *max_change = tl_max_nan(*max_change, fabs(cost - c0) / c0);
      if (yk == 0 && a < UB_FIG_MAX) {
        fd->perp_eta[a] = amps[a];
        fd->perp_cost[a] = cost / c0;
        fd->perp_delta_P[a] = x->st->delta_P / dp0;
        fd->perp_delta[a] = x->st->delta / d0;
        fd->perp_cost_int[a] = cint / ci0;
        fd->n_perp = a + 1;
      }
    }
    ub_objective_free(objp);
    /* (ii) Shifting a test point along range P_perp leaves the output alone. */
    if (!status) status = ub_set_eps(s, x, eps0);
    if (!status) status = ub_label_stats_compute(&ls, x->st, Y);
    if (!status) status = ub_construct(x->net, x->st, Y, NULL, d->X0, margin, NAN, &s->faults);
    if (status)
      break;
    gsl_matrix_memcpy(V, Ht);
    gsl_matrix *C = gsl_matrix_alloc(d->Q, T);
    if (!C) {
      status = GSL_ENOMEM;
      break;
    }
    gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, x->st->U, V, 0.0, C);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, -1.0, x->st->U, C, 1.0, V);
    gsl_matrix_free(C);
    double shift = P_DBL(s, "perp_shift");
    for (size_t t = 0; t < T; t++) {
      gsl_vector_view v = gsl_matrix_column(V, t);
      gsl_vector_scale(&v.vector, shift / gsl_blas_dnrm2(&v.vector));
    }
    gsl_matrix_add(V, Xt);
    status = ub_net_outputs(x->net, Xt, F0);
    if (!status) status = ub_net_outputs(x->net, V, F1);
    if (status)
      break;
    gsl_matrix_sub(F1, F0);
    *max_change = tl_max_nan(*max_change, ub_max_column_norm(F1) / ls.max_label_norm);
  }
  if (Z) gsl_matrix_free(Z);
  if (Xp) gsl_matrix_free(Xp);
  if (V) gsl_matrix_free(V);
  if (F0) gsl_matrix_free(F0);
  if (F1) gsl_matrix_free(F1);
  if (status == GSL_ENOMEM)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  return status;
}
/* end excerpt */

/* excerpt: degeneracy */
/* C*_fwd over R in {I, R_s} and beta in {beta_min + margin} and
 * beta_check * beta_min: the construction's cost does not depend on them. */
static int ub_degeneracy(ub_state *s, ub_set *x, int yk, double *spread) {
  size_t nb = 0;
  const double *checks = tl_cli_list(&s->cli, "beta_check", &nb);
  const gsl_matrix *Y = x->Y[yk];
  ub_label_stats ls;
  TL_TRY(ub_label_stats_compute(&ls, x->st, Y));
  double lo = INFINITY, hi = -INFINITY;
  for (int r = 0; r < 2; r++)
    for (size_t b = 0; b <= nb; b++) {
      double cost = NAN;
      TL_TRY(ub_construct(x->net, x->st, Y, r ? x->Rs : NULL, x->d->X0, P_DBL(s, "margin"),
                          b == 0 ? NAN : checks[b - 1], &s->faults));
      TL_TRY(ub_set_cost(x, yk, &cost));
      lo = tl_min_nan(lo, cost);
      hi = tl_max_nan(hi, cost);
    }
  *spread = (hi - lo) / ls.cost_closed;
  return TL_SUCCESS;
}
/* end excerpt */

/* excerpt: isometry */
/* d(xbar_a, xbar_b) = |W2 W1 (xbar_a - xbar_b)| against |y_a - y_b|. */
static int ub_isometry(ub_state *s, ub_set *x, int yk, double *err) {
  const gsl_matrix *Y = x->Y[yk];
  size_t M = x->d->M, Q = x->d->Q;
  ub_label_stats ls;
  TL_TRY(ub_label_stats_compute(&ls, x->st, Y));
  TL_TRY(ub_construct(x->net, x->st, Y, x->Rs, x->d->X0, P_DBL(s, "margin"), NAN, &s->faults));
  gsl_matrix *W21 = gsl_matrix_alloc(Q, M);
  gsl_vector *dx = gsl_vector_alloc(M), *dy = gsl_vector_alloc(Q);
  if (!W21 || !dx || !dy)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &x->net->W2.matrix, &x->net->W1.matrix, 0.0, W21);
  double worst = 0;
  for (size_t a = 0; a < Q; a++)
    for (size_t b = a + 1; b < Q; b++) {
      for (size_t m = 0; m < M; m++)
        gsl_vector_set(dx, m, gsl_matrix_get(x->st->Xbar, m, a) - gsl_matrix_get(x->st->Xbar, m, b));
      gsl_blas_dgemv(CblasNoTrans, 1.0, W21, dx, 0.0, dy);
      double dist = gsl_blas_dnrm2(dy), ydist = 0;
      for (size_t q = 0; q < Q; q++) {
        double t = gsl_matrix_get(Y, q, a) - gsl_matrix_get(Y, q, b);
        ydist += t * t;
      }
      worst = tl_max_nan(worst, fabs(dist - sqrt(ydist)));
    }
  *err = Q > 1 ? worst / ls.max_label_dist : 0.0;
  gsl_matrix_free(W21);
  gsl_vector_free(dx);
  gsl_vector_free(dy);
  return TL_SUCCESS;
}
/* end excerpt */

/* excerpt: label-distance */
/* On the linear region |x2(x) - y_j| = |Y Pen (P x - xbar_j)|, with Pen and P
 * from the statistics (3.1), not from the network. */
static int ub_label_distance(ub_state *s, ub_set *x, int yk, const gsl_matrix *Xt, double *err,
                             double *region_fraction, ub_figure_data *fd) {
  const gsl_matrix *Y = x->Y[yk];
  size_t M = x->d->M, Q = x->d->Q, T = Xt->size2;
  ub_label_stats ls;
  TL_TRY(ub_label_stats_compute(&ls, x->st, Y));
  TL_TRY(ub_construct(x->net, x->st, Y, x->Rs, x->d->X0, P_DBL(s, "margin"), NAN, &s->faults));
  gsl_matrix *F = gsl_matrix_alloc(Q, T), *YPen = gsl_matrix_alloc(Q, M), *P = gsl_matrix_alloc(M, M);
  gsl_matrix *PX = gsl_matrix_alloc(M, T), *E = gsl_matrix_alloc(Q, T), *Ej = gsl_matrix_alloc(Q, Q);
  unsigned char *inside = malloc(T);
  if (!F || !YPen || !P || !PX || !E || !Ej || !inside)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  int status = ub_net_outputs(x->net, Xt, F);
  if (!status) status = ub_region_flags(x->net, Xt, inside);
  /* E = Y Pen (P X_t) and Ej = Y Pen Xbar: the distance to label j is
   * |E_t - Ej_j| = |Y Pen (P x_t - xbar_j)|. */
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, Y, x->st->Pen, 0.0, YPen);
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, x->st->U, x->st->U, 0.0, P);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, P, Xt, 0.0, PX);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, YPen, PX, 0.0, E);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, YPen, x->st->Xbar, 0.0, Ej);
  size_t in = 0, pairs = 0;
  double worst = 0;
  for (size_t t = 0; t < T && !status; t++) {
    in += inside[t];
    for (size_t j = 0; j < Q; j++) {
      double pred = 0, obs = 0;
      for (size_t q = 0; q < Q; q++) {
        double a = gsl_matrix_get(E, q, t) - gsl_matrix_get(Ej, q, j);
        double b = gsl_matrix_get(F, q, t) - gsl_matrix_get(Y, q, j);
        pred += a * a;
        obs += b * b;
      }
      pred = sqrt(pred);
      obs = sqrt(obs);
      if (inside[t])
        worst = tl_max_nan(worst, fabs(obs - pred));
      if (fd && t < 2000 && pairs < fd->n_pairs) {
        fd->pair_d[pairs] = pred;
        fd->pair_out[pairs] = obs;
        fd->pair_in[pairs] = inside[t];
        pairs++;
      }
    }
  }
  if (fd) {
    fd->n_pairs = pairs;
    fd->have_pairs = 1;
  }
  *region_fraction = (double)in / (double)T;
  *err = worst / ls.max_label_norm;
  gsl_matrix_free(F);
  gsl_matrix_free(YPen);
  gsl_matrix_free(P);
  gsl_matrix_free(PX);
  gsl_matrix_free(E);
  gsl_matrix_free(Ej);
  free(inside);
  if (!status && 2 * in < T)
    TL_ERROR(TL_EPRECOND, "%s: only %zu of %zu test points lie in the linear region (need half)",
             x->d->name, in, T);
  return status;
}
/* end excerpt */

/* Precondition of spec section 2: beta_min >= 0.5 for R = I at eps0, checked
 * on the true construction before any sabotage acts. */
static int ub_check_beta_precondition(ub_state *s, ub_set *x) {
  ub_faults clean;
  memset(&clean, 0, sizeof clean);
  ub_data_set_eps(x->d, P_DBL(s, "eps0"));
  TL_TRY(ub_stats_compute(x->st, x->d, x->d->X0, &clean));
  TL_TRY(ub_construct(x->net, x->st, x->Y[0], NULL, x->d->X0, P_DBL(s, "margin"), NAN, &clean));
  if (!(x->net->beta_min >= 0.5))
    TL_ERROR(TL_EPRECOND, "%s: beta_min = %g < 0.5 at eps0: ReLU truncation would go unnoticed",
             x->d->name, x->net->beta_min);
  return TL_SUCCESS;
}

/* excerpt: preconditions */
/* Spec section 2's preconditions, checked once, on clean data, before any part
 * runs and before any sabotage acts: every set underparametrized (made by
 * ub_set_init), class averages of full rank, [X0^T, u] of rank M+1 wherever
 * C_int is used, and beta_min >= 0.5 (R = I) on the trig sets at eps0. */
static int ub_check_preconditions(ub_state *s) {
  ub_faults saved = s->faults;
  memset(&s->faults, 0, sizeof s->faults);
  const ub_set_kind kinds[4] = {UB_SET_TRIG_QM, UB_SET_TRIG_MQ, UB_SET_GAUSS, UB_SET_PLANE};
  int status = TL_SUCCESS;
  for (int i = 0; i < 4 && !status; i++) {
    ub_set x;
    status = ub_set_init(s, &x, kinds[i], 0);
    if (status)
      break;
    double levels[3] = {P_DBL(s, "eps0"), s->eps_grid[0], P_DBL(s, "hess_eps")};
    size_t n_levels = kinds[i] == UB_SET_TRIG_MQ ? 3 : kinds[i] == UB_SET_TRIG_QM ? 2 : 1;
    if (kinds[i] == UB_SET_GAUSS) levels[0] = P_DBL(s, "gd_eps");
    if (kinds[i] == UB_SET_PLANE) levels[0] = P_DBL(s, "plane_eps");
    for (size_t l = 0; l < n_levels && !status; l++) {
      size_t rank = 0;
      double cost = 0;
      status = ub_set_eps(s, &x, levels[l]); /* checks s_min > 1e-10 s_max */
      if (!status)
        status = ub_lstsq_cost(x.d, x.d->X0, x.Y[0], 1, P_DBL(s, "lstsq_rcond"), &cost, NULL,
                               NULL, &rank);
      if (!status && rank != x.d->M + 1) {
        status = TL_EPRECOND;
        tl_error_set(status, __FILE__, __LINE__, "%s: rank of [X0^T, u] is %zu, not M+1 = %zu at eps = %g",
                     x.d->name, rank, x.d->M + 1, levels[l]);
      }
    }
    if (!status && i < 2)
      status = ub_check_beta_precondition(s, &x);
    ub_set_free(&x);
  }
  s->faults = saved;
  return status;
}
/* end excerpt */

static int ub_part_eps0(ub_state *s, ub_figure_data *fd) {
  ub_set sets[4];
  memset(sets, 0, sizeof sets);
  int status = TL_SUCCESS;
  const ub_set_kind kinds[4] = {UB_SET_TRIG_QM, UB_SET_TRIG_MQ, UB_SET_GAUSS, UB_SET_PLANE};
  for (int i = 0; i < 4 && !status; i++)
    status = ub_set_init(s, &sets[i], kinds[i], 1);
  double eps0 = P_DBL(s, "eps0");
  double spread = 0, iso = 0, label = 0, zero_cost = 0, perp = 0, frac[4] = {0, 0, 0, 0};
  gsl_matrix *Xt[4] = {NULL, NULL, NULL, NULL}, *Ht[4] = {NULL, NULL, NULL, NULL};
  for (int i = 0; i < 4 && !status; i++)
    status = ub_test_points(s, &sets[i], &Xt[i], &Ht[i]);
  /* Degeneracy and isometry on T, zero-noise cost (A4). */
  for (int i = 0; i < 2 && !status; i++)
    for (int yk = 0; yk < 2 && !status; yk++) {
      double v = 0, c = 0;
      status = ub_set_eps(s, &sets[i], eps0);
      if (!status) status = ub_degeneracy(s, &sets[i], yk, &v);
      spread = tl_max_nan(spread, v);
      if (!status) status = ub_isometry(s, &sets[i], yk, &v);
      iso = tl_max_nan(iso, v);
      if (!status) status = ub_set_eps(s, &sets[i], 0.0);
      if (!status) status = ub_construct(sets[i].net, sets[i].st, sets[i].Y[yk], NULL,
                                         sets[i].d->X0, P_DBL(s, "margin"), NAN, &s->faults);
      if (!status) status = ub_set_cost(&sets[i], yk, &c);
      zero_cost = tl_max_nan(zero_cost, c);
    }
  /* Label distances (trig-qm, both Y, R_s) and linear-region fractions. */
  for (int i = 0; i < 4 && !status; i++) {
    double e = sets[i].d->kind == UB_SET_GAUSS ? P_DBL(s, "gd_eps")
               : sets[i].d->kind == UB_SET_PLANE ? P_DBL(s, "plane_eps") : eps0;
    status = ub_set_eps(s, &sets[i], e);
    if (!status) status = ub_construct(sets[i].net, sets[i].st, sets[i].Y[0], sets[i].Rs,
                                       sets[i].d->X0, P_DBL(s, "margin"), NAN, &s->faults);
    if (!status) status = ub_region_fraction(sets[i].net, Xt[i], &frac[i]);
  }
  for (int yk = 0; yk < 2 && !status; yk++) {
    double v = 0, f = 0;
    status = ub_set_eps(s, &sets[0], eps0);
    if (!status) status = ub_label_distance(s, &sets[0], yk, Xt[0], &v, &f, yk == 1 ? fd : NULL);
    label = tl_max_nan(label, v);
  }
  if (!status) status = ub_perp_invariance(s, &sets[0], Xt[0], Ht[0], &perp, fd);
  fd->have_perp = !status;
  /* T1 rows. */
  for (int i = 0; i < 4 && !status; i++) {
    double e = sets[i].d->kind == UB_SET_GAUSS ? P_DBL(s, "gd_eps")
               : sets[i].d->kind == UB_SET_PLANE ? P_DBL(s, "plane_eps") : eps0;
    for (int yk = 0; yk < (i < 2 ? 2 : 1) && !status; yk++)
      status = ub_table1_row(s, &sets[i], yk, e, frac[i]);
  }
  /* Beta sweep (trig-qm, Y = I): below beta_min the ReLU truncates. */
  if (!status) {
    ub_set *x = &sets[0];
    ub_label_stats ls;
    status = ub_set_eps(s, x, eps0);
    if (!status) status = ub_label_stats_compute(&ls, x->st, x->Y[0]);
    size_t nb = P_INT(s, "beta_count");
    for (size_t b = 0; b < nb && !status; b++) {
      double ratio = 3.0 * (double)b / (double)(nb - 1), cost = NAN;
      status = ub_construct(x->net, x->st, x->Y[0], NULL, x->d->X0, P_DBL(s, "margin"), ratio,
                            &s->faults);
      if (!status) status = ub_set_cost(x, 0, &cost);
      fd->beta_ratio[b] = ratio;
      fd->beta_cost_ratio[b] = cost / ls.cost_closed;
    }
    fd->n_beta = nb;
    if (!status) status = ub_construct(x->net, x->st, x->Y[0], NULL, x->d->X0, P_DBL(s, "margin"),
                                       NAN, &s->faults);
    fd->beta_default_ratio = x->net->beta / x->net->beta_min;
    fd->have_beta = !status;
  }
  /* The plane set for the metrization figure (R = I, Y = I). */
  if (!status) {
    ub_set *x = &sets[3];
    status = ub_set_eps(s, x, P_DBL(s, "plane_eps"));
    if (!status) status = ub_construct(x->net, x->st, x->Y[0], NULL, x->d->X0, P_DBL(s, "margin"),
                                       NAN, &s->faults);
    for (size_t n = 0; n < x->d->N && n < fd->plane_N && !status; n++) {
      double c[2] = {0, 0};
      for (size_t k = 0; k < 2; k++)
        for (size_t m = 0; m < 3; m++)
          c[k] += gsl_matrix_get(x->st->U, m, k) * gsl_matrix_get(x->d->X0, m, n);
      fd->plane_c0[n] = c[0];
      fd->plane_c1[n] = c[1];
      fd->plane_cls[n] = (int)x->d->cls[n];
    }
    fd->plane_N = x->d->N < fd->plane_N ? x->d->N : fd->plane_N;
    for (size_t j = 0; j < 2; j++)
      for (size_t k = 0; k < 2; k++) {
        double v = 0;
        for (size_t m = 0; m < 3; m++)
          v += gsl_matrix_get(x->st->U, m, k) * gsl_matrix_get(x->st->Xbar, m, j);
        fd->plane_avg[j][k] = v;
      }
    for (size_t m = 0; m < 3; m++)
      for (size_t k = 0; k < 2; k++) {
        fd->plane_U[m][k] = gsl_matrix_get(x->st->U, m, k);
        fd->plane_XbarYinv[m][k] = gsl_matrix_get(x->st->Xbar, m, k);
        fd->plane_Pen[k][m] = gsl_matrix_get(x->st->Pen, k, m);
      }
    fd->plane_beta = x->net->beta;
    fd->have_plane = !status;
  }
  if (!status) {
    status = tl_results_set(s->res, "constr.degeneracy_max_relspread", spread, "%.2e");
    if (!status) status = tl_results_set(s->res, "metric.isometry_max_err", iso, "%.2e");
    if (!status) status = tl_results_set(s->res, "metric.label_distance_max_err", label, "%.2e");
    if (!status) status = tl_results_set(s->res, "perp.max_change", perp, "%.2e");
    if (!status) status = tl_results_set(s->res, "global.cost_at_zero_noise", zero_cost, "%.2e");
  }
  if (!status) status = ub_write_data_sets(s, sets, 4);
  for (int i = 0; i < 4; i++) {
    if (Xt[i]) gsl_matrix_free(Xt[i]);
    if (Ht[i]) gsl_matrix_free(Ht[i]);
    ub_set_free(&sets[i]);
  }
  return status;
}

/* ---- outputs: data sets and networks as TSV ------------------------------ */

static int ub_out_path(const ub_state *s, const char *file, char *path, size_t size) {
  if ((size_t)snprintf(path, size, "%s/%s", s->out, file) >= size)
    TL_ERROR(TL_EIO, "output path too long: %s/%s", s->out, file);
  return TL_SUCCESS;
}

int ub_write_network(ub_state *s, const char *file, const ub_net *net, const char *description) {
  char path[4096];
  TL_TRY(ub_out_path(s, file, path, sizeof path));
  tl_tsv_block blocks[4] = {tl_tsv_block_matrix("W1", &net->W1.matrix),
                            tl_tsv_block_vector("b1", &net->b1.vector),
                            tl_tsv_block_matrix("W2", &net->W2.matrix),
                            tl_tsv_block_vector("b2", &net->b2.vector)};
  TL_TRY(tl_tsv_write_matrix_blocks(path, 4, blocks));
  return tl_results_add_file(s->res, file, description, "block\trow\tcol\tvalue");
}

/* Every data set at the noise level it is used at, columns class,x_1..x_M,
 * and the constructed network (R = I, Y = I) of each. */
static int ub_write_data_sets(ub_state *s, ub_set *sets, int n) {
  for (int i = 0; i < n; i++) {
    ub_set *x = &sets[i];
    double e = x->d->kind == UB_SET_GAUSS ? P_DBL(s, "gd_eps")
               : x->d->kind == UB_SET_PLANE ? P_DBL(s, "plane_eps") : P_DBL(s, "eps0");
    TL_TRY(ub_set_eps(s, x, e));
    size_t M = x->d->M, N = x->d->N;
    double *cols = malloc((M + 1) * N * sizeof *cols);
    const double **cp = malloc((M + 1) * sizeof *cp);
    char **names = malloc((M + 1) * sizeof *names);
    if (!cols || !cp || !names) {
      free(cols);
      free(cp);
      free(names);
      TL_ERROR(GSL_ENOMEM, "out of memory");
    }
    char namebuf[4096], header[8192] = "class";
    size_t used = 0;
    for (size_t c = 0; c <= M; c++) {
      names[c] = namebuf + used;
      used += (size_t)snprintf(namebuf + used, sizeof namebuf - used, c == 0 ? "class" : "x_%zu", c) + 1;
      if (c > 0) {
        strncat(header, "\t", sizeof header - strlen(header) - 1);
        strncat(header, names[c], sizeof header - strlen(header) - 1);
      }
      cp[c] = cols + c * N;
      for (size_t k = 0; k < N; k++)
        cols[c * N + k] = c == 0 ? (double)x->d->cls[k] : gsl_matrix_get(x->d->X0, c - 1, k);
    }
    char file[96], path[4096], desc[160];
    snprintf(file, sizeof file, "data_%s.tsv", x->d->name);
    snprintf(desc, sizeof desc, "data set %s at eps = %g (class, inputs)", x->d->name, e);
    int status = ub_out_path(s, file, path, sizeof path);
    if (!status)
      status = tl_tsv_write_columns(path, M + 1, (const char *const *)names, N, cp);
    if (!status) status = tl_results_add_file(s->res, file, desc, header);
    free(cols);
    free(cp);
    free(names);
    TL_TRY(status);
    TL_TRY(ub_construct(x->net, x->st, x->Y[0], NULL, x->d->X0, P_DBL(s, "margin"), NAN, &s->faults));
    snprintf(file, sizeof file, "net_construct_%s.tsv", x->d->name);
    snprintf(desc, sizeof desc, "constructed network, %s at eps = %g, R = I, Y = I", x->d->name, e);
    TL_TRY(ub_write_network(s, file, x->net, desc));
  }
  return TL_SUCCESS;
}

/* ---- part mq: 3.5 on trig-mq over G ---------------------------------------- */

static int ub_part_mq(ub_state *s) {
  ub_set x;
  TL_TRY(ub_set_init(s, &x, UB_SET_TRIG_MQ, 0));
  int status = TL_SUCCESS;
  for (size_t k = 0; k < s->n_eps && !status; k++) {
    if (!tl_cli_shard_runs(&s->cli, k))
      continue;
    s->points[k].eps = s->eps_grid[k];
    status = ub_set_eps(s, &x, s->eps_grid[k]);
    for (int yk = 0; yk < 2 && !status; yk++) {
      ub_objective *obj = NULL;
      status = ub_set_objective(&x, yk, &obj);
      if (!status)
        status = ub_mq_compute(&s->points[k].mq[yk], x.d, x.st, x.Y[yk], obj, P_DBL(s, "margin"),
                               P_DBL(s, "lstsq_rcond"), &s->faults);
    }
  }
  ub_set_free(&x);
  return status;
}

/* ---- aggregates over the grid and the runs --------------------------------- */

static int ub_aggregate_sweep(ub_state *s) {
  double relerr = 0, rms = 0, chain = 0;
  double *dp = malloc(s->n_eps * sizeof *dp), *cf = malloc(s->n_eps * sizeof *cf);
  if (!dp || !cf) {
    free(dp);
    free(cf);
    TL_ERROR(GSL_ENOMEM, "out of memory");
  }
  for (size_t k = 0; k < s->n_eps; k++) {
    const ub_point *p = &s->points[k];
    for (int c = 0; c < UB_NCASES; c++) {
      relerr = tl_max_nan(relerr, fabs(p->cost_fwd[c] - p->cost_closed[c]) / p->cost_closed[c]);
      rms = tl_max_nan(rms, p->cost_fwd[c] / p->bound_rms[c]);
      chain = tl_max_nan(chain, p->cost_fwd[c] / p->bound_sup[c]);
      chain = tl_max_nan(chain, p->ypen_norm[c] / p->y_pen_norms[c]);
      chain = tl_max_nan(chain, p->cost_fwd[c] / p->bound_tilde[c]);
    }
    dp[k] = p->delta_P[0];
    cf[k] = p->cost_fwd[0];
  }
  ub_gauss_summary g;
  ub_set gs;
  int status = ub_set_init(s, &gs, UB_SET_GAUSS, 0);
  if (!status) status = ub_gauss_summary_compute(s, &gs, &g);
  if (!status) {
    rms = tl_max_nan(rms, g.cost_fwd / g.bound_rms);
    status = tl_results_set(s->res, "constr.cost_identity_max_relerr", relerr, "%.2e");
  }
  if (!status) status = tl_results_set(s->res, "bound.rms_max_ratio", rms, "%.6f");
  if (!status) status = tl_results_set(s->res, "bound.sup_chain_max_ratio", chain, "%.6f");
  if (!status) status = tl_results_set(s->res, "bound.slope",
                                       ub_loglog_slope(dp, cf, NULL, s->n_eps, 0, 0), "%.12f");
  if (!status) status = tl_results_set(s->res, "gauss.cost_star", g.cost_closed, "%.4g");
  if (!status) status = tl_results_set(s->res, "gauss.rms_ratio", g.cost_fwd / g.bound_rms, "%.4f");
  ub_set_free(&gs);
  free(dp);
  free(cf);
  return status;
}

static int ub_aggregate_mq(ub_state *s) {
  size_t n = s->n_eps;
  double relerr = 0, viol = -INFINITY;
  double *dp = malloc(n * sizeof *dp), *rho = malloc(n * sizeof *rho);
  if (!dp || !rho) {
    free(dp);
    free(rho);
    TL_ERROR(GSL_ENOMEM, "out of memory");
  }
  for (size_t k = 0; k < n; k++)
    for (int yk = 0; yk < 2; yk++) {
      const ub_mq *q = &s->points[k].mq[yk];
      double e1 = fabs(q->cost_tied - q->cost_noint) / q->cost_noint;
      double e2 = fabs(q->cost_tied - q->cost_tied_fwd) / q->cost_tied_fwd;
      relerr = tl_max_nan(relerr, tl_max_nan(e1, e2));
      double v = tl_max_nan(q->ratio_lower - (1.0 - q->rho), -q->rho);
      viol = tl_max_nan(viol, v);
      if (yk == 0) {
        dp[k] = s->points[k].delta_P[2] > 0 ? s->points[k].delta_P[2] : NAN;
        rho[k] = q->rho;
      }
    }
  /* delta_P of trig-mq does not depend on Y: recompute if the sweep did not run. */
  ub_set x;
  int status = ub_set_init(s, &x, UB_SET_TRIG_MQ, 0);
  for (size_t k = 0; k < n && !status; k++) {
    status = ub_set_eps(s, &x, s->eps_grid[k]);
    dp[k] = x.st->delta_P;
  }
  ub_set_free(&x);
  const ub_mq *q0 = &s->points[0].mq[0];
  double gap = tl_min_nan(1.0 - s->points[0].mq[0].cost_int / s->points[0].mq[0].cost_star,
                    1.0 - s->points[0].mq[1].cost_int / s->points[0].mq[1].cost_star);
  double e0 = s->eps_grid[0];
  if (!status) status = tl_results_set(s->res, "mq.tied_closed_form_max_relerr", relerr, "%.2e");
  if (!status) status = tl_results_set(s->res, "mq.gap_slope",
                                       ub_loglog_slope(dp, rho, s->eps_grid, n, P_DBL(s, "fit_lo"),
                                                       P_DBL(s, "fit_hi")), "%.5f");
  if (!status) status = tl_results_set(s->res, "mq.gap_coef_ratio", q0->rho / (q0->kappa * e0 * e0), "%.6f");
  if (!status) status = tl_results_set(s->res, "mq.ratio_bounds_max_violation", viol, "%.2e");
  if (!status) status = tl_results_set(s->res, "mq.intercept_gap", gap, "%.4f");
  if (!status) status = tl_results_set(s->res, "mq.kappa", q0->kappa, "%.4g");
  if (!status) status = tl_results_set(s->res, "mq.kappa_P", q0->kappa_P, "%.4g");
  /* T2: four rows of the grid (eps_min, two interior, eps_max); all rows in a TSV. */
  size_t rows[4] = {0, (n - 1) / 3, 2 * (n - 1) / 3, n - 1};
  for (int r = 0; r < 4 && !status; r++) {
    const ub_mq *q = &s->points[rows[r]].mq[0];
    const struct { const char *name; double v; const char *fmt; } cells[] = {
        {"eps", s->eps_grid[rows[r]], "%.3g"}, {"delta_P", dp[rows[r]], "%.3g"},
        {"cost_star", q->cost_star, "%.4g"}, {"cost_tied", q->cost_tied, "%.4g"},
        {"cost_noint", q->cost_noint, "%.4g"}, {"cost_int", q->cost_int, "%.4g"},
        {"rho", q->rho, "%.3e"}, {"kappa_P_dP2", q->kappa_P * dp[rows[r]] * dp[rows[r]], "%.3e"},
        {"K_norm", q->K_norm, "%.3e"}, {"ratio_lower", q->ratio_lower, "%.6f"}};
    for (size_t i = 0; i < sizeof cells / sizeof cells[0] && !status; i++) {
      char key[64];
      snprintf(key, sizeof key, "t2.r%d.%s", r, cells[i].name);
      status = tl_results_set(s->res, key, cells[i].v, cells[i].fmt);
    }
  }
  if (!status) {
    char path[4096];
    double *cols[11];
    for (int c = 0; c < 11; c++)
      cols[c] = malloc(n * sizeof(double));
    for (size_t k = 0; k < n; k++) {
      const ub_mq *q = &s->points[k].mq[0];
      double v[11] = {s->eps_grid[k], dp[k], q->cost_star, q->cost_tied, q->cost_noint,
                      q->cost_int, q->rho, q->kappa_P * dp[k] * dp[k], q->K_norm,
                      q->ratio_lower, s->points[k].mq[1].rho};
      for (int c = 0; c < 11; c++)
        if (cols[c])
          cols[c][k] = v[c];
    }
    static const char *const names[11] = {"eps", "delta_P", "cost_star", "cost_tied",
                                           "cost_noint", "cost_int", "rho", "kappa_P_dP2",
                                           "K_norm", "ratio_lower", "rho_Y2"};
    int ok = 1;
    for (int c = 0; c < 11; c++)
      ok &= cols[c] != NULL;
    status = ok ? ub_out_path(s, "table2_mq_sweep.tsv", path, sizeof path) : GSL_ENOMEM;
    if (!status)
      status = tl_tsv_write_columns(path, 11, names, n, (const double *const *)cols);
    if (!status)
      status = tl_results_add_file(s->res, "table2_mq_sweep.tsv", "T2, the M = Q sweep (Y = I; rho for Y_2)",
                                   "eps\tdelta_P\tcost_star\tcost_tied\tcost_noint\tcost_int\trho\tkappa_P_dP2\tK_norm\tratio_lower\trho_Y2");
    for (int c = 0; c < 11; c++)
      free(cols[c]);
  }
  free(dp);
  free(rho);
  return status;
}

static int ub_aggregate_gd(ub_state *s) {
  size_t seeds = P_INT(s, "gd_seeds");
  double cstar = NAN, brms = NAN, cint = NAN, best = INFINITY;
  TL_TRY(ub_gd_levels(s, &cstar, &brms, &cint));
  for (size_t r = 0; r <= seeds; r++) {
    const ub_gdrun *g = &s->runs[r];
    if (r < seeds)
      best = tl_min_nan(best, g->costT / cstar);
    char key[64], run[32];
    if (r < seeds)
      snprintf(run, sizeof run, "he%zu", r);
    else
      snprintf(run, sizeof run, "warm");
    const struct { const char *name; double v; const char *fmt; } cells[] = {
        {"cost0", g->cost0, "%.4g"}, {"costT", g->costT, "%.4g"},
        {"ratio_star", g->costT / cstar, "%.4f"}, {"ratio_int", g->costT / cint, "%.4f"},
        {"rejections", (double)g->rejections, "%.0f"}, {"eta_final", g->eta_final, "%.3g"}};
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
      snprintf(key, sizeof key, "t4.%s.%s", run, cells[i].name);
      TL_TRY(tl_results_set(s->res, key, cells[i].v, cells[i].fmt));
    }
  }
  TL_TRY(tl_results_set(s->res, "gd.best_ratio", best, "%.4f"));
  TL_TRY(tl_results_set(s->res, "gd.cost_star", cstar, "%.4g"));
  TL_TRY(tl_results_set(s->res, "gd.bound_rms", brms, "%.4g"));
  return tl_results_set(s->res, "gd.cost_int", cint, "%.4g");
}

/* ---- main -------------------------------------------------------------------- */

static int ub_validate(const ub_state *s) {
  size_t n = 0;
  const double *amps = tl_cli_list(&s->cli, "perp_amps", &n);
  if (amps[0] != 0)
    TL_ERROR(TL_EUSAGE, "perp_amps: the first amplitude must be 0 (the reference), got %g", amps[0]);
  if (!(P_DBL(s, "eps_min") < P_DBL(s, "eps_max")))
    TL_ERROR(TL_EUSAGE, "eps_min must be smaller than eps_max");
  if (!(P_DBL(s, "fit_lo") <= P_DBL(s, "fit_hi")))
    TL_ERROR(TL_EUSAGE, "fit_lo must not exceed fit_hi");
  if (!(P_DBL(s, "hess_h") < P_DBL(s, "margin")))
    TL_ERROR(TL_EUSAGE, "hess_h must be much smaller than margin (no activation may flip)");
  if (P_INT(s, "gd_record") > UB_GD_RECORD_MAX)
    TL_ERROR(TL_EUSAGE, "gd_record exceeds %d", UB_GD_RECORD_MAX);
  return TL_SUCCESS;
}

static void ub_faults_from_cli(ub_state *s) {
  const tl_cli *c = &s->cli;
  ub_faults *f = &s->faults;
  memset(f, 0, sizeof *f);
  f->b2_zero = tl_cli_sabotage(c, "b2-zero");
  f->drop_bias = tl_cli_sabotage(c, "drop-bias");
  f->pen_norm_smax = tl_cli_sabotage(c, "pen-norm-smax");
  f->mean_first_sample = tl_cli_sabotage(c, "mean-first-sample");
  f->forget_Rinv = tl_cli_sabotage(c, "forget-Rinv");
  f->w1_no_projection = tl_cli_sabotage(c, "w1-no-projection");
  f->y_transpose = tl_cli_sabotage(c, "y-transpose");
  f->pen_transpose = tl_cli_sabotage(c, "pen-transpose");
  f->D_identity = tl_cli_sabotage(c, "D-identity");
  f->D_identity_literal = tl_cli_sabotage(c, "D-identity-literal");
  f->free_intercept = tl_cli_sabotage(c, "free-intercept");
  f->gap_squared_cost = tl_cli_sabotage(c, "gap-squared-cost");
  f->lstsq_no_intercept = tl_cli_sabotage(c, "lstsq-no-intercept");
}

static int ub_record_params(ub_state *s, tl_prov *prov) {
  char buf[64];
  for (size_t i = 0; i < s->cli.n_params; i++) {
    const tl_param_value *v = &s->cli.values[i];
    TL_TRY(tl_results_set_param(s->res, ub_params[i].key, v->text, !v->overridden));
    /* Also as a value, so that chapter.md can quote it as {{param.key}}. */
    snprintf(buf, sizeof buf, "param.%s", ub_params[i].key);
    TL_TRY(tl_results_set_string(s->res, buf, v->text));
    if (v->overridden)
      TL_TRY(tl_prov_add_override(prov, ub_params[i].key, v->text));
  }
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)s->cli.seed);
  TL_TRY(tl_results_set_param(s->res, "seed", buf, !s->cli.seed_overridden));
  TL_TRY(tl_results_set_string(s->res, "param.seed", buf));
  TL_TRY(tl_results_set_string(s->res, "profile", s->cli.full ? "full" : "quick"));
  TL_TRY(tl_results_set_string(s->res, "sabotage", s->cli.sabotage ? s->cli.sabotage : "none"));
  TL_TRY(tl_results_set_int(s->res, "overrides", (long long)tl_cli_n_overrides(&s->cli)));
  TL_TRY(tl_prov_set_profile(prov, s->cli.full ? "full" : "quick"));
  return tl_prov_add_seed(prov, "seed", s->cli.seed);
}

typedef int (*ub_part_fn)(ub_state *s, ub_figure_data *fd);

static int ub_part_sweep_fd(ub_state *s, ub_figure_data *fd) {
  (void)fd;
  return ub_part_sweep(s);
}
static int ub_part_mq_fd(ub_state *s, ub_figure_data *fd) {
  (void)fd;
  return ub_part_mq(s);
}
static int ub_part_gd_fd(ub_state *s, ub_figure_data *fd) {
  (void)fd;
  return ub_part_gd(s);
}

/* The parts in order: what each computes, and, for the sharded sweeps, the
 * aggregate that needs every task (run unsharded, or when merging). */
static int ub_run(ub_state *s, tl_prov *prov, ub_figure_data *fd) {
  static const struct {
    const char *name;
    ub_part_fn compute;
    int (*aggregate)(ub_state *);
  } parts[] = {{"sweep", ub_part_sweep_fd, ub_aggregate_sweep},
               {"eps0", ub_part_eps0, NULL},
               {"mq", ub_part_mq_fd, ub_aggregate_mq},
               {"hessian", ub_part_hessian, NULL},
               {"gd", ub_part_gd_fd, ub_aggregate_gd}};
  int sharded = s->cli.shard_count > 1, merging = s->cli.n_merge > 0;
  if (merging) {
    TL_TRY(ub_shard_merge(s, fd));
    tl_progress_step(s->cli.quiet, UB_SLUG, "merged %zu shards", s->cli.n_merge);
  } else {
    TL_TRY(ub_check_preconditions(s));
  }
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (!tl_cli_runs(&s->cli, parts[i].name))
      continue;
    /* Parts outside the sweeps belong to shard 0 (and come merged from it). */
    int compute = !merging && (parts[i].aggregate || !sharded || s->cli.shard_index == 0);
    int aggregate = parts[i].aggregate && !sharded;
    if (!compute && !aggregate)
      continue;
    tl_progress_step(s->cli.quiet, UB_SLUG, "%s", parts[i].name);
    TL_TRY(tl_prov_part_begin(prov, parts[i].name));
    if (compute)
      TL_TRY(parts[i].compute(s, fd));
    if (aggregate)
      TL_TRY(parts[i].aggregate(s));
    TL_TRY(tl_prov_part_end(prov, parts[i].name));
  }
  if (sharded)
    return ub_shard_write(s, fd);
  if (s->cli.n_only == 0) {
    tl_progress_step(s->cli.quiet, UB_SLUG, "figures");
    TL_TRY(tl_prov_part_begin(prov, "figures"));
    TL_TRY(ub_draw_figures(s, fd));
    TL_TRY(tl_prov_part_end(prov, "figures"));
  }
  return TL_SUCCESS;
}

static int ub_main(ub_state *s, int argc, char **argv) {
  int status = tl_cli_parse(&s->cli, &ub_info, argc, argv);
  if (status)
    return status;
  TL_TRY(ub_validate(s));
  if (s->cli.threads)
    TL_TRY(tl_linalg_set_threads(s->cli.threads));
  ub_faults_from_cli(s);
  s->out = s->cli.out;
  TL_TRY(tl_mkdir_p(s->out));
  if (s->cli.n_only == 0 && s->cli.shard_count == 1)
    TL_TRY(tl_mkdir_p(s->cli.figures));
  s->n_eps = P_INT(s, "eps_count");
  s->n_runs = P_INT(s, "gd_seeds") + 1;
  s->eps_grid = calloc(s->n_eps, sizeof *s->eps_grid);
  s->points = calloc(s->n_eps, sizeof *s->points);
  s->runs = calloc(s->n_runs, sizeof *s->runs);
  if (!s->eps_grid || !s->points || !s->runs)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  size_t n_rec = P_INT(s, "gd_record");
  for (size_t r = 0; r < s->n_runs; r++) {
    s->runs[r].record_iter = calloc(n_rec, sizeof(double));
    s->runs[r].record_cost = calloc(n_rec, sizeof(double));
    if (!s->runs[r].record_iter || !s->runs[r].record_cost)
      TL_ERROR(GSL_ENOMEM, "out of memory");
  }
  double lo = P_DBL(s, "eps_min"), hi = P_DBL(s, "eps_max");
  for (size_t k = 0; k < s->n_eps; k++)
    s->eps_grid[k] = lo * pow(hi / lo, (double)k / (double)(s->n_eps - 1));
  s->res = tl_results_alloc(UB_SLUG);
  tl_prov *prov = tl_prov_alloc(UB_SLUG, NULL);
  ub_figure_data fd;
  memset(&fd, 0, sizeof fd);
  status = (s->res && prov) ? TL_SUCCESS : GSL_ENOMEM;
  if (!status)
    status = ub_figure_data_alloc(&fd, P_INT(s, "beta_count"),
                                  2000 * P_INT(s, "qm_Q"), 2 * P_INT(s, "plane_base") + 2,
                                  2 * (P_INT(s, "mq_Q") + 1) * (P_INT(s, "mq_Q") + 1));
  if (!status) status = ub_record_params(s, prov);
  if (!status) status = ub_run(s, prov, &fd);
  char path[4096];
  if (!status) status = ub_out_path(s, "results.json", path, sizeof path);
  if (!status) status = tl_results_write(s->res, path);
  if (!status) status = tl_prov_add_output_dir(prov, s->out);
  if (!status && s->cli.n_only == 0 && s->cli.shard_count == 1 &&
      strncmp(s->cli.figures, s->out, strlen(s->out)) != 0)
    status = tl_prov_add_output_dir(prov, s->cli.figures);
  if (!status) status = ub_out_path(s, "provenance.json", path, sizeof path);
  if (!status) status = tl_prov_write(prov, path);
  ub_figure_data_free(&fd);
  tl_prov_free(prov);
  return status;
}

int main(int argc, char **argv) {
  tl_error_install_gsl_handler();
  tl_atomic_install_signal_handlers();
  static ub_state s;
  int status = ub_main(&s, argc, argv);
  tl_results_free(s.res);
  for (size_t r = 0; s.runs && r < s.n_runs; r++) {
    free(s.runs[r].record_iter);
    free(s.runs[r].record_cost);
  }
  free(s.runs);
  free(s.points);
  free(s.eps_grid);
  if (status == -1)
    return 0; /* --help, --version */
  if (status) {
    fprintf(stderr, "tl-upper-bound: error: %s\n",
            tl_error_message()[0] ? tl_error_message() : tl_strerror(status));
    return status == TL_EUSAGE ? 2 : 1;
  }
  return 0;
}

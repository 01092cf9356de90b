/* Chapter 01 (upper-bound): Hessians at the M = Q minima (3.6) and monotone
 * gradient descent (3.7). */
#include "ub_train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_randist.h>

#include "tl_error.h"
#include "tl_linalg.h"
#include "tl_opt.h"
#include "tl_progress.h"
#include "tl_rng.h"

#define P_INT(s, k) ((size_t)tl_cli_int(&(s)->cli, k))
#define P_DBL(s, k) tl_cli_double(&(s)->cli, k)

enum { UB_TASK_HAAR = 4, UB_TASK_GD = 100 };

/* ---- 3.6 Hessians ------------------------------------------------------ */

typedef struct {
  ub_objective *obj;
  size_t M, Q;
  int tied;
  gsl_vector *full, *gfull; /* full parameter vector and gradient (tied model) */
} ub_model_fn;

/* excerpt: tied-gradient */
/* Gradient of C^2 in the free model, or in the tied model theta_tied =
 * (W1, b1, W2) with b2 := -W2 b1, where the chain rule gives (grad_W1,
 * grad_b1 - W2^T grad_b2, grad_W2 - grad_b2 b1^T) (tl_net_tied_gradient). */
static int ub_model_gradient(ub_model_fn *m, const gsl_vector *theta, gsl_vector *g, double *c2) {
  if (!m->tied)
    return ub_objective_eval(m->obj, theta, c2, g);
  const tl_net *net = ub_objective_net(m->obj);
  TL_TRY(tl_net_tied_expand(net, theta, m->full));
  TL_TRY(ub_objective_eval(m->obj, m->full, c2, m->gfull));
  return tl_net_tied_gradient(net, m->full, m->gfull, g);
}
/* end excerpt */

/* Result of one model's check. */
typedef struct {
  size_t p, zeros_expected, zeros_found;
  double grad_norm, lmin_ratio, largest_zero, smallest_nonzero, grad_b2;
  int violations;
} ub_hess_result;

/* Adapters: the model's gradient as a tl_opt objective for tl_opt_hessian_fd. */
static int ub_model_fdf(const gsl_vector *x, void *params, double *f, gsl_vector *g) {
  return ub_model_gradient(params, x, g, f);
}
static int ub_model_df(const gsl_vector *x, void *params, gsl_vector *g) {
  double f = 0;
  return ub_model_gradient(params, x, g, &f);
}
static int ub_model_f(const gsl_vector *x, void *params, double *f) {
  ub_model_fn *m = params;
  if (m->tied) {
    TL_TRY(tl_net_tied_expand(ub_objective_net(m->obj), x, m->full));
    return ub_objective_eval(m->obj, m->full, f, NULL);
  }
  return ub_objective_eval(m->obj, x, f, NULL);
}

/* excerpt: fd-hessian */
/* Central differences of the analytic gradient, step h << margin (no
 * activation pattern changes), symmetrised (tl_opt_hessian_fd), then dsyevr_. */
static int ub_hessian_check(ub_state *s, ub_model_fn *m, const gsl_vector *theta,
                            ub_hess_result *r, double *eig_abs, int *eig_neg) {
  size_t p = theta->size, M = m->M;
  double h = P_DBL(s, "hess_h"), tol = P_DBL(s, "hess_zero_tol"), c2 = 0;
  gsl_vector *gp = gsl_vector_alloc(p), *work = gsl_vector_alloc(3 * p);
  gsl_vector *eval = gsl_vector_alloc(p);
  gsl_matrix *H = gsl_matrix_alloc(p, p);
  tl_linalg_eigen_workspace *w = tl_linalg_eigen_alloc(p);
  tl_opt_function fn = {ub_model_f, ub_model_df, ub_model_fdf, NULL, p, 0, m};
  int status = (gp && work && eval && H && w) ? TL_SUCCESS : GSL_ENOMEM;
  if (!status) status = ub_model_gradient(m, theta, gp, &c2);
  if (!status) {
    r->p = p;
    r->grad_norm = gsl_blas_dnrm2(gp);
    if (!m->tied) { /* d C^2 / d b2 = 2 * mean residual */
      gsl_vector_const_view gb2 = gsl_vector_const_subvector(gp, p - m->Q, m->Q);
      r->grad_b2 = gsl_blas_dnrm2(&gb2.vector);
    }
  }
  if (!status) status = tl_opt_hessian_fd(&fn, theta, h, H, work);
  if (!status) {
    status = tl_linalg_eigen_symm(w, H, eval, NULL);
  }
  if (!status) {
    double lmax = gsl_vector_get(eval, p - 1), lmin = gsl_vector_get(eval, 0);
    r->zeros_expected = M * M + M;
    r->zeros_found = 0;
    r->largest_zero = 0;
    r->smallest_nonzero = INFINITY;
    for (size_t i = 0; i < p; i++) {
      double a = fabs(gsl_vector_get(eval, i)) / lmax;
      if (a <= tol) {
        r->zeros_found++;
        r->largest_zero = fmax(r->largest_zero, a);
      } else {
        r->smallest_nonzero = fmin(r->smallest_nonzero, a);
      }
    }
    r->lmin_ratio = lmin / lmax;
    r->violations = (r->grad_norm > P_DBL(s, "grad_tol")) + (lmin < -tol * lmax) +
                    (r->zeros_found != r->zeros_expected);
    /* Sorted |lambda| / lambda_max for the figure, with the signs. */
    for (size_t i = 0; i < p; i++) {
      eig_abs[i] = fabs(gsl_vector_get(eval, i)) / lmax;
      eig_neg[i] = gsl_vector_get(eval, i) < 0;
    }
    for (size_t i = 1; i < p; i++) /* insertion sort, descending: p is small */
      for (size_t j = i; j > 0 && eig_abs[j] > eig_abs[j - 1]; j--) {
        double t = eig_abs[j]; eig_abs[j] = eig_abs[j - 1]; eig_abs[j - 1] = t;
        int u = eig_neg[j]; eig_neg[j] = eig_neg[j - 1]; eig_neg[j - 1] = u;
      }
  }
  if (gp) gsl_vector_free(gp);
  if (work) gsl_vector_free(work);
  if (eval) gsl_vector_free(eval);
  if (H) gsl_matrix_free(H);
  tl_linalg_eigen_free(w);
  if (status == GSL_ENOMEM)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  return status;
}
/* end excerpt */

static int ub_record_hess(ub_state *s, const char *model, const ub_hess_result *r, int critical) {
  char key[96];
  const struct { const char *name; double v; const char *fmt; } cells[] = {
      {"p", (double)r->p, "%.0f"},
      {"zeros_expected", critical ? (double)r->zeros_expected : NAN, "%.0f"},
      {"zeros_found", (double)r->zeros_found, "%.0f"}, {"grad_norm", r->grad_norm, "%.2e"},
      {"lmin_ratio", r->lmin_ratio, "%.2e"}, {"largest_zero", r->largest_zero, "%.2e"},
      {"smallest_nonzero", r->smallest_nonzero, "%.2e"}};
  for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
    snprintf(key, sizeof key, "t3.%s.%s", model, cells[i].name);
    TL_TRY(tl_results_set(s->res, key, cells[i].v, cells[i].fmt));
  }
  return TL_SUCCESS;
}

int ub_part_hessian(ub_state *s, ub_figure_data *fd) {
  size_t Q = P_INT(s, "mq_Q"), M = Q, p = M * M + M + Q * M + Q, pt = p - Q;
  double margin = P_DBL(s, "margin"), rcond = P_DBL(s, "lstsq_rcond");
  ub_data *d = NULL;
  ub_stats *st = NULL;
  ub_net *free_net = NULL, *tied_net = NULL;
  ub_objective *obj = NULL;
  gsl_matrix *Y = NULL, *Rs = gsl_matrix_alloc(M, M), *A = gsl_matrix_alloc(Q, M);
  gsl_vector *c = gsl_vector_alloc(Q);
  ub_model_fn fn = {NULL, M, Q, 0, gsl_vector_alloc(p), gsl_vector_alloc(p)};
  gsl_rng *rng = tl_rng_alloc(s->cli.seed, UB_TASK_HAAR);
  tl_linalg_haar_workspace *hw = tl_linalg_haar_alloc(M);
  int status = (Rs && A && c && fn.full && fn.gfull && rng && hw) ? TL_SUCCESS : GSL_ENOMEM;
  if (!status) status = ub_data_alloc(&d, UB_SET_TRIG_MQ, M, Q, P_INT(s, "mq_base"), s->cli.seed);
  if (!status) status = ub_stats_alloc(&st, M, Q, d->N);
  if (!status) status = ub_labels_alloc(&Y, Q, 0);
  if (!status) status = ub_net_alloc(&free_net, M, Q);
  if (!status) status = ub_net_alloc(&tied_net, M, Q);
  if (!status) status = tl_linalg_haar_orthogonal(hw, rng, Rs);
  if (!status) {
    ub_data_set_eps(d, P_DBL(s, "hess_eps"));
    status = ub_stats_compute(st, d, d->X0, &s->faults);
  }
  size_t rank = 0;
  double cost = 0;
  /* Free minimum: the all-active least-squares map (A, c) realised with W1 = R_s. */
  if (!status) status = ub_lstsq_cost(d, d->X0, Y, !s->faults.lstsq_no_intercept, rcond, &cost, A,
                                      c, &rank);
  if (!status) status = ub_net_from_affine(free_net, A, c, Rs, d->X0, margin);
  /* Tied minimum: the least-squares map without intercept, b2 := -W2 b1. */
  if (!status) status = ub_lstsq_cost(d, d->X0, Y, 0, rcond, &cost, A, NULL, &rank);
  if (!status) status = ub_net_from_affine(tied_net, A, NULL, Rs, d->X0, margin);
  if (!status) status = ub_objective_alloc(&obj, d, d->X0, Y);
  fn.obj = obj;
  ub_hess_result rf, rt, rp;
  memset(&rf, 0, sizeof rf);
  memset(&rt, 0, sizeof rt);
  memset(&rp, 0, sizeof rp);
  int sab = tl_cli_sabotage(&s->cli, "tied-point");
  if (!status) {
    fn.tied = 0;
    status = ub_hessian_check(s, &fn, sab ? tied_net->theta : free_net->theta, &rf,
                              fd->eig_abs[0], fd->eig_negative[0]);
  }
  if (!status) {
    fn.tied = 1;
    gsl_vector_const_view th = gsl_vector_const_subvector(tied_net->theta, 0, pt);
    status = ub_hessian_check(s, &fn, &th.vector, &rt, fd->eig_abs[1], fd->eig_negative[1]);
  }
  if (!status) {
    fn.tied = 0;
    status = ub_hessian_check(s, &fn, tied_net->theta, &rp, fd->eig_abs[2], fd->eig_negative[2]);
  }
  if (!status) {
    fd->n_eig[0] = p;
    fd->n_eig[1] = pt;
    fd->n_eig[2] = p;
    fd->eig_zeros_expected = M * M + M;
    fd->have_eig = 1;
    status = tl_results_set_int(s->res, "mq.local_min_violations", rf.violations + rt.violations);
  }
  if (!status) status = ub_record_hess(s, "free", &rf, 1);
  if (!status) status = ub_record_hess(s, "tied", &rt, 1);
  if (!status) status = ub_record_hess(s, "tied_point", &rp, 0);
  if (!status) status = tl_results_set(s->res, "t3.tied_point.grad_b2", rp.grad_b2, "%.2e");
  if (!status) status = ub_write_network(s, "net_free_minimum.tsv", free_net,
                                         "free local minimum (trig-mq at hess_eps, R_s)");
  if (!status) status = ub_write_network(s, "net_tied_minimum.tsv", tied_net,
                                         "tied local minimum (trig-mq at hess_eps, R_s)");
  ub_objective_free(obj);
  ub_data_free(d);
  ub_stats_free(st);
  ub_net_free(free_net);
  ub_net_free(tied_net);
  if (Y) gsl_matrix_free(Y);
  if (Rs) gsl_matrix_free(Rs);
  if (A) gsl_matrix_free(A);
  if (c) gsl_vector_free(c);
  if (fn.full) gsl_vector_free(fn.full);
  if (fn.gfull) gsl_vector_free(fn.gfull);
  gsl_rng_free(rng);
  tl_linalg_haar_free(hw);
  if (status == GSL_ENOMEM)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  return status;
}

/* ---- 3.7 gradient descent ---------------------------------------------- */

typedef struct {
  ub_objective *obj;
  int flip; /* sabotage grad-sign: hand GD the negated gradient */
} ub_gd_fn;

static int ub_gd_f(const gsl_vector *x, void *params, double *f) {
  ub_gd_fn *p = params;
  return ub_objective_eval(p->obj, x, f, NULL);
}

static int ub_gd_fdf(const gsl_vector *x, void *params, double *f, gsl_vector *g) {
  ub_gd_fn *p = params;
  TL_TRY(ub_objective_eval(p->obj, x, f, g));
  if (p->flip)
    gsl_vector_scale(g, -1.0);
  return TL_SUCCESS;
}

static int ub_gd_df(const gsl_vector *x, void *params, gsl_vector *g) {
  double f = 0;
  return ub_gd_fdf(x, params, &f, g);
}

/* He initialisation from stream 100 + r: W1 entries N(0, 2/M) row-major, then
 * W2 entries N(0, 1/M), biases 0. */
static int ub_he_init(ub_state *s, size_t r, ub_net *net) {
  gsl_rng *rng = tl_rng_alloc(s->cli.seed, UB_TASK_GD + r);
  if (!rng)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  size_t M = net->M, Q = net->Q;
  gsl_vector_set_zero(net->theta);
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < M; j++)
      gsl_matrix_set(&net->W1.matrix, i, j, gsl_ran_gaussian(rng, sqrt(2.0 / (double)M)));
  for (size_t i = 0; i < Q; i++)
    for (size_t j = 0; j < M; j++)
      gsl_matrix_set(&net->W2.matrix, i, j, gsl_ran_gaussian(rng, sqrt(1.0 / (double)M)));
  gsl_rng_free(rng);
  return TL_SUCCESS;
}

/* excerpt: monotone-gd */
static int ub_gd_run(ub_state *s, ub_objective *obj, ub_net *net, ub_gdrun *run) {
  size_t steps = P_INT(s, "gd_steps"), n_rec = P_INT(s, "gd_record");
  double gtol = P_DBL(s, "gd_gtol");
  ub_gd_fn gp = {obj, tl_cli_sabotage(&s->cli, "grad-sign")};
  tl_opt_function fn = {ub_gd_f, ub_gd_df, ub_gd_fdf, NULL, net->theta->size, 0, &gp};
  tl_opt_params par = tl_opt_params_default();
  par.eta = P_DBL(s, "gd_eta");
  par.eta_min = P_DBL(s, "gd_eta_min");
  tl_opt_minimizer *m = tl_opt_minimizer_alloc(tl_opt_gd_monotone, net->theta->size);
  if (!m)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  int status = tl_opt_minimizer_set(m, &fn, net->theta, &par);
  run->cost0 = sqrt(tl_opt_minimizer_f(m));
  run->n_record = 0;
  size_t next = 0; /* index k of the next recorded iteration round(s^{k/(n-1)}) */
  size_t it = 0;
  int stopped = 0;
  for (size_t k = 0; k < n_rec && !status; k++) {
    size_t target = (size_t)llround(pow((double)steps, (double)k / (double)(n_rec - 1)));
    if (run->n_record > 0 && target == (size_t)run->record_iter[run->n_record - 1])
      continue; /* deduplicated */
    while (it < target && !stopped) {
      int r = tl_opt_minimizer_iterate(m);
      it++;
      if (r == GSL_ENOPROG || tl_opt_test_gradient(tl_opt_minimizer_gradient(m), gtol) == GSL_SUCCESS)
        stopped = 1; /* a stopped run repeats its last value */
      else if (r)
        status = r;
    }
    run->record_iter[run->n_record] = (double)target;
    run->record_cost[run->n_record] = sqrt(tl_opt_minimizer_f(m));
    run->n_record++;
    next++;
  }
  (void)next;
  run->costT = sqrt(tl_opt_minimizer_f(m));
  run->iterations = tl_opt_minimizer_iterations(m);
  run->rejections = tl_opt_minimizer_rejected(m);
  run->eta_final = tl_opt_minimizer_step(m);
  gsl_vector_memcpy(net->theta, tl_opt_minimizer_x(m));
  tl_opt_minimizer_free(m);
  return status;
}
/* end excerpt */

static int ub_gauss_setup(ub_state *s, ub_data **d, ub_stats **st, gsl_matrix **Y) {
  size_t M = P_INT(s, "gd_M"), Q = P_INT(s, "gd_Q");
  if (Q > M)
    TL_ERROR(TL_EUSAGE, "gd_Q = %zu exceeds gd_M = %zu", Q, M);
  TL_TRY(ub_data_alloc(d, UB_SET_GAUSS, M, Q, P_INT(s, "gd_per_class"), s->cli.seed));
  ub_data_set_eps(*d, P_DBL(s, "gd_eps"));
  TL_TRY(ub_stats_alloc(st, M, Q, (*d)->N));
  TL_TRY(ub_stats_compute(*st, *d, (*d)->X0, &s->faults));
  return ub_labels_alloc(Y, Q, 0);
}

int ub_gd_levels(ub_state *s, double *cost_star, double *bound_rms, double *cost_int) {
  ub_data *d = NULL;
  ub_stats *st = NULL;
  gsl_matrix *Y = NULL;
  ub_label_stats ls;
  size_t rank = 0;
  int status = ub_gauss_setup(s, &d, &st, &Y);
  if (!status) status = ub_label_stats_compute(&ls, st, Y);
  if (!status) status = ub_lstsq_cost(d, d->X0, Y, !s->faults.lstsq_no_intercept,
                                      P_DBL(s, "lstsq_rcond"), cost_int, NULL, NULL, &rank);
  if (!status) {
    *cost_star = ls.cost_closed;
    *bound_rms = ls.bound_rms;
  }
  ub_data_free(d);
  ub_stats_free(st);
  if (Y) gsl_matrix_free(Y);
  return status;
}

int ub_part_gd(ub_state *s) {
  ub_data *d = NULL;
  ub_stats *st = NULL;
  gsl_matrix *Y = NULL;
  ub_net *net = NULL;
  ub_objective *obj = NULL;
  size_t n_eps = s->n_eps, seeds = P_INT(s, "gd_seeds");
  int status = ub_gauss_setup(s, &d, &st, &Y);
  if (!status) status = ub_net_alloc(&net, d->M, d->Q);
  if (!status) status = ub_objective_alloc(&obj, d, d->X0, Y);
  tl_progress bar;
  tl_progress_begin(&bar, "gd", seeds + 1, s->cli.quiet);
  for (size_t r = 0; r <= seeds && !status; r++) {
    if (!tl_cli_shard_runs(&s->cli, n_eps + r))
      continue;
    if (r < seeds)
      status = ub_he_init(s, r, net);
    else /* warm start: the construction, R = I */
      status = ub_construct(net, st, Y, NULL, d->X0, P_DBL(s, "margin"), NAN, &s->faults);
    if (!status) status = ub_gd_run(s, obj, net, &s->runs[r]);
    if (!status) {
      char file[64], desc[64];
      if (r == seeds) {
        snprintf(file, sizeof file, "net_gd_warm.tsv");
        snprintf(desc, sizeof desc, "GD final network, warm start");
      } else {
        snprintf(file, sizeof file, "net_gd_he%zu.tsv", r);
        snprintf(desc, sizeof desc, "GD final network, He run %zu", r);
      }
      status = ub_write_network(s, file, net, desc);
    }
    tl_progress_advance(&bar, 1);
  }
  tl_progress_end(&bar);
  ub_objective_free(obj);
  ub_net_free(net);
  ub_data_free(d);
  ub_stats_free(st);
  if (Y) gsl_matrix_free(Y);
  return status;
}

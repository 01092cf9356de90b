/* Unit test of tl_opt: every optimizer on a quadratic with a known minimum
 * and on a Rosenbrock valley; the monotone rule of chapter 1 §3.7 (f never
 * increases, eta halves on each rejection and is never raised, GSL_ENOPROG
 * below eta_min); SGD on a least-squares problem against the dgelsd_
 * solution, and the epoch / choose sampling contracts; BFGS to 1e-8. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_test.h>

#include "tl_error.h"
#include "tl_linalg.h"
#include "tl_opt.h"
#include "tl_rng.h"

/* ------------------------------------------------------------------------ */
/* f(x) = 1/2 (x - x*)^T A (x - x*) + f*                                     */
/* ------------------------------------------------------------------------ */

enum { QN = 5 };

typedef struct {
  gsl_matrix *A;
  gsl_vector *xstar, *r, *Ar, *gs; /* gs: gradient discarded by quad_f */
  double fstar;
  int fail; /* return this status from fdf when non-zero */
} quadratic;

static int quad_fdf(const gsl_vector *x, void *params, double *f, gsl_vector *g) {
  quadratic *q = params;
  if (q->fail)
    return q->fail;
  gsl_vector_memcpy(q->r, x);
  gsl_vector_sub(q->r, q->xstar);
  gsl_blas_dsymv(CblasLower, 1.0, q->A, q->r, 0.0, q->Ar);
  double rAr = 0.0;
  gsl_blas_ddot(q->r, q->Ar, &rAr);
  *f = 0.5 * rAr + q->fstar;
  gsl_vector_memcpy(g, q->Ar);
  return GSL_SUCCESS;
}

static int quad_f(const gsl_vector *x, void *params, double *f) {
  quadratic *q = params;
  return quad_fdf(x, params, f, q->gs);
}

static void quadratic_init(quadratic *q) {
  q->A = gsl_matrix_alloc(QN, QN);
  gsl_matrix *B = gsl_matrix_alloc(QN + 2, QN);
  for (size_t i = 0; i < QN + 2; i++)
    for (size_t j = 0; j < QN; j++)
      gsl_matrix_set(B, i, j, sin(1.3 * (double)(i + 1) * (double)(j + 2) + 0.4));
  /* Curvature scaled by 25 (lambda_min ~ 55): GSL's bfgs2 stops once the
   * predicted decrease is below DBL_EPSILON in absolute terms, i.e. at
   * |x - x*| ~ sqrt(2 eps / lambda_min); this keeps that floor 5x below the
   * 1e-8 the test asks for (see tl_opt.h). */
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 25.0, B, B, 0.0, q->A);
  for (size_t i = 0; i < QN; i++)
    gsl_matrix_set(q->A, i, i, gsl_matrix_get(q->A, i, i) + 8.75);
  gsl_matrix_free(B);
  q->xstar = gsl_vector_alloc(QN);
  const double xs[QN] = {2.385, -1.3, 0.7, -0.45, 1.1};
  for (size_t i = 0; i < QN; i++)
    gsl_vector_set(q->xstar, i, xs[i]);
  q->r = gsl_vector_alloc(QN);
  q->Ar = gsl_vector_alloc(QN);
  q->gs = gsl_vector_alloc(QN);
  /* f* = 0: a non-zero minimum value puts a floor sqrt(eps f* / lambda_min)
   * on how close a value-based line search (BFGS) can get to x*; that floor
   * is a property of floating point, not of the optimizer under test. */
  q->fstar = 0.0;
  q->fail = 0;
}

static void quadratic_free(quadratic *q) {
  gsl_matrix_free(q->A);
  gsl_vector_free(q->xstar);
  gsl_vector_free(q->r);
  gsl_vector_free(q->Ar);
  gsl_vector_free(q->gs);
}

static double distance(const gsl_vector *x, const gsl_vector *y) {
  double s = 0.0;
  for (size_t i = 0; i < x->size; i++)
    s += gsl_pow_2(gsl_vector_get(x, i) - gsl_vector_get(y, i));
  return sqrt(s);
}

/* Eigenvalue range of A, for step sizes and iteration counts. */
static void spectrum(const gsl_matrix *A, double *lmin, double *lmax) {
  tl_linalg_eigen_workspace *w = tl_linalg_eigen_alloc(A->size1);
  gsl_vector *e = gsl_vector_alloc(A->size1);
  tl_linalg_eigen_symm(w, A, e, NULL);
  *lmin = gsl_vector_get(e, 0);
  *lmax = gsl_vector_get(e, A->size1 - 1);
  gsl_vector_free(e);
  tl_linalg_eigen_free(w);
}

/* Run s until |g| <= gtol, a non-success status, or max_iter; report whether
 * f ever increased across an iteration. */
static int run(tl_opt_minimizer *s, double gtol, size_t max_iter, int *increased) {
  int status = GSL_CONTINUE;
  double f_prev = tl_opt_minimizer_f(s);
  *increased = 0;
  for (size_t k = 0; k < max_iter; k++) {
    status = tl_opt_minimizer_iterate(s);
    if (tl_opt_minimizer_f(s) > f_prev)
      *increased = 1;
    f_prev = tl_opt_minimizer_f(s);
    if (status != GSL_SUCCESS)
      return status;
    status = tl_opt_test_gradient(tl_opt_minimizer_gradient(s), gtol);
    if (status != GSL_CONTINUE)
      return status;
  }
  return status;
}

static void test_quadratic(void) {
  quadratic q;
  quadratic_init(&q);
  double lmin = 0.0, lmax = 0.0;
  spectrum(q.A, &lmin, &lmax);
  tl_opt_function fn = {quad_f, NULL, quad_fdf, NULL, QN, 0, &q};
  gsl_vector *x0 = gsl_vector_calloc(QN);
  gsl_vector_set(x0, 0, -3.1);
  gsl_vector_set(x0, 3, 0.77);
  /* Gradient tolerance for |x - x*| <= 1e-8: |x - x*| <= |g| / lambda_min. */
  const double gtol = 1e-9 * lmin;
  /* GD contracts by (1 - eta lambda_min) per step: iterations to gain 1e-12. */
  const size_t cap = (size_t)(30.0 * lmax / lmin) + 100;
  int increased = 0;

  const tl_opt_type *types[] = {tl_opt_gd_monotone, tl_opt_gd_fixed, tl_opt_bfgs};
  for (size_t t = 0; t < 3; t++) {
    tl_opt_minimizer *s = tl_opt_minimizer_alloc(types[t], QN);
    tl_opt_params par = tl_opt_params_default();
    par.eta = 1.0 / lmax;
    par.bfgs_step = 0.1;
    gsl_test(tl_opt_minimizer_set(s, &fn, x0, &par), "quadratic %s: set", tl_opt_minimizer_name(s));
    const int status = run(s, gtol, cap, &increased);
    /* BFGS may also end with GSL_ENOPROG once the line search hits rounding. */
    gsl_test(status != GSL_SUCCESS && !(types[t] == tl_opt_bfgs && status == GSL_ENOPROG),
             "quadratic %s: converged (%s, %zu iterations)", tl_opt_minimizer_name(s),
             tl_strerror(status), tl_opt_minimizer_iterations(s));
    gsl_test_abs(distance(tl_opt_minimizer_x(s), q.xstar), 0.0, 1e-8,
                 "quadratic %s: |x - x*| <= 1e-8", tl_opt_minimizer_name(s));
    gsl_test_abs(tl_opt_minimizer_f(s), q.fstar, 1e-16, "quadratic %s: f = f*",
                 tl_opt_minimizer_name(s));
    if (types[t] != tl_opt_bfgs)
      gsl_test(increased, "quadratic %s: f never increases", tl_opt_minimizer_name(s));
    tl_opt_minimizer_free(s);
  }

  /* Monotone GD from a far too large step: each rejection halves eta exactly,
   * eta is never raised, f never increases, and it still converges. */
  tl_opt_minimizer *s = tl_opt_minimizer_alloc(tl_opt_gd_monotone, QN);
  tl_opt_params par = tl_opt_params_default();
  par.eta = 37.0 / lmax;
  tl_opt_minimizer_set(s, &fn, x0, &par);
  int halving_exact = 1, never_raised = 1, monotone = 1, status = GSL_SUCCESS;
  double f_prev = tl_opt_minimizer_f(s);
  for (size_t k = 0; k < cap && status == GSL_SUCCESS; k++) {
    const double eta = tl_opt_minimizer_step(s);
    const size_t rejected = tl_opt_minimizer_rejected(s);
    status = tl_opt_minimizer_iterate(s);
    if (tl_opt_minimizer_rejected(s) > rejected)
      halving_exact &= tl_opt_minimizer_step(s) == 0.5 * eta;
    never_raised &= tl_opt_minimizer_step(s) <= eta;
    monotone &= tl_opt_minimizer_f(s) <= f_prev;
    f_prev = tl_opt_minimizer_f(s);
    if (status == GSL_SUCCESS &&
        tl_opt_test_gradient(tl_opt_minimizer_gradient(s), gtol) == GSL_SUCCESS)
      break;
  }
  /* 37/lmax needs 5 halvings to drop below 2/lmax, the stability limit on
   * the top eigendirection (more may follow: acceptance is per step). */
  gsl_test(tl_opt_minimizer_rejected(s) < 5, "monotone GD: rejections counted (%zu)",
           tl_opt_minimizer_rejected(s));
  gsl_test(!halving_exact, "monotone GD: each rejection halves eta");
  gsl_test(!never_raised, "monotone GD: eta never raised");
  gsl_test(!monotone, "monotone GD: f never increases from eta0 = 37/lambda_max");
  gsl_test(tl_opt_minimizer_step(s) >= 2.0 / lmax, "monotone GD: final eta below 2/lambda_max");
  gsl_test_abs(distance(tl_opt_minimizer_x(s), q.xstar), 0.0, 1e-8,
               "monotone GD: converges after the rejections");
  gsl_test_int((int)(tl_opt_minimizer_accepted(s) + tl_opt_minimizer_rejected(s)),
               (int)tl_opt_minimizer_iterations(s), "monotone GD: accepted + rejected = iterations");
  gsl_test_int((int)tl_opt_minimizer_evaluations(s), (int)tl_opt_minimizer_iterations(s) + 1,
               "monotone GD: one evaluation per iteration (+1 at set)");

  /* eta_min: from 37/lmax with eta_min = 3/lmax, the fourth halving (to
   * 37/16 < 3) ends the run with GSL_ENOPROG. */
  par.eta_min = 3.0 / lmax;
  tl_opt_minimizer_set(s, &fn, x0, &par);
  status = GSL_SUCCESS;
  size_t k = 0;
  while (status == GSL_SUCCESS && k++ < 100)
    status = tl_opt_minimizer_iterate(s);
  gsl_test_int(status, GSL_ENOPROG, "monotone GD: GSL_ENOPROG once eta < eta_min");
  gsl_test(tl_opt_minimizer_step(s) >= par.eta_min, "monotone GD: reported eta below eta_min");
  gsl_test_int(tl_opt_minimizer_iterate(s), GSL_ENOPROG, "monotone GD: stays at GSL_ENOPROG");

  /* A failing objective propagates its status. */
  par.eta_min = 1e-12;
  tl_opt_minimizer_set(s, &fn, x0, &par);
  q.fail = GSL_EDOM;
  gsl_test_int(tl_opt_minimizer_iterate(s), GSL_EDOM, "objective failure propagates");
  gsl_test_int(tl_opt_minimizer_set(s, &fn, x0, &par), GSL_EDOM,
               "objective failure at set propagates");
  q.fail = 0;
  gsl_test_int(tl_opt_minimizer_iterate(s), GSL_EINVAL, "iterate after a failed set refused");
  tl_error_clear();
  tl_opt_minimizer_free(s);

  /* gd_fixed with an unstable step diverges to a non-finite value. */
  s = tl_opt_minimizer_alloc(tl_opt_gd_fixed, QN);
  par = tl_opt_params_default();
  par.eta = 10.0 / lmax;
  tl_opt_minimizer_set(s, &fn, x0, &par);
  status = GSL_SUCCESS;
  for (k = 0; k < 5000 && status == GSL_SUCCESS; k++)
    status = tl_opt_minimizer_iterate(s);
  gsl_test_int(status, GSL_EBADFUNC, "gd_fixed: divergence reported as GSL_EBADFUNC");
  tl_opt_minimizer_free(s);

  /* Test functions. */
  gsl_vector *g = gsl_vector_alloc(2);
  gsl_vector_set(g, 0, 3e-7);
  gsl_vector_set(g, 1, -4e-7);
  gsl_test_int(tl_opt_test_gradient(g, 5e-7), GSL_SUCCESS, "test_gradient: |g| = epsabs passes");
  gsl_test_int(tl_opt_test_gradient(g, 4.9e-7), GSL_CONTINUE, "test_gradient: above continues");
  gsl_test_int(tl_opt_test_gradient(g, -1.0), GSL_EBADTOL, "test_gradient: negative tolerance");
  tl_error_clear();
  gsl_vector_free(g);

  /* FD helpers on the quadratic: exact gradient and Hessian A. */
  gsl_vector *gfd = gsl_vector_alloc(QN), *gex = gsl_vector_alloc(QN),
             *work = gsl_vector_alloc(3 * QN);
  gsl_matrix *H = gsl_matrix_alloc(QN, QN);
  double f = 0.0;
  quad_fdf(x0, &q, &f, gex);
  tl_opt_gradient_fd(&fn, x0, 1e-4, gfd, work);
  gsl_test_abs(distance(gfd, gex) / gsl_blas_dnrm2(gex), 0.0, 1e-9,
               "fd gradient of a quadratic (no truncation error)");
  tl_opt_hessian_fd(&fn, x0, 1e-4, H, work);
  gsl_test_abs(tl_linalg_frobenius_diff(H, q.A) / tl_linalg_frobenius(q.A), 0.0, 1e-9,
               "fd Hessian of a quadratic equals A");
  gsl_vector_free(gfd);
  gsl_vector_free(gex);
  gsl_vector_free(work);
  gsl_matrix_free(H);
  gsl_vector_free(x0);
  quadratic_free(&q);
}

/* ------------------------------------------------------------------------ */
/* Rosenbrock (a - x)^2 + b (y - x^2)^2, minimum 0 at (a, a^2)               */
/* ------------------------------------------------------------------------ */

typedef struct {
  double a, b;
} rosenbrock;

static int rosen_fdf(const gsl_vector *v, void *params, double *f, gsl_vector *g) {
  const rosenbrock *r = params;
  const double x = gsl_vector_get(v, 0), y = gsl_vector_get(v, 1);
  const double u = r->a - x, w = y - x * x;
  *f = u * u + r->b * w * w;
  gsl_vector_set(g, 0, -2.0 * u - 4.0 * r->b * x * w);
  gsl_vector_set(g, 1, 2.0 * r->b * w);
  return GSL_SUCCESS;
}

static void test_rosenbrock(void) {
  rosenbrock r = {1.3, 20.0};
  tl_opt_function fn = {NULL, NULL, rosen_fdf, NULL, 2, 0, &r};
  gsl_vector *x0 = gsl_vector_alloc(2), *xstar = gsl_vector_alloc(2);
  gsl_vector_set(x0, 0, -1.2);
  gsl_vector_set(x0, 1, 1.0);
  gsl_vector_set(xstar, 0, r.a);
  gsl_vector_set(xstar, 1, r.a * r.a);
  int increased = 0;

  /* BFGS to 1e-8: at the minimum the Hessian's smallest eigenvalue is about
   * 0.14 here, so |g| <= 1e-10 puts x within 1e-9. */
  tl_opt_minimizer *s = tl_opt_minimizer_alloc(tl_opt_bfgs, 2);
  tl_opt_params par = tl_opt_params_default();
  par.bfgs_step = 0.01;
  par.bfgs_tol = 0.1;
  tl_opt_minimizer_set(s, &fn, x0, &par);
  int status = run(s, 1e-10, 1000, &increased);
  gsl_test(status != GSL_SUCCESS && status != GSL_ENOPROG, "rosenbrock bfgs: stopped cleanly (%s)",
           tl_strerror(status));
  gsl_test_abs(distance(tl_opt_minimizer_x(s), xstar), 0.0, 1e-8,
               "rosenbrock bfgs: |x - x*| <= 1e-8 (%zu iterations)", tl_opt_minimizer_iterations(s));
  gsl_test_abs(tl_opt_minimizer_f(s), 0.0, 1e-16, "rosenbrock bfgs: f = 0");
  tl_opt_minimizer_free(s);

  /* Monotone GD: starts with a step too large for the valley walls, halves
   * into the stable range, and creeps down the valley. */
  s = tl_opt_minimizer_alloc(tl_opt_gd_monotone, 2);
  par = tl_opt_params_default();
  par.eta = 0.1;
  tl_opt_minimizer_set(s, &fn, x0, &par);
  status = run(s, 1e-9, 400000, &increased);
  gsl_test_int(status, GSL_SUCCESS, "rosenbrock gd_monotone: |g| <= 1e-9 (%zu iterations, %zu "
               "rejected)", tl_opt_minimizer_iterations(s), tl_opt_minimizer_rejected(s));
  gsl_test(increased, "rosenbrock gd_monotone: f never increases");
  gsl_test(tl_opt_minimizer_rejected(s) == 0, "rosenbrock gd_monotone: the large eta0 was rejected");
  gsl_test_abs(distance(tl_opt_minimizer_x(s), xstar), 0.0, 1e-7,
               "rosenbrock gd_monotone: |x - x*| <= 1e-7");
  const double eta = tl_opt_minimizer_step(s);
  tl_opt_minimizer_free(s);

  /* Fixed step at the step monotone GD settled on. */
  s = tl_opt_minimizer_alloc(tl_opt_gd_fixed, 2);
  par.eta = eta;
  tl_opt_minimizer_set(s, &fn, x0, &par);
  status = run(s, 1e-9, 400000, &increased);
  gsl_test_int(status, GSL_SUCCESS, "rosenbrock gd_fixed: |g| <= 1e-9 at eta = %g", eta);
  gsl_test_abs(distance(tl_opt_minimizer_x(s), xstar), 0.0, 1e-7,
               "rosenbrock gd_fixed: |x - x*| <= 1e-7");
  tl_opt_minimizer_free(s);
  gsl_vector_free(x0);
  gsl_vector_free(xstar);
}

/* ------------------------------------------------------------------------ */
/* SGD on least squares  (1/2n) |A w - y|^2                                  */
/* ------------------------------------------------------------------------ */

enum { LS_N = 240, LS_D = 4 };

typedef struct {
  gsl_matrix *A; /* n x d */
  gsl_vector *y;
  size_t count[LS_N]; /* how often each sample was used */
  int batch_distinct; /* every batch had distinct indices */
} least_squares;

static int ls_batch(const gsl_vector *w, void *params, const size_t *batch, size_t size,
                    double *f, gsl_vector *g) {
  least_squares *ls = params;
  double sum = 0.0;
  gsl_vector_set_zero(g);
  for (size_t b = 0; b < size; b++) {
    const size_t i = batch[b];
    ls->count[i]++;
    for (size_t c = 0; c < b; c++)
      if (batch[c] == i)
        ls->batch_distinct = 0;
    gsl_vector_const_view a = gsl_matrix_const_row(ls->A, i);
    double r = 0.0;
    gsl_blas_ddot(&a.vector, w, &r);
    r -= gsl_vector_get(ls->y, i);
    sum += 0.5 * r * r;
    gsl_blas_daxpy(r / (double)size, &a.vector, g);
  }
  *f = sum / (double)size;
  return GSL_SUCCESS;
}

static int ls_fdf(const gsl_vector *w, void *params, double *f, gsl_vector *g) {
  (void)w;
  (void)params;
  (void)f;
  (void)g;
  return GSL_EINVAL; /* SGD must not call the full objective */
}

typedef struct {
  double eta0, k0;
} decay_schedule;

static double schedule(size_t k, void *params) {
  const decay_schedule *d = params;
  return d->eta0 / (1.0 + (double)k / d->k0);
}

static void test_sgd(void) {
  least_squares ls;
  memset(&ls, 0, sizeof ls);
  ls.A = gsl_matrix_alloc(LS_N, LS_D);
  ls.y = gsl_vector_alloc(LS_N);
  gsl_rng *data = tl_rng_alloc(20230919, 7);
  const double wtrue[LS_D] = {2.385, -1.3, 0.7, 0.45};
  for (size_t i = 0; i < LS_N; i++) {
    double yi = 0.0;
    for (size_t j = 0; j < LS_D; j++) {
      const double a = gsl_ran_gaussian(data, 1.0);
      gsl_matrix_set(ls.A, i, j, a);
      yi += a * wtrue[j];
    }
    gsl_vector_set(ls.y, i, yi + 0.3 * gsl_ran_gaussian(data, 1.0));
  }
  gsl_rng_free(data);
  /* The least-squares solution by dgelsd_. */
  tl_linalg_lstsq_workspace *lw = tl_linalg_lstsq_alloc(LS_N, LS_D, 1);
  gsl_matrix_view Y = gsl_matrix_view_vector(ls.y, LS_N, 1);
  gsl_matrix *W = gsl_matrix_alloc(LS_D, 1);
  tl_linalg_lstsq(lw, ls.A, &Y.matrix, -1.0, W, NULL, NULL);
  gsl_vector_view wls = gsl_matrix_column(W, 0);
  tl_linalg_lstsq_free(lw);

  tl_opt_function fn = {NULL, NULL, ls_fdf, ls_batch, LS_D, LS_N, &ls};
  gsl_vector *w0 = gsl_vector_calloc(LS_D);
  decay_schedule sched = {0.05, 2000.0};
  const size_t batch = 7, epochs = 300;
  const size_t steps_per_epoch = (LS_N + batch - 1) / batch; /* the last slice is shorter */
  gsl_rng *rng = tl_rng_alloc(20230919, 1000);
  tl_opt_params par = tl_opt_params_default();
  par.batch_size = batch;
  par.rng = rng;
  par.schedule = schedule;
  par.schedule_params = &sched;
  tl_opt_minimizer *s = tl_opt_minimizer_alloc(tl_opt_sgd, LS_D);
  gsl_test(tl_opt_minimizer_set(s, &fn, w0, &par), "sgd: set");
  ls.batch_distinct = 1;
  int status = GSL_SUCCESS, epochs_exact = 1;
  for (size_t e = 0; e < epochs && status == GSL_SUCCESS; e++) {
    for (size_t k = 0; k < steps_per_epoch && status == GSL_SUCCESS; k++)
      status = tl_opt_minimizer_iterate(s);
    for (size_t i = 0; i < LS_N; i++)
      epochs_exact &= ls.count[i] == e + 1;
  }
  gsl_test_int(status, GSL_SUCCESS, "sgd epochs: status");
  gsl_test(!epochs_exact, "sgd epochs: every sample exactly once per epoch (slices of %zu)", batch);
  gsl_test(!ls.batch_distinct, "sgd epochs: indices distinct within a batch");
  gsl_test_rel(tl_opt_minimizer_step(s), schedule(epochs * steps_per_epoch - 1, &sched),
               4.0 * DBL_EPSILON, "sgd: last step follows the schedule");
  /* With eta_k ~ 1/k the iterate's error shrinks like sqrt(eta): 5e-3 of
   * |w_ls| is ~10x the expected error at this point. */
  gsl_test_abs(distance(tl_opt_minimizer_x(s), &wls.vector) / gsl_blas_dnrm2(&wls.vector), 0.0,
               5e-3, "sgd epochs: reaches the least-squares solution");

  /* i.i.d. batches of distinct indices (gsl_ran_choose). */
  gsl_rng_free(rng);
  rng = tl_rng_alloc(20230919, 2000);
  par.rng = rng;
  par.sampling = TL_OPT_SGD_CHOOSE;
  memset(ls.count, 0, sizeof ls.count);
  ls.batch_distinct = 1;
  tl_opt_minimizer_set(s, &fn, w0, &par);
  for (size_t k = 0; k < epochs * steps_per_epoch && status == GSL_SUCCESS; k++)
    status = tl_opt_minimizer_iterate(s);
  gsl_test_int(status, GSL_SUCCESS, "sgd choose: status");
  gsl_test(!ls.batch_distinct, "sgd choose: indices distinct within a batch");
  size_t used = 0, cmin = (size_t)-1, cmax = 0;
  for (size_t i = 0; i < LS_N; i++) {
    used += ls.count[i];
    cmin = ls.count[i] < cmin ? ls.count[i] : cmin;
    cmax = ls.count[i] > cmax ? ls.count[i] : cmax;
  }
  gsl_test_int((int)used, (int)(epochs * steps_per_epoch * batch),
               "sgd choose: full batches of %zu", batch);
  gsl_test(cmin == cmax, "sgd choose: counts vary (not epoch-structured)");
  gsl_test_abs(distance(tl_opt_minimizer_x(s), &wls.vector) / gsl_blas_dnrm2(&wls.vector), 0.0,
               5e-3, "sgd choose: reaches the least-squares solution");

  /* Reproducible: the same stream gives the same iterate. */
  gsl_vector *w1 = gsl_vector_alloc(LS_D);
  gsl_vector_memcpy(w1, tl_opt_minimizer_x(s));
  gsl_rng_free(rng);
  rng = tl_rng_alloc(20230919, 2000);
  par.rng = rng;
  tl_opt_minimizer_set(s, &fn, w0, &par);
  for (size_t k = 0; k < epochs * steps_per_epoch; k++)
    tl_opt_minimizer_iterate(s);
  gsl_test_abs(distance(tl_opt_minimizer_x(s), w1), 0.0, 0.0, "sgd: same stream, same iterate");

  /* Bad configurations. */
  par.batch_size = LS_N + 1;
  gsl_test(tl_opt_minimizer_set(s, &fn, w0, &par) != GSL_EINVAL, "sgd: batch > n refused");
  par.batch_size = batch;
  par.rng = NULL;
  gsl_test(tl_opt_minimizer_set(s, &fn, w0, &par) != GSL_EINVAL, "sgd: missing rng refused");
  tl_error_clear();

  gsl_vector_free(w1);
  gsl_rng_free(rng);
  tl_opt_minimizer_free(s);
  gsl_vector_free(w0);
  gsl_matrix_free(W);
  gsl_matrix_free(ls.A);
  gsl_vector_free(ls.y);
}

int main(void) {
  tl_error_install_gsl_handler();
  test_quadratic();
  test_rosenbrock();
  test_sgd();
  tl_opt_minimizer_free(NULL);
  gsl_test(tl_opt_minimizer_alloc(tl_opt_bfgs, 0) != NULL, "alloc: zero dimension refused");
  tl_error_clear();
  return gsl_test_summary();
}

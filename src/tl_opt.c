/* tl_opt: see tl_opt.h. */
#include "tl_opt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_multimin.h>
#include <gsl/gsl_randist.h>

#include "tl_error.h"

/* Documented defaults of tl_opt_params. */
enum { TL_OPT_DEFAULT_BATCH = 1 };
static const double TL_OPT_DEFAULT_ETA = 1e-2;
static const double TL_OPT_DEFAULT_ETA_MIN = 1e-12;
static const double TL_OPT_DEFAULT_BFGS_STEP = 1e-2;
static const double TL_OPT_DEFAULT_BFGS_TOL = 0.1;

tl_opt_params tl_opt_params_default(void) {
  tl_opt_params p;
  memset(&p, 0, sizeof p);
  p.eta = TL_OPT_DEFAULT_ETA;
  p.eta_min = TL_OPT_DEFAULT_ETA_MIN;
  p.schedule = NULL;
  p.schedule_params = NULL;
  p.batch_size = TL_OPT_DEFAULT_BATCH;
  p.sampling = TL_OPT_SGD_EPOCH_SHUFFLE;
  p.rng = NULL;
  p.bfgs_step = TL_OPT_DEFAULT_BFGS_STEP;
  p.bfgs_tol = TL_OPT_DEFAULT_BFGS_TOL;
  return p;
}

/* A vector is finite iff its sum of |entries| is: NaN and Inf propagate. */
static int tl_vector_finite(const gsl_vector *v) { return isfinite(gsl_blas_dasum(v)); }

/* Evaluate value and gradient through fdf, counting the evaluation. */
static int tl_eval_fdf(tl_opt_minimizer *s, const gsl_vector *x, double *f, gsl_vector *g) {
  s->evaluations++;
  return s->fn.fdf(x, s->fn.params, f, g);
}

/* ======================================================================== */
/* Monotone gradient descent (chapter 1 §3.7)                               */
/* ======================================================================== */

typedef struct {
  gsl_vector *x_trial, *g_trial;
} tl_gd_monotone_state;

static int tl_gd_monotone_alloc(void *vstate, size_t p) {
  tl_gd_monotone_state *state = vstate;
  state->x_trial = gsl_vector_alloc(p);
  state->g_trial = gsl_vector_alloc(p);
  if (state->x_trial == NULL || state->g_trial == NULL) {
    gsl_vector_free(state->x_trial);
    gsl_vector_free(state->g_trial);
    TL_ERROR(GSL_ENOMEM, "tl_opt_gd_monotone: out of memory");
  }
  return TL_SUCCESS;
}

static void tl_gd_monotone_free(void *vstate) {
  tl_gd_monotone_state *state = vstate;
  gsl_vector_free(state->x_trial);
  gsl_vector_free(state->g_trial);
}

static int tl_gd_set(void *vstate, tl_opt_minimizer *s) {
  (void)vstate;
  if (!(s->params.eta > 0.0))
    TL_ERROR(GSL_EINVAL, "%s: step eta must be positive (got %g)", s->type->name, s->params.eta);
  TL_TRY(tl_eval_fdf(s, s->x, &s->f, s->g));
  if (!isfinite(s->f))
    TL_ERROR(GSL_EBADFUNC, "%s: objective is not finite at the starting point", s->type->name);
  return TL_SUCCESS;
}

static int tl_gd_monotone_iterate(void *vstate, tl_opt_minimizer *s) {
  tl_gd_monotone_state *state = vstate;
  if (s->eta < s->params.eta_min)
    return GSL_ENOPROG;
  gsl_vector_memcpy(state->x_trial, s->x);
  gsl_blas_daxpy(-s->eta, s->g, state->x_trial);
  double f_trial = 0.0;
  TL_TRY(tl_eval_fdf(s, state->x_trial, &f_trial, state->g_trial));
  s->iterations++;
  /* "Not larger" (<=) accepts a flat step: at a plateau of the ReLU cost the
   * iterate may still move.  A finite value with a non-finite gradient is
   * refused too, since the next trial would be NaN. */
  if (isfinite(f_trial) && f_trial <= s->f && tl_vector_finite(state->g_trial)) {
    gsl_vector_memcpy(s->x, state->x_trial);
    gsl_vector_memcpy(s->g, state->g_trial);
    s->f = f_trial;
    s->accepted++;
    return GSL_SUCCESS;
  }
  s->rejected++;
  s->eta *= 0.5;
  return s->eta < s->params.eta_min ? GSL_ENOPROG : GSL_SUCCESS;
}

static const tl_opt_type tl_gd_monotone_type = {"gd_monotone", sizeof(tl_gd_monotone_state),
                                                tl_gd_monotone_alloc, tl_gd_set,
                                                tl_gd_monotone_iterate, tl_gd_monotone_free};
const tl_opt_type *tl_opt_gd_monotone = &tl_gd_monotone_type;

/* ======================================================================== */
/* Fixed-step gradient descent                                              */
/* ======================================================================== */

typedef struct {
  int unused;
} tl_gd_fixed_state;

static int tl_nothing_alloc(void *vstate, size_t p) {
  (void)vstate;
  (void)p;
  return TL_SUCCESS;
}

static void tl_nothing_free(void *vstate) { (void)vstate; }

static double tl_step_at(const tl_opt_minimizer *s, size_t k) {
  return s->params.schedule != NULL ? s->params.schedule(k, s->params.schedule_params)
                                    : s->params.eta;
}

static int tl_gd_fixed_iterate(void *vstate, tl_opt_minimizer *s) {
  (void)vstate;
  s->eta = tl_step_at(s, s->iterations);
  gsl_blas_daxpy(-s->eta, s->g, s->x);
  TL_TRY(tl_eval_fdf(s, s->x, &s->f, s->g));
  s->iterations++;
  s->accepted++;
  return isfinite(s->f) ? GSL_SUCCESS : GSL_EBADFUNC;
}

static const tl_opt_type tl_gd_fixed_type = {"gd_fixed", sizeof(tl_gd_fixed_state),
                                             tl_nothing_alloc, tl_gd_set, tl_gd_fixed_iterate,
                                             tl_nothing_free};
const tl_opt_type *tl_opt_gd_fixed = &tl_gd_fixed_type;

/* ======================================================================== */
/* Minibatch SGD                                                            */
/* ======================================================================== */

typedef struct {
  size_t n_samples; /* capacity of the index arrays */
  size_t *perm;     /* epoch permutation, or the identity for gsl_ran_choose */
  size_t *batch;    /* gsl_ran_choose output */
  size_t cursor;    /* next unused position of perm in this epoch */
} tl_sgd_state;

static int tl_sgd_alloc(void *vstate, size_t p) {
  (void)p;
  tl_sgd_state *state = vstate;
  state->n_samples = 0;
  state->perm = NULL;
  state->batch = NULL;
  state->cursor = 0;
  return TL_SUCCESS;
}

static void tl_sgd_free(void *vstate) {
  tl_sgd_state *state = vstate;
  free(state->perm);
  free(state->batch);
}

/* The index arrays depend on the data set size, known only at set time: they
 * are (re)allocated here, never in iterate. */
static int tl_sgd_set(void *vstate, tl_opt_minimizer *s) {
  tl_sgd_state *state = vstate;
  const size_t n = s->fn.n_samples, b = s->params.batch_size;
  if (s->fn.batch_fdf == NULL)
    TL_ERROR(GSL_EINVAL, "tl_opt_sgd: the objective has no batch_fdf");
  if (s->params.rng == NULL)
    TL_ERROR(GSL_EINVAL, "tl_opt_sgd: params.rng is required");
  if (n == 0 || b == 0 || b > n)
    TL_ERROR(GSL_EINVAL, "tl_opt_sgd: batch size %zu for %zu samples", b, n);
  if (s->params.schedule == NULL && !(s->params.eta > 0.0))
    TL_ERROR(GSL_EINVAL, "tl_opt_sgd: step eta must be positive (got %g)", s->params.eta);
  if (n > state->n_samples) {
    size_t *perm = realloc(state->perm, n * sizeof *perm);
    if (perm == NULL)
      TL_ERROR(GSL_ENOMEM, "tl_opt_sgd: out of memory");
    state->perm = perm;
    size_t *batch = realloc(state->batch, n * sizeof *batch);
    if (batch == NULL)
      TL_ERROR(GSL_ENOMEM, "tl_opt_sgd: out of memory");
    state->batch = batch;
    state->n_samples = n;
  }
  for (size_t i = 0; i < n; i++)
    state->perm[i] = i;
  state->cursor = n; /* the first iteration starts an epoch */
  s->f = GSL_NAN;
  gsl_vector_set_zero(s->g);
  return TL_SUCCESS;
}

static int tl_sgd_iterate(void *vstate, tl_opt_minimizer *s) {
  tl_sgd_state *state = vstate;
  const size_t n = s->fn.n_samples, b = s->params.batch_size;
  const size_t *batch;
  size_t size;
  if (s->params.sampling == TL_OPT_SGD_CHOOSE) {
    /* perm stays the identity: gsl_ran_choose draws from it, in order. */
    gsl_ran_choose(s->params.rng, state->batch, b, state->perm, n, sizeof(size_t));
    batch = state->batch;
    size = b;
  } else {
    if (state->cursor >= n) {
      /* Each epoch shuffles the identity afresh, so an epoch's order depends
       * only on the stream, as numpy's rng.permutation(n) would. */
      for (size_t i = 0; i < n; i++)
        state->perm[i] = i;
      gsl_ran_shuffle(s->params.rng, state->perm, n, sizeof(size_t));
      state->cursor = 0;
    }
    batch = state->perm + state->cursor;
    size = n - state->cursor < b ? n - state->cursor : b;
    state->cursor += size;
  }
  s->evaluations++;
  TL_TRY(s->fn.batch_fdf(s->x, s->fn.params, batch, size, &s->f, s->g));
  s->eta = tl_step_at(s, s->iterations);
  gsl_blas_daxpy(-s->eta, s->g, s->x);
  s->iterations++;
  s->accepted++;
  return isfinite(s->f) ? GSL_SUCCESS : GSL_EBADFUNC;
}

static const tl_opt_type tl_sgd_type = {"sgd", sizeof(tl_sgd_state), tl_sgd_alloc, tl_sgd_set,
                                        tl_sgd_iterate, tl_sgd_free};
const tl_opt_type *tl_opt_sgd = &tl_sgd_type;

/* ======================================================================== */
/* BFGS: GSL's vector_bfgs2 behind the same interface                       */
/* ======================================================================== */

typedef struct {
  gsl_multimin_fdfminimizer *m;
  gsl_multimin_function_fdf gsl_fn; /* GSL keeps a pointer to it */
  tl_opt_minimizer *owner;
  gsl_vector *g_scratch; /* gradient discarded when f is served by fdf */
  int status;            /* first failure of our callbacks since the last set/iterate */
} tl_bfgs_state;

/* GSL's callbacks return void: a failure is recorded and reported as a NaN
 * value, which makes the line search back off; iterate then returns it. */
static double tl_bfgs_f(const gsl_vector *x, void *params) {
  tl_bfgs_state *state = params;
  tl_opt_minimizer *s = state->owner;
  double f = GSL_NAN;
  s->evaluations++;
  const int status = s->fn.f != NULL ? s->fn.f(x, s->fn.params, &f)
                                     : s->fn.fdf(x, s->fn.params, &f, state->g_scratch);
  if (status != 0) {
    if (state->status == 0)
      state->status = status;
    return GSL_NAN;
  }
  return f;
}

static void tl_bfgs_df(const gsl_vector *x, void *params, gsl_vector *g) {
  tl_bfgs_state *state = params;
  tl_opt_minimizer *s = state->owner;
  double f = 0.0;
  s->evaluations++;
  const int status = s->fn.df != NULL ? s->fn.df(x, s->fn.params, g)
                                      : s->fn.fdf(x, s->fn.params, &f, g);
  if (status != 0) {
    if (state->status == 0)
      state->status = status;
    gsl_vector_set_all(g, GSL_NAN);
  }
}

static void tl_bfgs_fdf(const gsl_vector *x, void *params, double *f, gsl_vector *g) {
  tl_bfgs_state *state = params;
  tl_opt_minimizer *s = state->owner;
  s->evaluations++;
  const int status = s->fn.fdf(x, s->fn.params, f, g);
  if (status != 0) {
    if (state->status == 0)
      state->status = status;
    *f = GSL_NAN;
  }
}

static int tl_bfgs_alloc(void *vstate, size_t p) {
  tl_bfgs_state *state = vstate;
  state->m = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, p);
  state->g_scratch = gsl_vector_alloc(p);
  if (state->m == NULL || state->g_scratch == NULL) {
    if (state->m != NULL)
      gsl_multimin_fdfminimizer_free(state->m);
    gsl_vector_free(state->g_scratch);
    TL_ERROR(GSL_ENOMEM, "tl_opt_bfgs: out of memory");
  }
  state->owner = NULL;
  state->status = 0;
  return TL_SUCCESS;
}

static void tl_bfgs_free(void *vstate) {
  tl_bfgs_state *state = vstate;
  gsl_multimin_fdfminimizer_free(state->m);
  gsl_vector_free(state->g_scratch);
}

static void tl_bfgs_copy_out(tl_bfgs_state *state, tl_opt_minimizer *s) {
  gsl_vector_memcpy(s->x, gsl_multimin_fdfminimizer_x(state->m));
  gsl_vector_memcpy(s->g, gsl_multimin_fdfminimizer_gradient(state->m));
  s->f = gsl_multimin_fdfminimizer_minimum(state->m);
}

static int tl_bfgs_set(void *vstate, tl_opt_minimizer *s) {
  tl_bfgs_state *state = vstate;
  state->owner = s;
  state->status = 0;
  state->gsl_fn.f = tl_bfgs_f;
  state->gsl_fn.df = tl_bfgs_df;
  state->gsl_fn.fdf = tl_bfgs_fdf;
  state->gsl_fn.n = s->p;
  state->gsl_fn.params = state;
  s->eta = s->params.bfgs_step;
  const int status = gsl_multimin_fdfminimizer_set(state->m, &state->gsl_fn, s->x,
                                                   s->params.bfgs_step, s->params.bfgs_tol);
  if (state->status != 0)
    return state->status;
  if (status != 0)
    TL_ERROR(status, "tl_opt_bfgs: gsl_multimin_fdfminimizer_set failed (%s)",
             gsl_strerror(status));
  tl_bfgs_copy_out(state, s);
  if (!isfinite(s->f))
    TL_ERROR(GSL_EBADFUNC, "tl_opt_bfgs: objective is not finite at the starting point");
  return TL_SUCCESS;
}

static int tl_bfgs_iterate(void *vstate, tl_opt_minimizer *s) {
  tl_bfgs_state *state = vstate;
  state->status = 0;
  const int status = gsl_multimin_fdfminimizer_iterate(state->m);
  s->iterations++;
  if (state->status != 0)
    return state->status;
  tl_bfgs_copy_out(state, s);
  /* The step actually taken, |dx|, is the natural "step size" of BFGS. */
  s->eta = gsl_blas_dnrm2(gsl_multimin_fdfminimizer_dx(state->m));
  if (status == GSL_SUCCESS)
    s->accepted++;
  else
    s->rejected++;
  return status;
}

static const tl_opt_type tl_bfgs_type = {"bfgs", sizeof(tl_bfgs_state), tl_bfgs_alloc,
                                         tl_bfgs_set, tl_bfgs_iterate, tl_bfgs_free};
const tl_opt_type *tl_opt_bfgs = &tl_bfgs_type;

/* ======================================================================== */
/* The generic minimizer                                                    */
/* ======================================================================== */

tl_opt_minimizer *tl_opt_minimizer_alloc(const tl_opt_type *T, size_t p) {
  if (T == NULL || p == 0) {
    tl_error_set(GSL_EINVAL, __FILE__, __LINE__, "tl_opt_minimizer_alloc: bad type or size");
    return NULL;
  }
  tl_opt_minimizer *s = calloc(1, sizeof *s);
  if (s == NULL) {
    tl_error_set(GSL_ENOMEM, __FILE__, __LINE__, "tl_opt_minimizer_alloc: out of memory");
    return NULL;
  }
  s->type = T;
  s->p = p;
  s->x = gsl_vector_calloc(p);
  s->g = gsl_vector_calloc(p);
  s->state = calloc(1, T->size);
  if (s->x == NULL || s->g == NULL || s->state == NULL || T->alloc(s->state, p) != 0) {
    gsl_vector_free(s->x);
    gsl_vector_free(s->g);
    free(s->state);
    free(s);
    tl_error_set(GSL_ENOMEM, __FILE__, __LINE__, "tl_opt_minimizer_alloc: out of memory");
    return NULL;
  }
  return s;
}

void tl_opt_minimizer_free(tl_opt_minimizer *s) {
  if (s == NULL)
    return;
  s->type->free(s->state);
  free(s->state);
  gsl_vector_free(s->x);
  gsl_vector_free(s->g);
  free(s);
}

int tl_opt_minimizer_set(tl_opt_minimizer *s, const tl_opt_function *fn, const gsl_vector *x0,
                         const tl_opt_params *params) {
  s->is_set = 0;
  if (fn == NULL || fn->fdf == NULL)
    TL_ERROR(GSL_EINVAL, "tl_opt_minimizer_set: the objective needs an fdf callback");
  if (fn->n != s->p || x0->size != s->p)
    TL_ERROR(GSL_EBADLEN, "tl_opt_minimizer_set: dimension %zu, objective %zu, x0 %zu", s->p,
             fn->n, x0->size);
  s->fn = *fn;
  s->params = params != NULL ? *params : tl_opt_params_default();
  gsl_vector_memcpy(s->x, x0);
  s->f = GSL_NAN;
  s->eta = s->params.eta;
  s->iterations = s->accepted = s->rejected = s->evaluations = 0;
  TL_TRY(s->type->set(s->state, s));
  s->is_set = 1;
  return TL_SUCCESS;
}

int tl_opt_minimizer_iterate(tl_opt_minimizer *s) {
  if (!s->is_set)
    TL_ERROR(GSL_EINVAL, "tl_opt_minimizer_iterate: minimizer not set");
  return s->type->iterate(s->state, s);
}

const char *tl_opt_minimizer_name(const tl_opt_minimizer *s) { return s->type->name; }
const gsl_vector *tl_opt_minimizer_x(const tl_opt_minimizer *s) { return s->x; }
const gsl_vector *tl_opt_minimizer_gradient(const tl_opt_minimizer *s) { return s->g; }
double tl_opt_minimizer_f(const tl_opt_minimizer *s) { return s->f; }
double tl_opt_minimizer_step(const tl_opt_minimizer *s) { return s->eta; }
size_t tl_opt_minimizer_iterations(const tl_opt_minimizer *s) { return s->iterations; }
size_t tl_opt_minimizer_accepted(const tl_opt_minimizer *s) { return s->accepted; }
size_t tl_opt_minimizer_rejected(const tl_opt_minimizer *s) { return s->rejected; }
size_t tl_opt_minimizer_evaluations(const tl_opt_minimizer *s) { return s->evaluations; }

int tl_opt_test_gradient(const gsl_vector *g, double epsabs) {
  if (epsabs < 0.0)
    TL_ERROR(GSL_EBADTOL, "tl_opt_test_gradient: absolute tolerance is negative");
  return gsl_blas_dnrm2(g) <= epsabs ? GSL_SUCCESS : GSL_CONTINUE;
}

/* ======================================================================== */
/* Central differences                                                      */
/* ======================================================================== */

static int tl_value(const tl_opt_function *fn, const gsl_vector *x, double *f, gsl_vector *g) {
  return fn->f != NULL ? fn->f(x, fn->params, f) : fn->fdf(x, fn->params, f, g);
}

static int tl_gradient(const tl_opt_function *fn, const gsl_vector *x, gsl_vector *g) {
  double f = 0.0;
  return fn->df != NULL ? fn->df(x, fn->params, g) : fn->fdf(x, fn->params, &f, g);
}

int tl_opt_gradient_fd(const tl_opt_function *fn, const gsl_vector *x, double h, gsl_vector *g,
                       gsl_vector *work) {
  const size_t n = fn->n;
  if (x->size != n || g->size != n || work->size != 3 * n)
    TL_ERROR(GSL_EBADLEN, "tl_opt_gradient_fd: sizes (n %zu, work %zu)", n, work->size);
  if (!(h > 0.0))
    TL_ERROR(GSL_EINVAL, "tl_opt_gradient_fd: step must be positive");
  gsl_vector_view xw = gsl_vector_subvector(work, 0, n);
  gsl_vector_view scratch = gsl_vector_subvector(work, n, n);
  gsl_vector_memcpy(&xw.vector, x);
  for (size_t k = 0; k < n; k++) {
    const double xk = gsl_vector_get(x, k);
    double fp = 0.0, fm = 0.0;
    gsl_vector_set(&xw.vector, k, xk + h);
    TL_TRY(tl_value(fn, &xw.vector, &fp, &scratch.vector));
    gsl_vector_set(&xw.vector, k, xk - h);
    TL_TRY(tl_value(fn, &xw.vector, &fm, &scratch.vector));
    gsl_vector_set(&xw.vector, k, xk);
    /* Divide by the step actually taken: xk + h and xk - h are rounded. */
    gsl_vector_set(g, k, (fp - fm) / ((xk + h) - (xk - h)));
  }
  return TL_SUCCESS;
}

int tl_opt_hessian_fd(const tl_opt_function *fn, const gsl_vector *x, double h, gsl_matrix *H,
                      gsl_vector *work) {
  const size_t n = fn->n;
  if (x->size != n || H->size1 != n || H->size2 != n || work->size != 3 * n)
    TL_ERROR(GSL_EBADLEN, "tl_opt_hessian_fd: sizes (n %zu, work %zu)", n, work->size);
  if (!(h > 0.0))
    TL_ERROR(GSL_EINVAL, "tl_opt_hessian_fd: step must be positive");
  gsl_vector_view xw = gsl_vector_subvector(work, 0, n);
  gsl_vector_view gp = gsl_vector_subvector(work, n, n);
  gsl_vector_view gm = gsl_vector_subvector(work, 2 * n, n);
  gsl_vector_memcpy(&xw.vector, x);
  for (size_t k = 0; k < n; k++) {
    const double xk = gsl_vector_get(x, k);
    gsl_vector_set(&xw.vector, k, xk + h);
    TL_TRY(tl_gradient(fn, &xw.vector, &gp.vector));
    gsl_vector_set(&xw.vector, k, xk - h);
    TL_TRY(tl_gradient(fn, &xw.vector, &gm.vector));
    gsl_vector_set(&xw.vector, k, xk);
    const double step = (xk + h) - (xk - h);
    for (size_t i = 0; i < n; i++)
      gsl_matrix_set(H, i, k, (gsl_vector_get(&gp.vector, i) - gsl_vector_get(&gm.vector, i)) /
                                  step);
  }
  /* Symmetrise: FD columns differ from rows by O(h^2) and rounding. */
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      const double a = 0.5 * (gsl_matrix_get(H, i, j) + gsl_matrix_get(H, j, i));
      gsl_matrix_set(H, i, j, a);
      gsl_matrix_set(H, j, i, a);
    }
  return TL_SUCCESS;
}

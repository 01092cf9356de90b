/* tl_opt: first-order optimizers in GSL's INITIALIZE / ITERATE / TEST shape.
 *
 * As in gsl_multimin, a minimizer is allocated for a type and a dimension,
 * set to an objective and a starting point, and iterated by the caller, who
 * owns the loop and decides when to stop (iteration caps, recording
 * schedules, divergence checks are chapter policy, not library policy).  The
 * types:
 *
 *   tl_opt_gd_monotone  chapter 1 §3.7: per iteration one trial
 *                       theta' = theta - eta g, value and gradient in one
 *                       pass; accepted if finite and f' <= f, otherwise eta
 *                       is halved (never raised); GSL_ENOPROG once
 *                       eta < eta_min.
 *   tl_opt_gd_fixed     plain gradient descent with a fixed step or a step
 *                       schedule eta_k (chapter 2 §3.7, chapter 5 M3).
 *   tl_opt_sgd          minibatch SGD: epoch reshuffling (gsl_ran_shuffle,
 *                       consecutive slices, the last possibly shorter;
 *                       chapter 2 §3.7) or i.i.d. batches of distinct
 *                       indices (gsl_ran_choose; chapter 4 §3.8), with a step
 *                       schedule eta_k.
 *   tl_opt_bfgs         GSL's gsl_multimin_fdfminimizer_vector_bfgs2 behind
 *                       the same interface (chapters 3 and 4).  Its line
 *                       search returns GSL_ENOPROG once the predicted
 *                       decrease is below DBL_EPSILON in absolute terms, so
 *                       it stops near |x - x*| ~ sqrt(2 eps / lambda_min)
 *                       whatever the gradient: scale the objective, or polish
 *                       with Newton steps, when more is needed.
 *
 * Objectives are tl_opt_function, shaped like gsl_multimin_function_fdf but
 * with int-returning callbacks, so that a failure inside the objective (a bad
 * size, a LAPACK error) propagates as a status instead of a silent NaN.  A
 * non-finite value is not a failure of the callback: each type documents what
 * it does with one.  iterate never allocates.
 */
#ifndef TL_OPT_H
#define TL_OPT_H

#include <stddef.h>

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>

/* The objective.  fdf is required; f and df may be NULL (fdf is used in
 * their place).  batch_fdf is required by tl_opt_sgd only: the value and
 * gradient of a stochastic estimate from the samples batch[0..batch_size) of
 * 0..n_samples-1; the callback decides the scaling (e.g. n / batch_size on
 * the data term, so that the estimate is unbiased). */
typedef struct {
  int (*f)(const gsl_vector *x, void *params, double *f);
  int (*df)(const gsl_vector *x, void *params, gsl_vector *g);
  int (*fdf)(const gsl_vector *x, void *params, double *f, gsl_vector *g);
  int (*batch_fdf)(const gsl_vector *x, void *params, const size_t *batch, size_t batch_size,
                   double *f, gsl_vector *g);
  size_t n;         /* dimension of x */
  size_t n_samples; /* samples batch indices refer to (tl_opt_sgd) */
  void *params;
} tl_opt_function;

typedef enum {
  TL_OPT_SGD_EPOCH_SHUFFLE = 0, /* per epoch: identity, gsl_ran_shuffle, slices */
  TL_OPT_SGD_CHOOSE = 1         /* per step: gsl_ran_choose of batch_size indices */
} tl_opt_sgd_sampling;

/* Parameters of all types; each type reads the fields it needs.  The
 * defaults (tl_opt_params_default) are stated beside each field. */
typedef struct {
  double eta;        /* step: initial (gd_monotone) or fixed; default 1e-2 */
  double eta_min;    /* gd_monotone: GSL_ENOPROG once eta < eta_min; default 1e-12 */
  /* gd_fixed and sgd: step eta_k at iteration k = 0, 1, ...; NULL means the
   * constant eta.  Default NULL. */
  double (*schedule)(size_t k, void *schedule_params);
  void *schedule_params;
  size_t batch_size; /* sgd; default 1 */
  tl_opt_sgd_sampling sampling; /* sgd; default TL_OPT_SGD_EPOCH_SHUFFLE */
  gsl_rng *rng;      /* sgd: the batch stream (required, not owned) */
  double bfgs_step;  /* bfgs: first trial step of the line search; default 0.01 */
  double bfgs_tol;   /* bfgs: line-search tolerance; default 0.1, GSL's advice for bfgs2 */
} tl_opt_params;

tl_opt_params tl_opt_params_default(void);

typedef struct tl_opt_type_struct tl_opt_type;
typedef struct tl_opt_minimizer_struct tl_opt_minimizer;

/* The type table: what gsl_multimin_fdfminimizer_type is for GSL. */
struct tl_opt_type_struct {
  const char *name;
  size_t size; /* of the private state */
  int (*alloc)(void *state, size_t p);
  int (*set)(void *state, tl_opt_minimizer *s);
  int (*iterate)(void *state, tl_opt_minimizer *s);
  void (*free)(void *state);
};

/* The minimizer.  Fields are public for the type implementations; callers
 * should use the accessors below. */
struct tl_opt_minimizer_struct {
  const tl_opt_type *type;
  tl_opt_function fn;
  tl_opt_params params;
  size_t p;
  gsl_vector *x; /* current point */
  gsl_vector *g; /* gradient at x (sgd: minibatch gradient before the last step) */
  double f;      /* value at x (sgd: minibatch value before the last step) */
  double eta;    /* current step size */
  size_t iterations, accepted, rejected, evaluations;
  int is_set;
  void *state;
};

extern const tl_opt_type *tl_opt_gd_monotone;
extern const tl_opt_type *tl_opt_gd_fixed;
extern const tl_opt_type *tl_opt_sgd;
extern const tl_opt_type *tl_opt_bfgs;

tl_opt_minimizer *tl_opt_minimizer_alloc(const tl_opt_type *T, size_t p);
void tl_opt_minimizer_free(tl_opt_minimizer *s);

/* Start from x0 (copied).  gd types and bfgs evaluate value and gradient at
 * x0 (so f and gradient are C_0 and its gradient); sgd evaluates nothing
 * (f is NaN until the first iteration).  Counters are reset.  params NULL
 * means tl_opt_params_default().  GSL_EBADFUNC if the value at x0 is not
 * finite. */
int tl_opt_minimizer_set(tl_opt_minimizer *s, const tl_opt_function *fn, const gsl_vector *x0,
                         const tl_opt_params *params);

/* One iteration.  GSL_SUCCESS, or: GSL_ENOPROG (gd_monotone: eta < eta_min;
 * bfgs: the line search made no progress), GSL_EBADFUNC (gd_fixed, sgd: the
 * new value is not finite; the iterate is kept so the caller can record the
 * divergence), or the objective's own failure status. */
int tl_opt_minimizer_iterate(tl_opt_minimizer *s);

const char *tl_opt_minimizer_name(const tl_opt_minimizer *s);
const gsl_vector *tl_opt_minimizer_x(const tl_opt_minimizer *s);
const gsl_vector *tl_opt_minimizer_gradient(const tl_opt_minimizer *s);
double tl_opt_minimizer_f(const tl_opt_minimizer *s);
double tl_opt_minimizer_step(const tl_opt_minimizer *s);
size_t tl_opt_minimizer_iterations(const tl_opt_minimizer *s);
size_t tl_opt_minimizer_accepted(const tl_opt_minimizer *s);
size_t tl_opt_minimizer_rejected(const tl_opt_minimizer *s);
size_t tl_opt_minimizer_evaluations(const tl_opt_minimizer *s);

/* GSL_SUCCESS if |g|_2 <= epsabs (chapter 1's "|g| <= gd_gtol"; GSL's own
 * test is strict), GSL_CONTINUE otherwise, GSL_EBADTOL if epsabs < 0. */
int tl_opt_test_gradient(const gsl_vector *g, double epsabs);

/* Central differences of the objective, for tests and for Hessians of models
 * without an exact Hessian-vector product (chapter 1 §3.6: the tied model).
 *   tl_opt_gradient_fd: g_k = (f(x + h e_k) - f(x - h e_k)) / 2h.
 *   tl_opt_hessian_fd:  column k = (g(x + h e_k) - g(x - h e_k)) / 2h, then
 *                       H <- (H + H^T) / 2.
 * work must have size 3n (a copy of x and two gradients); x is not changed. */
int tl_opt_gradient_fd(const tl_opt_function *fn, const gsl_vector *x, double h, gsl_vector *g,
                       gsl_vector *work);
int tl_opt_hessian_fd(const tl_opt_function *fn, const gsl_vector *x, double h, gsl_matrix *H,
                      gsl_vector *work);

#endif

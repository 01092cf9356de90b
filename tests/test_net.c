/* Unit test of tl_net: gradients and Hessian-vector products against central
 * finite differences for every activation, bias layout, output scale, decay
 * and loss; dense Hessian symmetry and consistency; ReLU invariances; zero
 * loss at a planted teacher; a forward pass worked out by hand.
 *
 * Finite-difference tolerances.  A central difference with step h has error
 * about h^2 |f'''| / 6 + eps |f| / h; with h = 1e-5, O(1) data and weights,
 * both terms are below 1e-9 relative, so a relative tolerance of 1e-6 leaves
 * three orders of margin while a wrong term in a gradient (an error of O(1)
 * relative in some entries) still fails by orders of magnitude.  ReLU kinks:
 * no pre-activation of the test data lies within h |x| of 0 (checked). */
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
#include "tl_net.h"
#include "tl_opt.h"
#include "tl_rng.h"

static const double FD_STEP = 1e-5;
static const double FD_TOL = 1e-6;

enum { D = 4, M = 5, Q = 3, N = 17 };

static void fill_data(gsl_matrix *X, gsl_matrix *Y, int logistic) {
  for (size_t i = 0; i < X->size1; i++)
    for (size_t j = 0; j < X->size2; j++)
      gsl_matrix_set(X, i, j, 1.3 * sin(0.7 * (double)((i + 1) * (j + 1)) + 0.3 * (double)i) +
                                  0.2 * cos(1.9 * (double)j));
  for (size_t q = 0; q < Y->size1; q++)
    for (size_t j = 0; j < Y->size2; j++) {
      const double y = sin(1.1 * (double)(q + 1) + 0.37 * (double)(j * j));
      gsl_matrix_set(Y, q, j, logistic ? (y >= 0.0 ? 1.0 : -1.0) : 2.385 * y);
    }
}

static void fill_theta(gsl_vector *theta, double phase) {
  for (size_t k = 0; k < theta->size; k++)
    gsl_vector_set(theta, k, 0.9 * sin(1.7 * (double)k + phase) + 0.15);
}

/* |a - b| / |b|. */
static double relative_difference(const gsl_vector *a, const gsl_vector *b) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < a->size; i++) {
    const double d = gsl_vector_get(a, i) - gsl_vector_get(b, i);
    num += d * d;
    den += gsl_vector_get(b, i) * gsl_vector_get(b, i);
  }
  return sqrt(num / den);
}

/* Smallest |pre-activation| over the data, to rule out kinks within FD reach. */
static double min_abs_preactivation(const tl_net *net, const gsl_vector *theta,
                                    const gsl_matrix *X, tl_net_workspace *ws) {
  tl_net_forward(net, theta, X, ws);
  double m = INFINITY;
  for (size_t i = 0; i < net->M; i++)
    for (size_t j = 0; j < X->size2; j++)
      m = fmin(m, fabs(gsl_matrix_get(ws->Z, i, j)));
  return m;
}

static void test_activations(void) {
  const tl_activation_kind kinds[] = {TL_ACT_RELU, TL_ACT_LEAKY_RELU, TL_ACT_SIGMOID,
                                      TL_ACT_TANH, TL_ACT_SOFTPLUS, TL_ACT_IDENTITY};
  const double zs[] = {-3.7, -0.81, -0.05, 0.13, 0.6, 2.385};
  for (size_t a = 0; a < sizeof kinds / sizeof kinds[0]; a++) {
    tl_activation act = {kinds[a], 0.1};
    double e1 = 0.0, e2 = 0.0;
    for (size_t i = 0; i < sizeof zs / sizeof zs[0]; i++) {
      const double z = zs[i], h = FD_STEP;
      const double fd1 = (tl_activation_value(act, z + h) - tl_activation_value(act, z - h)) /
                         (2.0 * h);
      const double fd2 = (tl_activation_d1(act, z + h) - tl_activation_d1(act, z - h)) /
                         (2.0 * h);
      e1 = fmax(e1, fabs(fd1 - tl_activation_d1(act, z)));
      e2 = fmax(e2, fabs(fd2 - tl_activation_d2(act, z)));
    }
    gsl_test_abs(e1, 0.0, FD_TOL, "activation %s: sigma' = central difference of sigma",
                 tl_activation_name(kinds[a]));
    gsl_test_abs(e2, 0.0, FD_TOL, "activation %s: sigma'' = central difference of sigma'",
                 tl_activation_name(kinds[a]));
    tl_activation_kind parsed = TL_ACT_IDENTITY;
    gsl_test(tl_activation_parse(tl_activation_name(kinds[a]), &parsed) || parsed != kinds[a],
             "activation %s: name round trip", tl_activation_name(kinds[a]));
  }
  const tl_activation relu = {TL_ACT_RELU, 0.0}, sig = {TL_ACT_SIGMOID, 0.0},
                      sp = {TL_ACT_SOFTPLUS, 0.0}, th = {TL_ACT_TANH, 0.0};
  gsl_test(tl_activation_d1(relu, 0.0) != 0.0 || tl_activation_d1(relu, 1e-300) != 1.0,
           "relu: sigma'(0) = 0, sigma'(0+) = 1 (1[z > 0])");
  gsl_test(tl_activation_d2(relu, 0.37) != 0.0, "relu: sigma'' = 0");
  /* Stable tails: no NaN, no overflow, the right limits. */
  gsl_test_abs(tl_activation_value(sig, -800.0), 0.0, 0.0, "sigmoid(-800) = 0, not NaN");
  gsl_test_abs(tl_activation_value(sig, 800.0), 1.0, 0.0, "sigmoid(800) = 1");
  gsl_test_rel(tl_activation_value(sig, -40.0), exp(-40.0), 4.0 * DBL_EPSILON,
               "sigmoid(-40) = e^-40 to full relative precision");
  gsl_test_rel(tl_activation_value(sp, 800.0), 800.0, DBL_EPSILON, "softplus(800) = 800");
  gsl_test_rel(tl_activation_value(sp, -40.0), log1p(exp(-40.0)), 4.0 * DBL_EPSILON,
               "softplus(-40) = log1p(e^-40) to full relative precision");
  gsl_test_rel(tl_activation_d1(th, 30.0), 4.0 * exp(-60.0), 16.0 * DBL_EPSILON,
               "tanh'(30) = 4 e^-60 (no cancellation in 1 - tanh^2)");
  gsl_test_rel(tl_activation_d1(sig, -30.0), exp(-30.0) / gsl_pow_2(1.0 + exp(-30.0)),
               16.0 * DBL_EPSILON, "sigmoid'(-30) = e^-30 / (1 + e^-30)^2 to full precision");
  gsl_test(!isfinite(tl_activation_d2(sig, 800.0)) || !isfinite(tl_activation_d2(sp, -800.0)),
           "sigma'' finite in the tails");
  tl_activation_kind k;
  gsl_test(tl_activation_parse("swish", &k) != GSL_EINVAL, "unknown activation refused");
  tl_error_clear();
}

static void test_layout(void) {
  tl_net_options o = tl_net_options_default();
  tl_net *net = tl_net_alloc(D, M, Q, &o);
  gsl_test_int((int)net->p, D * M + M + Q * M + Q, "layout: p with both biases");
  gsl_vector *theta = gsl_vector_calloc(net->p);
  gsl_matrix_view W2 = tl_net_W2(net, theta);
  gsl_matrix_set(&W2.matrix, 1, 3, 2.385);
  gsl_test_abs(gsl_vector_get(theta, D * M + M + 1 * M + 3), 2.385, 0.0,
               "layout: W2(1,3) at offset M d + M + M + 3 (row-major)");
  gsl_vector_view b2 = tl_net_b2(net, theta);
  gsl_vector_set(&b2.vector, 2, -0.7);
  gsl_test_abs(gsl_vector_get(theta, net->p - 1), -0.7, 0.0, "layout: b2 is the last block");
  gsl_vector_view b1 = tl_net_b1(net, theta);
  gsl_vector_set(&b1.vector, 0, 0.31);
  gsl_test_abs(gsl_vector_get(theta, D * M), 0.31, 0.0, "layout: b1 follows W1");
  gsl_vector_free(theta);
  tl_net_free(net);
  o.has_b1 = 0;
  net = tl_net_alloc(D, M, Q, &o);
  gsl_test_int((int)net->p, D * M + Q * M + Q, "layout: p without b1");
  gsl_test_int((int)net->offset[TL_NET_W2], D * M, "layout: W2 follows W1 without b1");
  theta = gsl_vector_calloc(net->p);
  b1 = tl_net_b1(net, theta);
  gsl_test(b1.vector.size != 0 || b1.vector.data != NULL, "layout: absent b1 has an empty view");
  gsl_vector_free(theta);
  tl_net_free(net);
  o.has_b2 = 0;
  net = tl_net_alloc(D, M, Q, &o);
  gsl_test_int((int)net->p, D * M + Q * M, "layout: p without biases");
  gsl_test_int((int)tl_net_tied_size(net), 0, "layout: no tied model without biases");
  tl_net_free(net);
  tl_net_free(NULL);
  tl_net_workspace_free(NULL);
  tl_net_objective_free(NULL);
}

/* One configuration: gradient, Hessian-vector product, dense Hessian. */
static void check_derivatives(tl_activation act, int has_b1, int has_b2, double c,
                              tl_loss_kind kind, double lambda, unsigned decay) {
  char label[160];
  snprintf(label, sizeof label, "%s b1=%d b2=%d c=%g %s lambda=%g decay=%u",
           tl_activation_name(act.kind), has_b1, has_b2, c,
           kind == TL_LOSS_SQUARED ? "squared" : "logistic", lambda, decay);
  tl_net_options o = {has_b1, has_b2, c, act};
  tl_net *net = tl_net_alloc(D, M, Q, &o);
  const size_t p = net->p;
  tl_loss loss = {kind, 1.0 / N, lambda, decay};
  gsl_matrix *X = gsl_matrix_alloc(D, N), *Y = gsl_matrix_alloc(Q, N);
  fill_data(X, Y, kind == TL_LOSS_LOGISTIC);
  gsl_vector *theta = gsl_vector_alloc(p), *g = gsl_vector_alloc(p), *gfd = gsl_vector_alloc(p),
             *v = gsl_vector_alloc(p), *Hv = gsl_vector_alloc(p), *Hvfd = gsl_vector_alloc(p),
             *t = gsl_vector_alloc(p), *gp = gsl_vector_alloc(p), *gm = gsl_vector_alloc(p),
             *Hcol = gsl_vector_alloc(p);
  fill_theta(theta, 0.4);
  tl_net_workspace *ws = tl_net_workspace_alloc(net, N);
  /* A step h in a W1 entry or b1 moves z by at most h max(1, |x|_inf) < 2h. */
  if (act.kind == TL_ACT_RELU || act.kind == TL_ACT_LEAKY_RELU) {
    const double zmin = min_abs_preactivation(net, theta, X, ws);
    gsl_test(zmin < 10.0 * 2.0 * FD_STEP, "%s: no kink within finite-difference reach (%g)",
             label, zmin);
  }
  double f = 0.0, f2 = 0.0;
  gsl_test(tl_net_loss_grad(net, &loss, theta, X, Y, ws, &f, g), "%s: loss_grad status", label);
  tl_net_loss(net, &loss, theta, X, Y, ws, &f2);
  gsl_test_rel(f2, f, 0.0, "%s: loss equals loss_grad's value", label);
  tl_net_gradient_fd(net, &loss, theta, X, Y, FD_STEP, gfd, ws);
  gsl_test_abs(relative_difference(g, gfd), 0.0, FD_TOL, "%s: gradient vs central FD", label);

  /* Hv against the central difference of the gradient along v. */
  for (size_t k = 0; k < p; k++)
    gsl_vector_set(v, k, cos(0.77 * (double)k * (double)k + 0.2));
  gsl_test(tl_net_hessian_vector(net, &loss, theta, X, Y, v, Hv, ws), "%s: Hv status", label);
  gsl_vector_memcpy(t, theta);
  gsl_blas_daxpy(FD_STEP, v, t);
  tl_net_loss_grad(net, &loss, t, X, Y, ws, &f2, gp);
  gsl_vector_memcpy(t, theta);
  gsl_blas_daxpy(-FD_STEP, v, t);
  tl_net_loss_grad(net, &loss, t, X, Y, ws, &f2, gm);
  gsl_vector_memcpy(Hvfd, gp);
  gsl_vector_sub(Hvfd, gm);
  gsl_vector_scale(Hvfd, 1.0 / (2.0 * FD_STEP));
  gsl_test_abs(relative_difference(Hv, Hvfd), 0.0, FD_TOL, "%s: Hv vs FD of the gradient",
               label);

  /* Dense Hessian: H v equals Hv; raw columns are symmetric before the
   * symmetrisation (H e_i . e_j = H e_j . e_i); equals the FD Hessian. */
  gsl_matrix *H = gsl_matrix_alloc(p, p), *Hfd = gsl_matrix_alloc(p, p);
  gsl_test(tl_net_hessian(net, &loss, theta, X, Y, H, ws), "%s: dense Hessian status", label);
  gsl_blas_dgemv(CblasNoTrans, 1.0, H, v, 0.0, Hcol);
  gsl_test_abs(relative_difference(Hcol, Hv), 0.0, 64.0 * (double)p * DBL_EPSILON,
               "%s: dense H v = Hv", label);
  double asym = 0.0, scale = 0.0;
  gsl_vector *ei = gsl_vector_calloc(p), *ej = gsl_vector_calloc(p), *Hei = gsl_vector_alloc(p),
             *Hej = gsl_vector_alloc(p);
  for (size_t i = 0; i < p; i += 3) {
    const size_t j = (7 * i + 5) % p;
    gsl_vector_set_basis(ei, i);
    gsl_vector_set_basis(ej, j);
    tl_net_hessian_vector(net, &loss, theta, X, Y, ei, Hei, ws);
    tl_net_hessian_vector(net, &loss, theta, X, Y, ej, Hej, ws);
    asym = fmax(asym, fabs(gsl_vector_get(Hei, j) - gsl_vector_get(Hej, i)));
    scale = fmax(scale, fmax(fabs(gsl_vector_get(Hei, i)), fabs(gsl_vector_get(Hej, j))));
  }
  gsl_test_abs(asym / scale, 0.0, 64.0 * (double)N * DBL_EPSILON,
               "%s: R-operator Hessian symmetric before symmetrisation", label);
  tl_net_hessian_fd(net, &loss, theta, X, Y, FD_STEP, Hfd, ws);
  gsl_test_abs(tl_linalg_frobenius_diff(H, Hfd) / tl_linalg_frobenius(H), 0.0, FD_TOL,
               "%s: dense Hessian vs FD Hessian of the gradient", label);

  gsl_vector_free(ei);
  gsl_vector_free(ej);
  gsl_vector_free(Hei);
  gsl_vector_free(Hej);
  gsl_matrix_free(H);
  gsl_matrix_free(Hfd);
  tl_net_workspace_free(ws);
  gsl_vector_free(theta);
  gsl_vector_free(g);
  gsl_vector_free(gfd);
  gsl_vector_free(v);
  gsl_vector_free(Hv);
  gsl_vector_free(Hvfd);
  gsl_vector_free(t);
  gsl_vector_free(gp);
  gsl_vector_free(gm);
  gsl_vector_free(Hcol);
  gsl_matrix_free(X);
  gsl_matrix_free(Y);
  tl_net_free(net);
}

static void test_derivatives(void) {
  const tl_activation_kind kinds[] = {TL_ACT_RELU, TL_ACT_LEAKY_RELU, TL_ACT_SIGMOID,
                                      TL_ACT_TANH, TL_ACT_SOFTPLUS, TL_ACT_IDENTITY};
  for (size_t a = 0; a < sizeof kinds / sizeof kinds[0]; a++) {
    const tl_activation act = {kinds[a], 0.13};
    check_derivatives(act, 1, 1, 1.0, TL_LOSS_SQUARED, 0.0, TL_NET_DECAY_NONE);
    check_derivatives(act, 0, 0, 0.731, TL_LOSS_SQUARED, 0.37, TL_NET_DECAY_WEIGHTS);
    check_derivatives(act, 1, 0, 1.9, TL_LOSS_SQUARED, 0.21, TL_NET_DECAY_ALL);
    check_derivatives(act, 0, 1, 0.45, TL_LOSS_LOGISTIC, 0.05, TL_NET_DECAY_W1);
  }
}

/* Output of theta on X into F. */
static void output(const tl_net *net, const gsl_vector *theta, const gsl_matrix *X,
                   gsl_matrix *F, tl_net_workspace *ws) {
  gsl_test(tl_net_predict(net, theta, X, F, ws), "predict status");
}

static void test_invariances(void) {
  tl_net_options o = tl_net_options_default();
  o.c = 1.3;
  tl_net *net = tl_net_alloc(D, M, Q, &o);
  gsl_matrix *X = gsl_matrix_alloc(D, N), *Y = gsl_matrix_alloc(Q, N),
             *F = gsl_matrix_alloc(Q, N), *F2 = gsl_matrix_alloc(Q, N);
  fill_data(X, Y, 0);
  gsl_vector *theta = gsl_vector_alloc(net->p), *perm = gsl_vector_alloc(net->p);
  fill_theta(theta, -1.1);
  tl_net_workspace *ws = tl_net_workspace_alloc(net, N);
  output(net, theta, X, F, ws);
  const double tol = 16.0 * M * DBL_EPSILON * tl_linalg_frobenius(F);
  /* Permutation of hidden units: rows of W1, entries of b1, columns of W2. */
  const size_t pi[M] = {3, 0, 4, 1, 2};
  gsl_matrix_const_view W1 = tl_net_W1_const(net, theta), W2 = tl_net_W2_const(net, theta);
  gsl_vector_const_view b1 = tl_net_b1_const(net, theta);
  gsl_matrix_view W1p = tl_net_W1(net, perm), W2p = tl_net_W2(net, perm);
  gsl_vector_view b1p = tl_net_b1(net, perm), b2p = tl_net_b2(net, perm);
  gsl_vector_const_view b2 = tl_net_b2_const(net, theta);
  for (size_t m = 0; m < M; m++) {
    for (size_t i = 0; i < D; i++)
      gsl_matrix_set(&W1p.matrix, m, i, gsl_matrix_get(&W1.matrix, pi[m], i));
    gsl_vector_set(&b1p.vector, m, gsl_vector_get(&b1.vector, pi[m]));
    for (size_t q = 0; q < Q; q++)
      gsl_matrix_set(&W2p.matrix, q, m, gsl_matrix_get(&W2.matrix, q, pi[m]));
  }
  gsl_vector_memcpy(&b2p.vector, &b2.vector);
  output(net, perm, X, F2, ws);
  gsl_test_abs(tl_linalg_frobenius_diff(F, F2), 0.0, tol,
               "relu: output invariant under a permutation of hidden units");
  /* Positive rescaling of unit 2: W1 row and b1 entry times t, W2 column / t. */
  const double t = 2.385;
  gsl_vector_memcpy(perm, theta);
  for (size_t i = 0; i < D; i++)
    gsl_matrix_set(&W1p.matrix, 2, i, t * gsl_matrix_get(&W1p.matrix, 2, i));
  gsl_vector_set(&b1p.vector, 2, t * gsl_vector_get(&b1p.vector, 2));
  for (size_t q = 0; q < Q; q++)
    gsl_matrix_set(&W2p.matrix, q, 2, gsl_matrix_get(&W2p.matrix, q, 2) / t);
  output(net, perm, X, F2, ws);
  gsl_test_abs(tl_linalg_frobenius_diff(F, F2), 0.0, tol,
               "relu: output invariant under positive rescaling (t = 2.385)");
  /* The same rescaling with t < 0 is not an invariance: a guard that the
   * check above can fail. */
  gsl_vector_memcpy(perm, theta);
  for (size_t i = 0; i < D; i++)
    gsl_matrix_set(&W1p.matrix, 2, i, -gsl_matrix_get(&W1p.matrix, 2, i));
  gsl_vector_set(&b1p.vector, 2, -gsl_vector_get(&b1p.vector, 2));
  for (size_t q = 0; q < Q; q++)
    gsl_matrix_set(&W2p.matrix, q, 2, -gsl_matrix_get(&W2p.matrix, q, 2));
  output(net, perm, X, F2, ws);
  gsl_test(tl_linalg_frobenius_diff(F, F2) < 1e3 * tol,
           "relu: negative rescaling changes the output (guard)");

  /* Planted teacher: Y = f(X; theta*) gives exactly zero loss and gradient. */
  tl_loss loss = tl_loss_squared(1.0 / N);
  double f = 1.0;
  gsl_vector *g = gsl_vector_alloc(net->p);
  tl_net_loss_grad(net, &loss, theta, X, F, ws, &f, g);
  gsl_test_abs(f, 0.0, 0.0, "teacher: loss exactly 0 at the planted parameters");
  gsl_test_abs(gsl_blas_dnrm2(g), 0.0, 0.0, "teacher: gradient exactly 0");
  tl_net_loss(net, &loss, perm, X, F, ws, &f);
  gsl_test(!(f > 0.0), "teacher: loss positive away from the teacher (%g)", f);

  /* A batch of n < N columns in a larger workspace equals a tight workspace. */
  tl_net_workspace *big = tl_net_workspace_alloc(net, 3 * N);
  double f_tight = 0.0, f_big = 0.0;
  gsl_vector *g2 = gsl_vector_alloc(net->p);
  tl_net_loss_grad(net, &loss, perm, X, Y, ws, &f_tight, g);
  tl_net_loss_grad(net, &loss, perm, X, Y, big, &f_big, g2);
  gsl_test_rel(f_big, f_tight, 4.0 * DBL_EPSILON, "workspace: capacity 3N gives the same loss");
  gsl_test_abs(relative_difference(g2, g), 0.0, 4.0 * DBL_EPSILON,
               "workspace: capacity 3N gives the same gradient");
  /* Strided gradient output. */
  gsl_matrix *G2 = gsl_matrix_alloc(net->p, 2);
  gsl_vector_view col = gsl_matrix_column(G2, 1);
  tl_net_loss_grad(net, &loss, perm, X, Y, ws, &f_tight, &col.vector);
  gsl_test_abs(relative_difference(&col.vector, g), 0.0, 0.0, "strided gradient output");
  gsl_matrix_free(G2);
  gsl_vector_free(g2);
  tl_net_workspace_free(big);
  gsl_test(tl_net_loss(net, &loss, theta, Y, Y, ws, &f) != GSL_EBADLEN,
           "shape mismatch is GSL_EBADLEN");
  tl_error_clear();

  gsl_vector_free(g);
  tl_net_workspace_free(ws);
  gsl_vector_free(theta);
  gsl_vector_free(perm);
  gsl_matrix_free(X);
  gsl_matrix_free(Y);
  gsl_matrix_free(F);
  gsl_matrix_free(F2);
  tl_net_free(net);
}

static void test_hand_forward(void) {
  /* d = 3, M = 2, Q = 2, c = 1.7, ReLU; unit 1 is inactive at x:
   *   z = W1 x + b1 = (1.92625, -0.145),  h = (1.92625, 0),
   *   y = 1.7 W2 h + b2 = (1.7 * 0.8 * 1.92625 + 0.05, 1.7 * -1.3 * 1.92625 - 0.15). */
  tl_net_options o = tl_net_options_default();
  o.c = 1.7;
  tl_net *net = tl_net_alloc(3, 2, 2, &o);
  const double th[] = {0.5, -1.2, 2.385, 1.1, 0.3, -0.7, /* W1 */
                       0.1, -1.5,                        /* b1 */
                       0.8, -0.6, -1.3, 0.45,            /* W2 */
                       0.05, -0.15};                     /* b2 */
  gsl_vector_const_view theta = gsl_vector_const_view_array(th, 14);
  gsl_matrix *x = gsl_matrix_alloc(3, 1), *F = gsl_matrix_alloc(2, 1);
  gsl_matrix_set(x, 0, 0, 1.5);
  gsl_matrix_set(x, 1, 0, -0.4);
  gsl_matrix_set(x, 2, 0, 0.25);
  tl_net_workspace *ws = tl_net_workspace_alloc(net, 4);
  gsl_test(tl_net_predict(net, &theta.vector, x, F, ws), "hand forward: status");
  gsl_test_rel(gsl_matrix_get(F, 0, 0), 2.61970 + 0.05, 8.0 * DBL_EPSILON,
               "hand forward: y_0 = 2.6697");
  gsl_test_rel(gsl_matrix_get(F, 1, 0), -4.4070125, 8.0 * DBL_EPSILON,
               "hand forward: y_1 = -4.4070125");
  /* Squared loss alpha |f - y|^2 with alpha = 0.5 at y = (2, -4). */
  gsl_matrix *y = gsl_matrix_alloc(2, 1);
  gsl_matrix_set(y, 0, 0, 2.0);
  gsl_matrix_set(y, 1, 0, -4.0);
  tl_loss loss = tl_loss_squared(0.5);
  double f = 0.0;
  tl_net_loss(net, &loss, &theta.vector, x, y, ws, &f);
  gsl_test_rel(f, 0.5 * (0.6697 * 0.6697 + 0.4070125 * 0.4070125), 16.0 * DBL_EPSILON,
               "hand loss: 0.5 (0.6697^2 + 0.4070125^2)");
  gsl_matrix_free(y);
  gsl_matrix_free(x);
  gsl_matrix_free(F);
  tl_net_workspace_free(ws);
  tl_net_free(net);
}

static void test_tied_and_objective(void) {
  tl_net *net = tl_net_alloc(D, M, Q, NULL);
  const size_t pt = tl_net_tied_size(net);
  gsl_test_int((int)pt, (int)(net->p - Q), "tied: size p - Q");
  gsl_matrix *X = gsl_matrix_alloc(D, N), *Y = gsl_matrix_alloc(Q, N);
  fill_data(X, Y, 0);
  tl_loss loss = tl_loss_squared(1.0 / N);
  loss.lambda = 0.11;
  loss.decay = TL_NET_DECAY_ALL;
  /* Tied gradient vs FD of the tied loss, through the adapter. */
  tl_net_objective *obj = tl_net_objective_alloc(net, &loss, X, Y, 1, 0);
  tl_opt_function fn = tl_net_objective_function(obj);
  gsl_test_int((int)fn.n, (int)pt, "tied objective: dimension p - Q");
  gsl_vector *x = gsl_vector_alloc(pt), *g = gsl_vector_alloc(pt), *gfd = gsl_vector_alloc(pt),
             *work = gsl_vector_alloc(3 * pt);
  fill_theta(x, 0.8);
  double f = 0.0;
  gsl_test(fn.fdf(x, fn.params, &f, g), "tied objective: fdf status");
  gsl_test(tl_opt_gradient_fd(&fn, x, FD_STEP, gfd, work), "tied objective: FD status");
  gsl_test_abs(relative_difference(g, gfd), 0.0, FD_TOL,
               "tied gradient (grad b1 - W2^T grad b2, grad W2 - grad b2 b1^T) vs FD");
  gsl_vector *theta = gsl_vector_alloc(net->p);
  tl_net_tied_expand(net, x, theta);
  gsl_vector_const_view b2 = tl_net_b2_const(net, theta);
  gsl_matrix_const_view W2 = tl_net_W2_const(net, theta);
  gsl_vector_const_view b1 = tl_net_b1_const(net, theta);
  gsl_vector *Wb = gsl_vector_alloc(Q);
  gsl_blas_dgemv(CblasNoTrans, 1.0, &W2.matrix, &b1.vector, 0.0, Wb);
  gsl_vector_add(Wb, &b2.vector);
  gsl_test_abs(gsl_blas_dnrm2(Wb), 0.0, 8.0 * DBL_EPSILON, "tied: b2 = -W2 b1");
  gsl_vector_free(Wb);
  gsl_matrix *H = gsl_matrix_alloc(pt, pt);
  gsl_test(tl_opt_hessian_fd(&fn, x, FD_STEP, H, work), "tied objective: FD Hessian status");
  double asym = 0.0;
  for (size_t i = 0; i < pt; i++)
    for (size_t j = 0; j < pt; j++)
      asym = fmax(asym, fabs(gsl_matrix_get(H, i, j) - gsl_matrix_get(H, j, i)));
  gsl_test_abs(asym, 0.0, 0.0, "tied objective: FD Hessian symmetrised");
  gsl_matrix_free(H);
  tl_net_objective_free(obj);

  /* Free adapter: fdf equals loss_grad; the full batch in order equals fdf. */
  obj = tl_net_objective_alloc(net, &loss, X, Y, 0, N);
  fn = tl_net_objective_function(obj);
  gsl_vector *g1 = gsl_vector_alloc(net->p), *g2 = gsl_vector_alloc(net->p);
  tl_net_workspace *ws = tl_net_workspace_alloc(net, N);
  fill_theta(theta, 2.0);
  double f1 = 0.0, f2 = 0.0;
  tl_net_loss_grad(net, &loss, theta, X, Y, ws, &f1, g1);
  fn.fdf(theta, fn.params, &f2, g2);
  gsl_test_rel(f2, f1, 0.0, "objective: fdf value equals tl_net_loss_grad");
  size_t all[N];
  for (size_t i = 0; i < N; i++)
    all[i] = i;
  fn.batch_fdf(theta, fn.params, all, N, &f2, g2);
  gsl_test_rel(f2, f1, 4.0 * DBL_EPSILON, "objective: full batch equals the full loss");
  gsl_test_abs(relative_difference(g2, g1), 0.0, 4.0 * DBL_EPSILON,
               "objective: full batch gradient equals the full gradient");
  /* Average of the per-sample estimates (batch size 1) is the full gradient. */
  gsl_vector *mean = gsl_vector_calloc(net->p);
  for (size_t i = 0; i < N; i++) {
    fn.batch_fdf(theta, fn.params, all + i, 1, &f2, g2);
    gsl_blas_daxpy(1.0 / N, g2, mean);
  }
  gsl_test_abs(relative_difference(mean, g1), 0.0, 64.0 * DBL_EPSILON,
               "objective: batch estimates (scaled by N/|batch|) are unbiased");
  gsl_vector_free(mean);
  tl_net_workspace_free(ws);
  gsl_vector_free(g1);
  gsl_vector_free(g2);
  tl_net_objective_free(obj);
  gsl_vector_free(theta);
  gsl_vector_free(x);
  gsl_vector_free(g);
  gsl_vector_free(gfd);
  gsl_vector_free(work);
  gsl_matrix_free(X);
  gsl_matrix_free(Y);
  tl_net_free(net);
}

static void test_init(void) {
  const size_t d = 16, m = 64, q = 4;
  tl_net *net = tl_net_alloc(d, m, q, NULL);
  gsl_vector *theta = gsl_vector_alloc(net->p);
  gsl_rng *rng = tl_rng_alloc(20230919, 100);
  gsl_test(tl_net_init_gaussian(net, theta, rng, 2.0 / (double)m, 1.0 / (double)m),
           "init: status");
  gsl_rng_free(rng);
  rng = tl_rng_alloc(20230919, 100);
  double e = 0.0;
  for (size_t k = 0; k < m * d; k++)
    e = fmax(e, fabs(gsl_vector_get(theta, k) - gsl_ran_gaussian(rng, sqrt(2.0 / (double)m))));
  for (size_t k = 0; k < q * m; k++)
    e = fmax(e, fabs(gsl_vector_get(theta, net->offset[TL_NET_W2] + k) -
                     gsl_ran_gaussian(rng, sqrt(1.0 / (double)m))));
  gsl_test_abs(e, 0.0, 0.0, "init: W1 row-major, then W2, from the stream in order");
  gsl_vector_view b1 = tl_net_b1(net, theta), b2 = tl_net_b2(net, theta);
  gsl_test(!gsl_vector_isnull(&b1.vector) || !gsl_vector_isnull(&b2.vector), "init: biases 0");
  gsl_vector_view w1 = tl_net_block_vector(net, theta, TL_NET_W1);
  double ss = 0.0;
  for (size_t k = 0; k < w1.vector.size; k++)
    ss += gsl_vector_get(&w1.vector, k) * gsl_vector_get(&w1.vector, k);
  const double var = ss / (double)w1.vector.size, n1 = (double)w1.vector.size;
  /* Sample variance of n1 normals: relative sd sqrt(2/n1). */
  gsl_test_rel(var, 2.0 / (double)m, 5.0 * sqrt(2.0 / n1), "init: W1 variance 2/M");
  gsl_rng_free(rng);
  gsl_vector_free(theta);
  tl_net_free(net);
}

int main(void) {
  tl_error_install_gsl_handler();
  test_activations();
  test_layout();
  test_derivatives();
  test_invariances();
  test_hand_forward();
  test_tied_and_objective();
  test_init();
  return gsl_test_summary();
}

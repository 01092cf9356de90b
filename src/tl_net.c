/* tl_net: see tl_net.h. */
#include "tl_net.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_randist.h>

#include "tl_error.h"

#define TL_ERROR_NULL(code, ...)                            \
  do {                                                      \
    tl_error_set((code), __FILE__, __LINE__, __VA_ARGS__);  \
    return NULL;                                            \
  } while (0)

/* ======================================================================== */
/* Activations                                                              */
/* ======================================================================== */

double tl_sigmoid(double z) {
  if (z >= 0.0)
    return 1.0 / (1.0 + exp(-z));
  const double e = exp(z);
  return e / (1.0 + e);
}

/* sigma(z) (1 - sigma(z)) = e / (1 + e)^2 with e = exp(-|z|): no cancellation,
 * no overflow. */
static double tl_sigmoid_d1(double z) {
  const double e = exp(-fabs(z));
  return e / ((1.0 + e) * (1.0 + e));
}

/* 1 - tanh(z)^2 = 4 e / (1 + e)^2 with e = exp(-2|z|): accurate in the tails,
 * where 1 - t^2 would lose all its digits. */
static double tl_tanh_d1(double z) {
  const double e = exp(-2.0 * fabs(z));
  return 4.0 * e / ((1.0 + e) * (1.0 + e));
}

/* log(1 + e^z) = max(z, 0) + log1p(e^-|z|) (chapter 4 §3.9). */
static double tl_softplus(double z) { return fmax(z, 0.0) + log1p(exp(-fabs(z))); }

double tl_activation_value(tl_activation a, double z) {
  switch (a.kind) {
  case TL_ACT_RELU: return z > 0.0 ? z : 0.0;
  case TL_ACT_LEAKY_RELU: return z > 0.0 ? z : a.slope * z;
  case TL_ACT_SIGMOID: return tl_sigmoid(z);
  case TL_ACT_TANH: return tanh(z);
  case TL_ACT_SOFTPLUS: return tl_softplus(z);
  case TL_ACT_IDENTITY: return z;
  }
  return GSL_NAN;
}

double tl_activation_d1(tl_activation a, double z) {
  switch (a.kind) {
  case TL_ACT_RELU: return z > 0.0 ? 1.0 : 0.0;
  case TL_ACT_LEAKY_RELU: return z > 0.0 ? 1.0 : a.slope;
  case TL_ACT_SIGMOID: return tl_sigmoid_d1(z);
  case TL_ACT_TANH: return tl_tanh_d1(z);
  case TL_ACT_SOFTPLUS: return tl_sigmoid(z);
  case TL_ACT_IDENTITY: return 1.0;
  }
  return GSL_NAN;
}

double tl_activation_d2(tl_activation a, double z) {
  switch (a.kind) {
  case TL_ACT_RELU:
  case TL_ACT_LEAKY_RELU:
  case TL_ACT_IDENTITY: return 0.0;
  /* sigma'' = sigma (1 - sigma)(1 - 2 sigma), and 1 - 2 sigma(z) = sigma(-z) - sigma(z). */
  case TL_ACT_SIGMOID: return tl_sigmoid_d1(z) * (tl_sigmoid(-z) - tl_sigmoid(z));
  case TL_ACT_TANH: return -2.0 * tanh(z) * tl_tanh_d1(z);
  case TL_ACT_SOFTPLUS: return tl_sigmoid_d1(z);
  }
  return GSL_NAN;
}

static const char *const tl_activation_names[] = {"relu",    "leaky_relu", "sigmoid",
                                                  "tanh",    "softplus",   "identity"};
enum { TL_ACT_COUNT = 6 };

const char *tl_activation_name(tl_activation_kind kind) {
  return (unsigned)kind < TL_ACT_COUNT ? tl_activation_names[kind] : "unknown";
}

int tl_activation_parse(const char *name, tl_activation_kind *kind) {
  for (int k = 0; k < TL_ACT_COUNT; k++)
    if (strcmp(name, tl_activation_names[k]) == 0) {
      *kind = (tl_activation_kind)k;
      return TL_SUCCESS;
    }
  TL_ERROR(GSL_EINVAL, "unknown activation '%s'", name);
}

/* Whether sigma'' vanishes identically (then the R-pass skips its term). */
static int tl_activation_is_piecewise_linear(tl_activation a) {
  return a.kind == TL_ACT_RELU || a.kind == TL_ACT_LEAKY_RELU || a.kind == TL_ACT_IDENTITY;
}

/* H = sigma(Z), S1 = sigma'(Z), S2 = sigma''(Z) on rows x n entries with
 * leading dimension ld; S1, S2 may be NULL.  ReLU, the case every chapter's
 * hot loop runs, gets its own branch-light loop. */
static void tl_activation_batch(tl_activation a, size_t rows, size_t n, size_t ld,
                                const double *Z, double *H, double *S1, double *S2) {
  if (a.kind == TL_ACT_RELU) {
    for (size_t i = 0; i < rows; i++) {
      const double *z = Z + i * ld;
      double *h = H + i * ld;
      if (S1 != NULL) {
        double *s1 = S1 + i * ld;
        for (size_t j = 0; j < n; j++) {
          const int active = z[j] > 0.0;
          h[j] = active ? z[j] : 0.0;
          s1[j] = active ? 1.0 : 0.0;
        }
      } else {
        for (size_t j = 0; j < n; j++)
          h[j] = z[j] > 0.0 ? z[j] : 0.0;
      }
      if (S2 != NULL)
        memset(S2 + i * ld, 0, n * sizeof *S2);
    }
    return;
  }
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < n; j++) {
      const double z = Z[i * ld + j];
      H[i * ld + j] = tl_activation_value(a, z);
      if (S1 != NULL)
        S1[i * ld + j] = tl_activation_d1(a, z);
      if (S2 != NULL)
        S2[i * ld + j] = tl_activation_d2(a, z);
    }
}

/* ======================================================================== */
/* The network                                                              */
/* ======================================================================== */

tl_net_options tl_net_options_default(void) {
  tl_net_options o;
  o.has_b1 = 1;
  o.has_b2 = 1;
  o.c = 1.0;
  o.act.kind = TL_ACT_RELU;
  o.act.slope = 0.0;
  return o;
}

tl_net *tl_net_alloc(size_t d, size_t M, size_t Q, const tl_net_options *opts) {
  if (d == 0 || M == 0 || Q == 0 || d > (size_t)INT_MAX / M || Q > (size_t)INT_MAX / M)
    TL_ERROR_NULL(GSL_EINVAL, "tl_net_alloc: bad sizes d=%zu M=%zu Q=%zu", d, M, Q);
  const tl_net_options o = opts != NULL ? *opts : tl_net_options_default();
  if ((unsigned)o.act.kind >= TL_ACT_COUNT)
    TL_ERROR_NULL(GSL_EINVAL, "tl_net_alloc: unknown activation %d", (int)o.act.kind);
  tl_net *net = calloc(1, sizeof *net);
  if (net == NULL)
    TL_ERROR_NULL(GSL_ENOMEM, "tl_net_alloc: out of memory");
  net->d = d;
  net->M = M;
  net->Q = Q;
  net->has_b1 = o.has_b1 != 0;
  net->has_b2 = o.has_b2 != 0;
  net->c = o.c;
  net->act = o.act;
  net->size[TL_NET_W1] = M * d;
  net->size[TL_NET_B1] = net->has_b1 ? M : 0;
  net->size[TL_NET_W2] = Q * M;
  net->size[TL_NET_B2] = net->has_b2 ? Q : 0;
  size_t offset = 0;
  for (int b = 0; b < TL_NET_NBLOCKS; b++) {
    net->offset[b] = offset;
    offset += net->size[b];
  }
  net->p = offset;
  for (int b = 0; b < TL_NET_NBLOCKS; b++)
    if (net->size[b] == 0)
      net->offset[b] = net->p;
  return net;
}

void tl_net_free(tl_net *net) { free(net); }

/* An empty view for an absent block. */
static gsl_vector_view tl_empty_vector_view(void) {
  gsl_vector_view v;
  memset(&v, 0, sizeof v);
  v.vector.stride = 1;
  return v;
}

static _gsl_vector_const_view tl_empty_vector_const_view(void) {
  _gsl_vector_const_view v;
  memset(&v, 0, sizeof v);
  v.vector.stride = 1;
  return v;
}

gsl_matrix_view tl_net_W1(const tl_net *net, gsl_vector *theta) {
  return gsl_matrix_view_array(theta->data + net->offset[TL_NET_W1], net->M, net->d);
}

gsl_matrix_view tl_net_W2(const tl_net *net, gsl_vector *theta) {
  return gsl_matrix_view_array(theta->data + net->offset[TL_NET_W2], net->Q, net->M);
}

gsl_vector_view tl_net_b1(const tl_net *net, gsl_vector *theta) {
  return net->has_b1 ? gsl_vector_view_array(theta->data + net->offset[TL_NET_B1], net->M)
                     : tl_empty_vector_view();
}

gsl_vector_view tl_net_b2(const tl_net *net, gsl_vector *theta) {
  return net->has_b2 ? gsl_vector_view_array(theta->data + net->offset[TL_NET_B2], net->Q)
                     : tl_empty_vector_view();
}

_gsl_matrix_const_view tl_net_W1_const(const tl_net *net, const gsl_vector *theta) {
  return gsl_matrix_const_view_array(theta->data + net->offset[TL_NET_W1], net->M, net->d);
}

_gsl_matrix_const_view tl_net_W2_const(const tl_net *net, const gsl_vector *theta) {
  return gsl_matrix_const_view_array(theta->data + net->offset[TL_NET_W2], net->Q, net->M);
}

_gsl_vector_const_view tl_net_b1_const(const tl_net *net, const gsl_vector *theta) {
  return net->has_b1
             ? gsl_vector_const_view_array(theta->data + net->offset[TL_NET_B1], net->M)
             : tl_empty_vector_const_view();
}

_gsl_vector_const_view tl_net_b2_const(const tl_net *net, const gsl_vector *theta) {
  return net->has_b2
             ? gsl_vector_const_view_array(theta->data + net->offset[TL_NET_B2], net->Q)
             : tl_empty_vector_const_view();
}

gsl_vector_view tl_net_block_vector(const tl_net *net, gsl_vector *theta, tl_net_block block) {
  if ((unsigned)block >= TL_NET_NBLOCKS || net->size[block] == 0)
    return tl_empty_vector_view();
  return gsl_vector_view_array(theta->data + net->offset[block], net->size[block]);
}

static int tl_check_theta(const tl_net *net, const gsl_vector *theta, const char *who) {
  if (theta->size != net->p)
    TL_ERROR(GSL_EBADLEN, "%s: theta has size %zu, the network has p = %zu", who, theta->size,
             net->p);
  if (theta->stride != 1)
    TL_ERROR(GSL_EINVAL, "%s: theta must have stride 1 (its blocks are matrix views)", who);
  return TL_SUCCESS;
}

int tl_net_init_gaussian(const tl_net *net, gsl_vector *theta, gsl_rng *rng, double var_W1,
                         double var_W2) {
  TL_TRY(tl_check_theta(net, theta, "tl_net_init_gaussian"));
  if (!(var_W1 >= 0.0) || !(var_W2 >= 0.0))
    TL_ERROR(GSL_EINVAL, "tl_net_init_gaussian: variances must be >= 0");
  gsl_vector_set_zero(theta);
  const double sd1 = sqrt(var_W1), sd2 = sqrt(var_W2);
  double *W1 = theta->data + net->offset[TL_NET_W1], *W2 = theta->data + net->offset[TL_NET_W2];
  for (size_t i = 0; i < net->size[TL_NET_W1]; i++)
    W1[i] = gsl_ran_gaussian(rng, sd1);
  for (size_t i = 0; i < net->size[TL_NET_W2]; i++)
    W2[i] = gsl_ran_gaussian(rng, sd2);
  return TL_SUCCESS;
}

int tl_net_init_he(const tl_net *net, gsl_vector *theta, gsl_rng *rng) {
  return tl_net_init_gaussian(net, theta, rng, 2.0 / (double)net->d, 1.0 / (double)net->M);
}

tl_loss tl_loss_squared(double alpha) {
  tl_loss l;
  l.kind = TL_LOSS_SQUARED;
  l.alpha = alpha;
  l.lambda = 0.0;
  l.decay = TL_NET_DECAY_NONE;
  return l;
}

/* ======================================================================== */
/* Workspace                                                                */
/* ======================================================================== */

tl_net_workspace *tl_net_workspace_alloc(const tl_net *net, size_t N) {
  if (N == 0 || N > (size_t)INT_MAX)
    TL_ERROR_NULL(GSL_EINVAL, "tl_net_workspace_alloc: bad batch capacity %zu", N);
  tl_net_workspace *ws = calloc(1, sizeof *ws);
  if (ws == NULL)
    TL_ERROR_NULL(GSL_ENOMEM, "tl_net_workspace_alloc: out of memory");
  ws->N = N;
  ws->d = net->d;
  ws->M = net->M;
  ws->Q = net->Q;
  ws->p = net->p;
  const size_t M = net->M, Q = net->Q;
  gsl_matrix **hidden[] = {&ws->Z, &ws->H, &ws->S1, &ws->S2, &ws->GH,
                           &ws->GZ, &ws->RZ, &ws->RH, &ws->RGZ};
  gsl_matrix **output[] = {&ws->F, &ws->G, &ws->L2, &ws->RF, &ws->RG};
  /* Not zeroed: every pass writes the columns it reads, and buffers a caller
   * never uses (the R-operator's, for a loss-only caller) then cost no page
   * faults at all. */
  int ok = 1;
  for (size_t i = 0; i < sizeof hidden / sizeof hidden[0]; i++)
    ok &= (*hidden[i] = gsl_matrix_alloc(M, N)) != NULL;
  for (size_t i = 0; i < sizeof output / sizeof output[0]; i++)
    ok &= (*output[i] = gsl_matrix_alloc(Q, N)) != NULL;
  ok &= (ws->theta_work = gsl_vector_alloc(net->p)) != NULL;
  ok &= (ws->grad_plus = gsl_vector_alloc(net->p)) != NULL;
  ok &= (ws->grad_minus = gsl_vector_alloc(net->p)) != NULL;
  if (!ok) {
    tl_net_workspace_free(ws);
    TL_ERROR_NULL(GSL_ENOMEM, "tl_net_workspace_alloc: out of memory");
  }
  return ws;
}

void tl_net_workspace_free(tl_net_workspace *ws) {
  if (ws == NULL)
    return;
  gsl_matrix *all[] = {ws->Z,  ws->H,  ws->S1, ws->S2, ws->GH, ws->GZ, ws->RZ,
                       ws->RH, ws->RGZ, ws->F, ws->G,  ws->L2, ws->RF, ws->RG};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (all[i] != NULL)
      gsl_matrix_free(all[i]);
  gsl_vector_free(ws->theta_work);
  gsl_vector_free(ws->grad_plus);
  gsl_vector_free(ws->grad_minus);
  free(ws);
}

_gsl_matrix_const_view tl_net_workspace_output(const tl_net_workspace *ws, size_t n) {
  return gsl_matrix_const_submatrix(ws->F, 0, 0, ws->Q, n);
}

/* ======================================================================== */
/* Forward, loss, backward                                                  */
/* ======================================================================== */

static int tl_check_batch(const tl_net *net, const gsl_vector *theta, const gsl_matrix *X,
                          const gsl_matrix *Y, const tl_net_workspace *ws, const char *who) {
  TL_TRY(tl_check_theta(net, theta, who));
  if (ws->d != net->d || ws->M != net->M || ws->Q != net->Q || ws->p != net->p)
    TL_ERROR(GSL_EBADLEN, "%s: workspace was allocated for another network", who);
  if (X->size1 != net->d || X->size2 == 0 || X->size2 > ws->N)
    TL_ERROR(GSL_EBADLEN, "%s: X is %zu x %zu; need d = %zu rows and 1..%zu columns", who,
             X->size1, X->size2, net->d, ws->N);
  if (Y != NULL && (Y->size1 != net->Q || Y->size2 != X->size2))
    TL_ERROR(GSL_EBADLEN, "%s: Y is %zu x %zu, need %zu x %zu", who, Y->size1, Y->size2,
             net->Q, X->size2);
  return TL_SUCCESS;
}

/* Rows of A (rows x n, leading dimension ld) set to the vector b. */
static void tl_fill_rows(double *A, size_t rows, size_t n, size_t ld, const double *b) {
  for (size_t i = 0; i < rows; i++) {
    double *a = A + i * ld;
    for (size_t j = 0; j < n; j++)
      a[j] = b[i];
  }
}

/* Row sums of A (rows x n): the products "G u" with the all-ones u. */
static void tl_row_sums(const double *A, size_t rows, size_t n, size_t ld, double *out) {
  for (size_t i = 0; i < rows; i++) {
    const double *a = A + i * ld;
    double s = 0.0;
    for (size_t j = 0; j < n; j++)
      s += a[j];
    out[i] = s;
  }
}

/* Z = W1 X + b1 u^T, H = sigma(Z) (and S1, S2 up to order derivs),
 * F = c W2 H + b2 u^T: the bias goes in first and dgemm adds onto it. */
static void tl_forward(const tl_net *net, const double *theta, const gsl_matrix *X,
                       tl_net_workspace *ws, int derivs) {
  const size_t d = net->d, M = net->M, Q = net->Q, n = X->size2, ld = ws->N;
  const double *W1 = theta + net->offset[TL_NET_W1], *W2 = theta + net->offset[TL_NET_W2];
  double *Z = ws->Z->data, *H = ws->H->data, *F = ws->F->data;
  if (net->has_b1)
    tl_fill_rows(Z, M, n, ld, theta + net->offset[TL_NET_B1]);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)n, (int)d, 1.0, W1,
              (int)d, X->data, (int)X->tda, net->has_b1 ? 1.0 : 0.0, Z, (int)ld);
  tl_activation_batch(net->act, M, n, ld, Z, H, derivs >= 1 ? ws->S1->data : NULL,
                      derivs >= 2 ? ws->S2->data : NULL);
  if (net->has_b2)
    tl_fill_rows(F, Q, n, ld, theta + net->offset[TL_NET_B2]);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Q, (int)n, (int)M, net->c, W2,
              (int)M, H, (int)ld, net->has_b2 ? 1.0 : 0.0, F, (int)ld);
}

/* Data term alpha sum l(F, Y); with want >= 1 also G = alpha l'(F), with
 * want >= 2 also L2 = alpha l''(F) (logistic only: the squared loss has the
 * constant 2 alpha). */
static double tl_data_term(const tl_loss *loss, const gsl_matrix *Y, tl_net_workspace *ws,
                           int want) {
  const size_t Q = ws->Q, n = Y->size2, ld = ws->N;
  const double alpha = loss->alpha;
  const double *F = ws->F->data;
  double *G = ws->G->data, *L2 = ws->L2->data;
  double sum = 0.0;
  if (loss->kind == TL_LOSS_SQUARED) {
    for (size_t q = 0; q < Q; q++) {
      const double *y = Y->data + q * Y->tda;
      for (size_t j = 0; j < n; j++) {
        const double r = F[q * ld + j] - y[j];
        sum += r * r;
        if (want >= 1)
          G[q * ld + j] = 2.0 * alpha * r;
      }
    }
  } else {
    for (size_t q = 0; q < Q; q++) {
      const double *y = Y->data + q * Y->tda;
      for (size_t j = 0; j < n; j++) {
        const double m = y[j] * F[q * ld + j];
        sum += tl_softplus(-m);
        if (want >= 1)
          G[q * ld + j] = -alpha * y[j] * tl_sigmoid(-m);
        if (want >= 2)
          L2[q * ld + j] = alpha * y[j] * y[j] * tl_sigmoid_d1(m);
      }
    }
  }
  return alpha * sum;
}

/* (lambda/2) |theta_D|^2, and lambda theta_D added to grad when not NULL. */
static double tl_decay_term(const tl_net *net, const tl_loss *loss, const double *theta,
                            double *grad) {
  if (loss->lambda == 0.0 || loss->decay == TL_NET_DECAY_NONE)
    return 0.0;
  double sum = 0.0;
  for (int b = 0; b < TL_NET_NBLOCKS; b++) {
    if (!(loss->decay & (1u << b)) || net->size[b] == 0)
      continue;
    const double *t = theta + net->offset[b];
    for (size_t i = 0; i < net->size[b]; i++) {
      sum += t[i] * t[i];
      if (grad != NULL)
        grad[net->offset[b] + i] += loss->lambda * t[i];
    }
  }
  return 0.5 * loss->lambda * sum;
}

/* Backpropagation of G (from tl_data_term) into grad (stride 1, size p);
 * leaves GH = c W2^T G and GZ = GH o S1 in the workspace for the R-pass. */
static void tl_backward(const tl_net *net, const double *theta, const gsl_matrix *X,
                        tl_net_workspace *ws, double *grad) {
  const size_t d = net->d, M = net->M, Q = net->Q, n = X->size2, ld = ws->N;
  const double *W2 = theta + net->offset[TL_NET_W2];
  const double *G = ws->G->data, *H = ws->H->data, *S1 = ws->S1->data;
  double *GH = ws->GH->data, *GZ = ws->GZ->data;
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Q, (int)M, (int)n, net->c, G,
              (int)ld, H, (int)ld, 0.0, grad + net->offset[TL_NET_W2], (int)M);
  if (net->has_b2)
    tl_row_sums(G, Q, n, ld, grad + net->offset[TL_NET_B2]);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)M, (int)n, (int)Q, net->c, W2,
              (int)M, G, (int)ld, 0.0, GH, (int)ld);
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < n; j++)
      GZ[i * ld + j] = GH[i * ld + j] * S1[i * ld + j];
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)d, (int)n, 1.0, GZ, (int)ld,
              X->data, (int)X->tda, 0.0, grad + net->offset[TL_NET_W1], (int)d);
  if (net->has_b1)
    tl_row_sums(GZ, M, n, ld, grad + net->offset[TL_NET_B1]);
}

int tl_net_forward(const tl_net *net, const gsl_vector *theta, const gsl_matrix *X,
                   tl_net_workspace *ws) {
  TL_TRY(tl_check_batch(net, theta, X, NULL, ws, "tl_net_forward"));
  tl_forward(net, theta->data, X, ws, 0);
  return TL_SUCCESS;
}

int tl_net_predict(const tl_net *net, const gsl_vector *theta, const gsl_matrix *X,
                   gsl_matrix *F, tl_net_workspace *ws) {
  TL_TRY(tl_check_batch(net, theta, X, F, ws, "tl_net_predict"));
  tl_forward(net, theta->data, X, ws, 0);
  gsl_matrix_const_view out = tl_net_workspace_output(ws, X->size2);
  gsl_matrix_memcpy(F, &out.matrix);
  return TL_SUCCESS;
}

int tl_net_loss(const tl_net *net, const tl_loss *loss, const gsl_vector *theta,
                const gsl_matrix *X, const gsl_matrix *Y, tl_net_workspace *ws, double *value) {
  TL_TRY(tl_check_batch(net, theta, X, Y, ws, "tl_net_loss"));
  tl_forward(net, theta->data, X, ws, 0);
  *value = tl_data_term(loss, Y, ws, 0) + tl_decay_term(net, loss, theta->data, NULL);
  return TL_SUCCESS;
}

/* Value and gradient into a stride-1 buffer; derivs = 2 keeps sigma'' and
 * l'' for a following R-pass. */
static double tl_loss_grad_raw(const tl_net *net, const tl_loss *loss, const double *theta,
                               const gsl_matrix *X, const gsl_matrix *Y, tl_net_workspace *ws,
                               double *grad, int derivs) {
  tl_forward(net, theta, X, ws, derivs);
  const double data = tl_data_term(loss, Y, ws, derivs);
  tl_backward(net, theta, X, ws, grad);
  return data + tl_decay_term(net, loss, theta, grad);
}

int tl_net_loss_grad(const tl_net *net, const tl_loss *loss, const gsl_vector *theta,
                     const gsl_matrix *X, const gsl_matrix *Y, tl_net_workspace *ws,
                     double *value, gsl_vector *grad) {
  TL_TRY(tl_check_batch(net, theta, X, Y, ws, "tl_net_loss_grad"));
  if (grad->size != net->p)
    TL_ERROR(GSL_EBADLEN, "tl_net_loss_grad: gradient has size %zu, need %zu", grad->size,
             net->p);
  if (grad->stride == 1) {
    *value = tl_loss_grad_raw(net, loss, theta->data, X, Y, ws, grad->data, 1);
  } else {
    *value = tl_loss_grad_raw(net, loss, theta->data, X, Y, ws, ws->grad_plus->data, 1);
    gsl_vector_memcpy(grad, ws->grad_plus);
  }
  return TL_SUCCESS;
}

/* ======================================================================== */
/* Hessian-vector product: the R-operator                                   */
/* ======================================================================== */

/* Given the forward/backward state of tl_loss_grad_raw(..., derivs = 2),
 * Hv = R{grad L}(v), differentiating every line of the forward and backward
 * pass along v = (V1, vb1, V2, vb2):
 *   RZ = V1 X + vb1 u^T,          RH = S1 o RZ,
 *   RF = c (V2 H + W2 RH) + vb2 u^T,  RG = alpha l''(F) o RF,
 *   R gW2 = c (RG H^T + G RH^T),  R gb2 = RG u,
 *   RGZ = c (V2^T G + W2^T RG) o S1 + GH o S2 o RZ,
 *   R gW1 = RGZ X^T,              R gb1 = RGZ u,
 * plus lambda v on the decayed blocks. */
static void tl_rop(const tl_net *net, const tl_loss *loss, const double *theta,
                   const gsl_matrix *X, tl_net_workspace *ws, const double *v, double *Hv) {
  const size_t d = net->d, M = net->M, Q = net->Q, n = X->size2, ld = ws->N;
  const int Mi = (int)M, Qi = (int)Q, ni = (int)n, di = (int)d, ldi = (int)ld;
  const double c = net->c;
  const double *W2 = theta + net->offset[TL_NET_W2];
  const double *V1 = v + net->offset[TL_NET_W1], *V2 = v + net->offset[TL_NET_W2];
  const double *H = ws->H->data, *S1 = ws->S1->data, *S2 = ws->S2->data, *G = ws->G->data,
               *GH = ws->GH->data, *L2 = ws->L2->data;
  double *RZ = ws->RZ->data, *RH = ws->RH->data, *RF = ws->RF->data, *RG = ws->RG->data,
         *RGZ = ws->RGZ->data;

  if (net->has_b1)
    tl_fill_rows(RZ, M, n, ld, v + net->offset[TL_NET_B1]);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Mi, ni, di, 1.0, V1, di, X->data,
              (int)X->tda, net->has_b1 ? 1.0 : 0.0, RZ, ldi);
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < n; j++)
      RH[i * ld + j] = S1[i * ld + j] * RZ[i * ld + j];

  if (net->has_b2)
    tl_fill_rows(RF, Q, n, ld, v + net->offset[TL_NET_B2]);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Qi, ni, Mi, c, V2, Mi, H, ldi,
              net->has_b2 ? 1.0 : 0.0, RF, ldi);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Qi, ni, Mi, c, W2, Mi, RH, ldi, 1.0, RF,
              ldi);
  for (size_t q = 0; q < Q; q++)
    for (size_t j = 0; j < n; j++)
      RG[q * ld + j] = (loss->kind == TL_LOSS_SQUARED ? 2.0 * loss->alpha : L2[q * ld + j]) *
                       RF[q * ld + j];

  double *HW2 = Hv + net->offset[TL_NET_W2];
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Qi, Mi, ni, c, RG, ldi, H, ldi, 0.0, HW2,
              Mi);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Qi, Mi, ni, c, G, ldi, RH, ldi, 1.0, HW2,
              Mi);
  if (net->has_b2)
    tl_row_sums(RG, Q, n, ld, Hv + net->offset[TL_NET_B2]);

  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Mi, ni, Qi, c, V2, Mi, G, ldi, 0.0, RGZ,
              ldi);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Mi, ni, Qi, c, W2, Mi, RG, ldi, 1.0, RGZ,
              ldi);
  const int curved = !tl_activation_is_piecewise_linear(net->act);
  for (size_t i = 0; i < M; i++)
    for (size_t j = 0; j < n; j++) {
      const size_t k = i * ld + j;
      RGZ[k] = RGZ[k] * S1[k] + (curved ? GH[k] * S2[k] * RZ[k] : 0.0);
    }
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Mi, di, ni, 1.0, RGZ, ldi, X->data,
              (int)X->tda, 0.0, Hv + net->offset[TL_NET_W1], di);
  if (net->has_b1)
    tl_row_sums(RGZ, M, n, ld, Hv + net->offset[TL_NET_B1]);

  if (loss->lambda != 0.0)
    for (int b = 0; b < TL_NET_NBLOCKS; b++)
      if ((loss->decay & (1u << b)) && net->size[b] != 0)
        for (size_t i = 0; i < net->size[b]; i++)
          Hv[net->offset[b] + i] += loss->lambda * v[net->offset[b] + i];
}

int tl_net_hessian_vector(const tl_net *net, const tl_loss *loss, const gsl_vector *theta,
                          const gsl_matrix *X, const gsl_matrix *Y, const gsl_vector *v,
                          gsl_vector *Hv, tl_net_workspace *ws) {
  TL_TRY(tl_check_batch(net, theta, X, Y, ws, "tl_net_hessian_vector"));
  if (v->size != net->p || Hv->size != net->p)
    TL_ERROR(GSL_EBADLEN, "tl_net_hessian_vector: v and Hv must have size %zu", net->p);
  /* grad_minus receives the (unused) gradient; strided v and Hv go through
   * theta_work and grad_plus. */
  tl_loss_grad_raw(net, loss, theta->data, X, Y, ws, ws->grad_minus->data, 2);
  const double *vd = v->data;
  if (v->stride != 1) {
    gsl_vector_memcpy(ws->theta_work, v);
    vd = ws->theta_work->data;
  }
  if (Hv->stride == 1) {
    tl_rop(net, loss, theta->data, X, ws, vd, Hv->data);
  } else {
    tl_rop(net, loss, theta->data, X, ws, vd, ws->grad_plus->data);
    gsl_vector_memcpy(Hv, ws->grad_plus);
  }
  return TL_SUCCESS;
}

static void tl_symmetrise(gsl_matrix *A) {
  for (size_t i = 0; i < A->size1; i++)
    for (size_t j = i + 1; j < A->size2; j++) {
      const double a = 0.5 * (gsl_matrix_get(A, i, j) + gsl_matrix_get(A, j, i));
      gsl_matrix_set(A, i, j, a);
      gsl_matrix_set(A, j, i, a);
    }
}

int tl_net_hessian(const tl_net *net, const tl_loss *loss, const gsl_vector *theta,
                   const gsl_matrix *X, const gsl_matrix *Y, gsl_matrix *Hess,
                   tl_net_workspace *ws) {
  TL_TRY(tl_check_batch(net, theta, X, Y, ws, "tl_net_hessian"));
  const size_t p = net->p;
  if (Hess->size1 != p || Hess->size2 != p)
    TL_ERROR(GSL_EBADLEN, "tl_net_hessian: Hessian must be %zu x %zu", p, p);
  tl_loss_grad_raw(net, loss, theta->data, X, Y, ws, ws->grad_minus->data, 2);
  double *e = ws->theta_work->data, *column = ws->grad_plus->data;
  memset(e, 0, p * sizeof *e);
  for (size_t k = 0; k < p; k++) {
    e[k] = 1.0;
    tl_rop(net, loss, theta->data, X, ws, e, column);
    e[k] = 0.0;
    for (size_t i = 0; i < p; i++)
      gsl_matrix_set(Hess, i, k, column[i]);
  }
  /* Exact in exact arithmetic; rounding differs between H_ik and H_ki. */
  tl_symmetrise(Hess);
  return TL_SUCCESS;
}

/* ======================================================================== */
/* Central differences                                                      */
/* ======================================================================== */

int tl_net_gradient_fd(const tl_net *net, const tl_loss *loss, const gsl_vector *theta,
                       const gsl_matrix *X, const gsl_matrix *Y, double h, gsl_vector *grad,
                       tl_net_workspace *ws) {
  TL_TRY(tl_check_batch(net, theta, X, Y, ws, "tl_net_gradient_fd"));
  if (grad->size != net->p || !(h > 0.0))
    TL_ERROR(GSL_EINVAL, "tl_net_gradient_fd: gradient size %zu (need %zu), step %g",
             grad->size, net->p, h);
  gsl_vector *t = ws->theta_work;
  gsl_vector_memcpy(t, theta);
  for (size_t k = 0; k < net->p; k++) {
    const double tk = gsl_vector_get(theta, k);
    double fp = 0.0, fm = 0.0;
    gsl_vector_set(t, k, tk + h);
    tl_net_loss(net, loss, t, X, Y, ws, &fp);
    gsl_vector_set(t, k, tk - h);
    tl_net_loss(net, loss, t, X, Y, ws, &fm);
    gsl_vector_set(t, k, tk);
    gsl_vector_set(grad, k, (fp - fm) / ((tk + h) - (tk - h)));
  }
  return TL_SUCCESS;
}

int tl_net_hessian_fd(const tl_net *net, const tl_loss *loss, const gsl_vector *theta,
                      const gsl_matrix *X, const gsl_matrix *Y, double h, gsl_matrix *Hess,
                      tl_net_workspace *ws) {
  TL_TRY(tl_check_batch(net, theta, X, Y, ws, "tl_net_hessian_fd"));
  const size_t p = net->p;
  if (Hess->size1 != p || Hess->size2 != p || !(h > 0.0))
    TL_ERROR(GSL_EINVAL, "tl_net_hessian_fd: Hessian must be %zu x %zu, step > 0", p, p);
  double *t = ws->theta_work->data, *gp = ws->grad_plus->data, *gm = ws->grad_minus->data;
  memcpy(t, theta->data, p * sizeof *t);
  for (size_t k = 0; k < p; k++) {
    const double tk = theta->data[k];
    t[k] = tk + h;
    tl_loss_grad_raw(net, loss, t, X, Y, ws, gp, 1);
    t[k] = tk - h;
    tl_loss_grad_raw(net, loss, t, X, Y, ws, gm, 1);
    t[k] = tk;
    const double step = (tk + h) - (tk - h);
    for (size_t i = 0; i < p; i++)
      gsl_matrix_set(Hess, i, k, (gp[i] - gm[i]) / step);
  }
  tl_symmetrise(Hess);
  return TL_SUCCESS;
}

/* ======================================================================== */
/* Tied output bias                                                         */
/* ======================================================================== */

size_t tl_net_tied_size(const tl_net *net) {
  return net->has_b1 && net->has_b2 ? net->p - net->Q : 0;
}

int tl_net_tied_expand(const tl_net *net, const gsl_vector *theta_tied, gsl_vector *theta) {
  if (!net->has_b1 || !net->has_b2)
    TL_ERROR(GSL_EINVAL, "tl_net_tied_expand: the tied model needs both biases");
  TL_TRY(tl_check_theta(net, theta, "tl_net_tied_expand"));
  const size_t pt = tl_net_tied_size(net);
  if (theta_tied->size != pt)
    TL_ERROR(GSL_EBADLEN, "tl_net_tied_expand: tied parameters have size %zu, need %zu",
             theta_tied->size, pt);
  gsl_vector_view head = gsl_vector_subvector(theta, 0, pt);
  gsl_vector_memcpy(&head.vector, theta_tied);
  gsl_matrix_const_view W2 = tl_net_W2_const(net, theta);
  gsl_vector_const_view b1 = tl_net_b1_const(net, theta);
  gsl_vector_view b2 = tl_net_b2(net, theta);
  gsl_blas_dgemv(CblasNoTrans, -net->c, &W2.matrix, &b1.vector, 0.0, &b2.vector);
  return TL_SUCCESS;
}

int tl_net_tied_gradient(const tl_net *net, const gsl_vector *theta, const gsl_vector *grad,
                         gsl_vector *grad_tied) {
  if (!net->has_b1 || !net->has_b2)
    TL_ERROR(GSL_EINVAL, "tl_net_tied_gradient: the tied model needs both biases");
  TL_TRY(tl_check_theta(net, theta, "tl_net_tied_gradient"));
  const size_t pt = tl_net_tied_size(net);
  if (grad->size != net->p || grad_tied->size != pt)
    TL_ERROR(GSL_EBADLEN, "tl_net_tied_gradient: sizes %zu and %zu, need %zu and %zu",
             grad->size, grad_tied->size, net->p, pt);
  gsl_vector_const_view head = gsl_vector_const_subvector(grad, 0, pt);
  gsl_vector_memcpy(grad_tied, &head.vector);
  gsl_matrix_const_view W2 = tl_net_W2_const(net, theta);
  gsl_vector_const_view b1 = tl_net_b1_const(net, theta);
  gsl_vector_const_view gb2 = gsl_vector_const_subvector(grad, net->offset[TL_NET_B2], net->Q);
  gsl_vector_view gb1 = gsl_vector_subvector(grad_tied, net->offset[TL_NET_B1], net->M);
  gsl_vector_view gW2flat = gsl_vector_subvector(grad_tied, net->offset[TL_NET_W2],
                                                 net->size[TL_NET_W2]);
  gsl_matrix_view gW2 = gsl_matrix_view_vector(&gW2flat.vector, net->Q, net->M);
  /* d b2 / d b1 = -c W2 and d b2_q / d (W2)_qm = -c (b1)_m. */
  gsl_blas_dgemv(CblasTrans, -net->c, &W2.matrix, &gb2.vector, 1.0, &gb1.vector);
  gsl_blas_dger(-net->c, &gb2.vector, &b1.vector, &gW2.matrix);
  return TL_SUCCESS;
}

/* ======================================================================== */
/* Objective adapter                                                        */
/* ======================================================================== */

tl_net_objective *tl_net_objective_alloc(const tl_net *net, const tl_loss *loss,
                                         const gsl_matrix *X, const gsl_matrix *Y, int tied,
                                         size_t batch_max) {
  if (X->size1 != net->d || Y->size1 != net->Q || Y->size2 != X->size2 || X->size2 == 0)
    TL_ERROR_NULL(GSL_EBADLEN, "tl_net_objective_alloc: X %zu x %zu, Y %zu x %zu", X->size1,
                  X->size2, Y->size1, Y->size2);
  if (tied && tl_net_tied_size(net) == 0)
    TL_ERROR_NULL(GSL_EINVAL, "tl_net_objective_alloc: the tied model needs both biases");
  if (batch_max > X->size2)
    TL_ERROR_NULL(GSL_EINVAL, "tl_net_objective_alloc: batch_max %zu exceeds N = %zu",
                  batch_max, X->size2);
  tl_net_objective *obj = calloc(1, sizeof *obj);
  if (obj == NULL)
    TL_ERROR_NULL(GSL_ENOMEM, "tl_net_objective_alloc: out of memory");
  obj->net = net;
  obj->loss = loss;
  obj->X = X;
  obj->Y = Y;
  obj->tied = tied != 0;
  obj->batch_max = batch_max;
  obj->ws = tl_net_workspace_alloc(net, X->size2);
  obj->theta = gsl_vector_calloc(net->p);
  obj->grad = gsl_vector_calloc(net->p);
  int ok = obj->ws != NULL && obj->theta != NULL && obj->grad != NULL;
  if (ok && batch_max > 0) {
    obj->Xb = gsl_matrix_alloc(net->d, batch_max);
    obj->Yb = gsl_matrix_alloc(net->Q, batch_max);
    ok = obj->Xb != NULL && obj->Yb != NULL;
  }
  if (!ok) {
    tl_net_objective_free(obj);
    TL_ERROR_NULL(GSL_ENOMEM, "tl_net_objective_alloc: out of memory");
  }
  return obj;
}

void tl_net_objective_free(tl_net_objective *obj) {
  if (obj == NULL)
    return;
  tl_net_workspace_free(obj->ws);
  gsl_vector_free(obj->theta);
  gsl_vector_free(obj->grad);
  if (obj->Xb != NULL)
    gsl_matrix_free(obj->Xb);
  if (obj->Yb != NULL)
    gsl_matrix_free(obj->Yb);
  free(obj);
}

/* The full parameter vector for x: x itself, or its tied expansion. */
static int tl_objective_theta(tl_net_objective *obj, const gsl_vector *x,
                              const gsl_vector **theta) {
  if (!obj->tied) {
    *theta = x;
    return TL_SUCCESS;
  }
  TL_TRY(tl_net_tied_expand(obj->net, x, obj->theta));
  *theta = obj->theta;
  return TL_SUCCESS;
}

static int tl_objective_fdf_on(tl_net_objective *obj, const tl_loss *loss, const gsl_vector *x,
                               const gsl_matrix *X, const gsl_matrix *Y, double *f,
                               gsl_vector *g) {
  const gsl_vector *theta = NULL;
  TL_TRY(tl_objective_theta(obj, x, &theta));
  if (!obj->tied)
    return tl_net_loss_grad(obj->net, loss, theta, X, Y, obj->ws, f, g);
  TL_TRY(tl_net_loss_grad(obj->net, loss, theta, X, Y, obj->ws, f, obj->grad));
  return tl_net_tied_gradient(obj->net, theta, obj->grad, g);
}

static int tl_objective_f(const gsl_vector *x, void *params, double *f) {
  tl_net_objective *obj = params;
  const gsl_vector *theta = NULL;
  TL_TRY(tl_objective_theta(obj, x, &theta));
  return tl_net_loss(obj->net, obj->loss, theta, obj->X, obj->Y, obj->ws, f);
}

static int tl_objective_fdf(const gsl_vector *x, void *params, double *f, gsl_vector *g) {
  tl_net_objective *obj = params;
  return tl_objective_fdf_on(obj, obj->loss, x, obj->X, obj->Y, f, g);
}

static int tl_objective_df(const gsl_vector *x, void *params, gsl_vector *g) {
  double f = 0.0;
  return tl_objective_fdf(x, params, &f, g);
}

static int tl_objective_batch_fdf(const gsl_vector *x, void *params, const size_t *batch,
                                  size_t batch_size, double *f, gsl_vector *g) {
  tl_net_objective *obj = params;
  const size_t N = obj->X->size2;
  if (batch_size == 0 || batch_size > obj->batch_max)
    TL_ERROR(GSL_EBADLEN, "tl_net_objective: batch of %zu, capacity %zu", batch_size,
             obj->batch_max);
  for (size_t i = 0; i < batch_size; i++) {
    const size_t col = batch[i];
    if (col >= N)
      TL_ERROR(GSL_EINVAL, "tl_net_objective: batch index %zu >= N = %zu", col, N);
    for (size_t r = 0; r < obj->X->size1; r++)
      gsl_matrix_set(obj->Xb, r, i, gsl_matrix_get(obj->X, r, col));
    for (size_t r = 0; r < obj->Y->size1; r++)
      gsl_matrix_set(obj->Yb, r, i, gsl_matrix_get(obj->Y, r, col));
  }
  gsl_matrix_const_view Xb = gsl_matrix_const_submatrix(obj->Xb, 0, 0, obj->Xb->size1,
                                                        batch_size);
  gsl_matrix_const_view Yb = gsl_matrix_const_submatrix(obj->Yb, 0, 0, obj->Yb->size1,
                                                        batch_size);
  tl_loss scaled = *obj->loss;
  scaled.alpha *= (double)N / (double)batch_size;
  return tl_objective_fdf_on(obj, &scaled, x, &Xb.matrix, &Yb.matrix, f, g);
}

tl_opt_function tl_net_objective_function(tl_net_objective *obj) {
  tl_opt_function fn;
  fn.f = tl_objective_f;
  fn.df = tl_objective_df;
  fn.fdf = tl_objective_fdf;
  fn.batch_fdf = obj->batch_max > 0 ? tl_objective_batch_fdf : NULL;
  fn.n = obj->tied ? tl_net_tied_size(obj->net) : obj->net->p;
  fn.n_samples = obj->X->size2;
  fn.params = obj;
  return fn;
}

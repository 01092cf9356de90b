/* tl_net: the two-layer network y = c W2 sigma(W1 x + b1) + b2, its loss,
 * gradient and Hessian over a batch.
 *
 * This is the model of all five chapters (chapter 1 §2: sigma = ReLU, M x M
 * first layer, free or tied b2; chapter 2: no biases, decay on all weights;
 * chapter 4: sigmoid/tanh/softplus, logistic loss; chapter 5: no bias, output
 * scale c = m^-1/2).  Sizes: input dimension d, width M, outputs Q.
 *
 * Parameters live in one contiguous gsl_vector theta (stride 1), blocks in
 * this order, absent biases dropped:
 *     [ W1 (M x d, row-major) | b1 (M) | W2 (Q x M, row-major) | b2 (Q) ]
 * so p = M d + M [has_b1] + Q M + Q [has_b2].  The tl_net_W1 ... views alias
 * theta; an absent block has a view of size 0 and data NULL.
 *
 * Data are columns: X is d x N, targets Y are Q x N.  Over a batch the
 * network is three matrix products (chapter 1 §3.6):
 *     Z = W1 X + b1 u^T,  H = sigma(Z),  F = c W2 H + b2 u^T,
 * and the loss is
 *     L(theta) = alpha sum_{q,n} l(F_qn, Y_qn) + (lambda/2) |theta_D|^2,
 * with l(f,y) = (f - y)^2 (squared; alpha = 1/N gives chapter 1's C^2) or
 * l(f,y) = log(1 + exp(-y f)) (logistic, y = +-1; chapter 4), and theta_D
 * the blocks selected by the decay mask.  With G = alpha l'(F) (= 2 alpha
 * (F - Y) for the squared loss), backpropagation is
 *     grad W2 = c G H^T,  grad b2 = G u,  G_Z = (c W2^T G) o sigma'(Z),
 *     grad W1 = G_Z X^T,  grad b1 = G_Z u,
 * five dgemm calls in all with the forward pass.  The Hessian-vector product
 * is exact (Pearlmutter's R-operator, using sigma''; for ReLU sigma'' = 0,
 * which is the Hessian wherever no pre-activation is exactly 0).
 *
 * All batch routines work in a caller-owned workspace (tl_net_workspace_alloc
 * for at most N samples; any batch of n <= N columns may be passed) and do not
 * allocate.  Status codes: GSL_EBADLEN for sizes that do not fit the network
 * or workspace, GSL_EINVAL for bad arguments.  A non-finite loss is returned
 * as a value, not as an error: optimizers decide what divergence means.
 */
#ifndef TL_NET_H
#define TL_NET_H

#include <stddef.h>

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_vector.h>

#include "tl_opt.h"

/* ------------------------------------------------------------------------ */
/* Activations                                                              */
/* ------------------------------------------------------------------------ */

typedef enum {
  TL_ACT_RELU = 0,   /* max(z, 0); sigma' = 1[z > 0], sigma'' = 0 */
  TL_ACT_LEAKY_RELU, /* z for z > 0, slope * z otherwise */
  TL_ACT_SIGMOID,    /* 1 / (1 + e^-z) */
  TL_ACT_TANH,
  TL_ACT_SOFTPLUS,   /* log(1 + e^z) */
  TL_ACT_IDENTITY
} tl_activation_kind;

typedef struct {
  tl_activation_kind kind;
  double slope; /* leaky ReLU only: the slope alpha for z <= 0 */
} tl_activation;

/* sigma(z), sigma'(z), sigma''(z), in numerically stable forms: the sigmoid
 * by a sign branch (never exp of a large positive number), softplus as
 * max(z, 0) + log1p(exp(-|z|)).  At the ReLU kink z = 0, sigma' = 0 (the
 * convention 1[z > 0] of chapters 1, 2 and 5). */
double tl_activation_value(tl_activation a, double z);
double tl_activation_d1(tl_activation a, double z);
double tl_activation_d2(tl_activation a, double z);

/* "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "identity". */
const char *tl_activation_name(tl_activation_kind kind);
/* Inverse of tl_activation_name; GSL_EINVAL for an unknown name. */
int tl_activation_parse(const char *name, tl_activation_kind *kind);

/* The logistic function, stably: 1/(1+e^-z) for z >= 0, e^z/(1+e^z) else. */
double tl_sigmoid(double z);

/* ------------------------------------------------------------------------ */
/* The network                                                              */
/* ------------------------------------------------------------------------ */

typedef enum { TL_NET_W1 = 0, TL_NET_B1 = 1, TL_NET_W2 = 2, TL_NET_B2 = 3 } tl_net_block;
enum { TL_NET_NBLOCKS = 4 };

/* Decay masks: bit b selects block b. */
enum {
  TL_NET_DECAY_NONE = 0u,
  TL_NET_DECAY_W1 = 1u << TL_NET_W1,
  TL_NET_DECAY_B1 = 1u << TL_NET_B1,
  TL_NET_DECAY_W2 = 1u << TL_NET_W2,
  TL_NET_DECAY_B2 = 1u << TL_NET_B2,
  TL_NET_DECAY_WEIGHTS = (1u << TL_NET_W1) | (1u << TL_NET_W2),
  TL_NET_DECAY_ALL = 15u
};

typedef struct {
  int has_b1, has_b2; /* default 1, 1 */
  double c;           /* output scale; default 1 */
  tl_activation act;  /* default ReLU */
} tl_net_options;

tl_net_options tl_net_options_default(void);

typedef struct {
  size_t d, M, Q, p;
  int has_b1, has_b2;
  double c;
  tl_activation act;
  size_t offset[TL_NET_NBLOCKS]; /* start of each block in theta (p if absent) */
  size_t size[TL_NET_NBLOCKS];   /* length of each block (0 if absent) */
} tl_net;

/* opts NULL means tl_net_options_default(). */
tl_net *tl_net_alloc(size_t d, size_t M, size_t Q, const tl_net_options *opts);
void tl_net_free(tl_net *net);

/* Views of the blocks of theta (which must have size p and stride 1).  The
 * const variants return GSL's underlying view type, as GSL's own
 * gsl_matrix_const_submatrix does (the typedef adds a const qualifier that a
 * return type would ignore). */
gsl_matrix_view tl_net_W1(const tl_net *net, gsl_vector *theta);
gsl_vector_view tl_net_b1(const tl_net *net, gsl_vector *theta);
gsl_matrix_view tl_net_W2(const tl_net *net, gsl_vector *theta);
gsl_vector_view tl_net_b2(const tl_net *net, gsl_vector *theta);
_gsl_matrix_const_view tl_net_W1_const(const tl_net *net, const gsl_vector *theta);
_gsl_vector_const_view tl_net_b1_const(const tl_net *net, const gsl_vector *theta);
_gsl_matrix_const_view tl_net_W2_const(const tl_net *net, const gsl_vector *theta);
_gsl_vector_const_view tl_net_b2_const(const tl_net *net, const gsl_vector *theta);
/* Any block as a flat vector. */
gsl_vector_view tl_net_block_vector(const tl_net *net, gsl_vector *theta, tl_net_block block);

/* Gaussian initialisation from rng: W1 entries N(0, var_W1) in row-major
 * order, then W2 entries N(0, var_W2), biases 0 (chapter 1 §3.7 uses
 * var_W1 = 2/M, var_W2 = 1/M; chapter 2 §3.7 uses 0.25/d and 0.25/m). */
int tl_net_init_gaussian(const tl_net *net, gsl_vector *theta, gsl_rng *rng, double var_W1,
                         double var_W2);
/* He initialisation: var_W1 = 2/d (fan-in), var_W2 = 1/M; equals chapter 1's
 * choice there because d = M. */
int tl_net_init_he(const tl_net *net, gsl_vector *theta, gsl_rng *rng);

/* ------------------------------------------------------------------------ */
/* Loss                                                                     */
/* ------------------------------------------------------------------------ */

typedef enum {
  TL_LOSS_SQUARED = 0, /* l = (f - y)^2 */
  TL_LOSS_LOGISTIC = 1 /* l = log(1 + exp(-y f)), y = +-1 */
} tl_loss_kind;

typedef struct {
  tl_loss_kind kind;
  double alpha;   /* scale of the data term: 1/N (chapter 1), 1/2 (chapter 2) */
  double lambda;  /* weight decay */
  unsigned decay; /* TL_NET_DECAY_* mask of the blocks under decay */
} tl_loss;

/* alpha sum (f - y)^2, no decay. */
tl_loss tl_loss_squared(double alpha);

/* ------------------------------------------------------------------------ */
/* Batch computations                                                       */
/* ------------------------------------------------------------------------ */

typedef struct {
  size_t N;                 /* capacity in samples; matrices below have tda N */
  size_t d, M, Q, p;
  gsl_matrix *Z, *H, *S1, *S2; /* M x N: pre-activation, sigma, sigma', sigma'' */
  gsl_matrix *F, *G, *L2;      /* Q x N: output, alpha l'(F), alpha l''(F) */
  gsl_matrix *GH, *GZ;         /* M x N: c W2^T G and G_Z */
  gsl_matrix *RZ, *RH, *RF, *RG, *RGZ; /* R-operator buffers */
  gsl_vector *theta_work, *grad_plus, *grad_minus; /* p: finite differences, Hessians */
} tl_net_workspace;

tl_net_workspace *tl_net_workspace_alloc(const tl_net *net, size_t N);
void tl_net_workspace_free(tl_net_workspace *ws);

/* Forward pass over the n = X->size2 columns of X (d x n, n <= N).  The
 * output F is the Q x n view tl_net_workspace_output(ws, n), valid until the
 * next call. */
int tl_net_forward(const tl_net *net, const gsl_vector *theta, const gsl_matrix *X,
                   tl_net_workspace *ws);
_gsl_matrix_const_view tl_net_workspace_output(const tl_net_workspace *ws, size_t n);

/* Forward pass into the caller's F (Q x n). */
int tl_net_predict(const tl_net *net, const gsl_vector *theta, const gsl_matrix *X,
                   gsl_matrix *F, tl_net_workspace *ws);

/* L(theta) on (X, Y). */
int tl_net_loss(const tl_net *net, const tl_loss *loss, const gsl_vector *theta,
                const gsl_matrix *X, const gsl_matrix *Y, tl_net_workspace *ws, double *value);

/* L(theta) and its gradient (size p) in one pass. */
int tl_net_loss_grad(const tl_net *net, const tl_loss *loss, const gsl_vector *theta,
                     const gsl_matrix *X, const gsl_matrix *Y, tl_net_workspace *ws,
                     double *value, gsl_vector *grad);

/* Exact Hessian-vector product Hv = (d^2 L) v by the R-operator. */
int tl_net_hessian_vector(const tl_net *net, const tl_loss *loss, const gsl_vector *theta,
                          const gsl_matrix *X, const gsl_matrix *Y, const gsl_vector *v,
                          gsl_vector *Hv, tl_net_workspace *ws);

/* Dense Hessian (p x p) from p exact Hessian-vector products (one forward and
 * backward pass, then p R-passes), symmetrised. */
int tl_net_hessian(const tl_net *net, const tl_loss *loss, const gsl_vector *theta,
                   const gsl_matrix *X, const gsl_matrix *Y, gsl_matrix *Hess,
                   tl_net_workspace *ws);

/* Central differences, step h per coordinate: of the loss (gradient) and of
 * the analytic gradient (Hessian, symmetrised; chapter 1 §3.6 with
 * h = hess_h much smaller than the ReLU margin, so no activation pattern
 * changes).  theta is not modified. */
int tl_net_gradient_fd(const tl_net *net, const tl_loss *loss, const gsl_vector *theta,
                       const gsl_matrix *X, const gsl_matrix *Y, double h, gsl_vector *grad,
                       tl_net_workspace *ws);
int tl_net_hessian_fd(const tl_net *net, const tl_loss *loss, const gsl_vector *theta,
                      const gsl_matrix *X, const gsl_matrix *Y, double h, gsl_matrix *Hess,
                      tl_net_workspace *ws);

/* ------------------------------------------------------------------------ */
/* Tied output bias (chapter 1 §2): b2 := -c W2 b1                          */
/* ------------------------------------------------------------------------ */

/* The tied model's parameters are theta without its b2 block, i.e. the first
 * p - Q entries [W1 | b1 | W2]; it needs both biases.  With c = 1 this is the
 * spec's b2 = -W2 b1, so that on the all-active region the network is
 * x -> c W2 W1 x. */
size_t tl_net_tied_size(const tl_net *net);

/* theta (size p) from theta_tied (size p - Q). */
int tl_net_tied_expand(const tl_net *net, const gsl_vector *theta_tied, gsl_vector *theta);

/* Chain rule: the gradient of the tied loss at theta (a tied point) from the
 * full gradient: grad W1 unchanged, grad b1 - c W2^T grad b2,
 * grad W2 - c grad b2 b1^T (chapter 1 §3.6, "The tied model uses ..."). */
int tl_net_tied_gradient(const tl_net *net, const gsl_vector *theta, const gsl_vector *grad,
                         gsl_vector *grad_tied);

/* ------------------------------------------------------------------------ */
/* Objective adapter for tl_opt                                             */
/* ------------------------------------------------------------------------ */

/* Binds a network, a loss and a data set into a tl_opt_function: x is theta
 * (size p), or theta_tied (size p - Q) when tied.  batch_fdf evaluates the
 * loss on the listed columns with alpha scaled by n / batch_size, so that the
 * minibatch gradient of the data term is unbiased (chapter 2 §3.7); the decay
 * term is not scaled.  batch_max bounds the batch size (0 if no SGD).  The
 * network, loss and data are borrowed and must outlive the objective. */
typedef struct {
  const tl_net *net;
  const tl_loss *loss;
  const gsl_matrix *X, *Y;
  int tied;
  size_t batch_max;
  tl_net_workspace *ws;
  gsl_vector *theta, *grad; /* tied expansion, full gradient */
  gsl_matrix *Xb, *Yb;      /* gathered minibatch (d x batch_max, Q x batch_max) */
} tl_net_objective;

tl_net_objective *tl_net_objective_alloc(const tl_net *net, const tl_loss *loss,
                                         const gsl_matrix *X, const gsl_matrix *Y, int tied,
                                         size_t batch_max);
void tl_net_objective_free(tl_net_objective *obj);

/* The callbacks, with params = obj. */
tl_opt_function tl_net_objective_function(tl_net_objective *obj);

#endif

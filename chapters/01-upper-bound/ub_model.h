/* Chapter 01 (upper-bound): class statistics (spec 3.1), the construction
 * (3.2), metrization quantities (3.3), least squares (3.4) and the M = Q
 * closed forms (3.5).  The two-layer network itself (forward pass, cost,
 * gradient) is tl_net's; this file builds its weights. */
#ifndef UB_MODEL_H
#define UB_MODEL_H

#include <gsl/gsl_matrix.h>
#include <gsl/gsl_vector.h>

#include "tl_linalg.h"
#include "tl_net.h"
#include "ub_data.h"

/* Sabotages of spec section 6 that act inside this file. */
typedef struct {
  int b2_zero, drop_bias, pen_norm_smax, mean_first_sample, forget_Rinv, w1_no_projection,
      y_transpose, pen_transpose, D_identity, D_identity_literal, lstsq_no_intercept,
      free_intercept, gap_squared_cost;
} ub_faults;

/* 3.1: class statistics of the inputs X0 of a data set. */
typedef struct {
  size_t M, Q, N;
  gsl_matrix *Xbar; /* empirical class averages, M x Q */
  gsl_matrix *U;    /* left singular vectors of Xbar, M x Q */
  gsl_vector *s;    /* singular values, descending */
  gsl_matrix *V;    /* right singular vectors, Q x Q */
  gsl_matrix *Pen;  /* (Xbar^T Xbar)^{-1} Xbar^T = V S^{-1} U^T, Q x M */
  gsl_matrix *dX;   /* Delta X = X0 - Xbar E, M x N */
  gsl_matrix *UtdX; /* U^T Delta X, Q x N: |P dx| = |U^T dx| */
  gsl_matrix *PendX; /* Pen Delta X, Q x N */
  double smin, smax, pen_norm;
  double delta, delta_P, delta_P_rms, delta_tilde;
  tl_linalg_svd_workspace *svd; /* Q x Q and M x Q SVDs */
  tl_linalg_svd_workspace *svdQM;
} ub_stats;

int ub_stats_alloc(ub_stats **out, size_t M, size_t Q, size_t N);
void ub_stats_free(ub_stats *st);
int ub_stats_compute(ub_stats *st, const ub_data *d, const gsl_matrix *X0, const ub_faults *f);

/* Label-dependent norms: ||Y Pen||, ||Y||, the closed form C* = N^{-1/2}
 * ||Y Pen Delta X||_F and the bounds of 3.2. */
typedef struct {
  double ypen_norm, y_norm, cost_closed;
  double bound_rms, bound_sup, bound_chain, bound_tilde;
  double min_label_dist, max_label_norm, max_label_dist;
} ub_label_stats;

int ub_label_stats_compute(ub_label_stats *ls, const ub_stats *st, const gsl_matrix *Y);

/* The network's weights, as views into one parameter vector laid out as
 * tl_net's: [W1 (M x M row-major), b1 (M), W2 (Q x M row-major), b2 (Q)]. */
typedef struct {
  size_t M, Q;
  gsl_vector *theta;
  gsl_matrix_view W1, W2;
  gsl_vector_view b1, b2;
  double beta_min, beta;
} ub_net;

int ub_net_alloc(ub_net **out, size_t M, size_t Q);
void ub_net_free(ub_net *n);

/* beta_min = max(0, max_{m,i} -(W1 x_i)_m) over the columns of X0. */
double ub_beta_min(const gsl_matrix *W1, const gsl_matrix *X0);

/* 3.2 construction with rotation R (NULL: identity).  beta = beta_min +
 * margin when beta_factor is NaN, else beta_factor * beta_min. */
int ub_construct(ub_net *net, const ub_stats *st, const gsl_matrix *Y, const gsl_matrix *R,
                 const gsl_matrix *X0, double margin, double beta_factor, const ub_faults *f);

/* C^2 and its gradient over a data set through tl_net: a workspace sized
 * once, so that gradient descent allocates nothing in its loop. */
typedef struct ub_objective ub_objective;
int ub_objective_alloc(ub_objective **out, const ub_data *d, const gsl_matrix *X0,
                       const gsl_matrix *Y);
void ub_objective_free(ub_objective *o);
/* c2 = C^2(theta); grad (may be NULL) receives its gradient. */
int ub_objective_eval(ub_objective *o, const gsl_vector *theta, double *c2, gsl_vector *grad);
/* The tl_net behind the objective (layout, tied-model helpers). */
const tl_net *ub_objective_net(const ub_objective *o);

/* The network's outputs F = W2 relu(W1 X + b1) + b2 (Q x ncols). */
int ub_net_outputs(const ub_net *net, const gsl_matrix *X, gsl_matrix *F);
/* inside[t] = 1 when column t of X lies in the linear region W1 x + b1 >= 0. */
int ub_region_flags(const ub_net *net, const gsl_matrix *X, unsigned char *inside);
/* C = N^{-1/2} ||F - Y E||_F through tl_net's loss (the forward pass), on
 * the inputs and labels the objective was made for. */
int ub_net_cost(const ub_net *net, ub_objective *obj, double *cost);

/* 3.4: C_int (with the column of ones) or C_noint by dgelsd_; A (Q x M) and
 * c (Q) receive the fitted map when not NULL.  rank is that of the design. */
int ub_lstsq_cost(const ub_data *d, const gsl_matrix *X0, const gsl_matrix *Y, int intercept,
                  double rcond, double *cost, gsl_matrix *A, gsl_vector *c, size_t *rank);

/* 3.5: the M = Q tied closed forms. */
typedef struct {
  double cost_star, cost_tied, g2, rho, K_norm, ratio_lower, kappa, kappa_P;
  double cost_noint, cost_int, cost_tied_fwd;
} ub_mq;

int ub_mq_compute(ub_mq *out, const ub_data *d, const ub_stats *st, const gsl_matrix *Y,
                  ub_objective *obj, double margin, double rcond, const ub_faults *f);

/* Affine map x -> A x + c realised by the network with W1 = R, b1 = beta u,
 * W2 = A R^T, b2 = c - W2 b1 (tied: c = 0 means b2 = -W2 b1). */
int ub_net_from_affine(ub_net *net, const gsl_matrix *A, const gsl_vector *c,
                       const gsl_matrix *R, const gsl_matrix *X0, double margin);

#endif

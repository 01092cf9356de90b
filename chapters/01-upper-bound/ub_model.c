/* Chapter 01 (upper-bound): statistics, construction, least squares and the
 * M = Q closed forms; see ub_model.h and spec sections 3.1 to 3.5. */
#include "ub_model.h"

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_blas.h>

#include "tl_error.h"

/* Largest Euclidean norm and mean squared norm of the columns of A, walked
 * row by row (contiguous in GSL's row-major layout). */
static void ub_column_norms(const gsl_matrix *A, double *max_norm, double *mean_sq) {
  size_t N = A->size2;
  double *sq = calloc(N, sizeof *sq);
  if (!sq) {
    *max_norm = *mean_sq = NAN;
    return;
  }
  for (size_t m = 0; m < A->size1; m++) {
    const double *row = A->data + m * A->tda;
    for (size_t n = 0; n < N; n++)
      sq[n] += row[n] * row[n];
  }
  double mx = 0, sum = 0;
  for (size_t n = 0; n < N; n++) {
    mx = tl_max_nan(mx, sq[n]);
    sum += sq[n];
  }
  free(sq);
  *max_norm = sqrt(mx);
  *mean_sq = N ? sum / (double)N : 0.0;
}

int ub_stats_alloc(ub_stats **out, size_t M, size_t Q, size_t N) {
  ub_stats *st = calloc(1, sizeof *st);
  *out = NULL;
  if (!st)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  st->M = M;
  st->Q = Q;
  st->N = N;
  st->Xbar = gsl_matrix_alloc(M, Q);
  st->U = gsl_matrix_alloc(M, Q);
  st->s = gsl_vector_alloc(Q);
  st->V = gsl_matrix_alloc(Q, Q);
  st->Pen = gsl_matrix_alloc(Q, M);
  st->dX = gsl_matrix_alloc(M, N);
  st->UtdX = gsl_matrix_alloc(Q, N);
  st->PendX = gsl_matrix_alloc(Q, N);
  st->svd = tl_linalg_svd_alloc(Q, Q);
  st->svdQM = tl_linalg_svd_alloc(M, Q);
  if (!st->Xbar || !st->U || !st->s || !st->V || !st->Pen || !st->dX || !st->UtdX ||
      !st->PendX || !st->svd || !st->svdQM) {
    ub_stats_free(st);
    TL_ERROR(GSL_ENOMEM, "out of memory");
  }
  *out = st;
  return TL_SUCCESS;
}

void ub_stats_free(ub_stats *st) {
  if (!st)
    return;
  if (st->Xbar) gsl_matrix_free(st->Xbar);
  if (st->U) gsl_matrix_free(st->U);
  if (st->s) gsl_vector_free(st->s);
  if (st->V) gsl_matrix_free(st->V);
  if (st->Pen) gsl_matrix_free(st->Pen);
  if (st->dX) gsl_matrix_free(st->dX);
  if (st->UtdX) gsl_matrix_free(st->UtdX);
  if (st->PendX) gsl_matrix_free(st->PendX);
  tl_linalg_svd_free(st->svd);
  tl_linalg_svd_free(st->svdQM);
  free(st);
}

/* excerpt: class-statistics */
int ub_stats_compute(ub_stats *st, const ub_data *d, const gsl_matrix *X0, const ub_faults *f) {
  size_t M = st->M, Q = st->Q, N = st->N;
  /* Empirical class averages (sabotage: the first sample of each class),
   * row by row so that the walk is contiguous. */
  gsl_matrix_set_zero(st->Xbar);
  for (size_t m = 0; m < M; m++) {
    const double *x = X0->data + m * X0->tda;
    double *xbar = st->Xbar->data + m * st->Xbar->tda, *dx = st->dX->data + m * st->dX->tda;
    for (size_t n = 0, first = 0; n < N; n++) {
      size_t j = d->cls[n];
      if (n == 0 || d->cls[n - 1] != j)
        first = n;
      if (f->mean_first_sample)
        xbar[j] = x[first];
      else
        xbar[j] += x[n] / (double)d->Nj[j];
    }
    for (size_t n = 0; n < N; n++)
      dx[n] = x[n] - xbar[d->cls[n]];
  }
  /* Thin SVD Xbar = U S V^T: Pen = V S^{-1} U^T, P x = U (U^T x); never the
   * normal equations, which square the condition number (pitfall 5). */
  TL_TRY(tl_linalg_svd(st->svdQM, st->Xbar, st->U, st->s, st->V));
  st->smax = gsl_vector_get(st->s, 0);
  st->smin = gsl_vector_get(st->s, Q - 1);
  if (!(st->smin > 1e-10 * st->smax))
    TL_ERROR(TL_EPRECOND, "%s: class averages are rank-deficient (s_min/s_max = %g)", d->name,
             st->smin / st->smax);
  for (size_t q = 0; q < Q; q++)
    for (size_t m = 0; m < M; m++) {
      double v = 0;
      for (size_t k = 0; k < Q; k++)
        v += gsl_matrix_get(st->V, q, k) * gsl_matrix_get(st->U, m, k) / gsl_vector_get(st->s, k);
      gsl_matrix_set(st->Pen, q, m, v);
    }
  st->pen_norm = f->pen_norm_smax ? 1.0 / st->smax : 1.0 / st->smin;
  gsl_blas_dgemm(CblasTrans, CblasNoTrans, 1.0, st->U, st->dX, 0.0, st->UtdX);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, st->Pen, st->dX, 0.0, st->PendX);
  double ms = 0, unused = 0;
  ub_column_norms(st->dX, &st->delta, &unused);
  ub_column_norms(st->UtdX, &st->delta_P, &ms);
  st->delta_P_rms = sqrt(ms);
  ub_column_norms(st->PendX, &st->delta_tilde, &unused);
  return TL_SUCCESS;
}
/* end excerpt */

int ub_label_stats_compute(ub_label_stats *ls, const ub_stats *st, const gsl_matrix *Y) {
  size_t Q = st->Q, M = st->M, N = st->N;
  gsl_matrix *YPen = gsl_matrix_alloc(Q, M);
  gsl_matrix *YD = gsl_matrix_alloc(Q, N);
  if (!YPen || !YD) {
    if (YPen) gsl_matrix_free(YPen);
    if (YD) gsl_matrix_free(YD);
    TL_ERROR(GSL_ENOMEM, "out of memory");
  }
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, Y, st->Pen, 0.0, YPen);
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, Y, st->PendX, 0.0, YD);
  tl_linalg_svd_workspace *w = tl_linalg_svd_alloc(Q, M);
  int status = w ? tl_linalg_norm2(w, YPen, &ls->ypen_norm) : GSL_ENOMEM;
  tl_linalg_svd_free(w);
  if (!status)
    status = tl_linalg_norm2(st->svd, Y, &ls->y_norm);
  ls->cost_closed = tl_linalg_frobenius(YD) / sqrt((double)N);
  ls->bound_rms = ls->ypen_norm * st->delta_P_rms;
  ls->bound_sup = ls->ypen_norm * st->delta_P;
  ls->bound_chain = ls->y_norm * st->pen_norm * st->delta_P;
  ls->bound_tilde = ls->y_norm * st->delta_tilde;
  ls->min_label_dist = INFINITY;
  ls->max_label_dist = 0;
  ls->max_label_norm = 0;
  for (size_t a = 0; a < Q; a++) {
    gsl_vector_const_view ya = gsl_matrix_const_column(Y, a);
    ls->max_label_norm = fmax(ls->max_label_norm, gsl_blas_dnrm2(&ya.vector));
    for (size_t b = a + 1; b < Q; b++) {
      double s = 0;
      for (size_t q = 0; q < Q; q++) {
        double t = gsl_matrix_get(Y, q, a) - gsl_matrix_get(Y, q, b);
        s += t * t;
      }
      ls->min_label_dist = fmin(ls->min_label_dist, sqrt(s));
      ls->max_label_dist = fmax(ls->max_label_dist, sqrt(s));
    }
  }
  gsl_matrix_free(YPen);
  gsl_matrix_free(YD);
  return status;
}

int ub_net_alloc(ub_net **out, size_t M, size_t Q) {
  ub_net *n = calloc(1, sizeof *n);
  *out = NULL;
  if (!n)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  n->M = M;
  n->Q = Q;
  n->theta = gsl_vector_calloc(M * M + M + Q * M + Q);
  if (!n->theta) {
    free(n);
    TL_ERROR(GSL_ENOMEM, "out of memory");
  }
  double *p = n->theta->data;
  n->W1 = gsl_matrix_view_array(p, M, M);
  n->b1 = gsl_vector_view_array(p + M * M, M);
  n->W2 = gsl_matrix_view_array(p + M * M + M, Q, M);
  n->b2 = gsl_vector_view_array(p + M * M + M + Q * M, Q);
  *out = n;
  return TL_SUCCESS;
}

void ub_net_free(ub_net *n) {
  if (!n)
    return;
  gsl_vector_free(n->theta);
  free(n);
}

double ub_beta_min(const gsl_matrix *W1, const gsl_matrix *X0) {
  /* One dgemm Z = W1 X0, then the most negative entry (row-major walk). */
  gsl_matrix *Z = gsl_matrix_alloc(W1->size1, X0->size2);
  if (!Z)
    return NAN; /* out of memory: NaN propagates into every cost and claim */
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, W1, X0, 0.0, Z);
  double worst = 0;
  for (size_t m = 0; m < Z->size1; m++) {
    const double *row = Z->data + m * Z->tda;
    for (size_t n = 0; n < Z->size2; n++)
      worst = tl_max_nan(worst, -row[n]);
  }
  gsl_matrix_free(Z);
  return worst;
}

static void ub_set_bias(ub_net *net, const gsl_matrix *X0, double margin, double beta_factor) {
  net->beta_min = ub_beta_min(&net->W1.matrix, X0);
  net->beta = isnan(beta_factor) ? net->beta_min + margin : beta_factor * net->beta_min;
  gsl_vector_set_all(&net->b1.vector, net->beta);
}

/* excerpt: construct-net */
int ub_construct(ub_net *net, const ub_stats *st, const gsl_matrix *Y, const gsl_matrix *R,
                 const gsl_matrix *X0, double margin, double beta_factor, const ub_faults *f) {
  size_t M = st->M, Q = st->Q;
  gsl_matrix *W1 = &net->W1.matrix, *W2 = &net->W2.matrix;
  gsl_matrix *P = gsl_matrix_alloc(M, M), *T = gsl_matrix_alloc(Q, M);
  if (!P || !T) {
    if (P) gsl_matrix_free(P);
    if (T) gsl_matrix_free(T);
    TL_ERROR(GSL_ENOMEM, "out of memory");
  }
  /* Step 1: W1 = R P, P = U U^T the projection onto span of the averages. */
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, st->U, st->U, 0.0, P);
  if (f->w1_no_projection)
    gsl_matrix_set_identity(P);
  if (R)
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, R, P, 0.0, W1);
  else
    gsl_matrix_memcpy(W1, P);
  /* Step 2: shift every training input into the ReLU's linear region. */
  ub_set_bias(net, X0, margin, beta_factor);
  if (f->drop_bias) {
    gsl_vector_set_zero(&net->b1.vector);
    net->beta = 0;
  }
  /* Step 3: W2 = Y Pen R^T undoes the rotation and maps averages to labels. */
  if (f->pen_transpose) /* Xbar^T in place of Pen */
    gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, Y, st->Xbar, 0.0, T);
  else
    gsl_blas_dgemm(f->y_transpose ? CblasTrans : CblasNoTrans, CblasNoTrans, 1.0, Y, st->Pen,
                   0.0, T);
  if (R && !f->forget_Rinv)
    gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, T, R, 0.0, W2);
  else
    gsl_matrix_memcpy(W2, T);
  /* b2 = -W2 b1 shifts back: the tied bias. */
  gsl_blas_dgemv(CblasNoTrans, -1.0, W2, &net->b1.vector, 0.0, &net->b2.vector);
  if (f->b2_zero)
    gsl_vector_set_zero(&net->b2.vector);
  gsl_matrix_free(P);
  gsl_matrix_free(T);
  return TL_SUCCESS;
}
/* end excerpt */

int ub_net_from_affine(ub_net *net, const gsl_matrix *A, const gsl_vector *c,
                       const gsl_matrix *R, const gsl_matrix *X0, double margin) {
  gsl_matrix *W1 = &net->W1.matrix, *W2 = &net->W2.matrix;
  if (R)
    gsl_matrix_memcpy(W1, R);
  else
    gsl_matrix_set_identity(W1);
  ub_set_bias(net, X0, margin, NAN);
  if (R)
    gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, A, R, 0.0, W2);
  else
    gsl_matrix_memcpy(W2, A);
  /* b2 = c - W2 b1 (the tied network has c = 0). */
  if (c)
    gsl_vector_memcpy(&net->b2.vector, c);
  else
    gsl_vector_set_zero(&net->b2.vector);
  gsl_blas_dgemv(CblasNoTrans, -1.0, W2, &net->b1.vector, 1.0, &net->b2.vector);
  return TL_SUCCESS;
}

/* excerpt: lstsq-cost */
int ub_lstsq_cost(const ub_data *d, const gsl_matrix *X0, const gsl_matrix *Y, int intercept,
                  double rcond, double *cost, gsl_matrix *A, gsl_vector *c, size_t *rank) {
  size_t M = d->M, Q = d->Q, N = d->N, n_col = M + (intercept ? 1 : 0);
  gsl_matrix *Ad = gsl_matrix_alloc(N, n_col), *B = gsl_matrix_alloc(N, Q);
  gsl_matrix *Th = gsl_matrix_alloc(n_col, Q), *Res = gsl_matrix_alloc(N, Q);
  tl_linalg_lstsq_workspace *w = tl_linalg_lstsq_alloc(N, n_col, Q);
  int status = (Ad && B && Th && Res && w) ? TL_SUCCESS : GSL_ENOMEM;
  if (!status) {
    /* Design [X0^T, u_N], right-hand sides (Y^ext)^T: row n is y_{class(n)}^T.
     * X0 is read row by row (contiguous); Ad's rows are short. */
    for (size_t m = 0; m < M; m++) {
      const double *x = X0->data + m * X0->tda;
      for (size_t n = 0; n < N; n++)
        Ad->data[n * Ad->tda + m] = x[n];
    }
    for (size_t n = 0; n < N; n++) {
      if (intercept)
        gsl_matrix_set(Ad, n, M, 1.0);
      for (size_t q = 0; q < Q; q++)
        gsl_matrix_set(B, n, q, gsl_matrix_get(Y, q, d->cls[n]));
    }
    status = tl_linalg_lstsq(w, Ad, B, rcond, Th, rank, NULL);
  }
  if (!status) {
    /* The residual explicitly, never from dgelsd_'s residual sums. */
    gsl_matrix_memcpy(Res, B);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, Ad, Th, -1.0, Res);
    *cost = tl_linalg_frobenius(Res) / sqrt((double)N);
    for (size_t q = 0; q < Q; q++) {
      if (A)
        for (size_t m = 0; m < M; m++)
          gsl_matrix_set(A, q, m, gsl_matrix_get(Th, m, q));
      if (c)
        gsl_vector_set(c, q, intercept ? gsl_matrix_get(Th, M, q) : 0.0);
    }
  }
  if (Ad) gsl_matrix_free(Ad);
  if (B) gsl_matrix_free(B);
  if (Th) gsl_matrix_free(Th);
  if (Res) gsl_matrix_free(Res);
  tl_linalg_lstsq_free(w);
  if (status == GSL_ENOMEM)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  return status;
}
/* end excerpt */

/* excerpt: mq-closed-form */
int ub_mq_compute(ub_mq *out, const ub_data *d, const ub_stats *st, const gsl_matrix *Y,
                  ub_objective *obj, double margin, double rcond, const ub_faults *f) {
  size_t Q = st->Q, N = st->N;
  double eps = d->eps;
  gsl_matrix *S = gsl_matrix_alloc(Q, Q), *L = gsl_matrix_alloc(Q, Q);
  gsl_matrix *B = gsl_matrix_alloc(Q, Q), *YD = gsl_matrix_alloc(Q, N);
  gsl_matrix *K = gsl_matrix_alloc(Q, Q), *Ast = gsl_matrix_alloc(Q, Q);
  gsl_matrix *T = gsl_matrix_alloc(Q, Q);
  ub_net *net = NULL;
  int status = (S && L && B && YD && K && Ast && T) ? ub_net_alloc(&net, Q, Q) : GSL_ENOMEM;
  if (status)
    goto done;
  /* S = Delta Delta^T with Delta = Pen Delta X; K = D^{-1/2} S D^{-1/2}. */
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, st->PendX, st->PendX, 0.0, S);
  for (size_t a = 0; a < Q; a++)
    for (size_t b = 0; b < Q; b++)
      gsl_matrix_set(K, a, b,
                     gsl_matrix_get(S, a, b) / sqrt((double)d->Nj[a] * (double)d->Nj[b]));
  if ((status = tl_linalg_norm2(st->svd, K, &out->K_norm)))
    goto done;
  out->ratio_lower = 1.0 / sqrt(1.0 + out->K_norm);
  /* L L^T = D + S (sabotages: D := (N/Q) I, or D := I here only). */
  for (size_t a = 0; a < Q; a++)
    for (size_t b = 0; b < Q; b++) {
      double dab = 0;
      if (a == b)
        dab = f->D_identity ? (double)N / (double)Q : f->D_identity_literal ? 1.0 : (double)d->Nj[a];
      gsl_matrix_set(L, a, b, gsl_matrix_get(S, a, b) + dab);
    }
  if ((status = tl_linalg_cholesky(L)))
    goto done;
  /* C*^2 = |Y Delta|_F^2 / N and g^2 = |L^{-1} S Y^T|_F^2 / N: the gap
   * C*^2 - C_tied^2 without cancellation (pitfall 6). */
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, Y, st->PendX, 0.0, YD);
  double ydel = tl_linalg_frobenius(YD);
  out->cost_star = ydel / sqrt((double)N);
  gsl_blas_dgemm(CblasNoTrans, CblasTrans, 1.0, S, Y, 0.0, B);
  if ((status = tl_linalg_trsm_lower(CblasLeft, CblasNoTrans, L, B)))
    goto done;
  double g = tl_linalg_frobenius(B);
  out->g2 = g * g / (double)N;
  double c2 = out->cost_star * out->cost_star;
  out->cost_tied = sqrt(tl_max_nan(c2 - out->g2, 0.0));
  out->rho = out->g2 / (out->cost_star * (out->cost_star + out->cost_tied));
  if (f->gap_squared_cost)
    out->rho = 1.0 - out->cost_tied * out->cost_tied / c2;
  /* kappa = |Y S1 D^{-1/2}|_F^2 / (2 |Y Delta1|_F^2), Delta1 = Delta / eps. */
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, Y, S, 0.0, T);
  for (size_t a = 0; a < Q; a++)
    for (size_t b = 0; b < Q; b++)
      gsl_matrix_set(T, a, b, gsl_matrix_get(T, a, b) / sqrt((double)d->Nj[b]));
  double ys = tl_linalg_frobenius(T) / (eps * eps), yd1 = ydel / eps;
  out->kappa = ys * ys / (2.0 * yd1 * yd1);
  out->kappa_P = out->kappa * eps * eps / (st->delta_P * st->delta_P);
  /* end excerpt */
  /* Cross-checks: the least-squares costs, and the forward pass of the tied
   * minimiser A* = Y D L^{-T} L^{-1} Pen. */
  size_t rank = 0;
  if ((status = ub_lstsq_cost(d, d->X0, Y, 0, rcond, &out->cost_noint, NULL, NULL, &rank)))
    goto done;
  if ((status = ub_lstsq_cost(d, d->X0, Y, !f->lstsq_no_intercept, rcond, &out->cost_int, NULL,
                              NULL, &rank)))
    goto done;
  if (!f->lstsq_no_intercept && rank != d->M + 1) {
    status = TL_EPRECOND;
    tl_error_set(status, __FILE__, __LINE__, "%s: rank of [X0^T, u] is %zu, not M+1", d->name,
                 rank);
    goto done;
  }
  if (f->free_intercept)
    out->rho = 1.0 - out->cost_int / out->cost_star;
  gsl_matrix_memcpy(T, st->Pen);
  if ((status = tl_linalg_trsm_lower(CblasLeft, CblasNoTrans, L, T)) ||
      (status = tl_linalg_trsm_lower(CblasLeft, CblasTrans, L, T)))
    goto done;
  for (size_t a = 0; a < Q; a++)
    for (size_t b = 0; b < Q; b++) {
      double db = f->D_identity ? (double)N / (double)Q : (double)d->Nj[b];
      gsl_matrix_set(B, a, b, gsl_matrix_get(Y, a, b) * db);
    }
  gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, B, T, 0.0, Ast);
  ub_net_from_affine(net, Ast, NULL, NULL, d->X0, margin);
  status = ub_net_cost(net, obj, &out->cost_tied_fwd);
done:
  if (S) gsl_matrix_free(S);
  if (L) gsl_matrix_free(L);
  if (B) gsl_matrix_free(B);
  if (YD) gsl_matrix_free(YD);
  if (K) gsl_matrix_free(K);
  if (Ast) gsl_matrix_free(Ast);
  if (T) gsl_matrix_free(T);
  ub_net_free(net);
  if (status == GSL_ENOMEM)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  return status;
}

/* ---- the network through tl_net ------------------------------------------ */

struct ub_objective {
  tl_net *net;
  tl_net_workspace *ws;
  tl_loss loss;
  const gsl_matrix *X0;
  gsl_matrix *Yext; /* Y E: the label of every column */
};

int ub_objective_alloc(ub_objective **out, const ub_data *d, const gsl_matrix *X0,
                       const gsl_matrix *Y) {
  ub_objective *o = calloc(1, sizeof *o);
  *out = NULL;
  if (!o)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  tl_net_options opts = tl_net_options_default();
  o->net = tl_net_alloc(d->M, d->M, d->Q, &opts);
  o->ws = o->net ? tl_net_workspace_alloc(o->net, X0->size2) : NULL;
  o->Yext = gsl_matrix_alloc(d->Q, X0->size2);
  if (!o->net || !o->ws || !o->Yext) {
    ub_objective_free(o);
    TL_ERROR(GSL_ENOMEM, "out of memory");
  }
  for (size_t n = 0; n < X0->size2; n++)
    for (size_t q = 0; q < d->Q; q++)
      gsl_matrix_set(o->Yext, q, n, gsl_matrix_get(Y, q, d->cls[n]));
  o->loss = tl_loss_squared(1.0 / (double)X0->size2);
  o->X0 = X0;
  *out = o;
  return TL_SUCCESS;
}

void ub_objective_free(ub_objective *o) {
  if (!o)
    return;
  tl_net_workspace_free(o->ws);
  tl_net_free(o->net);
  if (o->Yext) gsl_matrix_free(o->Yext);
  free(o);
}

const tl_net *ub_objective_net(const ub_objective *o) { return o->net; }

int ub_objective_eval(ub_objective *o, const gsl_vector *theta, double *c2, gsl_vector *grad) {
  if (grad)
    return tl_net_loss_grad(o->net, &o->loss, theta, o->X0, o->Yext, o->ws, c2, grad);
  return tl_net_loss(o->net, &o->loss, theta, o->X0, o->Yext, o->ws, c2);
}

int ub_net_cost(const ub_net *net, ub_objective *obj, double *cost) {
  double c2 = NAN;
  int status = ub_objective_eval(obj, net->theta, &c2, NULL);
  *cost = sqrt(c2);
  return status;
}

/* Forward passes over many points go in column blocks of this width, so
 * that the workspace stays small (a test set can have 10^5 points). */
#define UB_OUTPUT_CHUNK 1024

int ub_net_outputs(const ub_net *net, const gsl_matrix *X, gsl_matrix *F) {
  tl_net_options opts = tl_net_options_default();
  size_t n = X->size2, chunk = n < UB_OUTPUT_CHUNK ? n : UB_OUTPUT_CHUNK;
  tl_net *tn = tl_net_alloc(net->M, net->M, net->Q, &opts);
  tl_net_workspace *ws = tn ? tl_net_workspace_alloc(tn, chunk) : NULL;
  int status = ws ? TL_SUCCESS : GSL_ENOMEM;
  for (size_t c = 0; c < n && !status; c += chunk) {
    size_t w = n - c < chunk ? n - c : chunk;
    gsl_matrix_const_view Xc = gsl_matrix_const_submatrix(X, 0, c, X->size1, w);
    gsl_matrix_view Fc = gsl_matrix_submatrix(F, 0, c, F->size1, w);
    status = tl_net_predict(tn, net->theta, &Xc.matrix, &Fc.matrix, ws);
  }
  tl_net_workspace_free(ws);
  tl_net_free(tn);
  if (status == GSL_ENOMEM)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  return status;
}

int ub_region_flags(const ub_net *net, const gsl_matrix *X, unsigned char *inside) {
  size_t n = X->size2, chunk = n < UB_OUTPUT_CHUNK ? n : UB_OUTPUT_CHUNK;
  gsl_matrix *Z = gsl_matrix_alloc(net->M, chunk);
  if (!Z)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  for (size_t c = 0; c < n; c += chunk) {
    size_t w = n - c < chunk ? n - c : chunk;
    gsl_matrix_const_view Xc = gsl_matrix_const_submatrix(X, 0, c, X->size1, w);
    gsl_matrix_view Zc = gsl_matrix_submatrix(Z, 0, 0, net->M, w);
    gsl_blas_dgemm(CblasNoTrans, CblasNoTrans, 1.0, &net->W1.matrix, &Xc.matrix, 0.0, &Zc.matrix);
    for (size_t t = 0; t < w; t++)
      inside[c + t] = 1;
    for (size_t m = 0; m < net->M; m++) {
      const double *row = Z->data + m * Z->tda, b = gsl_vector_get(&net->b1.vector, m);
      for (size_t t = 0; t < w; t++)
        if (row[t] + b < 0)
          inside[c + t] = 0;
    }
  }
  gsl_matrix_free(Z);
  return TL_SUCCESS;
}

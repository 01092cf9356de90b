/* Chapter 01 (upper-bound): data generators, spec section 2. */
#include "ub_data.h"

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_randist.h>

#include "tl_error.h"
#include "tl_rng.h"

/* Stream ids of spec section 2 ("Other streams"). */
enum { UB_TASK_GAUSS_MEANS = 1, UB_TASK_GAUSS_NOISE = 2 };

static void ub_recentre(gsl_matrix *Z, const size_t *Nj, size_t Q) {
  size_t col = 0;
  for (size_t j = 0; j < Q; j++) {
    for (size_t m = 0; m < Z->size1; m++) {
      double s = 0;
      for (size_t k = 0; k < Nj[j]; k++)
        s += gsl_matrix_get(Z, m, col + k);
      double mean = s / (double)Nj[j];
      for (size_t k = 0; k < Nj[j]; k++)
        gsl_matrix_set(Z, m, col + k, gsl_matrix_get(Z, m, col + k) - mean);
    }
    col += Nj[j];
  }
}

/* The trig-qm averages: 2 sin(0.9 (m+1)(j+1) + 0.5 (j+1)). */
static double ub_trig_mean(size_t m, size_t j) {
  double a = (double)(m + 1), b = (double)(j + 1);
  return 2.0 * sin(0.9 * a * b + 0.5 * b);
}

int ub_data_alloc(ub_data **out, ub_set_kind kind, size_t M, size_t Q, size_t base,
                  uint64_t seed) {
  *out = NULL;
  if (Q < 1 || M < Q)
    TL_ERROR(TL_EPRECOND, "data set needs 1 <= Q <= M, got M=%zu Q=%zu", M, Q);
  ub_data *d = calloc(1, sizeof *d);
  if (!d)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  static const char *const names[] = {"trig-qm", "trig-mq", "gauss", "plane"};
  d->name = names[kind];
  d->kind = kind;
  d->M = M;
  d->Q = Q;
  d->Nj = calloc(Q, sizeof *d->Nj);
  if (!d->Nj) {
    ub_data_free(d);
    TL_ERROR(GSL_ENOMEM, "out of memory");
  }
  for (size_t j = 0; j < Q; j++) {
    switch (kind) {
    case UB_SET_TRIG_QM:
    case UB_SET_PLANE: d->Nj[j] = base + 2 * j; break;
    case UB_SET_TRIG_MQ: d->Nj[j] = base + j; break;
    case UB_SET_GAUSS: d->Nj[j] = base; break;
    }
    d->N += d->Nj[j];
  }
  d->cls = calloc(d->N, sizeof *d->cls);
  d->Xbar = gsl_matrix_alloc(M, Q);
  d->Xi = gsl_matrix_alloc(M, d->N);
  d->X0 = gsl_matrix_alloc(M, d->N);
  if (!d->cls || !d->Xbar || !d->Xi || !d->X0) {
    ub_data_free(d);
    TL_ERROR(GSL_ENOMEM, "out of memory");
  }
  size_t col = 0;
  for (size_t j = 0; j < Q; j++)
    for (size_t k = 0; k < d->Nj[j]; k++)
      d->cls[col++] = j;

  if (kind == UB_SET_GAUSS) {
    gsl_rng *r1 = tl_rng_alloc(seed, UB_TASK_GAUSS_MEANS);
    gsl_rng *r2 = tl_rng_alloc(seed, UB_TASK_GAUSS_NOISE);
    if (!r1 || !r2) {
      gsl_rng_free(r1);
      gsl_rng_free(r2);
      ub_data_free(d);
      TL_ERROR(GSL_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < Q; j++)
      for (size_t m = 0; m < M; m++)
        gsl_matrix_set(d->Xbar, m, j, gsl_ran_gaussian(r1, 1.0));
    col = 0;
    for (size_t j = 0; j < Q; j++)
      for (size_t k = 0; k < d->Nj[j]; k++, col++)
        for (size_t m = 0; m < M; m++)
          gsl_matrix_set(d->Xi, m, col, gsl_ran_gaussian(r2, 1.0));
    gsl_rng_free(r1);
    gsl_rng_free(r2);
  } else {
    static const double mq4[4][4] = {
        {2, -1, .5, 1}, {-1, 2, 1, -.5}, {.5, 1, -2, 1}, {1, -.5, 1, 2}};
    for (size_t m = 0; m < M; m++)
      for (size_t j = 0; j < Q; j++) {
        double v;
        if (kind != UB_SET_TRIG_MQ)
          v = ub_trig_mean(m, j);
        else if (Q == 4)
          v = mq4[m][j];
        else
          v = (m == j ? 3.0 : 0.0) + ub_trig_mean(m, j);
        gsl_matrix_set(d->Xbar, m, j, v);
      }
    /* Noise: sin(0.7 (m+1)(k+1) + 0.3 (m+1) + 1.1 (j+1)); trig-mq uses 1.1 j. */
    col = 0;
    for (size_t j = 0; j < Q; j++)
      for (size_t k = 0; k < d->Nj[j]; k++, col++)
        for (size_t m = 0; m < M; m++) {
          double a = (double)(m + 1), kk = (double)(k + 1);
          double jj = kind == UB_SET_TRIG_MQ ? (double)j : (double)(j + 1);
          gsl_matrix_set(d->Xi, m, col, sin(0.7 * a * kk + 0.3 * a + 1.1 * jj));
        }
  }
  ub_recentre(d->Xi, d->Nj, Q);
  ub_data_set_eps(d, 0.0);
  *out = d;
  return TL_SUCCESS;
}

void ub_data_free(ub_data *d) {
  if (!d)
    return;
  free(d->Nj);
  free(d->cls);
  if (d->Xbar) gsl_matrix_free(d->Xbar);
  if (d->Xi) gsl_matrix_free(d->Xi);
  if (d->X0) gsl_matrix_free(d->X0);
  free(d);
}

void ub_data_set_eps(ub_data *d, double eps) {
  d->eps = eps;
  for (size_t m = 0; m < d->M; m++)
    for (size_t n = 0; n < d->N; n++)
      gsl_matrix_set(d->X0, m, n,
                     gsl_matrix_get(d->Xbar, m, d->cls[n]) + eps * gsl_matrix_get(d->Xi, m, n));
}

int ub_labels_alloc(gsl_matrix **Y, size_t Q, int kind) {
  *Y = gsl_matrix_alloc(Q, Q);
  if (!*Y)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  for (size_t a = 0; a < Q; a++)
    for (size_t b = 0; b < Q; b++) {
      double v = a == b ? 1.0 : 0.0;
      if (kind == 1)
        v += 0.4 * sin(1.7 * (double)(a + 1) - 0.9 * (double)(b + 1) + 0.4);
      gsl_matrix_set(*Y, a, b, v);
    }
  return TL_SUCCESS;
}

int ub_perp_noise_alloc(gsl_matrix **zeta, const ub_data *d) {
  *zeta = gsl_matrix_alloc(d->M, d->N);
  if (!*zeta)
    TL_ERROR(GSL_ENOMEM, "out of memory");
  for (size_t n = 0; n < d->N; n++) {
    /* k is the sample's index inside its class. */
    size_t j = d->cls[n], first = 0;
    for (size_t i = 0; i < j; i++)
      first += d->Nj[i];
    double k = (double)(n - first + 1);
    for (size_t m = 0; m < d->M; m++)
      gsl_matrix_set(*zeta, m, n, cos(1.3 * (double)(m + 1) * k + 0.7 * (double)(j + 1)));
  }
  ub_recentre(*zeta, d->Nj, d->Q);
  return TL_SUCCESS;
}

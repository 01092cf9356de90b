/* Chapter 01 (upper-bound): the synthetic data sets of spec section 2.
 *
 * A data set is a fixed set of class averages Xbar (M x Q), class sizes N_j
 * and raw noise Xi (M x N), recentred per class so that the empirical class
 * means are exactly the averages; the inputs at noise level eps are
 * X0 = Xbar E + eps Xi.  Columns are ordered by class j, then sample k.
 */
#ifndef UB_DATA_H
#define UB_DATA_H

#include <stddef.h>
#include <stdint.h>

#include <gsl/gsl_matrix.h>

typedef enum { UB_SET_TRIG_QM, UB_SET_TRIG_MQ, UB_SET_GAUSS, UB_SET_PLANE } ub_set_kind;

typedef struct {
  const char *name; /* "trig-qm", "trig-mq", "gauss", "plane" */
  ub_set_kind kind;
  size_t M, Q, N;
  size_t *Nj;        /* class sizes (Q) */
  size_t *cls;       /* class of every column (N) */
  gsl_matrix *Xbar;  /* generator's class averages, M x Q */
  gsl_matrix *Xi;    /* recentred raw noise, M x N */
  gsl_matrix *X0;    /* inputs at the current eps, M x N */
  double eps;        /* current noise level */
} ub_data;

/* Build a data set; base is qm_base / mq_base / gd_per_class / plane_base. */
int ub_data_alloc(ub_data **out, ub_set_kind kind, size_t M, size_t Q, size_t base,
                  uint64_t seed);
void ub_data_free(ub_data *d);
/* Set X0 = Xbar E + eps Xi. */
void ub_data_set_eps(ub_data *d, double eps);

/* The label matrices: Y = I (kind 0) or the non-symmetric Y_2 (kind 1). */
int ub_labels_alloc(gsl_matrix **Y, size_t Q, int kind);

/* Perp noise of spec section 2 (trig-qm): zeta recentred per class. */
int ub_perp_noise_alloc(gsl_matrix **zeta, const ub_data *d);

#endif

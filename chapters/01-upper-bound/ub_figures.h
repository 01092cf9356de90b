/* Chapter 01 (upper-bound): the data behind the four figures of spec
 * section 4, gathered by the parts, and the functions that draw them. */
#ifndef UB_FIGURES_H
#define UB_FIGURES_H

#include <stddef.h>

#define UB_FIG_MAX 64 /* perp amplitudes drawn */

typedef struct {
  /* thm-upper-bound (b): perp noise amplitudes, values over their eta = 0 value. */
  size_t n_perp;
  double perp_eta[UB_FIG_MAX], perp_cost[UB_FIG_MAX], perp_delta_P[UB_FIG_MAX],
      perp_delta[UB_FIG_MAX], perp_cost_int[UB_FIG_MAX];
  /* thm-upper-bound (c): beta / beta_min and C / C*. */
  size_t n_beta;
  double *beta_ratio, *beta_cost_ratio;
  double beta_default_ratio;
  /* thm-mq-local-min (b): sorted |lambda| / lambda_max and signs, three models. */
  size_t n_eig[3];
  double *eig_abs[3];
  int *eig_negative[3];
  size_t eig_zeros_expected;
  /* metrization (a): the plane set in coordinates c = U^T x. */
  size_t plane_N;
  double *plane_c0, *plane_c1;
  int *plane_cls;
  double plane_avg[2][2];       /* c of the two averages */
  double plane_U[3][2];         /* U, 3 x 2 */
  double plane_XbarYinv[3][2];  /* Xbar Y^{-1} (Y = I: Xbar) */
  double plane_Pen[2][3];
  double plane_beta;
  /* metrization (b): label distance pairs. */
  size_t n_pairs;
  double *pair_d, *pair_out;
  int *pair_in;
  int have_plane, have_pairs, have_perp, have_beta, have_eig;
} ub_figure_data;

int ub_figure_data_alloc(ub_figure_data *fd, size_t beta_count, size_t n_pairs, size_t plane_N,
                         size_t p_max);
void ub_figure_data_free(ub_figure_data *fd);


#endif

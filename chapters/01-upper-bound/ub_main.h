/* Chapter 01 (upper-bound): shared state of the program's parts. */
#ifndef UB_MAIN_H
#define UB_MAIN_H

#include <gsl/gsl_matrix.h>

#include "tl_cli.h"
#include "tl_results.h"
#include "ub_figures.h"
#include "ub_model.h"

#define UB_SLUG "upper-bound"
#define UB_NCASES 4 /* T: {trig-qm, trig-mq} x {I, Y_2} */
#define UB_GD_RECORD_MAX 10000

/* Per grid point k, per case c = 2*set + label kind. */
typedef struct {
  double eps;
  double delta[UB_NCASES], delta_P[UB_NCASES], delta_P_rms[UB_NCASES], delta_tilde[UB_NCASES];
  double cost_fwd[UB_NCASES], cost_closed[UB_NCASES], cost_int[UB_NCASES];
  double bound_rms[UB_NCASES], bound_sup[UB_NCASES], bound_chain[UB_NCASES],
      bound_tilde[UB_NCASES], ypen_norm[UB_NCASES], y_pen_norms[UB_NCASES];
  ub_mq mq[2]; /* trig-mq, Y = I and Y_2 */
} ub_point;

/* One GD run (3.7): r < gd_seeds He, r = gd_seeds warm. */
typedef struct {
  double cost0, costT, eta_final;
  size_t rejections, iterations, n_record;
  double *record_iter, *record_cost;
} ub_gdrun;

typedef struct {
  tl_cli cli;
  ub_faults faults;
  tl_results *res;
  const char *out;
  gsl_matrix *Y[2]; /* per Q, rebuilt per set */
  size_t n_eps;
  double *eps_grid;
  ub_point *points;
  ub_gdrun *runs;
  size_t n_runs;
} ub_state;

/* Draw the four figures of spec section 4 into s->cli.figures. */
int ub_draw_figures(ub_state *s, ub_figure_data *fd);

/* Write a network as block,row,col,value TSV and list it in results.json. */
int ub_write_network(ub_state *s, const char *file, const ub_net *net, const char *description);

#endif

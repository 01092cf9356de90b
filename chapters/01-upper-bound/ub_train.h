/* Chapter 01 (upper-bound): the local-minimum Hessians (spec 3.6) and the
 * gradient-descent comparison (3.7). */
#ifndef UB_TRAIN_H
#define UB_TRAIN_H

#include "ub_figures.h"
#include "ub_main.h"

int ub_part_hessian(ub_state *s, ub_figure_data *fd);
/* Runs the GD tasks of this shard into s->runs. */
int ub_part_gd(ub_state *s);
/* The gauss set's levels drawn in gd-comparison. */
int ub_gd_levels(ub_state *s, double *cost_star, double *bound_rms, double *cost_int);

#endif

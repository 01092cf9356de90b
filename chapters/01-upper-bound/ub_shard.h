/* Chapter 01 (upper-bound): shards (spec section 7).  `--shard i/N` runs the
 * grid points k and GD runs r whose task t (t = k, t = eps_count + r) has
 * t = i (mod N), shard 0 also everything else, and writes its task records to
 * shard.tsv; `--merge DIR ...` reads every shard's records, checks that each
 * task is there exactly once, and produces the same outputs, byte for byte,
 * as an unsharded run. */
#ifndef UB_SHARD_H
#define UB_SHARD_H

#include "ub_main.h"

int ub_shard_write(ub_state *s, const ub_figure_data *fd);
int ub_shard_merge(ub_state *s, ub_figure_data *fd);

#endif

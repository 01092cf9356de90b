/* tl_rng: reproducible random streams.
 *
 * Every random stream in the suite is identified by (base seed, task index):
 * the base seed comes from the command line (--seed, with a per-chapter
 * default), the task index is fixed by the chapter's spec (e.g. task 4 = the
 * Haar rotation, task 100+k = GD run k).  The gsl_rng seed is a SplitMix64 hash
 * of both, so streams of different tasks are unrelated and a shard that runs
 * task t draws exactly what an unsharded run draws for t.  Nothing here reads
 * the environment (GSL_RNG_SEED and GSL_RNG_TYPE are ignored on purpose).
 */
#ifndef TL_RNG_H
#define TL_RNG_H

#include <stdint.h>

#include <gsl/gsl_rng.h>

/* SplitMix64 (Steele, Lea, Flood 2014): advance *state and return the output. */
uint64_t tl_rng_splitmix64(uint64_t *state);

/* The derived seed of (base, task): never 0. */
uint64_t tl_rng_derive_seed(uint64_t base, uint64_t task);

/* A fresh gsl_rng_mt19937 seeded with tl_rng_derive_seed(base, task); NULL
 * when out of memory.  Free with gsl_rng_free. */
gsl_rng *tl_rng_alloc(uint64_t base, uint64_t task);

#endif

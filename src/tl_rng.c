/* tl_rng: see tl_rng.h. */
#include "tl_rng.h"

uint64_t tl_rng_splitmix64(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

uint64_t tl_rng_derive_seed(uint64_t base, uint64_t task) {
  /* Two rounds: hash the base, then hash again with the task folded in, so
   * that (base, task) and (base + 1, task - 1) land far apart. */
  uint64_t s = base;
  uint64_t h = tl_rng_splitmix64(&s);
  s = h ^ (task * UINT64_C(0xD1B54A32D192ED03));
  h = tl_rng_splitmix64(&s);
  /* mt19937 uses the low 32 bits and maps 0 to its default seed. */
  uint64_t low = h & UINT64_C(0xFFFFFFFF);
  return low == 0 ? 1 : low;
}

gsl_rng *tl_rng_alloc(uint64_t base, uint64_t task) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  if (r)
    gsl_rng_set(r, (unsigned long)tl_rng_derive_seed(base, task));
  return r;
}

/* Unit test of tl_rng: derivation is a pure function of (base, task), streams
 * of neighbouring tasks differ, and gsl_rng output is reproducible. */
#include <gsl/gsl_test.h>

#include "tl_rng.h"

int main(void) {
  uint64_t s = 0;
  /* SplitMix64 reference outputs for state 0 (published test vector). */
  gsl_test(tl_rng_splitmix64(&s) != UINT64_C(0xE220A8397B1DCDAF), "splitmix64 first output");
  gsl_test(tl_rng_splitmix64(&s) != UINT64_C(0x6E789E6AA1B965F4), "splitmix64 second output");
  gsl_test(tl_rng_derive_seed(20230919, 4) != tl_rng_derive_seed(20230919, 4), "derivation is pure");
  int distinct = 1;
  for (uint64_t t = 0; t < 200; t++)
    for (uint64_t u = t + 1; u < 200; u++)
      if (tl_rng_derive_seed(7, t) == tl_rng_derive_seed(7, u))
        distinct = 0;
  gsl_test(!distinct, "200 tasks give 200 distinct seeds");
  gsl_test(tl_rng_derive_seed(1, 0) == tl_rng_derive_seed(0, 1), "(1,0) and (0,1) differ");
  gsl_rng *a = tl_rng_alloc(20230919, 100);
  gsl_rng *b = tl_rng_alloc(20230919, 100);
  gsl_rng *c = tl_rng_alloc(20230919, 101);
  int same = 1, differ = 0;
  for (int i = 0; i < 1000; i++) {
    unsigned long x = gsl_rng_get(a), y = gsl_rng_get(b), z = gsl_rng_get(c);
    same &= x == y;
    differ |= x != z;
  }
  gsl_test(!same, "same (base, task) gives the same stream");
  gsl_test(!differ, "different task gives a different stream");
  gsl_test_str(gsl_rng_name(a), "mt19937", "generator is mt19937");
  gsl_rng_free(a);
  gsl_rng_free(b);
  gsl_rng_free(c);
  return gsl_test_summary();
}

/* rng.h: a small seeded PRNG (xoroshiro128+ seeded by splitmix64) used
 * wherever randomness must be reproducible: splits, shuffles, dropout, init. */
#ifndef BD_RNG_H
#define BD_RNG_H

#include <stdint.h>

typedef struct bd_rng { uint64_t s[2]; } bd_rng;

void bd_rng_seed(bd_rng *r, uint64_t seed);
uint64_t bd_rng_next(bd_rng *r);
double bd_rng_uniform(bd_rng *r);        /* [0, 1) with 53 random bits */
float bd_rng_normal(bd_rng *r);          /* N(0, 1), Box-Muller */
/* Uniform integer in [0, n) without modulo bias (n > 0). */
uint64_t bd_rng_below(bd_rng *r, uint64_t n);
/* Fisher-Yates shuffle of idx[n]. */
void bd_rng_shuffle(bd_rng *r, int *idx, int n);

#endif

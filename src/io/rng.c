#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void bd_rng_seed(bd_rng *r, uint64_t seed) {
    uint64_t x = seed;
    r->s[0] = splitmix64(&x);
    r->s[1] = splitmix64(&x);
    if (!r->s[0] && !r->s[1]) r->s[1] = 1;
}

static uint64_t rotl(uint64_t v, int k) { return (v << k) | (v >> (64 - k)); }

uint64_t bd_rng_next(bd_rng *r) {
    uint64_t s0 = r->s[0], s1 = r->s[1];
    uint64_t out = s0 + s1;
    s1 ^= s0;
    r->s[0] = rotl(s0, 24) ^ s1 ^ (s1 << 16);
    r->s[1] = rotl(s1, 37);
    return out;
}

double bd_rng_uniform(bd_rng *r) { return (double)(bd_rng_next(r) >> 11) * 0x1.0p-53; }

float bd_rng_normal(bd_rng *r) {
    double u1 = bd_rng_uniform(r), u2 = bd_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2));
}

uint64_t bd_rng_below(bd_rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do { v = bd_rng_next(r); } while (v >= limit);
    return v % n;
}

void bd_rng_shuffle(bd_rng *r, int *idx, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)bd_rng_below(r, (uint64_t)i + 1);
        int t = idx[i]; idx[i] = idx[j]; idx[j] = t;
    }
}

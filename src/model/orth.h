/* orth.h: BiDoRA's orthogonality regularizer (the official code's form):
 * R = (1/N) sum_l || D_l D_l^T - I ||_F  (Frobenius norm, not squared),
 * D_l = rows of W'_l = W0 + s B A normalised to unit length, over the N
 * adapted matrices. Depends on the direction (A, B) only. */
#ifndef BD_ORTH_H
#define BD_ORTH_H

#include "adapter.h"
#include "err.h"

/* R over n adapters; when lambda_scale != 0, adds lambda_scale * dR/dA and
 * dR/dB into each adapter's dA, dB (exact gradient). Returns -1 only when
 * scratch memory runs out; *R gets the value. */
int bd_orth_reg(const bd_adapted_linear *ads, int n, float lambda_scale, double *R, bd_err *e);

#endif

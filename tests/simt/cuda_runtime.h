/* cuda_runtime.h: in simulator builds (-Itests/simt), #include <cuda_runtime.h> gets the
 * SIMT simulator's runtime subset (simt.h) instead of the real one. */
#ifndef BD_SIMT_CUDA_RUNTIME_H
#define BD_SIMT_CUDA_RUNTIME_H
#include "simt.h"
#endif

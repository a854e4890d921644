/* cuda_none.c: the CUDA backend's entry points in a build without nvcc: linked into the
 * CPU-only binary in place of kernels/backend_cuda.cu (not part of libbidora.a). */
#include "backend.h"

#include <stdio.h>

int bd_backend_have_cuda(void) { return 0; }

int bd_backend_cuda_probe(char *desc, size_t n) {
    if (desc && n) snprintf(desc, n, "not in this build");
    return 0;
}

bd_backend *bd_backend_cuda(int tf32, bd_err *e) {
    (void)tf32;
    bd_errf(e, "backend cuda: this bidora was built without CUDA (no nvcc at build time); use backend = cpu or auto");
    return NULL;
}

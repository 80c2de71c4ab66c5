/* fuzz_common.h: what every libFuzzer harness in fuzz/ shares.
 *
 * libFuzzer calls LLVMFuzzerTestOneInput once per input in one process, so the harnesses keep
 * one process pool (created on the first input, after apr_initialize) and clear a scratch
 * subpool after each input: memory never grows with the run, and a leak inside a pool would
 * still be caught by ASan's leak check at exit. These two statics are the harness's only
 * state; libFuzzer's C interface leaves no other place to keep a handle.
 *
 * FUZZ_CHECK is the harness's own assert: a property that must hold for every input (a
 * round trip, an invariant of the contract). It aborts, which libFuzzer reports as a crash
 * and saves the input, also in builds with NDEBUG.
 *
 * Buffers handed to the code under test come straight from libFuzzer (exactly size bytes of
 * malloc) or from fuzz_strdup, never from a pool, so reading one byte too far is an ASan
 * report rather than a silent read of the pool's next allocation. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <apr_general.h>
#include <apr_pools.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* The scratch pool for one input (cleared by fuzz_pool_done). */
static inline apr_pool_t *fuzz_pool(void)
{
    static apr_pool_t *root = NULL, *scratch = NULL;

    if (root == NULL) {
        if (apr_initialize() != APR_SUCCESS || apr_pool_create(&root, NULL) != APR_SUCCESS
            || apr_pool_create(&scratch, root) != APR_SUCCESS) {
            abort();
        }
    }
    return scratch;
}

static inline void fuzz_pool_done(apr_pool_t *scratch)
{
    apr_pool_clear(scratch);
}

/* A NUL-terminated copy of data[0..size) from malloc, so ASan guards its end (pool memory
 * has no redzones between allocations). The caller frees it. */
static inline char *fuzz_strdup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL) {
        abort();
    }
    for (size_t i = 0; i < size; i++) {
        s[i] = (char)data[i];
    }
    s[size] = '\0';
    return s;
}

#endif

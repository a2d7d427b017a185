#include "op_registry.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

extern const op_def_t op_resize;
extern const op_def_t op_thumbnail;
extern const op_def_t op_diff;
extern const op_def_t op_dither;
extern const op_def_t op_info;

#ifdef IMG_TEST_OPS
extern const op_def_t op_test_fault;
#endif

/* One line per operation. */
static const op_def_t *const s_ops[] = {
    &op_resize, &op_thumbnail, &op_diff, &op_dither, &op_info,
};

#define N_OPS (sizeof s_ops / sizeof s_ops[0])

/* The test-only operations count only when IMG_TEST_OPS=1 (decided once). */
static size_t s_count = N_OPS;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void s_init(void)
{
#ifdef IMG_TEST_OPS
    const char *on = getenv("IMG_TEST_OPS");
    if (on && strcmp(on, "1") == 0)
        s_count = N_OPS + 1;
#endif
}

const op_def_t *op_registry_at(size_t i)
{
    pthread_once(&s_once, s_init);
    if (i < N_OPS)
        return s_ops[i];
#ifdef IMG_TEST_OPS
    if (i < s_count)
        return &op_test_fault;
#endif
    return NULL;
}

size_t op_registry_count(void)
{
    pthread_once(&s_once, s_init);
    return s_count;
}

const op_def_t *op_registry_find(const char *name)
{
    for (size_t i = 0; name && i < op_registry_count(); i++)
        if (strcmp(op_registry_at(i)->name, name) == 0)
            return op_registry_at(i);
    return NULL;
}

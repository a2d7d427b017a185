#include "op_catalog.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

extern const op_def_t op_resize, op_thumbnail, op_diff, op_dither, op_info, op_rotate, op_flip,
    op_crop, op_blur, op_sharpen, op_grayscale, op_convert, op_pipeline;
#ifdef IMG_TEST_OPS
extern const op_def_t op_test_fault;
#endif

/* One line per operation. */
static const op_def_t *const s_ops[] = {
    &op_resize, &op_thumbnail, &op_diff,    &op_dither,    &op_info,    &op_rotate,   &op_flip,
    &op_crop,   &op_blur,      &op_sharpen, &op_grayscale, &op_convert, &op_pipeline,
};

#define N_OPS (sizeof s_ops / sizeof s_ops[0])

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

size_t op_catalog_count(void)
{
    pthread_once(&s_once, s_init);
    return s_count;
}

const op_def_t *op_catalog_at(size_t i)
{
    if (i >= op_catalog_count())
        return NULL;
#ifdef IMG_TEST_OPS
    if (i == N_OPS)
        return &op_test_fault;
#endif
    return s_ops[i];
}

const op_def_t *op_catalog_find(const char *name)
{
    for (size_t i = 0; name && i < op_catalog_count(); i++)
        if (strcmp(op_catalog_at(i)->name, name) == 0)
            return op_catalog_at(i);
    return NULL;
}

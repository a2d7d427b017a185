#include "op_catalog.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The operations, in the order of IMG_OPERATIONS (shared/CMakeLists.txt). */
#define IMG_OP(name) extern const op_def_t op_##name;
#include "op_catalog_list.h"
#undef IMG_OP
#ifdef IMG_TEST_OPS
extern const op_def_t op_test_fault;
#endif

static const op_def_t *const s_ops[] = {
#define IMG_OP(name) &op_##name,
#include "op_catalog_list.h"
#undef IMG_OP
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

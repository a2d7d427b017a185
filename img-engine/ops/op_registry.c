#include "op_registry.h"

#include <string.h>

extern const op_def_t op_resize;
extern const op_def_t op_thumbnail;
extern const op_def_t op_diff;
extern const op_def_t op_dither;
extern const op_def_t op_info;

/* One line per operation. */
static const op_def_t *const s_ops[] = {
    &op_resize, &op_thumbnail, &op_diff, &op_dither, &op_info,
};

#define N_OPS (sizeof s_ops / sizeof s_ops[0])

const op_def_t *op_registry_find(const char *name)
{
    for (size_t i = 0; name && i < N_OPS; i++)
        if (strcmp(s_ops[i]->name, name) == 0)
            return s_ops[i];
    return NULL;
}

size_t op_registry_count(void)
{
    return N_OPS;
}

const op_def_t *op_registry_at(size_t i)
{
    return i < N_OPS ? s_ops[i] : NULL;
}

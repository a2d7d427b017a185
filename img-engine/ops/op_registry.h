/* op_registry — the list of operations. Adding one: write op_<name>.c with
 * `const op_def_t op_<name> = {...}`, declare it in op_registry.c's list. */
#ifndef IMG_OP_REGISTRY_H
#define IMG_OP_REGISTRY_H

#include "op.h"

#include <stddef.h>

/* NULL if no operation has that name. */
const op_def_t *op_registry_find(const char *name);
size_t op_registry_count(void);
const op_def_t *op_registry_at(size_t i);

#endif

/* op_catalog — the list of operations.
 *
 * Adding an operation: write shared/ops/op_<name>.c with `const op_def_t
 * op_<name> = {...}` and add <name> to IMG_OPERATIONS in
 * shared/CMakeLists.txt (which compiles the file and registers it). Its
 * routes, its validation, its place in the OpenAPI document and as a
 * pipeline step follow from the declaration.
 *
 * Test builds (CMake option IMG_TEST_OPS) also hold the test-only operation
 * of test/ops/, listed only when the environment variable IMG_TEST_OPS=1 is
 * set (decided once, at the first call).
 */
#ifndef IMG_OP_CATALOG_H
#define IMG_OP_CATALOG_H

#include "op.h"

#include <stddef.h>

/* NULL if no operation has that name. */
const op_def_t *op_catalog_find(const char *name);
size_t op_catalog_count(void);
/* The i-th operation (0 <= i < count), in the list's order. */
const op_def_t *op_catalog_at(size_t i);

#endif

/* op_header — the inputs' headers of a job as JSON, written and read here.
 *
 * img-rest probes a job's inputs at submit and stores their headers as the
 * job's "input" (the status shows it); the job message carries the same
 * object to the engine (docs/protocol.md), which then need not read the
 * headers again (image_probe_known). The form: the first input's
 * {width, height, format, bytes, pages, orientation}, and for an operation
 * with several inputs each one's under "inputs", by input name.
 */
#ifndef IMG_OP_HEADER_H
#define IMG_OP_HEADER_H

#include "image_probe.h"
#include "op.h"

#include <jansson.h>
#include <stdbool.h>

/* The headers of op's inputs (info: op->n_inputs, in op->inputs order).
 * Caller owns; NULL when out of memory. */
json_t *op_header_json(const op_def_t *op, const image_info_t *info);

/* Input i's header from input (as op_header_json made it, or NULL) into
 * info's width, height, pages, orientation, format and bytes. Whether a
 * whole header in range was there (width and height 1..VIPS_MAX_COORD,
 * pages >= 1, orientation 1..8, bytes >= 1, a format name that fits): when
 * not, info is untouched
 * and the caller reads the file's own header. */
bool op_header_read(const json_t *input, const op_def_t *op, int i, image_info_t *info);

#endif

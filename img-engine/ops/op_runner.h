/* op_runner — runs one job attempt of an operation in a job folder.
 *
 * Inputs are <job_dir>/in_<input name>. An image result is converted for its
 * format (8-bit sRGB or grey, alpha kept where the format has it, flattened
 * on white where not), written to a temporary file in job_dir and renamed to
 * <job_dir>/result.<ext>, so a job done twice leaves one whole result.
 * The work is stopped when it runs past timeout_ms (IMG_E_TIMEOUT).
 */
#ifndef IMG_OP_RUNNER_H
#define IMG_OP_RUNNER_H

#include "op.h"

/* *result gets a new object (caller owns): for images {width, height,
 * format, bytes} plus op extra fields; for JSON ops the op's extra object.
 * 0, or -1 with img_error. Thread-safe: each worker thread runs its own. */
int op_run(const op_def_t *op, const char *job_dir, const json_t *params, const img_config_t *cfg,
           int timeout_ms, json_t **result);

/* The result file path of a finished image job: <job_dir>/result.<ext of format>. */
int op_result_path(const char *job_dir, const char *format, char *out, size_t size);

#endif

/* job_thumbnail — a small copy of a job's result image, for galleries.
 *
 * 256 pixels on its longest side (never enlarged), WebP, made by libvips
 * (vips_thumbnail: shrink-on-load) the first time it is asked for and kept
 * in the job's folder (job_files_thumbnail), so it goes with the job. It is
 * written to a temporary file and renamed: two requests at once both get a
 * whole file. The decoding runs on a big-stack thread (HTTP threads have
 * small stacks).
 */
#ifndef IMG_JOB_THUMBNAIL_H
#define IMG_JOB_THUMBNAIL_H

#include "big_stack.h"
#include "config.h"
#include "job.h"

#include <stddef.h>

#define JOB_THUMBNAIL_SIZE 256

/* The thumbnail of complete job (an image result), made if it is not there
 * yet: its path into out. 0, or -1 with img_error. */
int job_thumbnail_path(const img_config_t *cfg, big_stack_t *stacks, const job_t *job, char *out,
                       size_t size);

#endif

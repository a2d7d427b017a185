/* job_progress — how far a running job is, from libvips' own progress
 * reporting.
 *
 * libvips announces the evaluation of an image by a sink (a save, a copy to
 * memory) with the signals preeval, eval (with a percentage) and posteval,
 * on images whose progress is switched on. Each such evaluation is a stage
 * of the job: a stage starts where the last one left the job's progress,
 * and takes half of what remains, except the last stage (the save of the
 * result), which takes all of it. An operation's own loop (dither's error
 * diffusion) counts as a stage too. The job's progress only rises; it is
 * written to an atomic int that the engine's loop reads and sends to the
 * broker (rate-limited there). Thread-safe: libvips may signal from its
 * own threads.
 */
#ifndef IMG_JOB_PROGRESS_H
#define IMG_JOB_PROGRESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <vips/vips.h>

typedef struct job_progress job_progress_t;

/* out: where the percentage goes (0..100; not owned, outlives it). */
job_progress_t *job_progress_new(atomic_int *out);
/* Disconnects from every image and frees. */
void job_progress_destroy(job_progress_t **self);

/* Follows image's evaluations (last: the save of the result). */
void job_progress_watch(job_progress_t *self, VipsImage *image, bool last);
/* A stage of the operation's own is percent done. */
void job_progress_stage(job_progress_t *self, int percent);

#endif

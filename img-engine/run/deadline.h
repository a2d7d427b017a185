/* deadline — the time limit of the jobs an engine runs.
 *
 * An engine owns one deadline_clock: a thread that, every 20 ms, looks at
 * the deadline of every running job and kills the evaluation of the images
 * a job past its deadline watches (vips_image_set_kill). libvips checks that
 * flag whenever it computes a region of such an image, so the work stops
 * within one strip, even inside a libvips call that copies to memory.
 * Each job attempt gets its own deadline from the clock (the runner lends
 * it to the operation through op_job's monitor). Thread-safe.
 */
#ifndef IMG_DEADLINE_H
#define IMG_DEADLINE_H

#include <stdbool.h>
#include <vips/vips.h>

typedef struct deadline_clock deadline_clock_t;
typedef struct deadline deadline_t;

/* Starts the clock's thread. Caller owns; NULL with img_error. */
deadline_clock_t *deadline_clock_new(void);
/* Stops the thread (no deadline may still be running) and frees. */
void deadline_clock_destroy(deadline_clock_t **self);

/* A deadline timeout_ms from now (<= 0: none) on clock. Caller owns
 * (deadline_end). Never NULL (aborts when out of memory, as GLib does). */
deadline_t *deadline_start(deadline_clock_t *clock, int timeout_ms);
/* Ends the deadline, dropping its watched images. Harmless on NULL. */
void deadline_end(deadline_t **self);

/* Kills image's evaluation once the deadline passes (a reference is kept
 * until deadline_end). */
void deadline_watch(deadline_t *self, VipsImage *image);
/* True once the deadline has passed. */
bool deadline_passed(const deadline_t *self);

#endif

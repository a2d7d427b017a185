/* big_stack — runs functions on threads with large stacks.
 *
 * civetweb's request threads have small fixed stacks (about 128 KiB in
 * Debian's build); image decoders called by libvips while probing a header
 * may need more. A big_stack keeps a few threads with 8 MiB stacks, started
 * once, and runs each call on one of them while the caller waits; the
 * function's img_error is carried back to the caller's thread. Thread-safe.
 */
#ifndef IMG_BIG_STACK_H
#define IMG_BIG_STACK_H

typedef struct big_stack big_stack_t;

/* Starts n threads. Caller owns; NULL with img_error. */
big_stack_t *big_stack_new(int n);
/* Stops the threads (no call may be running) and frees. */
void big_stack_destroy(big_stack_t **self);

/* Returns fn(arg) (0 / -1 with img_error), run on one of the threads. */
int big_stack_call(big_stack_t *self, int (*fn)(void *arg), void *arg);

/* Runs fn(arg) on one of the threads while the caller runs
 * beside(beside_arg) (e.g. waits for a disk sync), then waits for fn.
 * Returns 0 when both returned 0; else -1 with fn's error if fn failed,
 * otherwise beside's. */
int big_stack_call_beside(big_stack_t *self, int (*fn)(void *arg), void *arg,
                          int (*beside)(void *arg), void *beside_arg);

#endif

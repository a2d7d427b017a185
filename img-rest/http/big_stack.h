/* big_stack — runs a function on a thread with a large stack and waits.
 *
 * civetweb's request threads have small fixed stacks (about 100 KiB in
 * Debian's build); image decoders called by libvips while probing a header
 * may need more. The function's img_error is carried back to the caller's
 * thread. */
#ifndef IMG_BIG_STACK_H
#define IMG_BIG_STACK_H

/* Returns fn(arg) (0 / -1 with img_error), or -1 with img_error if no thread
 * could be started. */
int big_stack_call(int (*fn)(void *arg), void *arg);

#endif

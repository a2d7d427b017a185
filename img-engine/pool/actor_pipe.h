/* actor_pipe — what the engine's actors (worker, committer) read from their
 * pipe: a command word and one pointer, until $TERM.
 */
#ifndef IMG_ACTOR_PIPE_H
#define IMG_ACTOR_PIPE_H

#include <czmq.h>
#include <stdbool.h>

/* Waits for the next item (a pointer whose ownership passes with it; it may
 * be NULL). false on $TERM or a broken pipe: the actor ends. */
bool actor_pipe_next(zsock_t *pipe, void **item);

#endif

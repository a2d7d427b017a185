/* committer — the engine's thread that commits results (result_commit.h).
 *
 * A worker thread that has written a result hands its `done` message and
 * the result's pending commit to the engine, which passes them here and
 * gives the worker its next job at once: the worker computes while the
 * disk syncs. The committer runs the commits in order, one at a time, and
 * hands each item back over its pipe; a commit that fails turns its done
 * into the failure. The engine forwards the done to the broker only then,
 * so a job reported done still has its result on disk.
 */
#ifndef IMG_COMMITTER_H
#define IMG_COMMITTER_H

#include "msg.h"
#include "result_commit.h"

#include <czmq.h>

/* One commit and the done message that waits for it. */
typedef struct {
    result_commit_t *commit; /* owned by the item */
    msg_t *done;             /* owned by the item */
    void *tag;               /* the sender's, handed back untouched */
} committer_item_t;

/* Starts the committer thread. NULL on failure. */
zactor_t *committer_new(void);

/* Hands item (a heap object) to the committer, which owns it until it
 * comes back. 0, or -1 (the caller keeps it). */
int committer_send(zactor_t *committer, committer_item_t *item);

/* The next item back, its commit run (caller owns: committer_item_free),
 * or NULL. */
committer_item_t *committer_recv(zactor_t *committer);

/* Runs item's commit and, when it fails, makes item's done the failure.
 * The thread calls it; exposed for tests. */
void committer_run(committer_item_t *item);

/* Frees item, its commit and its done (abandoning a commit not run);
 * harmless on NULL. */
void committer_item_free(committer_item_t *item);

#endif

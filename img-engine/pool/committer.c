#include "committer.h"

#include "actor_pipe.h"
#include "img_error.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void committer_run(committer_item_t *item)
{
    img_error_clear();
    if (result_commit_run(item->commit) == 0)
        return;
    msg_t *done = item->done;
    log_warn("committer: job %s: %s", done->id, img_error_message());
    done->ok = false;
    json_decref(done->result);
    done->result = NULL;
    snprintf(done->error_code, sizeof done->error_code, "%s",
             img_error_code_name(img_error_code()));
    snprintf(done->error_message, sizeof done->error_message, "%s", img_error_message());
}

void committer_item_free(committer_item_t *item)
{
    if (!item)
        return;
    if (item->commit)
        result_commit_abandon(item->commit);
    free(item->commit);
    if (item->done)
        msg_clear(item->done);
    free(item->done);
    free(item);
}

static void s_actor(zsock_t *pipe, void *arg)
{
    (void)arg;
    zsock_signal(pipe, 0);
    void *item;
    while (actor_pipe_next(pipe, &item)) {
        if (item)
            committer_run(item);
        zsock_send(pipe, "p", item);
    }
}

zactor_t *committer_new(void)
{
    return zactor_new(s_actor, NULL);
}

int committer_send(zactor_t *committer, committer_item_t *item)
{
    return zsock_send(committer, "sp", "COMMIT", item);
}

committer_item_t *committer_recv(zactor_t *committer)
{
    void *item = NULL;
    if (zsock_recv(committer, "p", &item) < 0)
        return NULL;
    return item;
}

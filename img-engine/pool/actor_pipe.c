#include "actor_pipe.h"

#include <stdlib.h>
#include <string.h>

bool actor_pipe_next(zsock_t *pipe, void **item)
{
    char *command = NULL;
    *item = NULL;
    bool go_on =
        zsock_recv(pipe, "sp", &command, item) == 0 && command && strcmp(command, "$TERM") != 0;
    free(command);
    return go_on;
}

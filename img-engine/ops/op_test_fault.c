/* op_test_fault — a test-only operation that misbehaves on purpose, so the
 * end-to-end tests can prove that a job which crashes or hangs its worker
 * ends `failed` after its attempts while other jobs go on.
 *
 * Compiled in only with the CMake option IMG_TEST_OPS (on for test builds,
 * off in the Dockerfiles) and visible only when the environment variable
 * IMG_TEST_OPS=1 is set for both programs (op_registry.c).
 *   mode=crash  abort() the engine process
 *   mode=hang   never return, ignoring the time limit (a stuck thread)
 *   mode=sleep  wait `ms` milliseconds, then copy the input to PNG
 */
#include "img_error.h"
#include "op.h"
#include "op_params.h"
#include "op_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const s_modes[] = {"crash", "hang", "sleep", NULL};

static const op_param_t s_params[] = {
    {.name = "mode",
     .type = OP_PARAM_ENUM,
     .choices = s_modes,
     .has_default = true,
     .def_choice = "sleep",
     .help = "how to misbehave"},
    {.name = "ms",
     .type = OP_PARAM_INT,
     .min = 0,
     .max = 600000,
     .has_default = true,
     .def = 1000,
     .help = "sleep time in milliseconds"},
    {.name = NULL},
};

static int s_run(op_job_t *job)
{
    const char *mode = op_param_str(job->params, "mode", "sleep");
    if (strcmp(mode, "crash") == 0)
        abort();
    while (strcmp(mode, "hang") == 0)
        sleep(1);
    usleep((useconds_t)op_param_int(job->params, "ms", 1000) * 1000);
    if (!(job->out = op_util_open(job->inputs[0])))
        return -1;
    job->out_format = "png";
    return 0;
}

const op_def_t op_test_fault = {
    .name = "test_fault",
    .summary = "Test only: crash, hang or sleep",
    .n_inputs = 1,
    .inputs = {{"file", "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .run = s_run,
};

/* op_test_fault — a test-only operation that misbehaves on purpose, so the
 * end-to-end tests can prove that a job which crashes or hangs its engine
 * ends `failed` after its attempts while other jobs go on.
 *
 * Compiled into the catalogue only with the CMake option IMG_TEST_OPS (on
 * for test builds, off in release builds and the images) and listed only
 * when the environment variable IMG_TEST_OPS=1 is set for both programs.
 *   mode=crash  abort() the engine process
 *   mode=hang   never return, ignoring the time limit (a stuck thread)
 *   mode=sleep  wait `ms` milliseconds, then give the input back (PNG)
 */
#include "op_job.h"
#include "op_params.h"

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
     .help = "How to misbehave."},
    {.name = "ms",
     .type = OP_PARAM_INT,
     .min = 0,
     .max = 600000,
     .has_default = true,
     .def = 1000,
     .help = "Sleep time in milliseconds."},
    OP_OUTPUT_PARAMS("png"),
    {.name = NULL},
};

static int s_apply(op_job_t *job, const json_t *params, const op_size_t *planned, VipsImage *in,
                   VipsImage **out)
{
    (void)job;
    (void)planned;
    const char *mode = op_param_str(params, "mode", "sleep");
    if (strcmp(mode, "crash") == 0)
        abort();
    while (strcmp(mode, "hang") == 0)
        sleep(1);
    usleep((useconds_t)op_param_int(params, "ms", 1000) * 1000);
    *out = in;
    g_object_ref(in);
    return 0;
}

const op_def_t op_test_fault = {
    .name = "test_fault",
    .summary = "Test only: crash, hang or sleep.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_params,
    .result_kind = OP_RESULT_IMAGE,
    .apply = s_apply,
};

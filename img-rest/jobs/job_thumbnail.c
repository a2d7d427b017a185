#include "job_thumbnail.h"

#include "image_format.h"
#include "op_catalog.h"
#include "img_error.h"
#include "job_files.h"
#include "vips_message.h"

#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <vips/vips.h>

typedef struct {
    const img_config_t *cfg;
    const char *result, *temp, *final;
} make_t;

/* On a big-stack thread: result -> temp -> final. */
static int s_make(void *arg)
{
    const make_t *m = arg;
    VipsImage *thumb = NULL;
    char why[300];
    int rc = vips_thumbnail(m->result, &thumb, JOB_THUMBNAIL_SIZE, "height", JOB_THUMBNAIL_SIZE,
                            "size", VIPS_SIZE_DOWN, NULL);
    if (rc == 0)
        rc = vips_webpsave(thumb, m->temp, "Q", 70, "strip", TRUE, NULL);
    VIPS_UNREF(thumb);
    if (rc != 0) {
        vips_message_take(m->cfg->data_dir, why, sizeof why);
        unlink(m->temp);
        img_error_set(IMG_E_INTERNAL, "the thumbnail cannot be made: %s", why);
        return -1;
    }
    if (rename(m->temp, m->final) != 0) {
        unlink(m->temp);
        img_error_set_io(errno, "the thumbnail cannot be kept");
        return -1;
    }
    return 0;
}

int job_thumbnail_path(const img_config_t *cfg, big_stack_t *stacks, const job_t *job, char *out,
                       size_t size)
{
    char dir[PATH_MAX], result[PATH_MAX], temp[PATH_MAX];
    const op_def_t *op = op_catalog_find(job->operation);
    /* a JSON result's "format" is its input's (info): no image to show */
    const img_format_t *fmt =
        op && op->result_kind == OP_RESULT_IMAGE
            ? img_format_by_name(json_string_value(json_object_get(job->result, "format")))
            : NULL;
    if (!fmt) {
        img_error_set(IMG_E_NOT_FOUND, "a %s job has no image to show", job->operation);
        return -1;
    }
    if (job_files_dir(cfg->data_dir, job->id, dir, sizeof dir) < 0 ||
        job_files_thumbnail(dir, out, size) < 0)
        return -1;
    if (access(out, R_OK) == 0)
        return 0;
    if (job_files_result(dir, fmt->ext, result, sizeof result) < 0 ||
        job_files_result_temp(dir, "webp", temp, sizeof temp) < 0)
        return -1;
    make_t m = {cfg, result, temp, out};
    return big_stack_call(stacks, s_make, &m);
}

/* libFuzzer target: request parameters, from a query string to a planned
 * job.
 *
 * The input is a query string (up to its first NUL). query_parse() must
 * succeed or fail with bad_request / invalid_parameter, all or nothing; what
 * it accepts is validated for every operation of the catalogue
 * (op_params_validate with the default configuration), which must give an
 * object of numbers, strings and arrays or fail with invalid_parameter.
 * Validated parameters are then planned (op_plan_job) on inputs whose
 * headers are chosen by the input's bytes: a plan succeeds within the
 * limits (each side 1..max_output_dim, pixels x frames <= max_pixels, a
 * format that can be written) or fails with invalid_parameter /
 * dimension_mismatch, and the parameters it completed validate again (the
 * engine validates them again). Every error message must be valid UTF-8,
 * since it goes into a JSON reply.
 */
#include "img_error.h"
#include "op_catalog.h"
#include "op_params.h"
#include "op_plan.h"
#include "query.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void s_message_is_text(void)
{
    json_t *s = json_string(img_error_message());
    if (!s)
        __builtin_trap();
    json_decref(s);
}

/* Headers for the inputs, chosen by the bytes (an FNV-1a hash of them). */
static void s_inputs(const uint8_t *data, size_t size, image_info_t in[OP_MAX_INPUTS])
{
    static const int sides[] = {1, 2, 3, 17, 300, 400, 4000, 16384, 100000};
    static const char *const formats[] = {"jpeg", "png", "webp", "gif", "tiff", "heif", "avif"};
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ULL;
    for (int i = 0; i < OP_MAX_INPUTS; i++) {
        memset(&in[i], 0, sizeof in[i]);
        in[i].width = sides[h % 9], h /= 9;
        in[i].height = sides[h % 9], h /= 9;
        in[i].pages = 1 + (int)(h % 3), h /= 3;
        in[i].orientation = 1 + (int)(h % 8), h /= 8;
        strcpy(in[i].format, formats[h % 7]), h /= 7;
    }
}

static void s_check_plan(const op_def_t *op, const json_t *params, const op_plan_t *plan,
                         const img_config_t *cfg)
{
    if (op->result_kind == OP_RESULT_IMAGE) {
        const op_size_t *s = &plan->out;
        if (!plan->format || !plan->format->can_save || s->width < 1 || s->height < 1 ||
            s->width > cfg->max_output_dim || s->height > cfg->max_output_dim || s->pages < 1 ||
            (long long)s->width * s->height * s->pages > cfg->max_pixels || plan->quality < 0 ||
            plan->quality > 100)
            __builtin_trap();
    }
    json_t *again = op_params_validate(op, params, cfg);
    if (!again)
        __builtin_trap(); /* the engine would refuse what img-rest planned */
    json_decref(again);
}

static void s_validate_all(const json_t *raw, const image_info_t *inputs)
{
    img_config_t cfg;
    config_defaults(&cfg);
    for (size_t i = 0; i < op_catalog_count(); i++) {
        const op_def_t *op = op_catalog_at(i);
        img_error_clear();
        json_t *params = op_params_validate(op, raw, &cfg);
        if (!params) {
            if (img_error_code() != IMG_E_INVALID_PARAMETER)
                __builtin_trap();
            s_message_is_text();
            continue;
        }
        const char *key;
        json_t *value;
        json_object_foreach(params, key, value)
        {
            if (!json_is_number(value) && !json_is_string(value) && !json_is_array(value))
                __builtin_trap();
        }
        op_plan_t plan;
        img_error_clear();
        if (op_plan_job(op, params, inputs, &cfg, &plan) == 0) {
            s_check_plan(op, params, &plan, &cfg);
        } else {
            img_errcode_t code = img_error_code();
            /* a crop box outside this image: valid alone, unfit here (422) */
            if (code != IMG_E_INVALID_PARAMETER && code != IMG_E_PARAMETER_UNFIT &&
                code != IMG_E_DIMENSION_MISMATCH)
                __builtin_trap();
            s_message_is_text();
        }
        json_decref(params);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *query = malloc(size + 1);
    if (!query)
        return 0;
    memcpy(query, data, size);
    query[size] = '\0';
    json_t *raw = json_object();
    img_error_clear();
    if (query_parse(query, raw) < 0) {
        img_errcode_t code = img_error_code();
        if (code != IMG_E_BAD_REQUEST && code != IMG_E_INVALID_PARAMETER)
            __builtin_trap();
        if (json_object_size(raw) != 0) /* all or nothing */
            __builtin_trap();
        s_message_is_text();
    } else {
        if (json_object_size(raw) > QUERY_MAX_PARAMS)
            __builtin_trap();
        image_info_t inputs[OP_MAX_INPUTS];
        s_inputs(data, size, inputs);
        s_validate_all(raw, inputs);
    }
    json_decref(raw);
    free(query);
    return 0;
}

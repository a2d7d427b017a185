#include "openapi.h"

#include "http_cors.h"
#include "image_format.h"
#include "img_error.h"
#include "op_catalog.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 64
#define TEXT_MAX 2048

/* A response: its status code and the components.responses entry. */
typedef struct {
    const char *code, *name;
} answer_t;

/* The methods of path items: all of them, and those the routes declare
 * (HEAD and OPTIONS follow), in the order of the server's Allow header. */
static const char *const s_methods[] = {"get", "head", "post", "delete", "options", NULL};
static const char *const s_verbs[] = {"get", "post", "delete", NULL};

/* ---- small builders --------------------------------------------------- */

static json_t *s_ref(const char *kind, const char *name)
{
    return json_pack("{s:o}", "$ref", json_sprintf("#/components/%s/%s", kind, name));
}

/* A whole number as a JSON integer (minimum: 1, not 1.0), else a real. */
static json_t *s_number(double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

/* "test_fault" -> "TestFault": operationIds and schema names. */
static void s_camel(const char *name, char *out, size_t size)
{
    size_t n = 0;
    bool up = true;
    for (const char *c = name; *c && n + 1 < size; c++) {
        if (*c == '_' || *c == '-') {
            up = true;
            continue;
        }
        out[n++] = up && *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
        up = false;
    }
    out[n] = '\0';
}

/* "a" or "an" before name. */
static const char *s_article(const char *name)
{
    return strchr("aeiou", name[0]) && name[0] ? "an" : "a";
}

/* The answers, as references to components.responses. */
static json_t *s_answers(const answer_t *answers)
{
    json_t *out = json_object();
    for (const answer_t *a = answers; a->code; a++)
        json_object_set_new(out, a->code, s_ref("responses", a->name));
    return out;
}

/* components.<kind>.<name>, or NULL. */
static json_t *s_component(const json_t *doc, const char *kind, const char *name)
{
    return json_object_get(json_object_get(json_object_get(doc, "components"), kind), name);
}

/* Appends printf-style text to the string member key of o. */
static void s_append(json_t *o, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_append(json_t *o, const char *key, const char *fmt, ...)
{
    char text[TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    const char *old = json_string_value(json_object_get(o, key));
    json_object_set_new(o, key, json_sprintf("%s%s", old ? old : "", text));
}

/* ---- parameters ------------------------------------------------------- */

static bool s_has_steps(const op_def_t *op)
{
    for (const op_param_t *p = op->params; p && p->name; p++)
        if (p->type == OP_PARAM_STEPS)
            return true;
    return false;
}

/* A step of a pipeline: one image in, one out, and not itself a pipeline. */
static bool s_is_step(const op_def_t *op)
{
    return op->apply && !s_has_steps(op);
}

static double s_max(const op_param_t *p, const img_config_t *cfg)
{
    return p->pixels && cfg->max_output_dim < p->max ? cfg->max_output_dim : p->max;
}

static json_t *s_strings(const char *const *list)
{
    json_t *out = json_array();
    for (const char *const *s = list; s && *s; s++)
        json_array_append_new(out, json_string(*s));
    return out;
}

static void s_param_help(json_t *schema, const op_param_t *p, const img_config_t *cfg)
{
    s_append(schema, "description", "%s", p->help ? p->help : "");
    if (p->alias)
        s_append(schema, "description", " Also accepted as `%s`.", p->alias);
    if (p->pixels && cfg->max_output_dim < p->max)
        s_append(schema, "description", " At most %d, this server's `max_output_dim`.",
                 cfg->max_output_dim);
    if (p->type == OP_PARAM_STEPS)
        s_append(schema, "description",
                 " A JSON array of %g to %g objects `{\"op\": \"<step>\", ...that step's "
                 "parameters}`; each step's parameters are validated at submit as for its "
                 "operation, and a refusal names the step's index.",
                 p->min, p->max);
}

/* The schema of parameter p; steps: the items of a STEPS parameter. */
static json_t *s_param_schema(const op_param_t *p, const img_config_t *cfg, const json_t *steps)
{
    json_t *s = json_object();
    switch (p->type) {
    case OP_PARAM_INT:
    case OP_PARAM_NUMBER:
        json_object_set_new(s, "type", json_string(p->type == OP_PARAM_INT ? "integer" : "number"));
        json_object_set_new(s, "minimum", s_number(p->min));
        json_object_set_new(s, "maximum", s_number(s_max(p, cfg)));
        if (p->has_default)
            json_object_set_new(s, "default", s_number(p->def));
        break;
    case OP_PARAM_ENUM:
        json_object_set_new(s, "type", json_string("string"));
        json_object_set_new(s, "enum", s_strings(p->choices));
        if (p->has_default && p->def_choice)
            json_object_set_new(s, "default", json_string(p->def_choice));
        break;
    case OP_PARAM_STEPS:
        json_object_set_new(s, "type", json_string("array"));
        json_object_set_new(s, "minItems", s_number(p->min));
        json_object_set_new(s, "maxItems", s_number(p->max));
        json_object_set_new(s, "items",
                            steps ? json_deep_copy(steps) : json_pack("{s:s}", "type", "object"));
        if (json_object_get(steps, "example") && p->min <= 1 && p->max >= 1)
            json_object_set_new(s, "example", json_pack("[O]", json_object_get(steps, "example")));
        break;
    }
    s_param_help(s, p, cfg);
    if (p->alias)
        json_object_set_new(s, "x-alias", json_string(p->alias));
    return s;
}

/* Adds op's parameters to properties (and the required ones to required). */
static void s_add_params(const op_def_t *op, const img_config_t *cfg, const json_t *steps,
                         json_t *properties, json_t *required)
{
    for (const op_param_t *p = op->params; p && p->name; p++) {
        json_object_set_new(properties, p->name, s_param_schema(p, cfg, steps));
        if (p->required)
            json_array_append_new(required, json_string(p->name));
    }
}

/* An object schema; `required` is left out when empty (OpenAPI 3.0). */
static json_t *s_object(const char *description, json_t *properties, json_t *required)
{
    json_t *o = json_pack("{s:s, s:s}", "type", "object", "description", description);
    if (json_array_size(required))
        json_object_set(o, "required", required);
    json_object_set(o, "properties", properties);
    json_decref(required);
    json_decref(properties);
    return o;
}

/* ---- pipeline steps --------------------------------------------------- */

/* One element of a steps array running op: {"op": name, ...its parameters}. */
static json_t *s_step_schema(const op_def_t *op, const img_config_t *cfg)
{
    json_t *properties = json_object(), *required = json_array();
    char text[TEXT_MAX];
    json_object_set_new(properties, "op",
                        json_pack("{s:s, s:[s], s:s}", "type", "string", "enum", op->name,
                                  "description", "The step's operation."));
    json_array_append_new(required, json_string("op"));
    s_add_params(op, cfg, NULL, properties, required);
    snprintf(text, sizeof text, "A `%s` step: %s", op->name, op->summary ? op->summary : "");
    return s_object(text, properties, required);
}

/* A valid step of op, the smallest: its name, and for each required
 * parameter its default, else its minimum or first choice. */
static json_t *s_step_example(const op_def_t *op)
{
    json_t *step = json_pack("{s:s}", "op", op->name);
    for (const op_param_t *p = op->params; p && p->name; p++) {
        if (!p->required)
            continue;
        if (p->type == OP_PARAM_ENUM)
            json_object_set_new(step, p->name,
                                json_string(p->has_default ? p->def_choice : p->choices[0]));
        else if (p->type != OP_PARAM_STEPS)
            json_object_set_new(step, p->name, s_number(p->has_default ? p->def : p->min));
    }
    return step;
}

/* The items of a steps array: one of the `<Name>Step` schemas, chosen by
 * `op`, made in components.schemas for every step operation of ops; its
 * example is the first step operation's smallest step. */
static json_t *s_steps_items(json_t *doc, const op_def_t *const *ops, size_t n_ops,
                             const img_config_t *cfg)
{
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    json_t *one_of = json_array(), *mapping = json_object(), *example = NULL;
    char name[NAME_MAX_LEN + 8];
    for (size_t i = 0; i < n_ops; i++) {
        if (!s_is_step(ops[i]))
            continue;
        if (!example)
            example = s_step_example(ops[i]);
        s_camel(ops[i]->name, name, NAME_MAX_LEN);
        strcat(name, "Step");
        json_object_set_new(schemas, name, s_step_schema(ops[i], cfg));
        json_array_append_new(one_of, s_ref("schemas", name));
        json_object_set_new(mapping, ops[i]->name, json_sprintf("#/components/schemas/%s", name));
    }
    json_t *items = json_pack("{s:o, s:{s:s, s:o}}", "oneOf", one_of, "discriminator",
                              "propertyName", "op", "mapping", mapping);
    if (example)
        json_object_set_new(items, "example", example);
    return items;
}

/* ---- the submit route ------------------------------------------------- */

static json_t *s_input_schema(const op_def_t *op, int i, const img_config_t *cfg)
{
    const op_input_t *in = &op->inputs[i];
    json_t *s = json_pack("{s:s, s:s}", "type", "string", "format", "binary");
    if (op->n_inputs == 1)
        s_append(s, "description", "The image");
    else
        s_append(s, "description", "Image %d of %d", i + 1, op->n_inputs);
    s_append(s, "description", ", in one of the accepted formats (%s), recognised from its bytes.",
             cfg->allowed_formats);
    if (in->alias) {
        s_append(s, "description", " The field may be named `%s` instead.", in->alias);
        json_object_set_new(s, "x-alias", json_string(in->alias));
    }
    return s;
}

static json_t *s_submit_body(const op_def_t *op, const img_config_t *cfg, const json_t *steps)
{
    json_t *properties = json_object(), *required = json_array(), *encoding = json_object();
    for (int i = 0; i < op->n_inputs; i++) {
        json_object_set_new(properties, op->inputs[i].name, s_input_schema(op, i, cfg));
        json_array_append_new(required, json_string(op->inputs[i].name));
    }
    s_add_params(op, cfg, steps, properties, required);
    for (const op_param_t *p = op->params; p && p->name; p++)
        if (p->type == OP_PARAM_STEPS)
            json_object_set_new(encoding, p->name,
                                json_pack("{s:s}", "contentType", "application/json"));
    json_object_set_new(properties, "callback_url", s_ref("schemas", "CallbackUrl"));
    json_t *media = json_pack("{s:o}", "schema",
                              s_object("The inputs, the parameters and the job options; each "
                                       "parameter may be sent as a query parameter instead.",
                                       properties, required));
    if (json_object_size(encoding))
        json_object_set(media, "encoding", encoding);
    json_decref(encoding);
    return json_pack("{s:b, s:{s:o}}", "required", 1, "content", "multipart/form-data", media);
}

static json_t *s_submit(const op_def_t *op, const char *cap, const img_config_t *cfg,
                        const json_t *steps)
{
    static const answer_t answers[] = {{"202", "JobAccepted"},
                                       {"400", "BadUpload"},
                                       {"401", "Unauthorized"},
                                       {"413", "PayloadTooLarge"},
                                       {"415", "UnsupportedMediaType"},
                                       {"422", "Unprocessable"},
                                       {"429", "RateLimited"},
                                       {"500", "Internal"},
                                       {"503", "QueueFull"},
                                       {"507", "InsufficientStorage"},
                                       {NULL, NULL}};
    json_t *o = json_pack("{s:[s], s:o, s:s, s:o, s:[o], s:o, s:o}", "tags", op->name,
                          "operationId", json_sprintf("submit%s", cap), "summary",
                          op->summary ? op->summary : op->name, "description",
                          json_sprintf("%s Answers 202 at once with the job to follow; an upload "
                                       "that cannot be done answers 4xx at once.",
                                       op->summary ? op->summary : ""),
                          "parameters", s_ref("parameters", "IdempotencyKey"), "requestBody",
                          s_submit_body(op, cfg, steps), "responses", s_answers(answers));
    return o;
}

/* ---- the job routes of an operation ----------------------------------- */

/* A job route of op: {id} in the path, and get (taken). */
static json_t *s_job_route(const op_def_t *op, json_t *get)
{
    json_t *tagged = json_pack("{s:[s]}", "tags", op->name);
    json_object_update(tagged, get);
    json_decref(get);
    return json_pack("{s:[o], s:o}", "parameters", s_ref("parameters", "JobId"), "get", tagged);
}

static json_t *s_status(const op_def_t *op, const char *cap)
{
    static const answer_t answers[] = {
        {"200", "JobStatus"}, {"400", "BadQuery"},    {"401", "Unauthorized"},
        {"404", "NotFound"},  {"429", "RateLimited"}, {"500", "Internal"},
        {NULL, NULL}};
    json_t *get = json_pack(
        "{s:o, s:o, s:s, s:[o], s:o}", "operationId", json_sprintf("get%sStatus", cap), "summary",
        json_sprintf("Status of %s %s job", s_article(op->name), op->name), "description",
        "The job's status object (also at `GET /jobs/{id}`). With `wait`, answers as soon as the "
        "job is `complete` or `failed`, or after `wait` seconds with the current status.",
        "parameters", s_ref("parameters", "Wait"), "responses", s_answers(answers));
    return s_job_route(op, get);
}

/* Adds the MIME type of every writable format of names to types; "same"
 * (the input's format, or the nearest writable one) stands for them all. */
static void s_add_types(json_t *types, const char *const *names)
{
    for (const char *const *n = names; n && *n; n++) {
        const img_format_t *f = img_format_by_name(*n);
        if (strcmp(*n, "same") == 0)
            s_add_types(types, op_formats);
        else if (f && f->can_save)
            json_object_set_new(
                types, f->mime,
                json_pack("{s:{s:s, s:s}}", "schema", "type", "string", "format", "binary"));
    }
}

/* The MIME types op's result can have: those of its `format` choices, or
 * (no such parameter: the input's format) of every writable format. */
static json_t *s_result_types(const op_def_t *op)
{
    const char *const *names = op_formats;
    json_t *types = json_object();
    for (const op_param_t *p = op->params; p && p->name; p++)
        if (p->type == OP_PARAM_ENUM && strcmp(p->name, "format") == 0)
            names = p->choices;
    s_add_types(types, names);
    return types;
}

static json_t *s_result_ok(const json_t *doc, const op_def_t *op, const char *cap)
{
    json_t *headers =
        json_pack("{s:o, s:o, s:o}", "ETag", s_ref("headers", "ETag"), "Content-Length",
                  s_ref("headers", "ContentLength"), "Cache-Control",
                  s_ref("headers", op->result_kind == OP_RESULT_IMAGE ? "ResultCacheControl"
                                                                      : "JsonCacheControl"));
    if (op->result_kind == OP_RESULT_IMAGE)
        return json_pack("{s:s, s:o, s:o}", "description",
                         "The result image; its `Content-Type` is that of the job's output "
                         "format.",
                         "headers", headers, "content", s_result_types(op));
    char name[NAME_MAX_LEN + 8];
    snprintf(name, sizeof name, "%sResult", cap);
    json_t *schema = s_component(doc, "schemas", name) ? s_ref("schemas", name)
                                                       : json_pack("{s:s}", "type", "object");
    return json_pack("{s:s, s:o, s:{s:{s:o}}}", "description", "The job's JSON result.", "headers",
                     headers, "content", "application/json", "schema", schema);
}

static json_t *s_result(const json_t *doc, const op_def_t *op, const char *cap)
{
    static const answer_t answers[] = {
        {"202", "JobPending"},  {"401", "Unauthorized"}, {"404", "NotFound"}, {"409", "JobFailed"},
        {"429", "RateLimited"}, {"500", "Internal"},     {NULL, NULL}};
    json_t *responses = s_answers(answers);
    json_object_set_new(responses, "200", s_result_ok(doc, op, cap));
    json_object_set_new(
        responses, "304",
        s_ref("responses", op->result_kind == OP_RESULT_IMAGE ? "NotModified" : "JsonNotModified"));
    json_t *get = json_pack(
        "{s:o, s:o, s:s, s:[o], s:o}", "operationId", json_sprintf("get%sResult", cap), "summary",
        json_sprintf("Result of %s %s job", s_article(op->name), op->name), "description",
        "The result once the job is `complete`, with an `ETag` (304 on `If-None-Match`). While "
        "it is `queued` or `processing`: 202 with the status object and `Retry-After`. A failed "
        "job: 409 `job_failed` with the job's error message.",
        "parameters", s_ref("parameters", "IfNoneMatch"), "responses", responses);
    return s_job_route(op, get);
}

/* paths[path] = item (taken); -1 if the path is there already. */
static int s_put_path(json_t *paths, json_t *item, const char *fmt, const char *name)
{
    char path[NAME_MAX_LEN * 2];
    snprintf(path, sizeof path, fmt, name);
    if (json_object_get(paths, path)) {
        json_decref(item);
        img_error_set(IMG_E_CONFIG, "openapi.base.json already has the path %s of operation %s",
                      path, name);
        return -1;
    }
    json_object_set_new(paths, path, item);
    return 0;
}

static int s_add_operation(json_t *doc, const op_def_t *op, const img_config_t *cfg,
                           const json_t *steps)
{
    json_t *paths = json_object_get(doc, "paths");
    char cap[NAME_MAX_LEN];
    s_camel(op->name, cap, sizeof cap);
    if (s_put_path(paths, json_pack("{s:o}", "post", s_submit(op, cap, cfg, steps)), "/%s",
                   op->name) < 0 ||
        s_put_path(paths, s_status(op, cap), "/%s/status/{id}", op->name) < 0 ||
        s_put_path(paths, s_result(doc, op, cap), "/%s/{id}", op->name) < 0)
        return -1;
    return 0;
}

/* Every operation's routes; the operations' tags go before the base's. */
static int s_add_operations(json_t *doc, const op_def_t *const *ops, size_t n_ops,
                            const img_config_t *cfg)
{
    json_t *steps = NULL, *tags = json_array();
    int rc = -1;
    for (size_t i = 0; i < n_ops && !steps; i++)
        if (s_has_steps(ops[i]))
            steps = s_steps_items(doc, ops, n_ops, cfg);
    for (size_t i = 0; i < n_ops; i++) {
        if (strlen(ops[i]->name) >= NAME_MAX_LEN) {
            img_error_set(IMG_E_CONFIG, "operation name %.64s... is too long", ops[i]->name);
            goto done;
        }
        if (s_add_operation(doc, ops[i], cfg, steps) < 0)
            goto done;
        json_array_append_new(tags, json_pack("{s:s, s:s}", "name", ops[i]->name, "description",
                                              ops[i]->summary ? ops[i]->summary : ""));
    }
    json_array_extend(tags, json_object_get(doc, "tags"));
    json_object_set(doc, "tags", tags);
    rc = 0;
done:
    json_decref(tags);
    json_decref(steps);
    return rc;
}

/* ---- what the configuration and the code decide ----------------------- */

/* The error codes answers and jobs carry, each once (several img_error
 * codes share a name: invalid_parameter is a 400 and a 422). */
static json_t *s_error_codes(void)
{
    json_t *list = json_array();
    for (int c = IMG_E_NONE + 1; c < IMG_E_COUNT; c++) {
        const char *name = img_error_code_name((img_errcode_t)c);
        bool seen = false;
        for (size_t i = 0; i < json_array_size(list) && !seen; i++)
            seen = strcmp(json_string_value(json_array_get(list, i)), name) == 0;
        if (c != IMG_E_CONFIG && !seen) /* config: never sent */
            json_array_append_new(list, json_string(name));
    }
    return list;
}

static int s_set_enums(json_t *doc, const op_def_t *const *ops, size_t n_ops)
{
    json_t *names = s_component(doc, "schemas", "OperationName");
    json_t *codes = s_component(doc, "schemas", "ErrorCode");
    if (!names || !codes) {
        img_error_set(IMG_E_CONFIG, "openapi.base.json has no schema OperationName or ErrorCode");
        return -1;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n_ops; i++)
        json_array_append_new(list, json_string(ops[i]->name));
    json_object_set_new(names, "enum", list);
    json_object_set_new(codes, "enum", s_error_codes());
    return 0;
}

static int s_set_limits(json_t *doc, const img_config_t *cfg)
{
    json_t *wait = json_object_get(s_component(doc, "parameters", "Wait"), "schema");
    json_t *info = json_object_get(doc, "info");
    if (!wait || !info) {
        img_error_set(IMG_E_CONFIG, "openapi.base.json has no info or parameter Wait");
        return -1;
    }
    json_object_set_new(wait, "maximum", json_integer(cfg->max_wait_s));
    s_append(info, "description",
             "\n\n**This server's limits.** Uploads up to %lld bytes (`max_upload_bytes`); inputs "
             "of %s (`allowed_formats`) up to %lld pixels (`max_pixels`, width x height x "
             "frames) and %d frames (`max_frames`); results up to %d pixels on a side "
             "(`max_output_dim`); `wait` up to %d s (`max_wait_s`); at most %d jobs queued "
             "(`max_queued`); finished jobs kept %d s (`retention_s`). API keys are %s.",
             cfg->max_upload_bytes, cfg->allowed_formats, cfg->max_pixels, cfg->max_frames,
             cfg->max_output_dim, cfg->max_wait_s, cfg->max_queued, cfg->retention_s,
             cfg->api_keys[0] ? "required" : "off");
    return 0;
}

/* The values of the CORS headers the server sends (http_cors.h), as the
 * only value of their schema and in their description. */
static int s_set_cors(json_t *doc)
{
    static const char *const values[][2] = {
        {"AccessControlExposeHeaders", HTTP_CORS_EXPOSE_HEADERS},
        {"AccessControlAllowHeaders", HTTP_CORS_ALLOW_HEADERS}};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        json_t *header = s_component(doc, "headers", values[i][0]);
        json_t *schema = json_object_get(header, "schema");
        if (!json_is_object(schema)) {
            img_error_set(IMG_E_CONFIG, "openapi.base.json has no header %s with a schema",
                          values[i][0]);
            return -1;
        }
        json_object_set_new(schema, "enum", json_pack("[s]", values[i][1]));
        s_append(header, "description", " `%s`.", values[i][1]);
    }
    return 0;
}

/* With API keys configured, a route that is not open needs one: the `{}`
 * alternative (no key) goes. */
static void s_set_security(json_t *doc, const img_config_t *cfg)
{
    json_t *security = json_object_get(doc, "security");
    for (size_t i = json_array_size(security); cfg->api_keys[0] && i-- > 0;)
        if (json_object_size(json_array_get(security, i)) == 0)
            json_array_remove(security, i);
}

/* ---- what holds on every route ---------------------------------------- */

/* X-Request-Id, and the CORS headers, on an answer that is not a $ref. */
static void s_answer_headers(json_t *response)
{
    static const char *const headers[][2] = {
        {"X-Request-Id", "RequestId"},
        {"Access-Control-Allow-Origin", "AccessControlAllowOrigin"},
        {"Access-Control-Expose-Headers", "AccessControlExposeHeaders"}};
    if (!json_is_object(response) || json_object_get(response, "$ref"))
        return;
    json_t *h = json_object_get(response, "headers");
    if (!h) {
        h = json_object();
        json_object_set_new(response, "headers", h);
    }
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++)
        if (!json_object_get(h, headers[i][0]))
            json_object_set_new(h, headers[i][0], s_ref("headers", headers[i][1]));
}

static void s_all_answer_headers(json_t *doc)
{
    const char *key, *path;
    json_t *value, *item;
    json_object_foreach(json_object_get(json_object_get(doc, "components"), "responses"), key,
                        value)
    {
        s_answer_headers(value);
    }
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        for (const char *const *m = s_methods; *m; m++) {
            json_object_foreach(json_object_get(json_object_get(item, *m), "responses"), key, value)
            {
                s_answer_headers(value);
            }
        }
    }
}

/* "getResizeResult" -> "ResizeResult": the operationId without its verb. */
static const char *s_suffix(const char *id)
{
    const char *s = id;
    while (*s >= 'a' && *s <= 'z')
        s++;
    return *s ? s : id;
}

/* The answer response without its body: a copy of an inline answer, or a
 * reference to a `<Name>Head` copy of a component. */
static json_t *s_bodiless(json_t *doc, const json_t *response)
{
    static const char prefix[] = "#/components/responses/";
    const char *ref = json_string_value(json_object_get(response, "$ref"));
    json_t *copy;
    char name[NAME_MAX_LEN * 2];
    if (!ref) {
        copy = json_deep_copy(response);
        json_object_del(copy, "content");
        return copy;
    }
    const json_t *target = strncmp(ref, prefix, sizeof prefix - 1) == 0
                               ? s_component(doc, "responses", ref + sizeof prefix - 1)
                               : NULL;
    if (!json_object_get(target, "content"))
        return json_deep_copy(response);
    snprintf(name, sizeof name, "%sHead", ref + sizeof prefix - 1);
    if (!s_component(doc, "responses", name)) {
        copy = json_deep_copy(target);
        json_object_del(copy, "content");
        json_object_set_new(json_object_get(json_object_get(doc, "components"), "responses"), name,
                            copy);
    }
    return s_ref("responses", name);
}

/* HEAD: GET's answers without their bodies. */
static json_t *s_head_of(json_t *doc, const json_t *get)
{
    json_t *head = json_deep_copy(get), *responses = json_object();
    const char *code;
    json_t *response;
    json_object_foreach(json_object_get(get, "responses"), code, response)
    {
        json_object_set_new(responses, code, s_bodiless(doc, response));
    }
    json_object_set_new(head, "responses", responses);
    json_object_set_new(
        head, "operationId",
        json_sprintf("head%s", s_suffix(json_string_value(json_object_get(get, "operationId")))));
    json_object_set_new(
        head, "summary",
        json_sprintf("%s (headers only)", json_string_value(json_object_get(get, "summary"))));
    json_object_set_new(head, "description",
                        json_string("As `GET`: the same status and headers, without a body."));
    json_object_del(head, "requestBody");
    return head;
}

static int s_compare_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The members of o in the order of their keys (answers by status code). */
static void s_sort_keys(json_t *o)
{
    const char *keys[64];
    size_t n = 0;
    const char *key;
    json_t *value, *sorted = json_object();
    json_object_foreach(o, key, value)
    {
        if (n < sizeof keys / sizeof keys[0])
            keys[n++] = key;
    }
    qsort(keys, n, sizeof keys[0], s_compare_keys);
    for (size_t i = 0; i < n; i++)
        json_object_set(sorted, keys[i], json_object_get(o, keys[i]));
    if (n == json_object_size(o)) { /* sorted holds its own keys */
        json_object_clear(o);
        json_object_update(o, sorted);
    }
    json_decref(sorted);
}

/* What the HTTP layer answers on any path and method before a route is
 * chosen (http_reply_civetweb_error: a request that cannot be read as
 * HTTP, or whose head is more than the server reads), where the operation
 * has no answer of that status itself. */
static void s_add_protocol_answers(json_t *responses)
{
    static const answer_t answers[] = {{"400", "MalformedRequest"},
                                       {"413", "RequestHeadTooLarge"},
                                       {"431", "TooManyHeaderFields"},
                                       {"505", "HttpVersionNotSupported"},
                                       {NULL, NULL}};
    for (const answer_t *a = answers; a->code; a++)
        if (!json_object_get(responses, a->code))
            json_object_set_new(responses, a->code, s_ref("responses", a->name));
}

static json_t *s_options_of(const json_t *first, const char *allow)
{
    const char *id = json_string_value(json_object_get(first, "operationId"));
    json_t *options = json_pack(
        "{s:O, s:o, s:s, s:o, s:[], s:{s:o, s:o}}", "tags", json_object_get(first, "tags"),
        "operationId", json_sprintf("options%s", s_suffix(id ? id : "")), "summary",
        "Methods of this path, and the CORS preflight", "description",
        json_sprintf("Answers 204 with `Allow: %s`; with `cors_origins` configured and an allowed "
                     "`Origin`, also the CORS preflight headers. Needs no API key.",
                     allow),
        "security", "responses", "204", s_ref("responses", "Options"), "405",
        s_ref("responses", "MethodNotAllowed"));
    s_add_protocol_answers(json_object_get(options, "responses"));
    s_sort_keys(json_object_get(options, "responses"));
    return options;
}

/* 405 and the protocol answers among every operation's answers, HEAD
 * beside GET, OPTIONS, and the X-Request-Id request header; operationIds
 * must stay unique (seen). */
static int s_complete_path(json_t *doc, const char *path, json_t *item, json_t *seen)
{
    char allow[64] = "";
    const json_t *first = NULL;
    for (const char *const *m = s_verbs; *m; m++) {
        json_t *op = json_object_get(item, *m);
        if (!op)
            continue;
        first = first ? first : op;
        if (!json_object_get(json_object_get(op, "responses"), "405"))
            json_object_set_new(json_object_get(op, "responses"), "405",
                                s_ref("responses", "MethodNotAllowed"));
        s_add_protocol_answers(json_object_get(op, "responses"));
        s_sort_keys(json_object_get(op, "responses"));
        snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s",
                 strcmp(*m, "get") == 0    ? "GET, HEAD"
                 : strcmp(*m, "post") == 0 ? "POST"
                                           : "DELETE",
                 ", ");
    }
    if (!first) {
        img_error_set(IMG_E_CONFIG, "path %s has no GET, POST or DELETE", path);
        return -1;
    }
    strncat(allow, "OPTIONS", sizeof allow - strlen(allow) - 1);
    if (json_object_get(item, "get") && !json_object_get(item, "head"))
        json_object_set_new(item, "head", s_head_of(doc, json_object_get(item, "get")));
    json_object_set_new(item, "options", s_options_of(first, allow));
    json_t *parameters = json_object_get(item, "parameters");
    if (!parameters) {
        parameters = json_array();
        json_object_set_new(item, "parameters", parameters);
    }
    json_array_append_new(parameters, s_ref("parameters", "RequestId"));
    for (const char *const *m = s_methods; *m; m++) {
        const char *id =
            json_string_value(json_object_get(json_object_get(item, *m), "operationId"));
        if (id && json_object_get(seen, id)) {
            img_error_set(IMG_E_CONFIG, "operationId %s is used twice (again on %s)", id, path);
            return -1;
        }
        if (id)
            json_object_set_new(seen, id, json_true());
    }
    return 0;
}

static int s_complete_paths(json_t *doc)
{
    json_t *seen = json_object(), *item;
    const char *path;
    int rc = 0;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        if (rc == 0)
            rc = s_complete_path(doc, path, item, seen);
    }
    json_decref(seen);
    return rc;
}

/* ---- the document ----------------------------------------------------- */

static json_t *s_load_base(const img_config_t *cfg)
{
    char path[PATH_MAX];
    json_error_t err;
    snprintf(path, sizeof path, "%s/openapi.base.json", cfg->docs_dir);
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    json_t *components = json_object_get(doc, "components");
    if (!json_is_object(doc)) {
        img_error_set(IMG_E_CONFIG, "docs_dir: %s is not a JSON object: %s", path, err.text);
        goto fail;
    }
    if (!json_is_object(json_object_get(doc, "paths")) ||
        !json_is_array(json_object_get(doc, "tags")) ||
        !json_is_array(json_object_get(doc, "security")) ||
        !json_is_object(json_object_get(components, "schemas")) ||
        !json_is_object(json_object_get(components, "responses"))) {
        img_error_set(IMG_E_CONFIG,
                      "docs_dir: %s lacks paths, tags, security, components.schemas or "
                      "components.responses",
                      path);
        goto fail;
    }
    return doc;
fail:
    json_decref(doc);
    return NULL;
}

json_t *openapi_document_of(const img_config_t *cfg, const op_def_t *const *ops, size_t n_ops)
{
    json_t *doc = s_load_base(cfg);
    if (!doc)
        return NULL;
    if (s_add_operations(doc, ops, n_ops, cfg) < 0 || s_set_enums(doc, ops, n_ops) < 0 ||
        s_set_limits(doc, cfg) < 0 || s_set_cors(doc) < 0)
        goto fail;
    s_set_security(doc, cfg);
    s_all_answer_headers(doc);
    if (s_complete_paths(doc) < 0)
        goto fail;
    return doc;
fail:
    json_decref(doc);
    return NULL;
}

json_t *openapi_document_new(const img_config_t *cfg)
{
    size_t n = op_catalog_count();
    const op_def_t **ops = calloc(n ? n : 1, sizeof *ops);
    if (!ops) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        ops[i] = op_catalog_at(i);
    json_t *doc = openapi_document_of(cfg, ops, n);
    free(ops);
    return doc;
}

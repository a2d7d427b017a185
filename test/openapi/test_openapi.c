/* test_openapi — the OpenAPI document and the operation catalogue agree.
 *
 * The document is built as the server builds it (openapi_document_new over
 * docs/openapi.base.json) and read back against the declarations of op.h,
 * field by field: every operation has its routes with the right methods,
 * every declared parameter appears with its type, range, default, choices
 * and required flag (and nothing undeclared does), every input with its
 * alias, a pixel size's maximum follows max_output_dim. A step of a pipeline
 * is checked through a pipeline operation the catalogue may not hold yet.
 * What holds on every route (HEAD, OPTIONS, 405, X-Request-Id) and the
 * document's own consistency ($refs, operationIds) are checked over all of
 * it. The expectations are derived here from the declarations, never from
 * the generator's code.
 */
#include "config.h"
#include "image_format.h"
#include "img_error.h"
#include "op.h"
#include "op_catalog.h"
#include "openapi.h"

#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- helpers ----------------------------------------------------------- */

static void s_config(img_config_t *cfg)
{
    config_defaults(cfg);
    snprintf(cfg->docs_dir, sizeof cfg->docs_dir, "%s/docs", TEST_SOURCE_ROOT);
}

static json_t *s_document(const img_config_t *cfg)
{
    json_t *doc = openapi_document_new(cfg);
    if (!doc)
        fail_msg("openapi_document_new: %s", img_error_message());
    return doc;
}

/* The node a {"$ref": "#/components/<kind>/<name>"} points to (followed
 * until it is not a reference); the node itself when it is none. */
static const json_t *s_resolve(const json_t *doc, const json_t *node)
{
    for (int hops = 0; hops < 8; hops++) {
        const char *ref = json_string_value(json_object_get(node, "$ref"));
        char kind[64], name[128];
        if (!ref)
            return node;
        if (sscanf(ref, "#/components/%63[^/]/%127s", kind, name) != 2)
            fail_msg("$ref %s is not a component", ref);
        node = json_object_get(json_object_get(json_object_get(doc, "components"), kind), name);
        if (!node)
            fail_msg("$ref %s points to nothing", ref);
    }
    fail_msg("$ref loop");
    return NULL;
}

static const json_t *s_path(const json_t *doc, const char *fmt, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, fmt, name);
    return json_object_get(json_object_get(doc, "paths"), path);
}

static const json_t *s_body_schema(const json_t *doc, const op_def_t *op)
{
    const json_t *post = json_object_get(s_path(doc, "/%s", op->name), "post");
    const json_t *schema = json_object_get(
        json_object_get(json_object_get(json_object_get(post, "requestBody"), "content"),
                        "multipart/form-data"),
        "schema");
    if (!json_is_object(schema))
        fail_msg("POST /%s has no multipart/form-data schema", op->name);
    return schema;
}

static bool s_in_strings(const json_t *array, const char *s)
{
    size_t i;
    const json_t *v;
    json_array_foreach(array, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

/* "test_fault" -> "TestFault", written here again on purpose. */
static void s_pascal(const char *name, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; name[i] && n + 1 < size; i++)
        if (name[i] != '_')
            out[n++] =
                (char)(i == 0 || name[i - 1] == '_' ? toupper((unsigned char)name[i]) : name[i]);
    out[n] = '\0';
}

static void s_expect_number(const json_t *schema, const char *key, double want, const char *what)
{
    const json_t *v = json_object_get(schema, key);
    if (!json_is_number(v))
        fail_msg("%s: no number %s, the declaration says %g", what, key, want);
    if (json_number_value(v) != want)
        fail_msg("%s: %s is %g, the declaration says %g", what, key, json_number_value(v), want);
}

/* The maximum the server enforces for p (op_params.c). */
static double s_expected_max(const op_param_t *p, const img_config_t *cfg)
{
    return p->pixels && cfg->max_output_dim < p->max ? cfg->max_output_dim : p->max;
}

/* A parameter's schema against its declaration (not STEPS' items). */
static void s_check_param(const op_def_t *op, const op_param_t *p, const json_t *schema,
                          const img_config_t *cfg)
{
    static const char *const types[] = {
        [OP_PARAM_INT] = "integer",
        [OP_PARAM_NUMBER] = "number",
        [OP_PARAM_ENUM] = "string",
        [OP_PARAM_STEPS] = "array",
    };
    char what[160];
    snprintf(what, sizeof what, "%s.%s", op->name, p->name);
    if (!json_is_object(schema))
        fail_msg("%s is declared but not in the document", what);
    const char *type = json_string_value(json_object_get(schema, "type"));
    if (!type || strcmp(type, types[p->type]) != 0)
        fail_msg("%s: type %s, the declaration says %s", what, type ? type : "(none)",
                 types[p->type]);
    const json_t *def = json_object_get(schema, "default");
    switch (p->type) {
    case OP_PARAM_INT:
    case OP_PARAM_NUMBER:
        s_expect_number(schema, "minimum", p->min, what);
        s_expect_number(schema, "maximum", s_expected_max(p, cfg), what);
        if (p->has_default)
            s_expect_number(schema, "default", p->def, what);
        if (p->type == OP_PARAM_INT && def && !json_is_integer(def))
            fail_msg("%s: an integer's default is not an integer", what);
        break;
    case OP_PARAM_ENUM: {
        const json_t *e = json_object_get(schema, "enum");
        size_t n = 0;
        for (const char *const *c = p->choices; c && *c; c++, n++)
            if (!json_is_string(json_array_get(e, n)) ||
                strcmp(json_string_value(json_array_get(e, n)), *c) != 0)
                fail_msg("%s: enum[%zu] is not %s", what, n, *c);
        if (json_array_size(e) != n)
            fail_msg("%s: enum has %zu values, the declaration %zu", what, json_array_size(e), n);
        if (p->has_default &&
            (!json_is_string(def) || strcmp(json_string_value(def), p->def_choice) != 0))
            fail_msg("%s: default is not %s", what, p->def_choice);
        break;
    }
    case OP_PARAM_STEPS:
        s_expect_number(schema, "minItems", p->min, what);
        s_expect_number(schema, "maxItems", p->max, what);
        break;
    }
    if (!p->has_default && def)
        fail_msg("%s has no default, the document gives one", what);
    const char *description = json_string_value(json_object_get(schema, "description"));
    if (!description || (p->help && !strstr(description, p->help)))
        fail_msg("%s: the description does not hold the help text", what);
    const char *alias = json_string_value(json_object_get(schema, "x-alias"));
    if (p->alias ? !alias || strcmp(alias, p->alias) != 0 || !strstr(description, p->alias)
                 : alias != NULL)
        fail_msg("%s: the alias is not described as declared", what);
}

static size_t s_count_params(const op_def_t *op)
{
    size_t n = 0;
    for (const op_param_t *p = op->params; p && p->name; p++)
        n++;
    return n;
}

/* The body of op's submit against its declaration (a STEPS parameter's
 * items are checked by the pipeline test). */
static void s_check_body(const json_t *doc, const op_def_t *op, const img_config_t *cfg)
{
    const json_t *schema = s_body_schema(doc, op);
    const json_t *properties = json_object_get(schema, "properties");
    const json_t *required = json_object_get(schema, "required");
    size_t n_required = 0;
    for (int i = 0; i < op->n_inputs; i++) {
        const op_input_t *in = &op->inputs[i];
        const json_t *s = json_object_get(properties, in->name);
        if (!s || strcmp(json_string_value(json_object_get(s, "type")), "string") != 0 ||
            strcmp(json_string_value(json_object_get(s, "format")), "binary") != 0)
            fail_msg("%s: input %s is not a binary field", op->name, in->name);
        if (!s_in_strings(required, in->name))
            fail_msg("%s: input %s is not required", op->name, in->name);
        n_required++;
        const char *alias = json_string_value(json_object_get(s, "x-alias"));
        const char *description = json_string_value(json_object_get(s, "description"));
        if (in->alias ? !alias || strcmp(alias, in->alias) != 0 || !description ||
                            !strstr(description, in->alias)
                      : alias != NULL)
            fail_msg("%s: the alias of input %s is not described as declared", op->name, in->name);
    }
    for (const op_param_t *p = op->params; p && p->name; p++) {
        s_check_param(op, p, json_object_get(properties, p->name), cfg);
        if (p->required != s_in_strings(required, p->name))
            fail_msg("%s.%s: required is %d in the document", op->name, p->name, !p->required);
        n_required += p->required;
    }
    /* the job option, and nothing that is not declared */
    const json_t *callback = s_resolve(doc, json_object_get(properties, "callback_url"));
    if (strcmp(json_string_value(json_object_get(callback, "format")), "uri") != 0)
        fail_msg("%s: callback_url is not a uri", op->name);
    if (json_object_size(properties) != (size_t)op->n_inputs + s_count_params(op) + 1) {
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)properties, key, v)
        {
            fprintf(stderr, "%s: field %s\n", op->name, key);
        }
        fail_msg("%s: the body has %zu fields, the declaration %d inputs and %zu parameters "
                 "(+ callback_url)",
                 op->name, json_object_size(properties), op->n_inputs, s_count_params(op));
    }
    if (json_array_size(required) != n_required)
        fail_msg("%s: %zu required fields, the declaration %zu", op->name,
                 json_array_size(required), n_required);
}

/* The methods a path item declares, as "get head options" ... */
static void s_expect_methods(const json_t *item, const char *path, const char *const *want)
{
    static const char *const all[] = {"get",    "head",  "post",    "put",
                                      "delete", "patch", "options", "trace"};
    if (!json_is_object(item))
        fail_msg("no path %s", path);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        bool wanted = false;
        for (const char *const *w = want; *w; w++)
            wanted = wanted || strcmp(*w, all[i]) == 0;
        if (wanted != (json_object_get(item, all[i]) != NULL))
            fail_msg("%s: %s is %s", path, all[i], wanted ? "missing" : "declared");
    }
}

static const char *s_operation_id(const json_t *item, const char *method)
{
    return json_string_value(json_object_get(json_object_get(item, method), "operationId"));
}

static void s_expect_id(const json_t *item, const char *method, const char *fmt, const char *op)
{
    char pascal[64], want[128];
    s_pascal(op, pascal, sizeof pascal);
    snprintf(want, sizeof want, fmt, pascal);
    const char *id = s_operation_id(item, method);
    if (!id || strcmp(id, want) != 0)
        fail_msg("%s of %s: operationId %s, expected %s", method, op, id ? id : "(none)", want);
}

/* ---- the catalogue's operations ----------------------------------------- */

static void test_every_operation_has_its_routes(void **state)
{
    (void)state;
    img_config_t cfg;
    s_config(&cfg);
    json_t *doc = s_document(&cfg);
    static const char *const submit[] = {"post", "options", NULL};
    static const char *const read[] = {"get", "head", "options", NULL};
    assert_true(op_catalog_count() > 0);
    for (size_t i = 0; i < op_catalog_count(); i++) {
        const op_def_t *op = op_catalog_at(i);
        const json_t *item = s_path(doc, "/%s", op->name);
        s_expect_methods(item, op->name, submit);
        s_expect_id(item, "post", "submit%s", op->name);
        const json_t *post = json_object_get(item, "post");
        assert_true(s_in_strings(json_object_get(post, "tags"), op->name));
        assert_string_equal(json_string_value(json_object_get(post, "summary")), op->summary);
        item = s_path(doc, "/%s/status/{id}", op->name);
        s_expect_methods(item, "status", read);
        s_expect_id(item, "get", "get%sStatus", op->name);
        s_expect_id(item, "head", "head%sStatus", op->name);
        item = s_path(doc, "/%s/{id}", op->name);
        s_expect_methods(item, "result", read);
        s_expect_id(item, "get", "get%sResult", op->name);
        if (s_path(doc, "/%s/{id}/thumbnail", op->name))
            fail_msg("%s has a thumbnail route of its own (it is /jobs/{id}/thumbnail)", op->name);
        bool tagged = false;
        size_t k;
        const json_t *tag;
        json_array_foreach(json_object_get(doc, "tags"), k, tag)
        {
            tagged =
                tagged || strcmp(json_string_value(json_object_get(tag, "name")), op->name) == 0;
        }
        if (!tagged)
            fail_msg("no tag %s", op->name);
    }
    json_decref(doc);
}

static void test_every_parameter_as_declared(void **state)
{
    (void)state;
    img_config_t cfg;
    s_config(&cfg);
    json_t *doc = s_document(&cfg);
    size_t checked = 0;
    for (size_t i = 0; i < op_catalog_count(); i++) {
        s_check_body(doc, op_catalog_at(i), &cfg);
        checked += s_count_params(op_catalog_at(i));
    }
    assert_true(checked > 0);
    json_decref(doc);
}

/* The count of pixel parameters checked, with max_output_dim = dim. */
static size_t s_check_pixels(int dim)
{
    img_config_t cfg;
    s_config(&cfg);
    cfg.max_output_dim = dim;
    json_t *doc = s_document(&cfg);
    size_t pixels = 0;
    for (size_t i = 0; i < op_catalog_count(); i++) {
        const op_def_t *op = op_catalog_at(i);
        const json_t *properties = json_object_get(s_body_schema(doc, op), "properties");
        for (const op_param_t *p = op->params; p && p->name; p++) {
            if (!p->pixels)
                continue;
            double max =
                json_number_value(json_object_get(json_object_get(properties, p->name), "maximum"));
            if (max != (dim < p->max ? dim : p->max))
                fail_msg("%s.%s: maximum %g with max_output_dim %d (declared max %g)", op->name,
                         p->name, max, dim, p->max);
            pixels++;
        }
        s_check_body(doc, op, &cfg);
    }
    json_decref(doc);
    return pixels;
}

static void test_pixel_maximum_follows_max_output_dim(void **state)
{
    (void)state;
    assert_true(s_check_pixels(500) > 0);
    assert_true(s_check_pixels(16384) > 0);
    assert_true(s_check_pixels(1000000) > 0); /* above every declared max */
}

/* The MIME types of a result: "same" stands for every writable format. */
static void s_expected_types(const op_def_t *op, json_t *types)
{
    const char *const *names = op_formats;
    for (const op_param_t *p = op->params; p && p->name; p++)
        if (strcmp(p->name, "format") == 0)
            names = p->choices;
    for (const char *const *n = names; *n; n++) {
        if (strcmp(*n, "same") == 0) {
            for (const char *const *w = op_formats; *w; w++)
                json_object_set_new(types, img_format_by_name(*w)->mime, json_true());
        } else {
            json_object_set_new(types, img_format_by_name(*n)->mime, json_true());
        }
    }
}

static void test_result_routes(void **state)
{
    (void)state;
    img_config_t cfg;
    s_config(&cfg);
    json_t *doc = s_document(&cfg);
    for (size_t i = 0; i < op_catalog_count(); i++) {
        const op_def_t *op = op_catalog_at(i);
        const json_t *responses =
            json_object_get(json_object_get(s_path(doc, "/%s/{id}", op->name), "get"), "responses");
        static const char *const codes[] = {"200", "202", "304", "401", "404",
                                            "405", "409", "429", NULL};
        for (const char *const *c = codes; *c; c++)
            if (!json_object_get(responses, *c))
                fail_msg("GET /%s/{id} does not declare %s", op->name, *c);
        const json_t *content =
            json_object_get(s_resolve(doc, json_object_get(responses, "200")), "content");
        json_t *want = json_object();
        if (op->result_kind == OP_RESULT_IMAGE)
            s_expected_types(op, want);
        else
            json_object_set_new(want, "application/json", json_true());
        const char *type;
        const json_t *v;
        json_object_foreach(want, type, v)
        {
            if (!json_object_get(content, type))
                fail_msg("GET /%s/{id}: no %s result", op->name, type);
        }
        if (json_object_size(content) != json_object_size(want))
            fail_msg("GET /%s/{id}: %zu result types, expected %zu", op->name,
                     json_object_size(content), json_object_size(want));
        json_decref(want);
    }
    json_decref(doc);
}

/* ---- a pipeline: steps and decimal numbers ------------------------------ */

static const op_param_t s_pipeline_params[] = {
    {.name = "steps",
     .type = OP_PARAM_STEPS,
     .min = 1,
     .max = 10,
     .required = true,
     .help = "The steps."},
    {.name = "gamma",
     .alias = "g",
     .type = OP_PARAM_NUMBER,
     .min = 0.1,
     .max = 10,
     .has_default = true,
     .def = 2.2,
     .help = "A decimal number."},
    {.name = NULL},
};

static const op_def_t s_pipeline = {
    .name = "pipeline_under_test",
    .summary = "Runs steps.",
    .n_inputs = 1,
    .inputs = {{.name = "file", .alias = "image"}},
    .params = s_pipeline_params,
    .result_kind = OP_RESULT_IMAGE,
};

static void s_check_step(const op_def_t *op, const json_t *schema, const img_config_t *cfg)
{
    const json_t *properties = json_object_get(schema, "properties");
    const json_t *name = json_object_get(json_object_get(properties, "op"), "enum");
    if (json_array_size(name) != 1 ||
        strcmp(json_string_value(json_array_get(name, 0)), op->name) != 0)
        fail_msg("step %s: `op` is not the enum [%s]", op->name, op->name);
    if (!s_in_strings(json_object_get(schema, "required"), "op"))
        fail_msg("step %s: `op` is not required", op->name);
    for (const op_param_t *p = op->params; p && p->name; p++) {
        s_check_param(op, p, json_object_get(properties, p->name), cfg);
        if (p->required != s_in_strings(json_object_get(schema, "required"), p->name))
            fail_msg("step %s.%s: required differs", op->name, p->name);
    }
    if (json_object_size(properties) != s_count_params(op) + 1)
        fail_msg("step %s: %zu properties for %zu parameters", op->name,
                 json_object_size(properties), s_count_params(op));
}

static void test_pipeline_steps_from_the_catalogue(void **state)
{
    (void)state;
    img_config_t cfg;
    s_config(&cfg);
    cfg.max_output_dim = 777;
    size_t n = op_catalog_count();
    const op_def_t *ops[64];
    assert_true(n < 63);
    for (size_t i = 0; i < n; i++)
        ops[i] = op_catalog_at(i);
    ops[n] = &s_pipeline;
    json_t *doc = openapi_document_of(&cfg, ops, n + 1);
    if (!doc)
        fail_msg("openapi_document_of: %s", img_error_message());
    s_check_body(doc, &s_pipeline, &cfg);
    /* to lint it by hand: OPENAPI_TEST_DUMP=/tmp/pipeline.json test_openapi */
    if (getenv("OPENAPI_TEST_DUMP"))
        assert_int_equal(json_dump_file(doc, getenv("OPENAPI_TEST_DUMP"), JSON_INDENT(2)), 0);
    const json_t *media = json_object_get(
        json_object_get(
            json_object_get(json_object_get(s_path(doc, "/%s", s_pipeline.name), "post"),
                            "requestBody"),
            "content"),
        "multipart/form-data");
    const char *encoding = json_string_value(json_object_get(
        json_object_get(json_object_get(media, "encoding"), "steps"), "contentType"));
    if (!encoding || strcmp(encoding, "application/json") != 0)
        fail_msg("the steps field is not sent as application/json");
    const json_t *items = json_object_get(
        json_object_get(json_object_get(json_object_get(media, "schema"), "properties"), "steps"),
        "items");
    const json_t *one_of = json_object_get(items, "oneOf");
    const json_t *mapping = json_object_get(json_object_get(items, "discriminator"), "mapping");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(items, "discriminator"), "propertyName")),
        "op");
    size_t steps = 0;
    for (size_t i = 0; i < n; i++) {
        const op_def_t *op = ops[i];
        const json_t *ref = json_object_get(mapping, op->name);
        bool chains = false; /* a pipeline is not a step of itself */
        for (const op_param_t *p = op->params; p && p->name; p++)
            chains = chains || p->type == OP_PARAM_STEPS;
        if (!op->apply || chains) {
            if (ref)
                fail_msg("%s is not a step but is one of the steps", op->name);
            continue;
        }
        if (!ref)
            fail_msg("step %s is missing from the steps' mapping", op->name);
        bool listed = false;
        size_t k;
        const json_t *alt;
        json_array_foreach(one_of, k, alt)
        {
            listed = listed || json_equal(json_object_get(alt, "$ref"), ref);
        }
        if (!listed)
            fail_msg("step %s is not in the steps' oneOf", op->name);
        json_t *step = json_pack("{s:O}", "$ref", ref);
        s_check_step(op, s_resolve(doc, step), &cfg);
        json_decref(step);
        steps++;
    }
    /* the example (Swagger UI's prefill) is a valid list of steps */
    const json_t *example = json_object_get(
        json_object_get(json_object_get(json_object_get(media, "schema"), "properties"), "steps"),
        "example");
    size_t k;
    const json_t *step;
    assert_true(json_array_size(example) >= 1);
    json_array_foreach(example, k, step)
    {
        const op_def_t *op = op_catalog_find(json_string_value(json_object_get(step, "op")));
        if (!op || !op->apply)
            fail_msg("the steps' example holds a step that is no step operation");
        for (const op_param_t *p = op->params; p && p->name; p++)
            if (p->required && !json_object_get(step, p->name))
                fail_msg("the steps' example lacks %s's required %s", op->name, p->name);
    }
    if (json_array_size(one_of) != steps || json_object_size(mapping) != steps)
        fail_msg("%zu steps in oneOf, %zu in mapping, %zu step operations", json_array_size(one_of),
                 json_object_size(mapping), steps);
    assert_true(steps > 0);
    json_decref(doc);
}

/* ---- what holds on every route ----------------------------------------- */

static void s_check_operation(const json_t *doc, const char *path, const char *method,
                              const json_t *operation)
{
    const json_t *responses = json_object_get(operation, "responses");
    const char *code;
    const json_t *response;
    if (!json_object_get(responses, "405"))
        fail_msg("%s %s does not declare 405", method, path);
    json_object_foreach((json_t *)responses, code, response)
    {
        const json_t *r = s_resolve(doc, response);
        if (!json_object_get(json_object_get(r, "headers"), "X-Request-Id"))
            fail_msg("%s %s: answer %s lacks X-Request-Id", method, path, code);
        if (strcmp(method, "head") == 0 && json_object_get(r, "content"))
            fail_msg("HEAD %s: answer %s has a body", path, code);
    }
}

static void test_every_route_head_options_405_request_id(void **state)
{
    (void)state;
    img_config_t cfg;
    s_config(&cfg);
    json_t *doc = s_document(&cfg);
    const char *path;
    const json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        static const char *const methods[] = {"get", "head", "post", "delete", "options", NULL};
        for (const char *const *m = methods; *m; m++)
            if (json_object_get(item, *m))
                s_check_operation(doc, path, *m, json_object_get(item, *m));
        const json_t *get = json_object_get(item, "get"), *head = json_object_get(item, "head");
        if (get && (!head || json_object_size(json_object_get(get, "responses")) !=
                                 json_object_size(json_object_get(head, "responses"))))
            fail_msg("HEAD %s does not answer as its GET", path);
        const json_t *options = json_object_get(item, "options");
        const json_t *ok =
            s_resolve(doc, json_object_get(json_object_get(options, "responses"), "204"));
        if (!json_object_get(json_object_get(ok, "headers"), "Allow"))
            fail_msg("OPTIONS %s does not answer 204 with Allow", path);
        bool request_id = false;
        size_t i;
        const json_t *p;
        json_array_foreach(json_object_get(item, "parameters"), i, p)
        {
            const json_t *r = s_resolve(doc, p);
            request_id = request_id ||
                         strcmp(json_string_value(json_object_get(r, "name")), "X-Request-Id") == 0;
        }
        if (!request_id)
            fail_msg("%s does not take the X-Request-Id header", path);
    }
    json_decref(doc);
}

/* Every $ref in node resolves; every operationId is seen once. */
static void s_walk(const json_t *doc, const json_t *node, json_t *ids, const char *key)
{
    if (json_is_object(node)) {
        const char *k;
        const json_t *v;
        if (json_object_get(node, "$ref"))
            s_resolve(doc, node);
        json_object_foreach((json_t *)node, k, v)
        {
            s_walk(doc, v, ids, k);
        }
    } else if (json_is_array(node)) {
        size_t i;
        const json_t *v;
        json_array_foreach(node, i, v)
        {
            s_walk(doc, v, ids, NULL);
        }
    } else if (key && strcmp(key, "operationId") == 0) {
        if (json_object_get(ids, json_string_value(node)))
            fail_msg("operationId %s twice", json_string_value(node));
        json_object_set_new(ids, json_string_value(node), json_true());
    }
}

static void test_refs_resolve_and_ids_are_unique(void **state)
{
    (void)state;
    img_config_t cfg;
    s_config(&cfg);
    json_t *doc = s_document(&cfg), *ids = json_object();
    s_walk(doc, doc, ids, NULL);
    assert_true(json_object_size(ids) > 3 * op_catalog_count());
    json_decref(ids);
    json_decref(doc);
}

static void test_enums_follow_the_code(void **state)
{
    (void)state;
    img_config_t cfg;
    s_config(&cfg);
    json_t *doc = s_document(&cfg);
    const json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    const json_t *names = json_object_get(json_object_get(schemas, "OperationName"), "enum");
    assert_int_equal(json_array_size(names), op_catalog_count());
    for (size_t i = 0; i < op_catalog_count(); i++)
        assert_true(s_in_strings(names, op_catalog_at(i)->name));
    const json_t *codes = json_object_get(json_object_get(schemas, "ErrorCode"), "enum");
    static const char *const answered[] = {"bad_request",
                                           "missing_file",
                                           "empty_file",
                                           "invalid_parameter",
                                           "not_found",
                                           "method_not_allowed",
                                           "job_failed",
                                           "queue_full",
                                           "unauthorized",
                                           "rate_limited",
                                           "internal",
                                           "insufficient_storage",
                                           "idempotency_mismatch",
                                           "too_many_streams",
                                           "processing_failed",
                                           NULL};
    for (const char *const *c = answered; *c; c++)
        if (!s_in_strings(codes, *c))
            fail_msg("error code %s is not in ErrorCode", *c);
    assert_false(s_in_strings(codes, img_error_code_name(IMG_E_CONFIG)));
    json_decref(doc);
}

static void test_configuration_decides_security_and_wait(void **state)
{
    (void)state;
    img_config_t cfg;
    s_config(&cfg);
    json_t *doc = s_document(&cfg);
    json_t *no_key = json_object();
    const json_t *security = json_object_get(doc, "security");
    bool open = false;
    size_t i;
    const json_t *alt;
    json_array_foreach(security, i, alt)
    {
        open = open || json_equal(alt, no_key);
    }
    assert_true(open); /* keys off by default: {} is an alternative */
    json_decref(doc);

    snprintf(cfg.api_keys, sizeof cfg.api_keys, "k1,k2");
    cfg.max_wait_s = 7;
    doc = s_document(&cfg);
    json_array_foreach(json_object_get(doc, "security"), i, alt)
    {
        if (json_equal(alt, no_key))
            fail_msg("with api_keys set, the document still says no key is needed");
    }
    assert_true(json_array_size(json_object_get(doc, "security")) >= 2);
    const json_t *wait =
        json_object_get(json_object_get(json_object_get(doc, "components"), "parameters"), "Wait");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(wait, "schema"), "maximum")), 7);
    json_decref(no_key);
    json_decref(doc);
}

/* ---- the base ------------------------------------------------------------ */

static void test_base_holds_no_operation(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/openapi.base.json", TEST_SOURCE_ROOT);
    json_t *base = json_load_file(path, 0, NULL);
    assert_non_null(base);
    const json_t *paths = json_object_get(base, "paths");
    const char *p;
    const json_t *item;
    json_object_foreach((json_t *)paths, p, item)
    {
        for (size_t i = 0; i < op_catalog_count(); i++) {
            size_t len = strlen(op_catalog_at(i)->name);
            if (p[0] == '/' && strncmp(p + 1, op_catalog_at(i)->name, len) == 0 &&
                (p[len + 1] == '\0' || p[len + 1] == '/'))
                fail_msg("the base has %s, a path of operation %s", p, op_catalog_at(i)->name);
        }
        if (json_object_get(item, "post"))
            fail_msg("the base has a request body (POST %s)", p);
    }
    json_decref(base);
}

static void test_a_bad_base_is_a_config_error(void **state)
{
    (void)state;
    img_config_t cfg;
    s_config(&cfg);
    char dir[512], file[600];
    snprintf(dir, sizeof dir, "%s/openapi-base-XXXXXX", TEST_BINARY_DIR);
    assert_non_null(mkdtemp(dir));
    snprintf(cfg.docs_dir, sizeof cfg.docs_dir, "%s", dir);
    assert_null(openapi_document_new(&cfg)); /* no base */
    assert_int_equal(img_error_code(), IMG_E_CONFIG);

    /* the real base plus a path of an operation */
    char real[1024];
    snprintf(real, sizeof real, "%s/docs/openapi.base.json", TEST_SOURCE_ROOT);
    json_t *base = json_load_file(real, 0, NULL);
    assert_non_null(base);
    char path[128];
    snprintf(path, sizeof path, "/%s", op_catalog_at(0)->name);
    json_object_set_new(json_object_get(base, "paths"), path,
                        json_pack("{s:{s:s}}", "get", "summary", "hand-written"));
    snprintf(file, sizeof file, "%s/openapi.base.json", dir);
    assert_int_equal(json_dump_file(base, file, 0), 0);
    json_decref(base);
    img_error_clear();
    assert_null(openapi_document_new(&cfg));
    assert_int_equal(img_error_code(), IMG_E_CONFIG);
    assert_non_null(strstr(img_error_message(), path));
    unlink(file);
    rmdir(dir);
}

int main(void)
{
    /* the test-only operation too, when it is compiled in */
    setenv("IMG_TEST_OPS", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_operation_has_its_routes),
        cmocka_unit_test(test_every_parameter_as_declared),
        cmocka_unit_test(test_pixel_maximum_follows_max_output_dim),
        cmocka_unit_test(test_result_routes),
        cmocka_unit_test(test_pipeline_steps_from_the_catalogue),
        cmocka_unit_test(test_every_route_head_options_405_request_id),
        cmocka_unit_test(test_refs_resolve_and_ids_are_unique),
        cmocka_unit_test(test_enums_follow_the_code),
        cmocka_unit_test(test_configuration_decides_security_and_wait),
        cmocka_unit_test(test_base_holds_no_operation),
        cmocka_unit_test(test_a_bad_base_is_a_config_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

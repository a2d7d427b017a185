/* openapi — img-rest's OpenAPI 3 document, exactly as the server behaves.
 *
 * Two parts: the hand-written one, docs/openapi.base.json (what no
 * declaration knows: the service, job, event and document routes, and every
 * component: schemas, answers, headers, parameters), and one part per
 * operation generated from its declaration (op.h):
 *   - POST /{op}: a multipart body with the inputs as binary fields and
 *     every parameter with its type, range (a `pixels` one at most
 *     max_output_dim), default, choices and help, plus the job options
 *     (callback_url, the Idempotency-Key header);
 *   - GET /{op}/status/{id} (?wait) and GET /{op}/{id} (the result: an image
 *     in the writable formats, or the JSON result, each with its ETag and
 *     Cache-Control, and its own 304);
 *   - for every step operation (op->apply), a `<Name>Step` schema: the
 *     items of an OP_PARAM_STEPS parameter are one of them, chosen by `op`.
 * What holds on every route is then added to every path of both parts, so
 * that no route can miss it: HEAD beside every GET (the same answers without
 * bodies), OPTIONS (204 with Allow), 405 method_not_allowed among every
 * operation's answers, and the answers to a request that cannot be read as
 * HTTP (400, 413, 431, 505: found before any route), the optional X-Request-Id
 * request header, and the X-Request-Id (required: every answer has it) and
 * CORS response headers on every answer. The enums of operation names and
 * error codes (each once) come from the catalogue and img_error, the values
 * of the CORS headers from http_cors.h, the limits (max_wait_s,
 * max_output_dim, ...) and the security alternatives (no key needed while
 * api_keys is empty) from the configuration.
 *
 * Adding an operation to the catalogue adds it to the document.
 */
#ifndef IMG_OPENAPI_H
#define IMG_OPENAPI_H

#include "config.h"
#include "op.h"

#include <jansson.h>
#include <stddef.h>

/* The document of the catalogue's operations (op_catalog), from
 * <cfg->docs_dir>/openapi.base.json. Caller owns; NULL with img_error
 * (IMG_E_CONFIG: the base is missing, not a JSON object, or already holds a
 * path of an operation). */
json_t *openapi_document_new(const img_config_t *cfg);

/* The same for the operations ops[0..n_ops-1] instead of the catalogue's
 * (tests describe operations the catalogue does not hold). Not taken. */
json_t *openapi_document_of(const img_config_t *cfg, const op_def_t *const *ops, size_t n_ops);

#endif

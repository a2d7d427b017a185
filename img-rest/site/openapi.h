/* openapi — img-rest's OpenAPI 3 document, exactly as the server behaves.
 *
 * Two parts: the hand-written one, docs/openapi.base.json (what no
 * declaration knows: the service routes, the job routes' shared answers,
 * the components), and one part per operation generated from the catalogue
 * (op_catalog): its submit, status and result routes, its multipart body
 * with the inputs and every parameter's type, range, default, choices and
 * help. Adding an operation to the catalogue adds it to the document.
 */
#ifndef IMG_OPENAPI_H
#define IMG_OPENAPI_H

#include "config.h"

#include <jansson.h>

/* The document, from <cfg->docs_dir>/openapi.base.json and the catalogue.
 * Caller owns; NULL with img_error (IMG_E_CONFIG: the base is missing or
 * not a JSON object). */
json_t *openapi_document_new(const img_config_t *cfg);

#endif

/* site — the documents img-rest serves: the docs page and its files, the
 * OpenAPI document, the web app.
 *
 * Files are read from their folder (docs_dir, app_dir) on first use and
 * kept in memory with a strong ETag (a hash of their bytes) and, for text
 * types, a gzip copy: a client that accepts gzip gets it (Content-Encoding:
 * gzip, Vary: Accept-Encoding), and If-None-Match with the ETag answers 304.
 * A file that changes on disk (size or time) is read again. Cache-Control is
 * no-cache: browsers revalidate, which costs a 304. The web app's files
 * carry a Content-Security-Policy (same origin only, no inline code).
 * Thread-safe.
 */
#ifndef IMG_SITE_H
#define IMG_SITE_H

#include "config.h"

#include <civetweb.h>

typedef struct site site_t;

/* cfg is not owned and outlives the site. Builds the OpenAPI document
 * (openapi.h). Caller owns; NULL with img_error. */
site_t *site_new(const img_config_t *cfg);
void site_destroy(site_t **self);

/* Answers with a document; returns the status sent (404 JSON for an unknown
 * name). Names: "openapi.json"; "docs/<file>" (under docs_dir: the docs
 * page, static/..., node_modules/swagger-ui-dist/...); "app/<file>" (under
 * app_dir). A file name is letters, digits, '.', '-', '_' and '/'
 * between them, never starting with '.'. */
int site_serve(site_t *self, struct mg_connection *conn, const char *name);

#endif

#include "site.h"

#include "http_reply.h"
#include "img_error.h"
#include "openapi.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_FILE_BYTES (32 << 20) /* a document larger than this is not served */
#define GZIP_MIN 512              /* smaller documents are sent as they are */

typedef struct doc {
    char *name;
    const char *mime;
    time_t mtime;
    off_t size;
    unsigned char *body, *gz;
    size_t body_len, gz_len;
    char etag[48], etag_gz[56];
    int refs;   /* answers being sent from it; with the lock */
    bool stale; /* replaced: freed when the last answer is sent */
    struct doc *next;
} doc_t;

struct site {
    const img_config_t *cfg;
    pthread_mutex_t lock;
    doc_t *docs;
    doc_t *openapi; /* built, not read */
};

static const struct {
    const char *ext, *mime;
    bool text;
} s_types[] = {
    {".html", "text/html; charset=utf-8", true},
    {".js", "text/javascript; charset=utf-8", true},
    {".mjs", "text/javascript; charset=utf-8", true},
    {".css", "text/css; charset=utf-8", true},
    {".json", "application/json; charset=utf-8", true},
    {".map", "application/json; charset=utf-8", true},
    {".svg", "image/svg+xml", true},
    {".txt", "text/plain; charset=utf-8", true},
    {".png", "image/png", false},
    {".ico", "image/x-icon", false},
    {".webp", "image/webp", false},
    {".woff2", "font/woff2", false},
};

static int s_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof s_types / sizeof s_types[0]; i++)
        if (strcmp(dot, s_types[i].ext) == 0)
            return (int)i;
    return -1;
}

/* ---- one document ---- */

static void s_doc_free(doc_t *d)
{
    if (!d)
        return;
    free(d->name);
    free(d->body);
    free(d->gz);
    free(d);
}

/* The gzip copy of body, or NULL when it does not pay. */
static unsigned char *s_gzip(const unsigned char *body, size_t len, size_t *out_len)
{
    z_stream z = {0};
    uLong cap = compressBound((uLong)len) + 32;
    unsigned char *out = malloc(cap);
    if (!out || deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return NULL;
    }
    z.next_in = (unsigned char *)body;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END || *out_len >= len) {
        free(out);
        return NULL;
    }
    return out;
}

/* Hash, gzip copy, ETags: d->body is set. */
static int s_doc_finish(doc_t *d, bool text)
{
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(d->body, d->body_len, hash, &n, EVP_sha256(), NULL)) {
        img_error_set(IMG_E_INTERNAL, "cannot hash a document");
        return -1;
    }
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    snprintf(d->etag, sizeof d->etag, "\"%s\"", hex);
    snprintf(d->etag_gz, sizeof d->etag_gz, "\"%s-gzip\"", hex);
    if (text && d->body_len >= GZIP_MIN)
        d->gz = s_gzip(d->body, d->body_len, &d->gz_len);
    return 0;
}

/* Reads path into a new document. */
static doc_t *s_doc_read(const char *name, const char *path, const struct stat *st, int type)
{
    doc_t *d = calloc(1, sizeof *d);
    FILE *f = fopen(path, "rb");
    if (!d || !f || !(d->name = strdup(name)) || !(d->body = malloc((size_t)st->st_size + 1)) ||
        fread(d->body, 1, (size_t)st->st_size, f) != (size_t)st->st_size) {
        img_error_set(IMG_E_INTERNAL, "cannot read %s: %s", name, strerror(errno));
        goto fail;
    }
    fclose(f);
    f = NULL;
    d->body_len = (size_t)st->st_size;
    d->mime = s_types[type].mime;
    d->mtime = st->st_mtime;
    d->size = st->st_size;
    if (s_doc_finish(d, s_types[type].text) == 0)
        return d;
fail:
    if (f)
        fclose(f);
    s_doc_free(d);
    return NULL;
}

/* ---- the site ---- */

static doc_t *s_openapi_doc(const img_config_t *cfg)
{
    json_t *json = openapi_document_new(cfg);
    doc_t *d = json ? calloc(1, sizeof *d) : NULL;
    if (d) {
        d->name = strdup("openapi.json");
        d->body = (unsigned char *)json_dumps(json, JSON_INDENT(1));
        d->mime = "application/json; charset=utf-8";
    }
    json_decref(json);
    if (d && (!d->name || !d->body)) {
        s_doc_free(d);
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    if (d) {
        d->body_len = strlen((char *)d->body);
        if (s_doc_finish(d, true) < 0) {
            s_doc_free(d);
            return NULL;
        }
    }
    return d;
}

site_t *site_new(const img_config_t *cfg)
{
    site_t *self = calloc(1, sizeof *self);
    if (!self) {
        img_error_set(IMG_E_INTERNAL, "out of memory");
        return NULL;
    }
    self->cfg = cfg;
    pthread_mutex_init(&self->lock, NULL);
    if (!(self->openapi = s_openapi_doc(cfg))) {
        site_destroy(&self);
        return NULL;
    }
    return self;
}

void site_destroy(site_t **pself)
{
    if (!pself || !*pself)
        return;
    site_t *self = *pself;
    for (doc_t *d = self->docs, *next; d; d = next) {
        next = d->next;
        s_doc_free(d);
    }
    s_doc_free(self->openapi);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *pself = NULL;
}

/* letters, digits, '.', '-', '_' and inner '/', no part starting with '.' */
static bool s_safe_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 200)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool part_start = i == 0 || name[i - 1] == '/';
        if (part_start && (c == '.' || c == '/'))
            return false;
        if (!(('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
              c == '.' || c == '-' || c == '_' || c == '/'))
            return false;
    }
    return name[n - 1] != '/';
}

/* The file path of a document name, or -1 (not one of ours). */
static int s_path(const site_t *self, const char *name, char *out, size_t size)
{
    const char *rest = NULL, *root = NULL;
    if (strncmp(name, "docs/", 5) == 0)
        rest = name + 5, root = self->cfg->docs_dir;
    else if (strncmp(name, "app/", 4) == 0)
        rest = name + 4, root = self->cfg->app_dir;
    if (!rest || !s_safe_name(rest))
        return -1;
    int n = snprintf(out, size, "%s/%s", root, rest);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* The cached document of name, read (again) when needed; with the lock
 * held. NULL with img_error. */
static doc_t *s_lookup(site_t *self, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    int type = s_type(name);
    if (type < 0 || s_path(self, name, path, sizeof path) < 0 || stat(path, &st) != 0 ||
        !S_ISREG(st.st_mode) || st.st_size > MAX_FILE_BYTES) {
        img_error_set(IMG_E_NOT_FOUND, "no such document");
        return NULL;
    }
    doc_t **at = &self->docs;
    for (; *at; at = &(*at)->next)
        if (strcmp((*at)->name, name) == 0)
            break;
    if (*at && (*at)->mtime == st.st_mtime && (*at)->size == st.st_size)
        return *at;
    doc_t *fresh = s_doc_read(name, path, &st, type);
    if (!fresh)
        return NULL;
    if (*at) { /* changed on disk: replaced, freed once no answer uses it */
        fresh->next = (*at)->next;
        (*at)->stale = true;
        if ((*at)->refs == 0)
            s_doc_free(*at);
    }
    *at = fresh;
    return fresh;
}

/* The weight (q, 0..1) one Accept-Encoding element gives, from its
 * parameters (p just after the coding); 1 when it names none. */
static double s_weight(const char *p, const char *end)
{
    for (const char *q = p; q < end; q++)
        if (*q == ';') {
            q++;
            while (q < end && (*q == ' ' || *q == '\t'))
                q++;
            if (q + 1 < end && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=')
                return strtod(q + 2, NULL);
        }
    return 1.0;
}

/* Whether the client takes gzip (RFC 9110 12.5.3): named, or matched by
 * "*", with a weight above 0 ("gzip;q=0" refuses it). */
static bool s_accepts_gzip(struct mg_connection *conn)
{
    const char *p = mg_get_header(conn, "Accept-Encoding");
    double gzip = -1, any = -1;
    while (p && *p) {
        const char *end = p + strcspn(p, ",");
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, " \t;,");
        if ((n == 4 && strncasecmp(p, "gzip", 4) == 0) ||
            (n == 6 && strncasecmp(p, "x-gzip", 6) == 0))
            gzip = s_weight(p + n, end);
        else if (n == 1 && *p == '*')
            any = s_weight(p + n, end);
        p = *end ? end + 1 : end;
    }
    return gzip >= 0 ? gzip > 0 : any > 0;
}

/* The web app loads nothing from elsewhere and runs no inline script or
 * style: a browser holds it to that. */
#define APP_CSP                                                                                    \
    "Content-Security-Policy: default-src 'self'; img-src 'self' blob: data:; "                    \
    "connect-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'\r\n"

/* extra: more header lines ("" for none). */
static int s_send(struct mg_connection *conn, const doc_t *d, const char *extra)
{
    bool gz = d->gz && s_accepts_gzip(conn);
    const char *etag = gz ? d->etag_gz : d->etag;
    char headers[512];
    int n =
        snprintf(headers, sizeof headers,
                 "ETag: %s\r\nCache-Control: no-cache\r\nVary: Accept-Encoding\r\n%s", etag, extra);
    if (http_reply_etag_matches(conn, etag)) /* a 304 has no content to encode */
        return http_reply_empty(conn, 304, headers);
    if (gz)
        snprintf(headers + n, sizeof headers - (size_t)n, "Content-Encoding: gzip\r\n");
    return http_reply_bytes(conn, 200, d->mime, headers, gz ? d->gz : d->body,
                            gz ? d->gz_len : d->body_len);
}

int site_serve(site_t *self, struct mg_connection *conn, const char *name)
{
    if (strcmp(name, "openapi.json") == 0)
        return s_send(conn, self->openapi, "");
    pthread_mutex_lock(&self->lock);
    doc_t *d = s_lookup(self, name);
    if (d)
        d->refs++;
    pthread_mutex_unlock(&self->lock);
    if (!d)
        return http_reply_img_error(conn, NULL);
    /* without the lock: a slow client holds only d */
    int rc = s_send(conn, d, strncmp(name, "app/", 4) == 0 ? APP_CSP : "");
    pthread_mutex_lock(&self->lock);
    if (--d->refs == 0 && d->stale)
        s_doc_free(d);
    pthread_mutex_unlock(&self->lock);
    return rc;
}

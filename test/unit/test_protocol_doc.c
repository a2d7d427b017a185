/* test_protocol_doc — docs/protocol.md describes msg_schema's tables: the
 * same message types, sent in the same direction, with the same fields in
 * the same order, of the same kinds, with the same bounds, and the same
 * presence (required, optional, with the status). The doc is read as text;
 * a checker lists every disagreement. The checker is proved too: documents
 * edited in memory (a bound, a field, a presence, a type) must be caught.
 *
 * The doc's shape: "## img-engine → img-rest" and "## img-rest → img-engine"
 * hold one "### `type`" section per message, each with a table
 * | field | kind | bounds | presence | meaning | whose rows start "| `name` |",
 * or the line "No fields.". "## Field kinds" lists the kinds. */
#include "test_support.h"

#include "msg.h"
#include "msg_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC_MAX_TYPES 32
#define DOC_MAX_FIELDS 16
#define DOC_MAX_KINDS 32
#define EN_DASH "\xe2\x80\x93"
#define EM_DASH "\xe2\x80\x94"

typedef struct {
    char name[64], kind[64], bounds[64], presence[64];
} doc_field_t;

typedef struct {
    char name[64];
    int direction; /* 1: img-engine -> img-rest, 0: the other way, -1: elsewhere */
    bool no_fields;
    int n_fields;
    doc_field_t fields[DOC_MAX_FIELDS];
} doc_type_t;

typedef struct {
    char title[256];
    int n_types;
    doc_type_t types[DOC_MAX_TYPES];
    int n_kinds;
    char kinds[DOC_MAX_KINDS][64];
} doc_t;

/* ---- reading the doc ---- */

static void s_trim_copy(char *out, size_t size, const char *start, size_t len)
{
    while (len && (*start == ' ' || *start == '`'))
        start++, len--;
    while (len && (start[len - 1] == ' ' || start[len - 1] == '`'))
        len--;
    snprintf(out, size, "%.*s", (int)len, start);
}

/* The cells of a table row "| a | b |" into cells (at most max); their count. */
static int s_cells(const char *line, char cells[][64], int max)
{
    int n = 0;
    const char *p = strchr(line, '|');
    while (p && n < max) {
        const char *next = strchr(p + 1, '|');
        if (!next)
            break;
        s_trim_copy(cells[n++], 64, p + 1, (size_t)(next - p - 1));
        p = next;
    }
    return n;
}

static void s_parse_line(doc_t *doc, const char *line, int *direction, bool *kinds,
                         doc_type_t **type)
{
    char cells[8][64];
    if (strncmp(line, "# ", 2) == 0) {
        snprintf(doc->title, sizeof doc->title, "%.200s", line + 2);
    } else if (strncmp(line, "## ", 3) == 0) {
        *direction = strstr(line, "img-engine "
                                  "\xe2\x86\x92"
                                  " img-rest")
                         ? 1
                     : strstr(line, "img-rest "
                                    "\xe2\x86\x92"
                                    " img-engine")
                         ? 0
                         : -1;
        *kinds = strstr(line, "Field kinds") != NULL;
        *type = NULL;
    } else if (strncmp(line, "### `", 5) == 0 && doc->n_types < DOC_MAX_TYPES) {
        *type = &doc->types[doc->n_types++];
        memset(*type, 0, sizeof **type);
        s_trim_copy((*type)->name, sizeof(*type)->name, line + 4, strlen(line + 4));
        (*type)->direction = *direction;
    } else if (*type && strcmp(line, "No fields.") == 0) {
        (*type)->no_fields = true;
    } else if (*type && strncmp(line, "| `", 3) == 0 && s_cells(line, cells, 8) >= 4 &&
               (*type)->n_fields < DOC_MAX_FIELDS) {
        doc_field_t *f = &(*type)->fields[(*type)->n_fields++];
        snprintf(f->name, sizeof f->name, "%s", cells[0]);
        snprintf(f->kind, sizeof f->kind, "%s", cells[1]);
        snprintf(f->bounds, sizeof f->bounds, "%s", cells[2]);
        snprintf(f->presence, sizeof f->presence, "%s", cells[3]);
    } else if (*kinds && line[0] == '|' && s_cells(line, cells, 8) >= 1 &&
               strcmp(cells[0], "kind") != 0 && strncmp(cells[0], "---", 3) != 0 &&
               doc->n_kinds < DOC_MAX_KINDS) {
        snprintf(doc->kinds[doc->n_kinds++], 64, "%s", cells[0]);
    }
}

static void s_parse(const char *text, doc_t *doc)
{
    memset(doc, 0, sizeof *doc);
    int direction = -1;
    bool kinds = false;
    doc_type_t *type = NULL;
    char line[1024];
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        snprintf(line, sizeof line, "%.*s", (int)len, p);
        s_parse_line(doc, line, &direction, &kinds, &type);
        p += len + (end ? 1 : 0);
    }
}

/* ---- what the schema says ---- */

static const char *const s_kind_names[] = {
    [MSG_F_ENGINE] = "engine name", [MSG_F_NAME] = "name",     [MSG_F_ID] = "job id",
    [MSG_F_INT] = "integer",        [MSG_F_OBJECT] = "object", [MSG_F_IDS] = "job ids",
    [MSG_F_STATUS] = "status",      [MSG_F_ERROR] = "error",   [MSG_F_TOKEN] = "token",
};
#define N_KINDS (sizeof s_kind_names / sizeof s_kind_names[0])

static const char *s_presence(const msg_field_t *f)
{
    if (f->with_status)
        return f->with_status > 0 ? "when complete" : "when failed";
    return f->optional ? "optional" : "required";
}

/* "a–b" (en dash or hyphen, blanks and thousands commas ignored) into lo,
 * hi; a single number is both. false if it is not that. */
static bool s_range(const char *text, long long *lo, long long *hi)
{
    char clean[64];
    size_t n = 0;
    for (const char *p = text; *p && n + 1 < sizeof clean; p++) {
        if (strncmp(p, EN_DASH, 3) == 0) {
            clean[n++] = '~';
            p += 2;
        } else if (*p == '-') {
            clean[n++] = '~';
        } else if (*p != ' ' && *p != ',') {
            clean[n++] = *p;
        }
    }
    clean[n] = '\0';
    char *end;
    *lo = strtoll(clean, &end, 10);
    if (end == clean)
        return false;
    if (*end == '\0') {
        *hi = *lo;
        return true;
    }
    if (*end != '~')
        return false;
    char *start = end + 1;
    *hi = strtoll(start, &end, 10);
    return end != start && *end == '\0';
}

/* The bounds the schema gives field f: false when it has none ("—"). */
static bool s_bounds(const msg_field_t *f, long long *lo, long long *hi)
{
    switch (f->kind) {
    case MSG_F_ENGINE:
    case MSG_F_NAME:
    case MSG_F_TOKEN:
        *lo = 1;
        *hi = (long long)f->size - 1;
        return true;
    case MSG_F_ID:
        *lo = *hi = (long long)f->size - 1;
        return true;
    case MSG_F_INT:
        *lo = f->min;
        *hi = f->max;
        return true;
    case MSG_F_IDS:
        *lo = 0;
        *hi = f->max;
        return true;
    default:
        return false;
    }
}

/* ---- comparing ---- */

typedef struct {
    char text[8192];
    int count;
} report_t;

static void s_disagree(report_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_disagree(report_t *r, const char *fmt, ...)
{
    size_t used = strlen(r->text);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text + used, sizeof r->text - used, fmt, ap);
    va_end(ap);
    used = strlen(r->text);
    snprintf(r->text + used, sizeof r->text - used, "\n");
    r->count++;
}

static void s_compare_field(report_t *r, const char *type, const msg_field_t *f,
                            const doc_field_t *d)
{
    if (strcmp(d->kind, s_kind_names[f->kind]) != 0)
        s_disagree(r, "%s.%s: kind '%s' in the doc, '%s' in the schema", type, f->name, d->kind,
                   s_kind_names[f->kind]);
    long long lo, hi, dlo, dhi;
    if (s_bounds(f, &lo, &hi)) {
        if (!s_range(d->bounds, &dlo, &dhi))
            s_disagree(r, "%s.%s: bounds '%s' in the doc, %lld-%lld in the schema", type, f->name,
                       d->bounds, lo, hi);
        else if (dlo != lo || dhi != hi)
            s_disagree(r, "%s.%s: bounds %lld-%lld in the doc, %lld-%lld in the schema", type,
                       f->name, dlo, dhi, lo, hi);
    } else if (strcmp(d->bounds, EM_DASH) != 0) {
        s_disagree(r, "%s.%s: bounds '%s' in the doc, none in the schema", type, f->name,
                   d->bounds);
    }
    if (strcmp(d->presence, s_presence(f)) != 0)
        s_disagree(r, "%s.%s: '%s' in the doc, '%s' in the schema", type, f->name, d->presence,
                   s_presence(f));
}

static void s_compare_type(report_t *r, const msg_schema_t *schema, const doc_type_t *d)
{
    if (d->direction != (schema->from_engine ? 1 : 0))
        s_disagree(r, "%s: documented under the wrong direction", schema->name);
    int n = 0;
    for (const msg_field_t *f = schema->fields; f->name; f++, n++) {
        if (n >= d->n_fields) {
            s_disagree(r, "%s: field %s is not in the doc", schema->name, f->name);
            continue;
        }
        if (strcmp(d->fields[n].name, f->name) != 0) {
            s_disagree(r, "%s: field %d is %s in the doc, %s in the schema", schema->name, n + 1,
                       d->fields[n].name, f->name);
            continue;
        }
        s_compare_field(r, schema->name, f, &d->fields[n]);
    }
    for (int i = n; i < d->n_fields; i++)
        s_disagree(r, "%s: field %s is not in the schema", schema->name, d->fields[i].name);
    if (n == 0 && !d->no_fields)
        s_disagree(r, "%s: has no fields, and the doc does not say \"No fields.\"", schema->name);
}

static void s_compare(const doc_t *doc, report_t *r)
{
    memset(r, 0, sizeof *r);
    char version[32];
    snprintf(version, sizeof version, "(version %d)", MSG_VERSION);
    if (!strstr(doc->title, version))
        s_disagree(r, "the title does not say %s", version);
    for (int t = 0; t < MSG_TYPE_COUNT; t++) {
        const msg_schema_t *schema = msg_schema((msg_type_t)t);
        const doc_type_t *found = NULL;
        int times = 0;
        for (int i = 0; i < doc->n_types; i++)
            if (strcmp(doc->types[i].name, schema->name) == 0)
                found = &doc->types[i], times++;
        if (times != 1)
            s_disagree(r, "%s: documented %d times", schema->name, times);
        if (found)
            s_compare_type(r, schema, found);
    }
    for (int i = 0; i < doc->n_types; i++) {
        bool known = false;
        for (int t = 0; t < MSG_TYPE_COUNT; t++)
            known = known || strcmp(doc->types[i].name, msg_type_name((msg_type_t)t)) == 0;
        if (!known)
            s_disagree(r, "%s: documented, but not a message type", doc->types[i].name);
    }
    for (size_t k = 0; k < N_KINDS; k++) {
        bool listed = false;
        for (int i = 0; i < doc->n_kinds; i++)
            listed = listed || strcmp(doc->kinds[i], s_kind_names[k]) == 0;
        if (!listed)
            s_disagree(r, "kind '%s' is not in the Field kinds table", s_kind_names[k]);
    }
}

/* ---- the tests ---- */

static char *s_doc_text(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/docs/protocol.md", TEST_SOURCE_ROOT);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s", path);
    static char text[1 << 17];
    size_t n = fread(text, 1, sizeof text - 1, f);
    assert_true(feof(f));
    fclose(f);
    text[n] = '\0';
    return strdup(text);
}

static void test_doc_describes_the_schema(void **state)
{
    (void)state;
    char *text = s_doc_text();
    doc_t *doc = calloc(1, sizeof *doc);
    report_t *r = calloc(1, sizeof *r);
    s_parse(text, doc);
    assert_int_equal(doc->n_types, MSG_TYPE_COUNT);
    s_compare(doc, r);
    if (r->count)
        fail_msg("docs/protocol.md disagrees with shared/proto/msg_schema.c:\n%s", r->text);
    free(r);
    free(doc);
    free(text);
}

/* text with the first occurrence of from replaced by to (caller frees). */
static char *s_edit(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (!at)
        fail_msg("the doc has no '%s' to edit", from);
    size_t head = (size_t)(at - text);
    char *out = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
    assert_non_null(out);
    memcpy(out, text, head);
    strcpy(out + head, to);
    strcat(out, at + strlen(from));
    return out;
}

/* Each edit of the real doc is one disagreement the checker reports,
 * naming what it must name. */
static void test_checker_catches_edits(void **state)
{
    (void)state;
    static const char *const edits[][3] = {
        /* a bound */
        {"| `credit` | integer | 1" EN_DASH "1024 |", "| `credit` | integer | 1" EN_DASH "1000 |",
         "ready.credit: bounds 1-1000"},
        {"| `percent` | integer | 0" EN_DASH "100 |", "| `percent` | integer | 1" EN_DASH "100 |",
         "progress.percent"},
        {"| `held` | job ids | 0" EN_DASH "1024 |", "| `held` | job ids | 0" EN_DASH "64 |",
         "heartbeat.held"},
        {"| `request_id` | token | 1" EN_DASH "128 |", "| `request_id` | token | 1" EN_DASH "64 |",
         "job.request_id"},
        {"| `params` | object | " EM_DASH " |", "| `params` | object | 1 |", "job.params"},
        /* presence */
        {"| `request_id` | token | 1" EN_DASH "128 | optional |",
         "| `request_id` | token | 1" EN_DASH "128 | required |", "job.request_id: 'required'"},
        {"| when failed |", "| optional |", "done.error"},
        /* a kind */
        {"| `free` | integer |", "| `free` | token |", "heartbeat.free: kind"},
        /* a field renamed, dropped, added */
        {"| `dispatch` | integer", "| `attempt` | integer", "is attempt in the doc"},
        {"| `timeout_ms` |", "| `timeout_s` |", "timeout_s"},
        {"| `engine` | engine name | 1" EN_DASH "63 | required | the sending engine |\n"
         "| `credit`",
         "| `credit`", "ready: field 1 is credit"},
        {"No fields.", "| `nonce` | integer | 1" EN_DASH "9 | required | x |", "ping"},
        /* a type */
        {"### `cancel`", "### `abort`", "cancel: documented 0 times"},
        {"### `bye`", "### `ready`", "ready: documented 2 times"},
        /* the direction */
        {"## img-rest "
         "\xe2\x86\x92"
         " img-engine",
         "## img-rest to img-engine", "job: documented under the wrong direction"},
        /* the version */
        {"(version 2)", "(version 1)", "does not say (version 2)"},
        /* the kinds table */
        {"| job ids | array |", "| id list | array |", "kind 'job ids'"},
    };
    char *text = s_doc_text();
    doc_t *doc = calloc(1, sizeof *doc);
    report_t *r = calloc(1, sizeof *r);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *edited = s_edit(text, edits[i][0], edits[i][1]);
        s_parse(edited, doc);
        s_compare(doc, r);
        if (r->count < 1 || !strstr(r->text, edits[i][2]))
            fail_msg("edit %zu (%s) not caught as '%s':\n%s", i, edits[i][1], edits[i][2], r->text);
        free(edited);
    }
    free(r);
    free(doc);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_describes_the_schema),
        cmocka_unit_test(test_checker_catches_edits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

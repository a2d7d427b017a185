#include "openapi.h"

#include "img_error.h"

#include <limits.h>
#include <stdio.h>

json_t *openapi_document_new(const img_config_t *cfg)
{
    char path[PATH_MAX];
    json_error_t err;
    snprintf(path, sizeof path, "%s/openapi.base.json", cfg->docs_dir);
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(doc)) {
        json_decref(doc);
        img_error_set(IMG_E_CONFIG, "docs_dir: %s is not a JSON object: %s", path, err.text);
        return NULL;
    }
    return doc;
}

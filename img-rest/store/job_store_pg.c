/* job_store_pg — PostgreSQL backend (in progress on a branch). */
#include "job_store_impl.h"

#include "img_error.h"

job_store_t *job_store_open_pg(const char *url)
{
    (void)url;
    img_error_set(IMG_E_CONFIG, "db_url: PostgreSQL is not available in this build yet");
    return NULL;
}

#include "vips_server.h"

#include "img_error.h"
#include "log.h"

#include <vips/vips.h>

/* libvips' warnings (a decoder's complaint about a damaged file...) go
 * through our logger, with the job and request of the thread when known. */
static void s_vips_log(const gchar *domain, GLogLevelFlags level, const gchar *message,
                       gpointer unused)
{
    (void)unused;
    log_msg(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL) ? IMG_LOG_ERROR : IMG_LOG_WARN,
            "%s: %s", domain ? domain : "libvips", message ? message : "");
}

int vips_server_init(const char *program)
{
    if (VIPS_INIT(program)) {
        img_error_set(IMG_E_INTERNAL, "cannot initialise libvips: %s", vips_error_buffer());
        vips_error_clear();
        return -1;
    }
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_MESSAGE,
                      s_vips_log, NULL);
    vips_cache_set_max(0);
    vips_block_untrusted_set(TRUE);
    return 0;
}

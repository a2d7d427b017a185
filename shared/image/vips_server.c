#include "vips_server.h"

#include "img_error.h"

#include <vips/vips.h>

int vips_server_init(const char *program)
{
    if (VIPS_INIT(program)) {
        img_error_set(IMG_E_INTERNAL, "cannot initialise libvips: %s", vips_error_buffer());
        vips_error_clear();
        return -1;
    }
    vips_cache_set_max(0);
    vips_block_untrusted_set(TRUE);
    return 0;
}

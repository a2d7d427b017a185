/* vips_server — libvips set up for a server that reads untrusted files:
 * initialised once from main() before any thread starts, the operation
 * cache off (no decoded pixels kept between jobs), and the loaders libvips
 * marks untrusted (SVG, PDF, PPM, ImageMagick, ...) blocked. */
#ifndef IMG_VIPS_SERVER_H
#define IMG_VIPS_SERVER_H

/* 0, or -1 with img_error. */
int vips_server_init(const char *program);

#endif

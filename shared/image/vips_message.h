/* vips_message — libvips' error text, fit to show a client.
 *
 * libvips keeps one error buffer per process: with several jobs on several
 * threads it must be copied right after the failing call, and a message may
 * name another job's file. The text given to a client is on one line, in
 * ASCII (a multi-byte character cut by a length limit would make the JSON
 * invalid), and names no file of the data folder: every path
 * "<data_dir>/jobs/<any id>/<file>" reads "the file".
 */
#ifndef IMG_VIPS_MESSAGE_H
#define IMG_VIPS_MESSAGE_H

#include <stddef.h>

/* Copies libvips' error buffer, cleaned as above, into out (size bytes,
 * NUL-terminated; "" when empty) and clears the buffer. */
void vips_message_take(const char *data_dir, char *out, size_t size);

/* The cleaning alone, of text into out. */
void vips_message_clean(const char *text, const char *data_dir, char *out, size_t size);

#endif

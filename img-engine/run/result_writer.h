/* result_writer — an image result written into its job folder.
 *
 * Before saving, the image is made fit for its format: normalised
 * (image_normalise: 8-bit, sRGB or grey, alpha kept for png, webp, avif,
 * tiff and gif and flattened on white for jpeg) and stripped of private
 * metadata: EXIF, XMP, IPTC, Photoshop blocks, comments and the orientation
 * tag (the orientation has been applied; EXIF may carry GPS positions). The
 * ICC profile is kept when it describes the output's colour space (RGB for
 * colour, GRAY for grey), so wide-gamut inputs keep their colours, and
 * dropped otherwise. An animation (a tall image with "page-height") is
 * written as one, with its frame delays.
 *
 * Savers: jpeg (Q, default 75), png (zlib level 2), webp (Q, default 75),
 * avif (heifsave AV1, Q, default 50), tiff (deflate), gif.
 *
 * The save is watched (it stops at the job's deadline) and goes to a
 * temporary file, which a commit (result_commit.h) syncs and renames to
 * result.<ext>: a job done twice leaves one whole result.
 */
#ifndef IMG_RESULT_WRITER_H
#define IMG_RESULT_WRITER_H

#include "image_format.h"
#include "op_job.h"
#include "result_commit.h"

/* Writes image as fmt (quality 1..100, 0 = the saver's default) into
 * job_dir. *result gets a new object {width, height, format, bytes} (and
 * pages for an animation). With pending NULL the result is committed
 * before the return; otherwise *pending gets the commit, which the caller
 * runs or abandons. 0, or -1 with img_error (nothing then pending). */
int result_writer_write(op_job_t *job, VipsImage *image, const img_format_t *fmt, int quality,
                        const char *job_dir, json_t **result, result_commit_t *pending);

#endif

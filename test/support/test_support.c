#define _GNU_SOURCE /* nftw, sync_file_range */

#include "test_support.h"

#include "file_cache.h"
#include "image_format.h"
#include "image_probe.h"
#include "img_error.h"
#include "job_files.h"
#include "job_runner.h"
#include "vips_server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

/* ---- set-up ---- */

int ts_vips_init(const char *program)
{
    if (vips_server_init(program) != 0) {
        fprintf(stderr, "%s: %s\n", program, img_error_message());
        return -1;
    }
    return 0;
}

ts_folder_t *ts_folder_new(const char *name)
{
    ts_folder_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char base[PATH_MAX];
    snprintf(base, sizeof base, "%s/tmp", TEST_BINARY_DIR);
    if (mkdir(base, 0750) != 0 && errno != EEXIST)
        fail_msg("cannot create %s: %s", base, strerror(errno));
    int n = snprintf(f->root, sizeof f->root, "%s/%s-XXXXXX", base, name);
    if (n < 0 || (size_t)n >= sizeof f->root)
        fail_msg("the build folder's path is too long for a test folder");
    if (!mkdtemp(f->root))
        fail_msg("cannot create a folder in %s: %s", base, strerror(errno));
    config_defaults(&f->cfg);
    snprintf(f->cfg.data_dir, sizeof f->cfg.data_dir, "%s", f->root);
    assert_int_equal(job_id_new(f->id), 0);
    if (job_files_create(f->root, f->id, f->dir, sizeof f->dir) != 0)
        fail_msg("job_files_create: %s", img_error_message());
    f->clock = deadline_clock_new();
    assert_non_null(f->clock);
    return f;
}

static int s_remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

void ts_folder_destroy(ts_folder_t **self)
{
    if (!self || !*self)
        return;
    ts_folder_t *f = *self;
    deadline_clock_destroy(&f->clock);
    if (nftw(f->root, s_remove_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "test_support: could not remove %s\n", f->root);
    free(f);
    *self = NULL;
}

int ts_setup(void **state)
{
    *state = ts_folder_new("unit");
    return 0;
}

int ts_teardown(void **state)
{
    ts_folder_t *f = *state;
    ts_folder_destroy(&f);
    *state = NULL;
    return 0;
}

void ts_input_path(const ts_folder_t *f, const char *input, char *out, size_t size)
{
    assert_int_equal(job_files_input(f->dir, input, out, size), 0);
}

void ts_result_path(const ts_folder_t *f, const char *format, char *out, size_t size)
{
    const img_format_t *fmt = img_format_by_name(format);
    if (!fmt)
        fail_msg("no format '%s'", format);
    assert_int_equal(job_files_result(f->dir, fmt->ext, out, size), 0);
}

int ts_count_files(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

long ts_cached_pages(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    off_t size = lseek(fd, 0, SEEK_END);
    long page = sysconf(_SC_PAGESIZE), n = (long)((size + page - 1) / page), count = 0;
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(map != MAP_FAILED);
    unsigned char *vec = malloc((size_t)n);
    assert_non_null(vec);
    assert_int_equal(mincore(map, (size_t)size, vec), 0);
    for (long i = 0; i < n; i++)
        count += vec[i] & 1;
    free(vec);
    munmap(map, (size_t)size);
    close(fd);
    return count;
}

bool ts_on_disk(const char *dir)
{
    struct statfs st;
    assert_int_equal(statfs(dir, &st), 0);
    return st.f_type != TMPFS_MAGIC && st.f_type != RAMFS_MAGIC;
}

void ts_wait_write_out(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE), 0);
    close(fd);
}

void ts_expect_drop_empties(const char *path)
{
    assert_true(ts_cached_pages(path) > 0);
    file_cache_drop(path);
    assert_int_equal(ts_cached_pages(path), 0);
}

/* ---- images ---- */

VipsImage *ts_gradient(int w, int h, unsigned flags)
{
    VipsImage *xyz, *ramps, *bands, *cast, *out;
    bool sixteen = flags & TS_SIXTEEN;
    double max = sixteen ? 65535.0 : 255.0;
    double a[2] = {max / w, max / h}, b[2] = {0, 0};
    double extra[2] = {max / 2, max * 0.8};
    assert_int_equal(vips_xyz(&xyz, w, h, NULL), 0);
    assert_int_equal(vips_linear(xyz, &ramps, a, b, 2, NULL), 0);
    assert_int_equal(vips_bandjoin_const(ramps, &bands, extra, flags & TS_ALPHA ? 2 : 1, NULL), 0);
    assert_int_equal(
        vips_cast(bands, &cast, sixteen ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR, NULL), 0);
    assert_int_equal(vips_copy(cast, &out, "interpretation",
                               sixteen ? VIPS_INTERPRETATION_RGB16 : VIPS_INTERPRETATION_sRGB,
                               NULL),
                     0);
    g_object_unref(xyz);
    g_object_unref(ramps);
    g_object_unref(bands);
    g_object_unref(cast);
    return out;
}

VipsImage *ts_uniform(int w, int h, const double *values, int n, VipsBandFormat format,
                      VipsInterpretation interpretation)
{
    VipsImage *black, *lin, *cast, *out;
    double *zero = calloc((size_t)n, sizeof *zero);
    assert_non_null(zero);
    assert_int_equal(vips_black(&black, w, h, "bands", n, NULL), 0);
    assert_int_equal(vips_linear(black, &lin, zero, (double *)values, n, NULL), 0);
    assert_int_equal(vips_cast(lin, &cast, format, NULL), 0);
    assert_int_equal(vips_copy(cast, &out, "interpretation", interpretation, NULL), 0);
    free(zero);
    g_object_unref(black);
    g_object_unref(lin);
    g_object_unref(cast);
    return out;
}

VipsImage *ts_photo(const char *path, int w, int h)
{
    VipsImage *thumb = NULL, *mem;
    if (access(path, R_OK) != 0)
        fail_msg("%s is missing: install the package that ships it (scripts/install-deps.sh)",
                 path);
    assert_int_equal(
        vips_thumbnail(path, &thumb, w, "height", h, "crop", VIPS_INTERESTING_CENTRE, NULL), 0);
    mem = vips_image_copy_memory(thumb);
    assert_non_null(mem);
    g_object_unref(thumb);
    return mem;
}

VipsImage *ts_oriented(VipsImage *in, int o)
{
    VipsImage *out = NULL;
    assert_int_equal(vips_copy(in, &out, NULL), 0);
    g_object_unref(in);
    vips_image_set_int(out, VIPS_META_ORIENTATION, o);
    return out;
}

VipsImage *ts_paged(VipsImage *in, int page_height)
{
    VipsImage *out = NULL;
    assert_int_equal(in->Ysize % page_height, 0);
    assert_int_equal(vips_copy(in, &out, NULL), 0);
    g_object_unref(in);
    vips_image_set_int(out, VIPS_META_PAGE_HEIGHT, page_height);
    return out;
}

VipsImage *ts_painted(VipsImage *in, const ts_rect_t *rects, const double (*inks)[3], int n)
{
    VipsImage *copy = NULL;
    /* a copy first: copy_memory of an image already in memory is the same image */
    assert_int_equal(vips_copy(in, &copy, NULL), 0);
    VipsImage *mem = vips_image_copy_memory(copy);
    assert_non_null(mem);
    g_object_unref(copy);
    for (int i = 0; i < n; i++)
        assert_int_equal(vips_draw_rect(mem, (double *)inks[i], 3, rects[i].x, rects[i].y,
                                        rects[i].w, rects[i].h, "fill", TRUE, NULL),
                         0);
    return mem;
}

void ts_save(VipsImage *image, const char *format, const char *path)
{
    int rc = -1;
    if (strcmp(format, "png") == 0)
        rc = vips_pngsave(image, path, NULL);
    else if (strcmp(format, "jpeg") == 0)
        rc = vips_jpegsave(image, path, "Q", 95, NULL);
    else if (strcmp(format, "tiff") == 0)
        rc = vips_tiffsave(image, path, NULL);
    else if (strcmp(format, "gif") == 0)
        rc = vips_gifsave(image, path, NULL);
    else if (strcmp(format, "webp") == 0)
        rc = vips_webpsave(image, path, NULL);
    else if (strcmp(format, "ppm") == 0)
        rc = vips_ppmsave(image, path, NULL);
    else if (strcmp(format, "avif") == 0)
        rc = vips_heifsave(image, path, "compression", VIPS_FOREIGN_HEIF_COMPRESSION_AV1, NULL);
    if (rc != 0)
        fail_msg("saving %s: %s", format, vips_error_buffer());
    g_object_unref(image);
}

void ts_save_input(const ts_folder_t *f, const char *input, VipsImage *image, const char *format)
{
    char path[PATH_MAX];
    ts_input_path(f, input, path, sizeof path);
    ts_save(image, format, path);
}

void ts_write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

void ts_write_input(const ts_folder_t *f, const char *input, const void *data, size_t len)
{
    char path[PATH_MAX];
    ts_input_path(f, input, path, sizeof path);
    ts_write_file(path, data, len);
}

void ts_copy_input(const ts_folder_t *f, const char *input, const char *src)
{
    char path[PATH_MAX], buf[65536];
    size_t n;
    ts_input_path(f, input, path, sizeof path);
    FILE *in = fopen(src, "rb"), *out = fopen(path, "wb");
    if (!in || !out)
        fail_msg("cannot copy %s to %s: %s", src, path, strerror(errno));
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

VipsImage *ts_load(const char *path)
{
    VipsImage *file = vips_image_new_from_file(path, NULL);
    if (!file)
        fail_msg("cannot read %s: %s", path, vips_error_buffer());
    VipsImage *mem = vips_image_copy_memory(file);
    assert_non_null(mem);
    g_object_unref(file);
    return mem;
}

/* ---- running a job ---- */

json_t *ts_run_json(ts_folder_t *f, const char *op, const json_t *params, int timeout_ms)
{
    job_runner_job_t spec = {
        .id = f->id, .operation = op, .params = params, .timeout_ms = timeout_ms};
    json_t *result = NULL;
    img_error_clear();
    int rc = job_runner_run(&f->cfg, f->clock, &spec, &result);
    if (rc != 0) {
        assert_int_equal(rc, -1);
        assert_null(result);
        assert_int_not_equal(img_error_code(), IMG_E_NONE);
        return NULL;
    }
    assert_non_null(result);
    return result;
}

json_t *ts_run(ts_folder_t *f, const char *op, const char *kv, int timeout_ms)
{
    json_t *params = json_object();
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", kv ? kv : "");
    for (char *save = NULL, *tok = strtok_r(buf, "&", &save); tok;
         tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            fail_msg("'%s' is not k=v", tok);
        *eq = '\0';
        json_object_set_new(params, tok, json_string(eq + 1));
    }
    json_t *result = ts_run_json(f, op, params, timeout_ms);
    json_decref(params);
    return result;
}

static long long s_int(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("result field '%s' is not an integer", key);
    return (long long)json_integer_value(v);
}

VipsImage *ts_run_image(ts_folder_t *f, const char *op, const char *kv, const char *format)
{
    json_t *r = ts_run(f, op, kv, 60000);
    if (!r)
        fail_msg("%s %s failed: %s", op, kv ? kv : "", img_error_message());
    const char *fmt = json_string_value(json_object_get(r, "format"));
    assert_non_null(fmt);
    if (format)
        assert_string_equal(fmt, format);
    char path[PATH_MAX];
    ts_result_path(f, fmt, path, sizeof path);

    /* The bytes are recognised as that format; the sizes are the file's. */
    img_config_t any;
    image_info_t info;
    config_defaults(&any);
    if (image_probe_file(path, &any, &info) != 0)
        fail_msg("probing the result: %s", img_error_message());
    assert_string_equal(info.format, fmt);
    assert_int_equal(s_int(r, "width"), info.width);
    assert_int_equal(s_int(r, "height"), info.height);
    assert_int_equal(s_int(r, "bytes"), info.bytes);
    if (json_object_get(r, "pages"))
        assert_int_equal(s_int(r, "pages"), info.pages);
    else
        assert_int_equal(info.pages, 1);
    json_decref(r);
    return ts_load(path);
}

/* ---- pixels ---- */

double ts_pixel(VipsImage *image, int x, int y, int band)
{
    double *v = NULL;
    int n = 0;
    assert_int_equal(vips_getpoint(image, &v, &n, x, y, NULL), 0);
    assert_true(band < n);
    double r = v[band];
    g_free(v);
    return r;
}

double ts_max_abs_diff(VipsImage *a, VipsImage *b)
{
    VipsImage *d = NULL, *abs = NULL;
    double max = -1;
    assert_int_equal(a->Xsize, b->Xsize);
    assert_int_equal(a->Ysize, b->Ysize);
    assert_int_equal(a->Bands, b->Bands);
    assert_int_equal(vips_subtract(a, b, &d, NULL), 0);
    assert_int_equal(vips_abs(d, &abs, NULL), 0);
    assert_int_equal(vips_max(abs, &max, NULL), 0);
    g_object_unref(abs);
    g_object_unref(d);
    return max;
}

double ts_band_mean(VipsImage *image, int band)
{
    VipsImage *b = NULL;
    double mean = 0;
    assert_int_equal(vips_extract_band(image, &b, band, NULL), 0);
    assert_int_equal(vips_avg(b, &mean, NULL), 0);
    g_object_unref(b);
    return mean;
}

/* The image's 8-bit samples, interleaved (g_free). */
static uint8_t *s_samples(VipsImage *image, size_t *size)
{
    assert_int_equal(image->BandFmt, VIPS_FORMAT_UCHAR);
    uint8_t *buf = vips_image_write_to_memory(image, size);
    assert_non_null(buf);
    return buf;
}

size_t ts_distinct_colours(VipsImage *image, int colour_bands)
{
    size_t size = 0, distinct = 0;
    assert_true(colour_bands >= 1 && colour_bands <= 3 && colour_bands <= image->Bands);
    uint8_t *buf = s_samples(image, &size);
    uint8_t *seen = calloc((size_t)1 << 21, 1); /* one bit per 24-bit colour */
    assert_non_null(seen);
    for (size_t p = 0; p < size; p += (size_t)image->Bands) {
        uint32_t key = 0;
        for (int b = 0; b < colour_bands; b++)
            key = key << 8 | buf[p + (size_t)b];
        if (!(seen[key >> 3] & (1u << (key & 7)))) {
            seen[key >> 3] |= (uint8_t)(1u << (key & 7));
            distinct++;
        }
    }
    free(seen);
    g_free(buf);
    return distinct;
}

bool ts_on_levels(VipsImage *image, int colour_bands, int levels)
{
    bool allowed[256] = {false};
    size_t size = 0;
    bool ok = true;
    for (int i = 0; i < levels; i++)
        allowed[(int)lrint(i * 255.0 / (levels - 1))] = true;
    uint8_t *buf = s_samples(image, &size);
    for (size_t p = 0; ok && p < size; p += (size_t)image->Bands)
        for (int b = 0; b < colour_bands; b++)
            ok = ok && allowed[buf[p + (size_t)b]];
    g_free(buf);
    return ok;
}

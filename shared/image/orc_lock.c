/* orc_lock — libvips' orc programs are compiled and freed one at a time.
 *
 * libvips 8.14 runs some operations (the vertical reduce of every resize,
 * integer convolutions, morphology) through orc programs that it compiles
 * for each operation and frees with it: orc_program_compile() with its own
 * global lock held, orc_program_free() without. orc 0.4.33 (Debian 12's)
 * changes the chunk list of its shared code regions in both without
 * holding its own lock: a compile splits a free chunk after releasing it,
 * a free merges neighbouring chunks and frees them without taking it. So a
 * job freeing its pipeline while another compiled one
 * corrupted img-engine's heap: glibc aborted ("malloc_consolidate():
 * unaligned fastbin chunk detected") in about one engine in ten started
 * afresh under twelve seconds of the small-image bench load, and in each
 * core dump the freed chunk that had been written to was an OrcCodeChunk.
 * (libvips 8.15 and later no longer use orc. Turning orc off instead cost
 * img-engine 7-17 % more CPU per 5 MB photo in an A/B run.)
 *
 * Each program defines the two functions (this file is compiled into the
 * programs: shared/CMakeLists.txt), so libvips' calls, which go through its
 * PLT, come here; each takes one lock and calls liborc's own definition.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <glib.h>
#include <orc/orc.h>

static GRecMutex s_lock; /* static storage: ready without init */

/* liborc's own definition of name (the next after the program's), or NULL. */
static void *s_next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

OrcCompileResult orc_program_compile(OrcProgram *program)
{
    static OrcCompileResult (*compile)(OrcProgram *);
    OrcCompileResult result = ORC_COMPILE_RESULT_UNKNOWN_COMPILE; /* libvips runs its C code */
    g_rec_mutex_lock(&s_lock);
    if (!compile)
        *(void **)&compile = s_next("orc_program_compile");
    if (compile)
        result = compile(program);
    g_rec_mutex_unlock(&s_lock);
    return result;
}

void orc_program_free(OrcProgram *program)
{
    static void (*release)(OrcProgram *);
    g_rec_mutex_lock(&s_lock);
    if (!release)
        *(void **)&release = s_next("orc_program_free");
    if (release)
        release(program);
    g_rec_mutex_unlock(&s_lock);
}

/* test_orc_lock — libvips' orc programs are compiled and freed under one
 * lock (shared/image/orc_lock.c): the replacements still reach liborc, and
 * both programs' libvips calls bind to them. */
#include "test_support.h"

#include <orc/orc.h>
#include <stdio.h>
#include <string.h>

/* A program compiled and run through the replacements (this test program
 * has them too): liborc's own compile was reached, a failed look-up would
 * answer "unknown compile". That the programs have them is the next test. */
static void test_compiles_and_frees_through_liborc(void **state)
{
    (void)state;
    OrcProgram *p = orc_program_new();
    orc_program_add_destination(p, 1, "d1");
    orc_program_add_source(p, 1, "s1");
    orc_program_append_str(p, "addb", "d1", "s1", "s1");
    OrcCompileResult result = orc_program_compile(p);
    assert_true(ORC_COMPILE_RESULT_IS_SUCCESSFUL(result));
    unsigned char in[64], out[64];
    for (int i = 0; i < 64; i++)
        in[i] = (unsigned char)i;
    OrcExecutor *ex = orc_executor_new(p);
    orc_executor_set_array_str(ex, "s1", in);
    orc_executor_set_array_str(ex, "d1", out);
    orc_executor_set_n(ex, 64);
    orc_executor_run(ex);
    orc_executor_free(ex);
    for (int i = 0; i < 64; i++)
        assert_int_equal(out[i], 2 * i);
    orc_program_free(p);
}

/* The program's own definition is the one libvips' call binds to (ld.so's
 * account of its bindings, all made at start-up). */
static void s_assert_bound(const char *program, const char *symbol)
{
    char command[PATH_MAX + 128], line[1024], wanted[PATH_MAX + 64];
    snprintf(command, sizeof command, "LD_DEBUG=bindings LD_BIND_NOW=1 %s --version 2>&1", program);
    snprintf(wanted, sizeof wanted, "to %s [0]: normal symbol `%s'", program, symbol);
    FILE *out = popen(command, "r");
    assert_non_null(out);
    bool bound = false;
    while (fgets(line, sizeof line, out))
        bound |= strstr(line, "libvips.so") && strstr(line, wanted);
    assert_int_equal(pclose(out), 0);
    if (!bound)
        fail_msg("libvips' %s does not bind to %s", symbol, program);
}

static void test_programs_replace_them(void **state)
{
    (void)state;
    const char *programs[] = {IMG_ENGINE_BIN, IMG_REST_BIN};
    for (int i = 0; i < 2; i++) {
        s_assert_bound(programs[i], "orc_program_compile");
        s_assert_bound(programs[i], "orc_program_free");
    }
}

int main(int argc, char **argv)
{
    (void)argc;
    if (ts_vips_init(argv[0]))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compiles_and_frees_through_liborc),
        cmocka_unit_test(test_programs_replace_them),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    vips_shutdown();
    return rc;
}

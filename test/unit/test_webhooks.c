/* webhook_target: which callback URLs and which connected addresses are
 * allowed (the submit check and the connect-time check that stops DNS
 * rebinding), over IPv4 and IPv6 ranges, IPv4-mapped IPv6 addresses, CIDR
 * and host allow lists and bad URLs; webhook_secret: the signature and the
 * kept secret. Host names resolve through /etc/hosts only ("localhost"),
 * other URLs name literal addresses: no DNS server is needed. */
#include "test_support.h"

#include "config.h"
#include "img_error.h"
#include "webhook_secret.h"
#include "webhook_target.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

/* Is a connection to the literal address text (IPv4 or IPv6) allowed? */
static bool s_ok(const char *text, const char *host, const char *allow)
{
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, text, &v4.sin_addr) == 1)
        return webhook_target_addr_ok((const struct sockaddr *)&v4, host, allow);
    if (inet_pton(AF_INET6, text, &v6.sin6_addr) == 1)
        return webhook_target_addr_ok((const struct sockaddr *)&v6, host, allow);
    fail_msg("not an address: %s", text);
    return false;
}

/* The URL is refused at submit with invalid_parameter naming callback_url. */
static void s_refused(const char *url, const char *allow)
{
    img_error_clear();
    if (webhook_target_check_url(url, allow) == 0)
        fail_msg("accepted: %s (allow '%s')", url, allow);
    assert_int_equal(img_error_code(), IMG_E_INVALID_PARAMETER);
    assert_non_null(strstr(img_error_message(), "callback_url"));
}

static void s_accepted(const char *url, const char *allow)
{
    img_error_clear();
    if (webhook_target_check_url(url, allow) != 0)
        fail_msg("refused: %s (allow '%s'): %s", url, allow, img_error_message());
    assert_int_equal(img_error_code(), IMG_E_NONE);
}

static void test_ipv4_ranges(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "0.0.0.0",         "0.255.255.255",   /* "this network" (0.0.0.0 reaches the host) */
        "10.0.0.0",        "10.255.255.255",  /* RFC 1918 */
        "100.64.0.0",      "100.127.255.255", /* shared address space */
        "127.0.0.1",       "127.255.255.254", /* loopback, all of 127/8 */
        "169.254.169.254",                    /* link-local: the clouds' metadata service */
        "172.16.0.0",      "172.31.255.255",  /* RFC 1918 */
        "192.0.0.8",                          /* IETF protocol assignments */
        "192.168.0.1",     "192.168.255.255", /* RFC 1918 */
        "198.18.0.1",      "198.19.255.255",  /* benchmarking */
        "224.0.0.1",       "239.255.255.250", /* multicast */
        "240.0.0.1",       "255.255.255.255", /* reserved, broadcast */
    };
    /* the addresses just outside each range are public */
    static const char *const allowed[] = {
        "1.0.0.0",         "9.255.255.255",   "11.0.0.0",        "100.63.255.255", "100.128.0.0",
        "126.255.255.255", "128.0.0.0",       "169.253.255.255", "169.255.0.0",    "172.15.255.255",
        "172.32.0.0",      "192.0.1.0",       "192.167.255.255", "192.169.0.0",    "198.17.255.255",
        "198.20.0.0",      "223.255.255.255", "8.8.8.8",         "93.184.216.34",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (s_ok(refused[i], NULL, ""))
            fail_msg("%s allowed", refused[i]);
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (!s_ok(allowed[i], NULL, ""))
            fail_msg("%s refused", allowed[i]);
}

static void test_ipv6_ranges(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "::",  /* unspecified */
        "::1", /* loopback */
        "fc00::1",
        "fdff:ffff::1", /* unique local, fc00::/7 */
        "fe80::1",
        "febf:ffff::1", /* link-local, fe80::/10 */
        "ff02::1",
        "ff0e::1", /* multicast */
        "64:ff9b::7f00:1",
        "64:ff9b::a00:1", /* NAT64 of 127.0.0.1, 10.0.0.1 */
        /* IPv4-mapped: the IPv4 ranges apply */
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
        "::ffff:169.254.169.254",
        "::ffff:192.168.1.1",
        "::ffff:0.0.0.0",
    };
    /* global unicast, and public IPv4 addresses mapped */
    static const char *const allowed[] = {
        "2001:4860:4860::8888", "2a00:1450:4001:80b::200e", "2606:4700::1111",
        "::ffff:8.8.8.8",       "::ffff:100.128.0.1",       "::ffff:172.32.0.1",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (s_ok(refused[i], NULL, ""))
            fail_msg("%s allowed", refused[i]);
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        if (!s_ok(allowed[i], NULL, ""))
            fail_msg("%s refused", allowed[i]);
}

static void test_other_families_refused(void **state)
{
    (void)state;
    struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/tmp/hook.sock"};
    assert_false(webhook_target_addr_ok((const struct sockaddr *)&un, "hook", ""));
    assert_false(webhook_target_addr_ok((const struct sockaddr *)&un, "hook", "hook"));
}

static void test_allow_cidrs(void **state)
{
    (void)state;
    /* an IPv4 network lets through exactly its addresses, mapped ones too */
    const char *allow = "10.1.0.0/16, 127.0.0.1, fd00:1::/32";
    assert_true(s_ok("10.1.0.0", NULL, allow));
    assert_true(s_ok("10.1.255.255", NULL, allow));
    assert_true(s_ok("::ffff:10.1.2.3", NULL, allow));
    assert_false(s_ok("10.0.255.255", NULL, allow));
    assert_false(s_ok("10.2.0.0", NULL, allow));
    /* a bare address is one host (/32) */
    assert_true(s_ok("127.0.0.1", NULL, allow));
    assert_false(s_ok("127.0.0.2", NULL, allow));
    assert_false(s_ok("::1", NULL, allow));
    /* IPv6 networks */
    assert_true(s_ok("fd00:1:ffff::1", NULL, allow));
    assert_false(s_ok("fd00:2::1", NULL, allow));
    assert_false(s_ok("fc00::1", NULL, allow));
    /* prefixes that do not end on a byte */
    assert_true(s_ok("172.20.0.1", NULL, "172.16.0.0/13"));
    assert_true(s_ok("172.23.255.255", NULL, "172.16.0.0/13"));
    assert_false(s_ok("172.24.0.0", NULL, "172.16.0.0/13"));
    assert_true(s_ok("fe80::1", NULL, "fe80::/9"));
    assert_false(s_ok("fe80::1", NULL, "fe00::/9"));
    /* /0 allows everything of its family's form */
    assert_true(s_ok("192.168.7.7", NULL, "0.0.0.0/0"));
    assert_true(s_ok("::1", NULL, "::/0"));
    assert_false(s_ok("::1", NULL, "0.0.0.0/0"));
}

static void test_allow_hosts(void **state)
{
    (void)state;
    const char *allow = "hooks.internal,192.0.2.0/24";
    /* a host named in the list may lead anywhere, its name compared whole
     * and without regard to case */
    assert_true(s_ok("10.9.8.7", "hooks.internal", allow));
    assert_true(s_ok("::1", "HOOKS.Internal", allow));
    assert_false(s_ok("10.9.8.7", "evil.hooks.internal", allow));
    assert_false(s_ok("10.9.8.7", "hooks.internal.evil", allow));
    assert_false(s_ok("10.9.8.7", "hooks", allow));
    assert_false(s_ok("10.9.8.7", "", allow));
    assert_false(s_ok("10.9.8.7", NULL, allow));
    /* a public address needs no allowing, whatever the host */
    assert_true(s_ok("8.8.8.8", "anything.example", allow));
}

static void test_allow_settings(void **state)
{
    (void)state;
    static const char *const valid[] = {
        "",          "10.0.0.0/8", "hooks.internal",        "10.0.0.0/8, hooks.internal ,fc00::/7",
        "127.0.0.1", "::1",        "my-host-1.example.com", "0.0.0.0/0",
    };
    static const char *const invalid[] = {
        "10.0.0.0/33",  "fc00::/129", "10.0.0.0/",   "10.0.0.0/-1", "10.0.0.0/x",    "a b",
        "http://hooks", "hooks/path", "10.0.0.0/8,", "a,,b",        "*.example.com",
    };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        if (!webhook_target_allow_valid(valid[i]))
            fail_msg("'%s' said invalid", valid[i]);
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        if (webhook_target_allow_valid(invalid[i]))
            fail_msg("'%s' said valid", invalid[i]);
}

static void test_bad_urls(void **state)
{
    (void)state;
    static const char *const bad[] = {
        /* no scheme, or not http(s) */
        "",
        "hooks.example.com/x",
        "ftp://8.8.8.8/x",
        "file:///etc/passwd",
        "gopher://8.8.8.8:70/",
        "javascript:alert(1)",
        /* no host */
        "http://",
        "http:///path",
        "https://:443/",
        "http://[::1",
        "http://[]/",
        /* a port too long to check as written */
        "http://8.8.8.8:0000000000000000080/",
        /* credentials, or an '@' in the authority whatever comes before it */
        "http://user:pass@8.8.8.8/",
        "http://user@8.8.8.8/",
        "http://8.8.8.8\\@127.0.0.1/",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        s_refused(bad[i], "0.0.0.0/0,::/0"); /* refused even with everything allowed */
    /* too long */
    char longer[2100];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    memcpy(longer, "http://8.8.8.8/", 15);
    s_refused(longer, "");
    /* a bracketed host too long to check as written */
    char host[400];
    memset(host, 'f', sizeof host);
    memcpy(host, "http://[", 8);
    memcpy(host + sizeof host - 4, "]/", 3);
    s_refused(host, "0.0.0.0/0,::/0");
}

static void test_literal_urls(void **state)
{
    (void)state;
    s_accepted("http://8.8.8.8/hook", "");
    s_accepted("https://8.8.8.8:8443/hook?x=1#f", "");
    s_accepted("HTTPS://8.8.8.8/", "");
    s_accepted("http://[2001:4860:4860::8888]:8080/hook", "");
    s_accepted("http://8.8.8.8#@127.0.0.1/", ""); /* the host ends at '#' */
    s_accepted("http://8.8.8.8:/hook", "");       /* an empty port: the scheme's */
    s_refused("http://127.0.0.1:8080/hook", "");
    s_refused("http://127.0.0.1#@8.8.8.8/", "");
    s_refused("http://10.0.0.1/", "");
    s_refused("http://169.254.169.254/latest/meta-data/", "");
    s_refused("http://[::1]:8080/", "");
    s_refused("http://[fe80::1]/", "");
    s_refused("http://[::ffff:127.0.0.1]/", "");
    s_refused("http://[::ffff:7f00:1]/", "");
    /* other spellings of loopback and "this host" that resolvers accept */
    s_refused("http://2130706433/", "");
    s_refused("http://0x7f000001/", "");
    s_refused("http://127.1/", "");
    s_refused("http://0/", "");
    s_refused("http://0.0.0.0:8080/", "");
    /* allowed when listed */
    s_accepted("http://127.0.0.1:8080/hook", "127.0.0.1");
    s_accepted("http://10.0.0.1/", "10.0.0.0/8");
    s_accepted("http://[::1]:8080/", "::1");
    s_refused("http://[::1]:8080/", "127.0.0.1");
    s_refused("http://10.0.0.1/", "10.1.0.0/16");
}

static void test_names(void **state)
{
    (void)state;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo("localhost", "80", &hints, &res) != 0)
        skip(); /* no localhost in /etc/hosts */
    bool only_v4 = true;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        only_v4 = only_v4 && ai->ai_family == AF_INET;
    freeaddrinfo(res);
    /* a name is judged by the addresses it resolves to */
    s_refused("http://localhost:8080/hook", "");
    s_refused("http://LocalHost/hook", "");
    s_refused("http://localhost/", "10.0.0.0/8,hooks.internal");
    s_accepted("http://localhost:8080/hook", "localhost");
    s_accepted("http://localhost:8080/hook", "LOCALHOST");
    s_accepted("http://localhost:8080/hook", "127.0.0.0/8,::1");
    if (only_v4)
        s_accepted("http://localhost:8080/hook", "127.0.0.1");
    /* a name that does not resolve is refused */
    s_refused("http://no-such-host.invalid/", "");
}

/* ---- the signature and the secret ---- */

static void test_sign(void **state)
{
    (void)state;
    char out[160];
    /* the reference value: Python's hmac.new(b"Jefe", b'1700000000.{"id":"x"}', sha256) */
    assert_int_equal(webhook_secret_sign("Jefe", 1700000000, "{\"id\":\"x\"}", out, sizeof out), 0);
    assert_string_equal(
        out, "t=1700000000,v1=83aaec65374de010f05f69354cbddd8bb459ab71908c7579dd27ff250b557358");
    /* the time is signed too */
    assert_int_equal(webhook_secret_sign("Jefe", 1700000001, "{\"id\":\"x\"}", out, sizeof out), 0);
    assert_string_equal(
        out, "t=1700000001,v1=d20c569b7d3263fd76a30aef946e0c632792b847966ac5cb4e50a4b9e73defb9");
    /* too small a buffer is an error, not a cut signature */
    img_error_clear();
    assert_int_equal(webhook_secret_sign("Jefe", 1, "{}", out, 40), -1);
    assert_int_equal(img_error_code(), IMG_E_INTERNAL);
}

static void test_secret_kept(void **state)
{
    ts_folder_t *f = *state;
    char first[WEBHOOK_SECRET_MAX], again[WEBHOOK_SECRET_MAX], path[PATH_MAX + 32];
    /* none set: a random one is made, kept (0600) and read back later */
    assert_int_equal(webhook_secret_load(&f->cfg, first), 0);
    assert_int_equal(strlen(first), 64);
    assert_int_equal(strspn(first, "0123456789abcdef"), 64);
    snprintf(path, sizeof path, "%s/webhook_secret", f->cfg.data_dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(webhook_secret_load(&f->cfg, again), 0);
    assert_string_equal(first, again);
    /* set: the setting wins */
    snprintf(f->cfg.webhook_secret, sizeof f->cfg.webhook_secret, "%s", "the-configured-secret");
    assert_int_equal(webhook_secret_load(&f->cfg, again), 0);
    assert_string_equal(again, "the-configured-secret");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_ranges),
        cmocka_unit_test(test_ipv6_ranges),
        cmocka_unit_test(test_other_families_refused),
        cmocka_unit_test(test_allow_cidrs),
        cmocka_unit_test(test_allow_hosts),
        cmocka_unit_test(test_allow_settings),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_literal_urls),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_sign),
        cmocka_unit_test_setup_teardown(test_secret_kept, ts_setup, ts_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#include "webhook_target.h"

#include "img_error.h"
#include "str_list.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A network: 16 bytes (IPv4 mapped into ::ffff:0:0/96) and a prefix. */
typedef struct {
    unsigned char addr[16];
    int prefix;
} net_t;

static void s_mapped(const struct in_addr *v4, unsigned char out[16])
{
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

static bool s_in(const unsigned char a[16], const net_t *n)
{
    int full = n->prefix / 8, rest = n->prefix % 8;
    if (memcmp(a, n->addr, (size_t)full) != 0)
        return false;
    if (!rest)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[full] & mask) == (n->addr[full] & mask);
}

/* "10.0.0.0/8", "fc00::/7", "192.0.2.1" (a /32) into n; -1 if not one. */
static int s_parse_net(const char *text, size_t len, net_t *n)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *slash = strchr(buf, '/');
    if (slash)
        *slash++ = '\0';
    struct in_addr v4;
    struct in6_addr v6;
    int max;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        s_mapped(&v4, n->addr);
        max = 32;
    } else if (inet_pton(AF_INET6, buf, &v6) == 1) {
        memcpy(n->addr, &v6, 16);
        max = 128;
    } else {
        return -1;
    }
    int prefix = max;
    if (slash) {
        char *end;
        long p = strtol(slash, &end, 10);
        if (!*slash || *end || p < 0 || p > max)
            return -1;
        prefix = (int)p;
    }
    n->prefix = prefix + (max == 32 ? 96 : 0);
    return 0;
}

/* The ranges a callback may not reach unless allowed. An IPv4 address is
 * held mapped (::ffff:a.b.c.d), so the IPv4 ranges are written mapped too. */
static bool s_refused_range(const unsigned char a[16])
{
    static const char *const ranges[] = {
        /* IPv4 */
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/3",
        /* IPv6 */
        "::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96"};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        net_t n;
        if (s_parse_net(ranges[i], strlen(ranges[i]), &n) == 0 && s_in(a, &n))
            return true;
    }
    return false;
}

static void s_bytes_of(const struct sockaddr *addr, unsigned char out[16])
{
    if (addr->sa_family == AF_INET)
        s_mapped(&((const struct sockaddr_in *)addr)->sin_addr, out);
    else
        memcpy(out, &((const struct sockaddr_in6 *)addr)->sin6_addr, 16);
}

/* Does allow name host, or a network holding addr? */
static bool s_allowed(const unsigned char a[16], const char *host, const char *allow)
{
    str_list_t it;
    const char *item;
    size_t len;
    str_list_begin(&it, allow);
    while (str_list_next(&it, &item, &len)) {
        net_t n;
        if (s_parse_net(item, len, &n) == 0) {
            if (s_in(a, &n))
                return true;
        } else if (host && len == strlen(host) && strncasecmp(item, host, len) == 0) {
            return true;
        }
    }
    return false;
}

bool webhook_target_addr_ok(const struct sockaddr *addr, const char *host, const char *allow)
{
    unsigned char a[16];
    if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)
        return false;
    s_bytes_of(addr, a);
    return !s_refused_range(a) || s_allowed(a, host, allow);
}

bool webhook_target_allow_valid(const char *allow)
{
    str_list_t it;
    const char *item;
    size_t len;
    str_list_begin(&it, allow);
    while (str_list_next(&it, &item, &len)) {
        net_t n;
        if (len == 0)
            return false;
        if (s_parse_net(item, len, &n) == 0)
            continue;
        for (size_t i = 0; i < len; i++)
            if (!(isalnum((unsigned char)item[i]) || item[i] == '.' || item[i] == '-'))
                return false;
    }
    return true;
}

/* Host and port of an http(s) URL; -1 if it is not one. */
static int s_host_port(const char *url, char *host, size_t size, char *port, size_t psize)
{
    const char *p;
    bool tls = strncasecmp(url, "https://", 8) == 0;
    if (tls)
        p = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        p = url + 7;
    else
        return -1;
    size_t auth = strcspn(p, "/?#");
    const char *at = memchr(p, '@', auth);
    if (at) /* credentials in a callback URL are refused: they would be logged */
        return -1;
    const char *end = p + auth, *colon = NULL;
    if (*p == '[') {
        const char *close = memchr(p, ']', auth);
        size_t hl = close ? (size_t)(close - p - 1) : 0;
        if (hl == 0 || hl >= size)
            return -1;
        snprintf(host, size, "%.*s", (int)hl, p + 1);
        colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(p, ':', auth);
        size_t hl = colon ? (size_t)(colon - p) : auth;
        if (hl == 0 || hl >= size)
            return -1;
        snprintf(host, size, "%.*s", (int)hl, p);
    }
    size_t pl = colon ? (size_t)(end - colon - 1) : 0;
    if (pl >= psize) /* never cut: what is checked is what is called */
        return -1;
    if (pl > 0) /* an empty port is the scheme's (RFC 3986) */
        snprintf(port, psize, "%.*s", (int)pl, colon + 1);
    else
        snprintf(port, psize, "%s", tls ? "443" : "80");
    return host[0] ? 0 : -1;
}

int webhook_target_check_url(const char *url, const char *allow)
{
    char host[256], port[16];
    if (strlen(url) >= 2048 || s_host_port(url, host, sizeof host, port, sizeof port) < 0) {
        img_error_set(IMG_E_INVALID_PARAMETER,
                      "callback_url must be an http or https URL with a host (no credentials)");
        return -1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
        img_error_set(IMG_E_INVALID_PARAMETER, "callback_url: the host '%.200s' cannot be resolved",
                      host);
        return -1;
    }
    int rc = 0;
    for (struct addrinfo *ai = res; ai && rc == 0; ai = ai->ai_next)
        if (!webhook_target_addr_ok(ai->ai_addr, host, allow)) {
            img_error_set(IMG_E_INVALID_PARAMETER,
                          "callback_url: '%.200s' leads to a loopback, private, link-local or "
                          "multicast address; webhook_allow can let it through",
                          host);
            rc = -1;
        }
    freeaddrinfo(res);
    return rc;
}

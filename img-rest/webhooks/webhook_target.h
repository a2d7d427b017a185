/* webhook_target — which callback URLs img-rest may call.
 *
 * A callback_url is http or https with a host. Its host must not lead into
 * the private network: addresses that are loopback, private (RFC 1918,
 * fc00::/7), link-local, shared (100.64/10), unspecified, multicast or
 * reserved are refused, unless webhook_allow (a comma list of host names
 * and CIDRs, e.g. "hooks.internal,10.1.0.0/16") lets them through. The
 * check is made at submit (the name is resolved then) and again on every
 * connection (on the address actually connected to), so a name that later
 * resolves to a refused address (DNS rebinding) is refused then too.
 */
#ifndef IMG_WEBHOOK_TARGET_H
#define IMG_WEBHOOK_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* The URL's scheme is http(s) and every address its host resolves to is
 * allowed. 0, or -1 with IMG_E_INVALID_PARAMETER saying why. */
int webhook_target_check_url(const char *url, const char *allow);

/* Is a connection to addr (for host) allowed? */
bool webhook_target_addr_ok(const struct sockaddr *addr, const char *host, const char *allow);

/* True if allow is a valid webhook_allow setting. */
bool webhook_target_allow_valid(const char *allow);

#endif

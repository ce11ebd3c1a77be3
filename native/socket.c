/*
 * Sockets: TCP, UDP and Unix-domain, IPv4 and IPv6.
 *
 * Addresses cross the boundary as three arguments in, one object out:
 *   in:  (family, address, port) — family AF_INET / AF_INET6 / AF_UNIX;
 *        address a numeric IP ("127.0.0.1", "::1", "fe80::1%eth0") or a
 *        Unix path (a leading "\0" selects Linux's abstract namespace);
 *        port ignored for AF_UNIX. Names are never resolved here (no DNS).
 *   out: a caller-owned object whose fields are overwritten:
 *        {family, address, port, flowInfo, scopeId}; all five are always
 *        set (0 / "" where they do not apply) so the object keeps one shape.
 *
 * Sends always add MSG_NOSIGNAL: a peer that went away is reported as
 * -EPIPE, never as a SIGPIPE that would kill a process whose SIGPIPE
 * disposition is not Node's default of "ignore".
 */
#include "eventide.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* ------------------------------------------------------------ addresses */

/* Parses argv[i..i+2] = (family, address, port) into `ss`. Bad input throws. */
static bool parse_address(evt_args *a, size_t i, struct sockaddr_storage *ss, socklen_t *len) {
  int32_t family, port = 0;
  if (!evt_arg_int(a, i, "family", &family)) return false;
  char text[sizeof(((struct sockaddr_un *)0)->sun_path) + 64];
  size_t n;
  if (napi_get_value_string_utf8(a->env, a->argv[i + 1], NULL, 0, &n) != napi_ok) {
    evt_throw_type(a, "argument 'address' must be a string");
    return false;
  }
  if (n >= sizeof text) {
    if (family == AF_UNIX)
      evt_throw_range(a, "Unix socket path must be 1..%zu bytes, got %zu", sizeof(((struct sockaddr_un *)0)->sun_path) - 1, n);
    else
      evt_throw_type(a, "address of %zu bytes is not a numeric IP address", n);
    return false;
  }
  napi_get_value_string_utf8(a->env, a->argv[i + 1], text, sizeof text, &n);
  if (family != AF_UNIX) {
    if (!evt_arg_int(a, i + 2, "port", &port)) return false;
    if (port < 0 || port > 65535) {
      evt_throw_range(a, "port must be 0..65535, got %d", port);
      return false;
    }
  }
  memset(ss, 0, sizeof *ss);
  if (family == AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, text, &sin->sin_addr) != 1) {
      evt_throw_type(a, "'%s' is not a numeric IPv4 address", text);
      return false;
    }
    *len = sizeof *sin;
    return true;
  }
  if (family == AF_INET6) {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    char *scope = strchr(text, '%');
    if (scope != NULL) {
      *scope++ = '\0';
      char *end;
      unsigned long id = strtoul(scope, &end, 10);
      if (*scope == '\0' || *end != '\0') id = if_nametoindex(scope);
      if (id == 0) {
        evt_throw_type(a, "unknown IPv6 scope (interface) '%s'", scope);
        return false;
      }
      sin6->sin6_scope_id = (uint32_t)id;
    }
    if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1) {
      evt_throw_type(a, "'%s' is not a numeric IPv6 address", text);
      return false;
    }
    *len = sizeof *sin6;
    return true;
  }
  if (family == AF_UNIX) {
    struct sockaddr_un *sun = (struct sockaddr_un *)ss;
    sun->sun_family = AF_UNIX;
    bool abstract = n > 0 && text[0] == '\0';
    /* A filesystem path needs room for its terminating NUL; an abstract
     * name is exactly its bytes, leading NUL included. */
    if (n == 0 || n + (abstract ? 0 : 1) > sizeof sun->sun_path) {
      evt_throw_range(a, "Unix socket path must be 1..%zu bytes, got %zu", sizeof sun->sun_path - 1, n);
      return false;
    }
    memcpy(sun->sun_path, text, n);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (abstract ? 0 : 1));
    return true;
  }
  evt_throw_range(a, "family must be AF_INET, AF_INET6 or AF_UNIX, got %d", family);
  return false;
}

static void set_field(napi_env env, napi_value out, const char *name, napi_value value) {
  napi_set_named_property(env, out, name, value);
}

/* Writes `ss` into the caller's address object (see the top of the file). */
static void store_address(napi_env env, napi_value out, const struct sockaddr_storage *ss, socklen_t len) {
  char text[INET6_ADDRSTRLEN + 1] = "";
  napi_value address = NULL;
  int port = 0;
  uint32_t flow = 0, scope = 0;
  switch (ss->ss_family) {
    case AF_INET: {
      const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
      inet_ntop(AF_INET, &sin->sin_addr, text, sizeof text);
      port = ntohs(sin->sin_port);
      break;
    }
    case AF_INET6: {
      const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
      inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof text);
      port = ntohs(sin6->sin6_port);
      flow = ntohl(sin6->sin6_flowinfo);
      scope = sin6->sin6_scope_id;
      break;
    }
    case AF_UNIX: {
      const struct sockaddr_un *sun = (const struct sockaddr_un *)ss;
      size_t offset = offsetof(struct sockaddr_un, sun_path);
      size_t n = len > offset ? len - offset : 0; /* 0: an unnamed socket */
      if (n > 0 && sun->sun_path[0] != '\0') n = strnlen(sun->sun_path, n);
      napi_create_string_utf8(env, sun->sun_path, n, &address);
      break;
    }
    default:
      break;
  }
  if (address == NULL) napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &address);
  set_field(env, out, "family", evt_number(env, ss->ss_family));
  set_field(env, out, "address", address);
  set_field(env, out, "port", evt_number(env, port));
  set_field(env, out, "flowInfo", evt_number(env, flow));
  set_field(env, out, "scopeId", evt_number(env, scope));
}

static bool arg_object(evt_args *a, size_t i, const char *name, bool nullable, bool *is_null) {
  napi_valuetype type;
  napi_typeof(a->env, a->argv[i], &type);
  *is_null = type == napi_null || type == napi_undefined;
  if (type == napi_object || (nullable && *is_null)) return true;
  evt_throw_type(a, "argument '%s' must be an object%s", name, nullable ? " or null" : "");
  return false;
}

/* ------------------------------------------------------------ lifecycle */

/* socket(domain, type, protocol) -> fd | -errno. `type` may include SOCK_NONBLOCK | SOCK_CLOEXEC. */
static napi_value socket_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t domain, type, protocol;
  if (!evt_get_args(env, info, "socket", 3, &a) || !evt_arg_int(&a, 0, "domain", &domain) ||
      !evt_arg_int(&a, 1, "type", &type) || !evt_arg_int(&a, 2, "protocol", &protocol))
    return NULL;
  int fd = socket(domain, type, protocol);
  return fd < 0 ? evt_errno(env) : evt_number(env, fd);
}

/* socketpair(domain, type, protocol, sv: Int32Array(2)) -> 0 | -errno */
static napi_value socketpair_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t domain, type, protocol;
  if (!evt_get_args(env, info, "socketpair", 4, &a) || !evt_arg_int(&a, 0, "domain", &domain) ||
      !evt_arg_int(&a, 1, "type", &type) || !evt_arg_int(&a, 2, "protocol", &protocol))
    return NULL;
  napi_typedarray_type kind;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, a.argv[3], &kind, &length, &data, NULL, NULL) != napi_ok || kind != napi_int32_array ||
      length < 2)
    return evt_throw_type(&a, "argument 'sv' must be an Int32Array of length >= 2");
  int sv[2];
  if (socketpair(domain, type, protocol, sv) < 0) return evt_errno(env);
  ((int32_t *)data)[0] = sv[0];
  ((int32_t *)data)[1] = sv[1];
  return evt_number(env, 0);
}

/* bind(fd, family, address, port) -> 0 | -errno */
static napi_value bind_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd;
  struct sockaddr_storage ss;
  socklen_t len;
  if (!evt_get_args(env, info, "bind", 4, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !parse_address(&a, 1, &ss, &len))
    return NULL;
  return bind(fd, (struct sockaddr *)&ss, len) < 0 ? evt_errno(env) : evt_number(env, 0);
}

/* listen(fd, backlog) -> 0 | -errno */
static napi_value listen_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd, backlog;
  if (!evt_get_args(env, info, "listen", 2, &a) || !evt_arg_int(&a, 0, "fd", &fd) ||
      !evt_arg_int(&a, 1, "backlog", &backlog))
    return NULL;
  return listen(fd, backlog) < 0 ? evt_errno(env) : evt_number(env, 0);
}

/* accept4(fd, flags) -> new fd | -errno. The peer's address is not
 * returned: transports ask getpeername when (and if) someone wants it. */
static napi_value accept4_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd, flags;
  if (!evt_get_args(env, info, "accept4", 2, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !evt_arg_int(&a, 1, "flags", &flags))
    return NULL;
  int conn;
  do conn = accept4(fd, NULL, NULL, flags);
  while (conn < 0 && errno == EINTR);
  return conn < 0 ? evt_errno(env) : evt_number(env, conn);
}

/* connect(fd, family, address, port) -> 0 | -EINPROGRESS | -errno.
 * EINTR is reported as -EINPROGRESS: POSIX says an interrupted connect
 * carries on asynchronously (and calling it again would give EALREADY);
 * completion is then signalled by writability plus SO_ERROR, as for any
 * non-blocking connect. */
static napi_value connect_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd;
  struct sockaddr_storage ss;
  socklen_t len;
  if (!evt_get_args(env, info, "connect", 4, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !parse_address(&a, 1, &ss, &len))
    return NULL;
  if (connect(fd, (struct sockaddr *)&ss, len) == 0) return evt_number(env, 0);
  return evt_number(env, errno == EINTR ? -EINPROGRESS : -errno);
}

/* shutdown(fd, how) -> 0 | -errno */
static napi_value shutdown_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd, how;
  if (!evt_get_args(env, info, "shutdown", 2, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !evt_arg_int(&a, 1, "how", &how))
    return NULL;
  return shutdown(fd, how) < 0 ? evt_errno(env) : evt_number(env, 0);
}

/* ------------------------------------------------------------ options */

/* getsockoptInt(fd, level, name) -> value (>= 0) | -errno. For SO_ERROR the
 * value is the socket's pending error as a POSITIVE errno (0: none), and
 * reading it clears it. Only for options whose value is a non-negative int. */
static napi_value getsockopt_int_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd, level, name;
  if (!evt_get_args(env, info, "getsockoptInt", 3, &a) || !evt_arg_int(&a, 0, "fd", &fd) ||
      !evt_arg_int(&a, 1, "level", &level) || !evt_arg_int(&a, 2, "name", &name))
    return NULL;
  int value = 0;
  socklen_t len = sizeof value;
  if (getsockopt(fd, level, name, &value, &len) < 0) return evt_errno(env);
  return evt_number(env, value);
}

/* setsockoptInt(fd, level, name, value) -> 0 | -errno (SO_REUSEADDR,
 * SO_REUSEPORT, SO_KEEPALIVE, TCP_NODELAY, buffer sizes, ...). */
static napi_value setsockopt_int_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd, level, name, value;
  if (!evt_get_args(env, info, "setsockoptInt", 4, &a) || !evt_arg_int(&a, 0, "fd", &fd) ||
      !evt_arg_int(&a, 1, "level", &level) || !evt_arg_int(&a, 2, "name", &name) || !evt_arg_int(&a, 3, "value", &value))
    return NULL;
  int v = value;
  return setsockopt(fd, level, name, &v, sizeof v) < 0 ? evt_errno(env) : evt_number(env, 0);
}

typedef int (*name_fn)(int, struct sockaddr *, socklen_t *);

static napi_value get_name(napi_env env, napi_callback_info info, const char *fn, name_fn call) {
  evt_args a;
  int32_t fd;
  bool is_null;
  if (!evt_get_args(env, info, fn, 2, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !arg_object(&a, 1, "out", false, &is_null))
    return NULL;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (call(fd, (struct sockaddr *)&ss, &len) < 0) return evt_errno(env);
  store_address(env, a.argv[1], &ss, len);
  return evt_number(env, 0);
}

/* getsockname(fd, out) / getpeername(fd, out) -> 0 | -errno; fills `out`. */
static napi_value getsockname_js(napi_env env, napi_callback_info info) {
  return get_name(env, info, "getsockname", getsockname);
}

static napi_value getpeername_js(napi_env env, napi_callback_info info) {
  return get_name(env, info, "getpeername", getpeername);
}

/* ------------------------------------------------------------ data */

/* recv(fd, buffer, offset, length, flags) -> bytes (0 = EOF) | -errno */
static napi_value recv_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd, flags;
  uint8_t *data;
  size_t len;
  if (!evt_get_args(env, info, "recv", 5, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !evt_arg_range(&a, 1, &data, &len) ||
      !evt_arg_int(&a, 4, "flags", &flags))
    return NULL;
  ssize_t n;
  do n = recv(fd, data, len, flags);
  while (n < 0 && errno == EINTR);
  return n < 0 ? evt_errno(env) : evt_number(env, n);
}

/* send(fd, buffer, offset, length, flags) -> bytes sent (possibly short) | -errno */
static napi_value send_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd, flags;
  uint8_t *data;
  size_t len;
  if (!evt_get_args(env, info, "send", 5, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !evt_arg_range(&a, 1, &data, &len) ||
      !evt_arg_int(&a, 4, "flags", &flags))
    return NULL;
  ssize_t n;
  do n = send(fd, data, len, flags | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? evt_errno(env) : evt_number(env, n);
}

/* recvfrom(fd, buffer, offset, length, flags, from | null) -> bytes | -errno;
 * the sender's address goes into `from` when given. */
static napi_value recvfrom_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd, flags;
  uint8_t *data;
  size_t len;
  bool no_from;
  if (!evt_get_args(env, info, "recvfrom", 6, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !evt_arg_range(&a, 1, &data, &len) ||
      !evt_arg_int(&a, 4, "flags", &flags) || !arg_object(&a, 5, "from", true, &no_from))
    return NULL;
  struct sockaddr_storage ss;
  socklen_t sslen;
  ssize_t n;
  do {
    sslen = sizeof ss;
    n = recvfrom(fd, data, len, flags, (struct sockaddr *)&ss, &sslen);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return evt_errno(env);
  if (!no_from) store_address(env, a.argv[5], &ss, sslen);
  return evt_number(env, n);
}

/* sendto(fd, buffer, offset, length, flags, family, address, port) -> bytes | -errno.
 * family AF_UNSPEC (0) sends on a connected socket without an address. */
static napi_value sendto_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd, flags, family;
  uint8_t *data;
  size_t len;
  if (!evt_get_args(env, info, "sendto", 8, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !evt_arg_range(&a, 1, &data, &len) ||
      !evt_arg_int(&a, 4, "flags", &flags) || !evt_arg_int(&a, 5, "family", &family))
    return NULL;
  struct sockaddr_storage ss;
  socklen_t sslen = 0;
  if (family != AF_UNSPEC && !parse_address(&a, 5, &ss, &sslen)) return NULL;
  ssize_t n;
  do n = sendto(fd, data, len, flags | MSG_NOSIGNAL, family == AF_UNSPEC ? NULL : (struct sockaddr *)&ss, sslen);
  while (n < 0 && errno == EINTR);
  return n < 0 ? evt_errno(env) : evt_number(env, n);
}

void evt_init_socket(napi_env env, napi_value exports, napi_value constants) {
  static const evt_function fns[] = {
      {"socket", socket_js},          {"socketpair", socketpair_js},       {"bind", bind_js},
      {"listen", listen_js},          {"accept4", accept4_js},             {"connect", connect_js},
      {"shutdown", shutdown_js},      {"getsockoptInt", getsockopt_int_js}, {"setsockoptInt", setsockopt_int_js},
      {"getsockname", getsockname_js}, {"getpeername", getpeername_js},    {"recv", recv_js},
      {"send", send_js},              {"recvfrom", recvfrom_js},           {"sendto", sendto_js},
  };
  evt_define_functions(env, exports, fns, EVT_COUNT(fns));
#define C(name) evt_define_constant(env, constants, #name, name)
  C(AF_UNSPEC); C(AF_INET); C(AF_INET6); C(AF_UNIX);
  C(SOCK_STREAM); C(SOCK_DGRAM); C(SOCK_SEQPACKET); C(SOCK_NONBLOCK); C(SOCK_CLOEXEC);
  C(SOL_SOCKET); C(SO_ERROR); C(SO_REUSEADDR); C(SO_REUSEPORT); C(SO_KEEPALIVE); C(SO_RCVBUF); C(SO_SNDBUF);
  C(SO_BROADCAST); C(SO_TYPE);
  C(IPPROTO_IP); C(IPPROTO_IPV6); C(IPPROTO_TCP); C(IPPROTO_UDP);
  C(TCP_NODELAY); C(TCP_KEEPIDLE); C(TCP_KEEPINTVL); C(TCP_KEEPCNT); C(IPV6_V6ONLY);
  C(SHUT_RD); C(SHUT_WR); C(SHUT_RDWR);
  C(MSG_PEEK); C(MSG_DONTWAIT); C(MSG_NOSIGNAL); C(MSG_TRUNC);
  C(SOMAXCONN);
#undef C
}

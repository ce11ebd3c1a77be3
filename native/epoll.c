/*
 * Readiness: epoll, poll(2) and eventfd.
 *
 * One crossing per poll. The selector binds an Int32Array to its epoll fd
 * once (epollBind); epollWait(epfd, timeoutMs) then waits, decodes the
 * kernel's epoll_event records into [fd, events] pairs in that array and
 * returns how many pairs it wrote. The TypeScript side never allocates per
 * poll and the call takes only two small integers.
 *
 * Invariant: a binding's `pairs` pointer stays valid while the binding
 * exists, because the binding holds a strong reference to the array, and
 * the array's memory never moves once N-API has handed out its data pointer
 * (V8 moves on-heap typed-array contents off-heap the first time a pointer
 * is taken, and never back).
 *
 * poll(2) works on the caller's own buffer in place: a struct pollfd is
 * {int32 fd; int16 events; int16 revents} (8 bytes), so the caller keeps an
 * ArrayBuffer viewed as Int32Array (fd at [2i]) and Int16Array (events at
 * [4i+2], revents at [4i+3]) and the kernel reads and writes it directly.
 */
#include "eventide.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

_Static_assert(sizeof(struct pollfd) == 8, "struct pollfd must be {int32 fd, int16 events, int16 revents}");

/* epollCreate1(flags) -> epfd | -errno */
static napi_value epoll_create1_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t flags;
  if (!evt_get_args(env, info, "epollCreate1", 1, &a) || !evt_arg_int(&a, 0, "flags", &flags)) return NULL;
  int fd = epoll_create1(flags);
  return fd < 0 ? evt_errno(env) : evt_number(env, fd);
}

/* epollCtl(epfd, op, fd, events) -> 0 | -errno. data.fd carries the fd
 * back to us, so no lookup table is needed in C. */
static napi_value epoll_ctl_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t epfd, op, fd, events;
  if (!evt_get_args(env, info, "epollCtl", 4, &a) || !evt_arg_int(&a, 0, "epfd", &epfd) || !evt_arg_int(&a, 1, "op", &op) ||
      !evt_arg_int(&a, 2, "fd", &fd) || !evt_arg_int(&a, 3, "events", &events))
    return NULL;
  struct epoll_event ev = {.events = (uint32_t)events, .data = {.u64 = 0}};
  ev.data.fd = fd;
  return epoll_ctl(epfd, op, fd, &ev) < 0 ? evt_errno(env) : evt_number(env, 0);
}

static evt_epoll_binding *find_binding(evt_state *st, int epfd) {
  for (int i = 0; i < st->nbindings; i++)
    if (st->bindings[i].epfd == epfd) return &st->bindings[i];
  return NULL;
}

void evt_epoll_unbind(napi_env env, evt_state *st, int fd) {
  evt_epoll_binding *b = find_binding(st, fd);
  if (b == NULL) return;
  napi_delete_reference(env, b->array_ref);
  free(b->scratch);
  *b = st->bindings[--st->nbindings]; /* order does not matter: swap-remove */
}

/* epollBind(epfd, pairs: Int32Array | null) -> capacity in pairs (0 when unbinding).
 * Rebinding replaces the previous array (the selector grows it this way). */
static napi_value epoll_bind_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t epfd;
  if (!evt_get_args(env, info, "epollBind", 2, &a) || !evt_arg_int(&a, 0, "epfd", &epfd)) return NULL;
  evt_state *st = evt_state_of(env);
  napi_valuetype kind;
  napi_typeof(env, a.argv[1], &kind);
  if (kind == napi_null || kind == napi_undefined) {
    evt_epoll_unbind(env, st, epfd);
    return evt_number(env, 0);
  }
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, a.argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_int32_array)
    return evt_throw_type(&a, "argument 'pairs' must be an Int32Array or null");
  int capacity = (int)(length / 2 > 65536 ? 65536 : length / 2);
  if (capacity < 1) return evt_throw_range(&a, "argument 'pairs' must hold at least one [fd, events] pair");

  struct epoll_event *scratch = malloc(sizeof *scratch * (size_t)capacity);
  if (scratch == NULL) return evt_throw_range(&a, "cannot allocate %d epoll events", capacity);
  napi_ref ref;
  if (napi_create_reference(env, a.argv[1], 1, &ref) != napi_ok) {
    free(scratch);
    return NULL;
  }
  evt_epoll_unbind(env, st, epfd);
  if (st->nbindings == st->cap_bindings) {
    int cap = st->cap_bindings ? st->cap_bindings * 2 : 4;
    evt_epoll_binding *grown = realloc(st->bindings, sizeof *grown * (size_t)cap);
    if (grown == NULL) {
      free(scratch);
      napi_delete_reference(env, ref);
      return evt_throw_range(&a, "cannot allocate the binding table");
    }
    st->bindings = grown;
    st->cap_bindings = cap;
  }
  st->bindings[st->nbindings++] =
      (evt_epoll_binding){.epfd = epfd, .array_ref = ref, .pairs = data, .capacity = capacity, .scratch = scratch};
  return evt_number(env, capacity);
}

/* epollWait(epfd, timeoutMs) -> pairs written | -errno.
 * timeoutMs is the kernel's: -1 forever, 0 poll, else whole ms (the
 * selector rounds up). EINTR returns 0 rather than retrying: a retry would
 * need the remaining time recomputed, and the loop does that anyway on an
 * empty return, which the Selector contract allows. */
static napi_value epoll_wait_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t epfd, timeout_ms;
  if (!evt_get_args(env, info, "epollWait", 2, &a) || !evt_arg_int(&a, 0, "epfd", &epfd) ||
      !evt_arg_int(&a, 1, "timeoutMs", &timeout_ms))
    return NULL;
  evt_epoll_binding *b = find_binding(evt_state_of(env), epfd);
  if (b == NULL) return evt_throw_type(&a, "epoll fd %d has no bound buffer (call epollBind first)", epfd);
  int n = epoll_wait(epfd, b->scratch, b->capacity, timeout_ms);
  if (n < 0) return errno == EINTR ? evt_number(env, 0) : evt_errno(env);
  int32_t *out = b->pairs;
  for (int i = 0; i < n; i++) {
    out[2 * i] = b->scratch[i].data.fd;
    out[2 * i + 1] = (int32_t)b->scratch[i].events;
  }
  return evt_number(env, n);
}

/* poll(pollfds, nfds, timeoutMs) -> ready count | -errno. EINTR -> 0, as epollWait. */
static napi_value poll_js(napi_env env, napi_callback_info info) {
  evt_args a;
  uint8_t *data;
  size_t size;
  int32_t nfds, timeout_ms;
  if (!evt_get_args(env, info, "poll", 3, &a) || !evt_arg_bytes(&a, 0, "pollfds", &data, &size) ||
      !evt_arg_int(&a, 1, "nfds", &nfds) || !evt_arg_int(&a, 2, "timeoutMs", &timeout_ms))
    return NULL;
  if (nfds < 0 || (size_t)nfds * sizeof(struct pollfd) > size)
    return evt_throw_range(&a, "nfds %d does not fit the pollfds buffer (%zu bytes, 8 per fd)", nfds, size);
  if (((uintptr_t)data & 3) != 0) return evt_throw_range(&a, "pollfds must be 4-byte aligned");
  int n = poll((struct pollfd *)data, (nfds_t)nfds, timeout_ms);
  if (n < 0) return errno == EINTR ? evt_number(env, 0) : evt_errno(env);
  return evt_number(env, n);
}

/* eventfd(initval, flags) -> fd | -errno */
static napi_value eventfd_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t initval, flags;
  if (!evt_get_args(env, info, "eventfd", 2, &a) || !evt_arg_int(&a, 0, "initval", &initval) ||
      !evt_arg_int(&a, 1, "flags", &flags))
    return NULL;
  if (initval < 0) return evt_throw_range(&a, "argument 'initval' must be >= 0, got %d", initval);
  int fd = eventfd((unsigned)initval, flags);
  return fd < 0 ? evt_errno(env) : evt_number(env, fd);
}

/* eventfdWrite(fd, value) -> 0 | -errno. -EAGAIN means the counter is
 * saturated, i.e. a wake-up is already pending: callers may ignore it. */
static napi_value eventfd_write_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd;
  uint64_t value;
  if (!evt_get_args(env, info, "eventfdWrite", 2, &a) || !evt_arg_int(&a, 0, "fd", &fd) ||
      !evt_arg_u53(&a, 1, "value", &value))
    return NULL;
  ssize_t n;
  do n = write(fd, &value, sizeof value);
  while (n < 0 && errno == EINTR);
  return n < 0 ? evt_errno(env) : evt_number(env, 0);
}

/* eventfdRead(fd) -> counter value (>= 1) | -errno (-EAGAIN: zero, non-blocking) */
static napi_value eventfd_read_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd;
  if (!evt_get_args(env, info, "eventfdRead", 1, &a) || !evt_arg_int(&a, 0, "fd", &fd)) return NULL;
  uint64_t value;
  ssize_t n;
  do n = read(fd, &value, sizeof value);
  while (n < 0 && errno == EINTR);
  if (n < 0) return evt_errno(env);
  /* Counters beyond 2^53 lose precision as a double; wake-up counts never get there. */
  napi_value result;
  napi_create_double(env, (double)value, &result);
  return result;
}

void evt_init_epoll(napi_env env, napi_value exports, napi_value constants) {
  static const evt_function fns[] = {
      {"epollCreate1", epoll_create1_js}, {"epollCtl", epoll_ctl_js}, {"epollBind", epoll_bind_js},
      {"epollWait", epoll_wait_js},       {"poll", poll_js},          {"eventfd", eventfd_js},
      {"eventfdWrite", eventfd_write_js}, {"eventfdRead", eventfd_read_js},
  };
  evt_define_functions(env, exports, fns, EVT_COUNT(fns));
#define C(name) evt_define_constant(env, constants, #name, name)
  C(EPOLLIN); C(EPOLLOUT); C(EPOLLPRI); C(EPOLLERR); C(EPOLLHUP); C(EPOLLRDHUP); C(EPOLLONESHOT);
  /* Bit 31: exported as the int32 JavaScript's `|` produces (EPOLLIN | EPOLLET < 0). */
  evt_define_constant(env, constants, "EPOLLET", (int32_t)EPOLLET);
  C(EPOLL_CTL_ADD); C(EPOLL_CTL_MOD); C(EPOLL_CTL_DEL); C(EPOLL_CLOEXEC);
  C(POLLIN); C(POLLOUT); C(POLLPRI); C(POLLERR); C(POLLHUP); C(POLLNVAL);
  C(EFD_NONBLOCK); C(EFD_CLOEXEC); C(EFD_SEMAPHORE);
#undef C
}

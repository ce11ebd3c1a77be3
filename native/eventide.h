/*
 * eventide's native floor: the Linux system calls the TypeScript loop needs,
 * and nothing else. Everything above the syscall boundary is TypeScript
 * (src/io/syscalls.ts declares this whole surface as one interface).
 *
 * The one convention, kept by every function in this addon:
 *
 *   - A system call that fails does NOT throw. The function returns the
 *     negative errno (-EAGAIN, -EBADF, ...). Success is a number >= 0 (a
 *     count, an fd, 0). The hot paths (recv/send/read/write/epoll_wait) hit
 *     EAGAIN constantly on non-blocking fds; a thrown exception would cost
 *     microseconds each time, a negative number costs nothing. TypeScript
 *     turns the cold failures into named errors (src/io/errors.ts).
 *   - A call that is *misused* (an argument of the wrong type, a range past
 *     the end of a buffer, an unparsable address) throws a TypeError or
 *     RangeError naming the function and the argument. That is a bug in the
 *     caller, not an OS condition, and it never reaches the kernel.
 *   - Structured results (pipe fds, socket addresses) go into objects the
 *     caller owns and passes in, so the return value is always a number.
 *
 * EINTR: every call that can be interrupted and is safe to repeat is retried
 * here (read, write, recv, send, accept4, ...). Exceptions, each commented
 * at its call: epoll_wait and poll return 0 (the loop recomputes its timeout
 * and the contract allows an empty early return); close is never retried
 * (Linux frees the fd even when close reports EINTR); connect reports
 * EINPROGRESS (the connection goes on asynchronously).
 */
#ifndef EVENTIDE_H
#define EVENTIDE_H

#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

/* ------------------------------------------------------------ arguments */

#define EVT_MAX_ARGS 8

/* The arguments of one call, fetched once. `fn` names the JS function in errors. */
typedef struct {
  napi_env env;
  const char *fn;
  size_t argc;
  napi_value argv[EVT_MAX_ARGS];
} evt_args;

/* Fetches exactly `want` arguments; throws a TypeError and returns false if fewer. */
bool evt_get_args(napi_env env, napi_callback_info info, const char *fn, size_t want, evt_args *a);

/* An integral number in int32 range (NaN, 1.5 and "3" are refused, so a bad
 * value can never turn into fd 0). */
bool evt_arg_int(evt_args *a, size_t i, const char *name, int32_t *out);

/* A non-negative integral number up to 2^53 (eventfd counters). */
bool evt_arg_u53(evt_args *a, size_t i, const char *name, uint64_t *out);

/* Any TypedArray or DataView: its bytes. evt_view_bytes does not throw. */
bool evt_view_bytes(napi_env env, napi_value value, uint8_t **data, size_t *len);
bool evt_arg_bytes(evt_args *a, size_t i, const char *name, uint8_t **data, size_t *len);

/* Arguments i, i+1, i+2 = (buffer, offset, length), checked to lie inside the buffer. */
bool evt_arg_range(evt_args *a, size_t i, uint8_t **data, size_t *len);

/* A function argument. */
bool evt_arg_function(evt_args *a, size_t i, const char *name);

/* Throws TypeError / RangeError "fn: message". Always returns NULL (for `return evt_throw...`). */
napi_value evt_throw_type(evt_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
napi_value evt_throw_range(evt_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ results */

/* A count, fd or value >= 0, or -errno: as an int32 when it fits, else a double. */
napi_value evt_number(napi_env env, int64_t value);

/* -errno for the errno of the call that just failed. */
napi_value evt_errno(napi_env env);

/* ------------------------------------------------------------ per-env state */

/* An Int32Array bound to an epoll fd once, so epoll_wait needs no buffer
 * argument on each crossing (see epoll.c). */
typedef struct {
  int epfd;
  napi_ref array_ref;          /* keeps the Int32Array (and its memory) alive */
  int32_t *pairs;              /* its data: [fd, events, fd, events, ...] */
  int capacity;                /* pairs it can hold */
  struct epoll_event *scratch; /* what the kernel writes into, `capacity` long */
} evt_epoll_binding;

struct evt_watcher;
struct evt_turn;

/* State of one Node environment (main thread or a worker): instance data. */
typedef struct {
  evt_epoll_binding *bindings;
  int nbindings;
  int cap_bindings;
  struct evt_watcher **watchers; /* index = watcher id; NULL = free slot */
  int cap_watchers;
  struct evt_turn **turns; /* index = turn id (uvturn.c); NULL = free slot */
  int cap_turns;
} evt_state;

evt_state *evt_state_of(napi_env env);

/* A JavaScript function that libuv callbacks call (a watcher's, a turn's):
 * a strong reference and the async context napi_make_callback needs. */
typedef struct {
  napi_ref fn;
  napi_async_context async;
} evt_js_callback;

/* Holds `fn`; `resource_name` names the async resource ("eventide.FdWatcher"). */
void evt_js_callback_init(napi_env env, evt_js_callback *cb, napi_value fn, const char *resource_name);
void evt_js_callback_release(napi_env env, evt_js_callback *cb);

/* Calls cb(arg) from a libuv callback, in its own handle scope, through
 * napi_make_callback: async context, and the microtask queue runs afterwards
 * (promises settle, as after any Node callback). A throw cannot be caught by
 * anyone up the stack, so it is reported the way Node reports a throwing
 * timer callback ('uncaughtException', else exit). `*result_bool`, if given,
 * gets the result when it is a boolean and is left alone otherwise. */
void evt_js_callback_call(napi_env env, evt_js_callback *cb, int32_t arg, bool *result_bool);

/* The lowest free slot of a table of pointers (index = id), growing it
 * (doubling, at least 4) when full: the slot's index, or -ENOMEM. */
int evt_slot_alloc(void ***slots, int *cap);

/* Argument i as the id of an occupied slot: the slot's pointer. Throws a
 * RangeError ("no open <what> with id N") and returns NULL otherwise. */
void *evt_arg_slot(evt_args *a, size_t i, void *const *slots, int cap, const char *what, int32_t *id);

/* Closing a table of libuv handles at environment teardown: Node keeps
 * running its loop until the async cleanup hook is removed, so the close
 * callbacks get to run first. `evt_teardown_start` returns NULL (and
 * removes the hook) when there is nothing to wait for; each close callback
 * calls `evt_teardown_closed`, which removes the hook after the last one. */
typedef struct evt_teardown {
  napi_async_cleanup_hook_handle hook;
  int pending;
} evt_teardown;
evt_teardown *evt_teardown_start(napi_async_cleanup_hook_handle hook, void *const *slots, int cap);
void evt_teardown_closed(evt_teardown *t);

/* Drops the epoll buffer bound to `fd`, if any (close() calls this, so a
 * recycled fd number never inherits a stale binding). */
void evt_epoll_unbind(napi_env env, evt_state *st, int fd);

/* ------------------------------------------------------------ registration */

typedef struct {
  const char *name;
  napi_callback cb;
} evt_function;

void evt_define_functions(napi_env env, napi_value exports, const evt_function *fns, size_t count);
void evt_define_constant(napi_env env, napi_value constants, const char *name, int64_t value);

/* Each file adds its functions to `exports` and its constants to `constants`. */
void evt_init_epoll(napi_env env, napi_value exports, napi_value constants);
void evt_init_fdio(napi_env env, napi_value exports, napi_value constants);
void evt_init_socket(napi_env env, napi_value exports, napi_value constants);
void evt_init_uv(napi_env env, napi_value exports, napi_value constants, evt_state *st);
void evt_init_uv_turn(napi_env env, napi_value exports, evt_state *st);

#define EVT_COUNT(array) (sizeof(array) / sizeof((array)[0]))

#endif /* EVENTIDE_H */

/*
 * The two bridges to Node's own loop (libuv) that eventide's host modes
 * build on:
 *
 *  - blocking mode: eventide waits in its own epoll and adds libuv's backend
 *    fd (uvBackendFd) to that set, so Node's pending I/O wakes it;
 *    uvBackendTimeout says how soon libuv's next timer is due.
 *  - guest mode: libuv does the waiting. A uv_poll_t watcher on eventide's
 *    epoll fd (which is readable whenever one of its fds is ready) calls a
 *    JavaScript function from Node's loop; the loop then runs select(0).
 *
 * Watchers are small integers (ids), like fds: open, start, stop, close.
 * Lifetime is explicit, never tied to garbage collection, because a libuv
 * handle must be closed (uv_close) on the loop thread and freed only in its
 * close callback.
 *
 * The watcher is level-triggered (libuv's uv_poll is): while the watched
 * epoll set has ready fds that nobody drains, the callback runs on every
 * turn of Node's loop. The guest must select(0) in its callback.
 *
 * Invariants: a watcher struct is freed only in its uv_close callback; its
 * table slot is cleared when closing is requested, so no id ever refers to
 * a closing handle; its JS resources are released outside its own
 * callback. The JS callback is called through evt_js_callback_call
 * (napi_make_callback in a handle scope: async context, and the microtask
 * queue runs afterwards, as after any Node callback).
 */
#include "eventide.h"

#include <errno.h>
#include <stdlib.h>
#include <uv.h>

typedef struct evt_watcher {
  uv_poll_t handle;
  napi_env env;
  evt_js_callback callback;
  /* Set by the teardown hook: the close callback then reports to it. */
  evt_teardown *teardown;
  /* True while its JS callback runs. A close requested then is deferred
   * until the callback returns: napi_make_callback is still using its async context. */
  bool in_callback;
  bool close_requested;
} evt_watcher;

static uv_loop_t *loop_of(napi_env env) {
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  return loop;
}

/* uvBackendFd() -> libuv's epoll fd for this thread's Node loop. Read-only
 * use: add it to another epoll set; never close it or ctl it. */
static napi_value backend_fd_js(napi_env env, napi_callback_info info) {
  (void)info;
  uv_loop_t *loop = loop_of(env);
  return evt_number(env, loop == NULL ? -EINVAL : uv_backend_fd(loop));
}

/* uvBackendTimeout() -> ms until libuv would next wake (its earliest timer;
 * 0 when it has work pending now), -1 when nothing is scheduled. */
static napi_value backend_timeout_js(napi_env env, napi_callback_info info) {
  (void)info;
  uv_loop_t *loop = loop_of(env);
  return evt_number(env, loop == NULL ? -EINVAL : uv_backend_timeout(loop));
}

static void free_on_close(uv_handle_t *handle) {
  evt_watcher *w = handle->data;
  evt_teardown *t = w->teardown;
  free(w);
  evt_teardown_closed(t);
}

/* Releases what the watcher holds on the JS side and starts closing the
 * libuv handle; memory is freed in free_on_close. */
static void release_watcher(napi_env env, evt_watcher *w) {
  evt_js_callback_release(env, &w->callback);
  uv_close((uv_handle_t *)&w->handle, free_on_close);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  evt_watcher *w = handle->data;
  /* `w` stays valid throughout: even if the callback closes this watcher,
   * the release is deferred to below and the memory to libuv's close callback. */
  w->in_callback = true;
  evt_js_callback_call(w->env, &w->callback, status < 0 ? status : events, NULL);
  w->in_callback = false;
  if (w->close_requested) release_watcher(w->env, w);
}

static evt_watcher *watcher_of(evt_args *a, evt_state *st, size_t i, int32_t *id) {
  return evt_arg_slot(a, i, (void *const *)st->watchers, st->cap_watchers, "watcher", id);
}

/* uvPollOpen(fd, onReadable: (eventsOrNegErrno) => void) -> watcher id | -errno.
 * The watcher is created stopped. */
static napi_value poll_open_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd;
  if (!evt_get_args(env, info, "uvPollOpen", 2, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !evt_arg_function(&a, 1, "onReadable"))
    return NULL;
  evt_state *st = evt_state_of(env);
  int id = evt_slot_alloc((void ***)&st->watchers, &st->cap_watchers);
  if (id < 0) return evt_number(env, id);
  evt_watcher *w = calloc(1, sizeof *w);
  if (w == NULL) return evt_number(env, -ENOMEM);
  int rc = uv_poll_init(loop_of(env), &w->handle, fd);
  if (rc < 0) {
    free(w); /* uv_poll_init failed: the handle was never registered with the loop */
    return evt_number(env, rc);
  }
  w->handle.data = w;
  w->env = env;
  evt_js_callback_init(env, &w->callback, a.argv[1], "eventide.FdWatcher");
  st->watchers[id] = w;
  return evt_number(env, id);
}

/* uvPollStart(id) -> 0 | -errno: watch for readability. */
static napi_value poll_start_js(napi_env env, napi_callback_info info) {
  evt_args a;
  evt_watcher *w;
  int32_t id;
  if (!evt_get_args(env, info, "uvPollStart", 1, &a) || (w = watcher_of(&a, evt_state_of(env), 0, &id)) == NULL) return NULL;
  return evt_number(env, uv_poll_start(&w->handle, UV_READABLE, on_poll));
}

/* uvPollStop(id) -> 0: stop watching (a stopped watcher keeps Node's loop alive no more). */
static napi_value poll_stop_js(napi_env env, napi_callback_info info) {
  evt_args a;
  evt_watcher *w;
  int32_t id;
  if (!evt_get_args(env, info, "uvPollStop", 1, &a) || (w = watcher_of(&a, evt_state_of(env), 0, &id)) == NULL) return NULL;
  return evt_number(env, uv_poll_stop(&w->handle));
}

/* uvPollRef(id, keepAlive) -> 0: whether the watcher, while started, keeps
 * Node's process alive (uv_ref / uv_unref: a flag and a counter, no system
 * call). A guest host keeps its watcher started between waits and only
 * refs it during them, instead of stopping and restarting it (three
 * epoll_ctl calls on libuv's set) or queueing a check per wait. */
static napi_value poll_ref_js(napi_env env, napi_callback_info info) {
  evt_args a;
  evt_watcher *w;
  int32_t id;
  bool keep_alive;
  if (!evt_get_args(env, info, "uvPollRef", 2, &a) || (w = watcher_of(&a, evt_state_of(env), 0, &id)) == NULL) return NULL;
  if (napi_get_value_bool(env, a.argv[1], &keep_alive) != napi_ok) return evt_throw_type(&a, "argument 'keepAlive' must be a boolean");
  if (keep_alive) uv_ref((uv_handle_t *)&w->handle);
  else uv_unref((uv_handle_t *)&w->handle);
  return evt_number(env, 0);
}

/* uvPollClose(id) -> 0: stop, release the callback, free the watcher (its
 * memory after libuv's close callback). The id is free again at once. May
 * be called from the watcher's own callback. */
static napi_value poll_close_js(napi_env env, napi_callback_info info) {
  evt_args a;
  evt_watcher *w;
  int32_t id;
  evt_state *st = evt_state_of(env);
  if (!evt_get_args(env, info, "uvPollClose", 1, &a) || (w = watcher_of(&a, st, 0, &id)) == NULL) return NULL;
  st->watchers[id] = NULL;
  uv_poll_stop(&w->handle);
  if (w->in_callback) w->close_requested = true; /* on_poll releases it when the callback returns */
  else release_watcher(env, w);
  return evt_number(env, 0);
}

/* Environment teardown (process exit, a worker ending): close every watcher
 * still open. Node keeps running its loop until this hook is removed, so the
 * close callbacks get to run before the loop itself is closed. References
 * are not deleted here; Node releases them with the environment. */
static void on_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  evt_state *st = arg;
  evt_teardown *t = evt_teardown_start(hook, (void *const *)st->watchers, st->cap_watchers);
  if (t == NULL) return;
  for (int i = 0; i < st->cap_watchers; i++) {
    evt_watcher *w = st->watchers[i];
    if (w == NULL) continue;
    st->watchers[i] = NULL;
    w->teardown = t;
    uv_poll_stop(&w->handle);
    uv_close((uv_handle_t *)&w->handle, free_on_close);
  }
}

void evt_init_uv(napi_env env, napi_value exports, napi_value constants, evt_state *st) {
  static const evt_function fns[] = {
      {"uvBackendFd", backend_fd_js}, {"uvBackendTimeout", backend_timeout_js}, {"uvPollOpen", poll_open_js},
      {"uvPollStart", poll_start_js}, {"uvPollStop", poll_stop_js},             {"uvPollRef", poll_ref_js},
      {"uvPollClose", poll_close_js},
  };
  evt_define_functions(env, exports, fns, EVT_COUNT(fns));
  evt_define_constant(env, constants, "UV_READABLE", UV_READABLE);
  napi_add_async_cleanup_hook(env, on_teardown, st, NULL);
}

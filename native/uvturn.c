/*
 * A "turn" in Node's loop for the blocking host (src/hosts/node-blocking.ts):
 * a libuv check handle that calls a JavaScript function after every poll
 * phase while it is armed, and an idle handle that keeps libuv's poll phase
 * from blocking while it is armed (libuv polls with timeout 0 while any
 * idle handle is started).
 *
 * The JavaScript function is where the blocking host blocks: in its own
 * epoll_wait, whose set also holds libuv's backend fd. It is called as
 * onTurn(nodeTimeoutMs): how long Node's loop could sleep now (its next
 * timer; -1: nothing scheduled; 0: Node has work to do right away, or
 * libuv has fd changes it has not yet applied to its epoll set, see below).
 * It returns true to give Node a turn before being called again.
 *
 * Why a check handle and not a readable fd (an eventfd made readable to be
 * called from the poll phase): arming is then a flag and two queue
 * operations instead of an eventfd write, a wake-up of libuv's epoll and an
 * eventfd read. And while the loop keeps re-arming without Node having
 * anything to do, the turn calls the function again right away, without
 * a round through libuv's loop: a wake-up of the loop costs its own
 * epoll_wait and nothing else of Node's.
 *
 * When Node must get its turn first (the function is not called again):
 *  - the function returned true (libuv's fd was readable, Node's timer is
 *    due, a signal);
 *  - the wait was not re-armed by the time the function (and the microtask
 *    checkpoint after it) returned;
 *  - and, checked before each call: Node has work right now, which
 *    uv_backend_timeout() reports as 0. That includes fds libuv has yet to
 *    add to (or change in) its epoll set: it applies such changes only at
 *    the start of its next poll phase (since libuv 1.45, the one in Node
 *    20, uv_backend_timeout says 0 while any are pending), and until then
 *    the backend fd would not become readable for them: an fd that Node
 *    code started watching from the loop's callbacks would go unwatched
 *    while the loop blocks.
 *
 * Invariants: the check handle is always started and keeps Node's process
 * alive only while armed (uv_ref / uv_unref); the idle handle is started
 * only while armed and never keeps the process alive. Both are closed
 * together and the turn is freed when the second close callback runs.
 * Arming and disarming make no system call.
 */
#include "eventide.h"

#include <errno.h>
#include <stdlib.h>
#include <uv.h>

typedef struct evt_turn {
  uv_check_t check;
  uv_idle_t idle;
  napi_env env;
  evt_js_callback on_turn;
  bool armed;
  bool in_callback;
  bool close_requested;
  int open_handles; /* freed when both close callbacks have run */
  evt_teardown *teardown;
} evt_turn;

static uv_loop_t *loop_of(napi_env env) {
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  return loop;
}

static void noop_idle(uv_idle_t *idle) { (void)idle; }

static void free_turn_on_close(uv_handle_t *handle) {
  evt_turn *t = handle->data;
  if (--t->open_handles > 0) return;
  evt_teardown *td = t->teardown;
  free(t);
  evt_teardown_closed(td);
}

static void close_handles(evt_turn *t) {
  uv_idle_stop(&t->idle);
  uv_check_stop(&t->check);
  uv_close((uv_handle_t *)&t->idle, free_turn_on_close);
  uv_close((uv_handle_t *)&t->check, free_turn_on_close);
}

static void release_turn(napi_env env, evt_turn *t) {
  evt_js_callback_release(env, &t->on_turn);
  close_handles(t);
}

static void set_armed(evt_turn *t, bool armed) {
  t->armed = armed;
  if (armed) {
    uv_idle_start(&t->idle, noop_idle);
    uv_ref((uv_handle_t *)&t->check);
  } else {
    uv_idle_stop(&t->idle);
    uv_unref((uv_handle_t *)&t->check);
  }
}

/* Calls onTurn(nodeTimeoutMs); true if it asked for Node's turn (or threw). */
static bool call_turn(evt_turn *t, int node_timeout_ms) {
  bool yield_to_node = true;
  t->in_callback = true;
  evt_js_callback_call(t->env, &t->on_turn, node_timeout_ms, &yield_to_node);
  t->in_callback = false;
  return yield_to_node;
}

static void on_check(uv_check_t *check) {
  evt_turn *t = check->data;
  uv_loop_t *loop = check->loop;
  while (t->armed) {
    uv_idle_stop(&t->idle); /* or libuv would count it as work and say 0 */
    uv_update_time(loop);   /* the last call may have blocked: timers are measured from now */
    int node_timeout_ms = uv_backend_timeout(loop);
    bool yield_to_node = call_turn(t, node_timeout_ms);
    if (t->close_requested) {
      release_turn(t->env, t);
      return;
    }
    if (!t->armed) return;
    if (yield_to_node) {
      uv_idle_start(&t->idle, noop_idle); /* still armed: libuv must not block before calling us again */
      return;
    }
  }
}

static evt_turn *turn_of(evt_args *a, evt_state *st, size_t i, int32_t *id) {
  return evt_arg_slot(a, i, (void *const *)st->turns, st->cap_turns, "turn", id);
}

/* uvTurnOpen(onTurn: (nodeTimeoutMs) => boolean) -> turn id | -errno. Created disarmed. */
static napi_value turn_open_js(napi_env env, napi_callback_info info) {
  evt_args a;
  if (!evt_get_args(env, info, "uvTurnOpen", 1, &a) || !evt_arg_function(&a, 0, "onTurn")) return NULL;
  evt_state *st = evt_state_of(env);
  int id = evt_slot_alloc((void ***)&st->turns, &st->cap_turns);
  if (id < 0) return evt_number(env, id);
  evt_turn *t = calloc(1, sizeof *t);
  if (t == NULL) return evt_number(env, -ENOMEM);
  uv_loop_t *loop = loop_of(env);
  int rc = uv_check_init(loop, &t->check);
  if (rc == 0) rc = uv_idle_init(loop, &t->idle);
  if (rc < 0) {
    /* uv_check_init cannot fail on Linux; if either did, nothing was started. */
    free(t);
    return evt_number(env, rc);
  }
  t->check.data = t->idle.data = t;
  t->open_handles = 2;
  t->env = env;
  uv_unref((uv_handle_t *)&t->idle);
  uv_check_start(&t->check, on_check);
  uv_unref((uv_handle_t *)&t->check);
  evt_js_callback_init(env, &t->on_turn, a.argv[0], "eventide.LoopTurn");
  st->turns[id] = t;
  return evt_number(env, id);
}

/* uvTurnArm(id, armed) -> 0. Armed: libuv does not block in its poll phase
 * and calls onTurn after it; the turn keeps Node's process alive. No system call. */
static napi_value turn_arm_js(napi_env env, napi_callback_info info) {
  evt_args a;
  evt_turn *t;
  int32_t id;
  bool armed;
  if (!evt_get_args(env, info, "uvTurnArm", 2, &a) || (t = turn_of(&a, evt_state_of(env), 0, &id)) == NULL) return NULL;
  if (napi_get_value_bool(env, a.argv[1], &armed) != napi_ok) return evt_throw_type(&a, "argument 'armed' must be a boolean");
  set_armed(t, armed);
  return evt_number(env, 0);
}

/* uvTurnClose(id) -> 0: disarm and free (after libuv's close callbacks).
 * The id is free again at once. May be called from onTurn. */
static napi_value turn_close_js(napi_env env, napi_callback_info info) {
  evt_args a;
  evt_turn *t;
  int32_t id;
  evt_state *st = evt_state_of(env);
  if (!evt_get_args(env, info, "uvTurnClose", 1, &a) || (t = turn_of(&a, st, 0, &id)) == NULL) return NULL;
  st->turns[id] = NULL;
  set_armed(t, false);
  if (t->in_callback) t->close_requested = true; /* on_check releases it when onTurn returns */
  else release_turn(env, t);
  return evt_number(env, 0);
}

/* Environment teardown: close every turn still open (as uvwatch.c does its watchers). */
static void on_turn_teardown(napi_async_cleanup_hook_handle hook, void *arg) {
  evt_state *st = arg;
  evt_teardown *td = evt_teardown_start(hook, (void *const *)st->turns, st->cap_turns);
  if (td == NULL) return;
  for (int i = 0; i < st->cap_turns; i++) {
    evt_turn *t = st->turns[i];
    if (t == NULL) continue;
    st->turns[i] = NULL;
    t->teardown = td;
    t->armed = false;
    close_handles(t);
  }
}

void evt_init_uv_turn(napi_env env, napi_value exports, evt_state *st) {
  static const evt_function fns[] = {
      {"uvTurnOpen", turn_open_js},
      {"uvTurnArm", turn_arm_js},
      {"uvTurnClose", turn_close_js},
  };
  evt_define_functions(env, exports, fns, EVT_COUNT(fns));
  napi_add_async_cleanup_hook(env, on_turn_teardown, st, NULL);
}

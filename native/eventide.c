/*
 * Module entry point, per-environment state, and the argument/result
 * helpers every other file uses (see eventide.h for the conventions).
 *
 * The addon is context-aware: each Node environment (the main thread and
 * every worker that loads it) gets its own evt_state as N-API instance data,
 * so epoll bindings and libuv watchers never cross threads.
 */
#include "eventide.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ errors */

static napi_value throw_formatted(evt_args *a, bool range, const char *fmt, va_list ap) {
  char detail[200];
  char message[260];
  vsnprintf(detail, sizeof detail, fmt, ap);
  snprintf(message, sizeof message, "%s: %s", a->fn, detail);
  if (range) napi_throw_range_error(a->env, "ERR_OUT_OF_RANGE", message);
  else napi_throw_type_error(a->env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

napi_value evt_throw_type(evt_args *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  throw_formatted(a, false, fmt, ap);
  va_end(ap);
  return NULL;
}

napi_value evt_throw_range(evt_args *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  throw_formatted(a, true, fmt, ap);
  va_end(ap);
  return NULL;
}

/* ------------------------------------------------------------ arguments */

bool evt_get_args(napi_env env, napi_callback_info info, const char *fn, size_t want, evt_args *a) {
  a->env = env;
  a->fn = fn;
  a->argc = EVT_MAX_ARGS;
  if (napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL) != napi_ok) return false;
  if (a->argc < want) {
    evt_throw_type(a, "expected %zu arguments, got %zu", want, a->argc);
    return false;
  }
  return true;
}

/* Reads a number as a double: the same cost as napi_get_value_int32, but
 * lets us refuse NaN and fractions instead of silently truncating them. */
static bool arg_double(evt_args *a, size_t i, const char *name, double *out) {
  if (napi_get_value_double(a->env, a->argv[i], out) != napi_ok) {
    evt_throw_type(a, "argument '%s' must be a number", name);
    return false;
  }
  return true;
}

/* printf's %g says "nan" and "inf"; say it the way JavaScript does. */
static const char *describe_number(double d, char *text, size_t size) {
  if (isnan(d)) return "NaN";
  if (isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  snprintf(text, size, "%.17g", d);
  return text;
}

bool evt_arg_int(evt_args *a, size_t i, const char *name, int32_t *out) {
  double d;
  if (!arg_double(a, i, name, &d)) return false;
  /* In range (NaN is not) and integral: the conversion round-trips. Cheaper
   * than floor(); this runs several times per system call. */
  if (d >= -2147483648.0 && d <= 2147483647.0) {
    int32_t value = (int32_t)d;
    if ((double)value == d) {
      *out = value;
      return true;
    }
  }
  char text[32];
  evt_throw_range(a, "argument '%s' must be an integer in int32 range, got %s", name, describe_number(d, text, sizeof text));
  return false;
}

bool evt_arg_u53(evt_args *a, size_t i, const char *name, uint64_t *out) {
  char text[32];
  double d;
  if (!arg_double(a, i, name, &d)) return false;
  if (!(d >= 0 && d <= 9007199254740991.0) || d != floor(d)) {
    evt_throw_range(a, "argument '%s' must be an integer from 0 to 2^53-1, got %s", name, describe_number(d, text, sizeof text));
    return false;
  }
  *out = (uint64_t)d;
  return true;
}

static size_t element_size(napi_typedarray_type type) {
  switch (type) {
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array:
      return 8;
    default:
      return 1;
  }
}

bool evt_view_bytes(napi_env env, napi_value value, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  size_t length;
  void *ptr;
  /* Fast path, on every system call that takes a buffer: napi_get_buffer_info
   * gives the bytes of a Buffer or Uint8Array (in Node 20 of any view) with
   * no element-type dispatch. Failing sets no pending exception, so the
   * general paths below still run for other views. */
  if (napi_get_buffer_info(env, value, &ptr, &length) == napi_ok) {
    *data = ptr;
    *len = length;
    return true;
  }
  if (napi_get_typedarray_info(env, value, &type, &length, &ptr, NULL, NULL) == napi_ok) {
    *data = ptr;
    *len = length * element_size(type);
    return true;
  }
  bool is_view = false;
  napi_is_dataview(env, value, &is_view);
  if (is_view && napi_get_dataview_info(env, value, &length, &ptr, NULL, NULL) == napi_ok) {
    *data = ptr;
    *len = length;
    return true;
  }
  return false;
}

bool evt_arg_bytes(evt_args *a, size_t i, const char *name, uint8_t **data, size_t *len) {
  if (evt_view_bytes(a->env, a->argv[i], data, len)) return true;
  evt_throw_type(a, "argument '%s' must be a Buffer, TypedArray or DataView", name);
  return false;
}

bool evt_arg_range(evt_args *a, size_t i, uint8_t **data, size_t *len) {
  uint8_t *base;
  size_t size;
  int32_t offset, length;
  if (!evt_arg_bytes(a, i, "buffer", &base, &size)) return false;
  if (!evt_arg_int(a, i + 1, "offset", &offset) || !evt_arg_int(a, i + 2, "length", &length)) return false;
  if (offset < 0 || length < 0 || (size_t)offset + (size_t)length > size) {
    evt_throw_range(a, "offset %d + length %d is outside the buffer (%zu bytes)", offset, length, size);
    return false;
  }
  *data = base + offset;
  *len = (size_t)length;
  return true;
}

bool evt_arg_function(evt_args *a, size_t i, const char *name) {
  napi_valuetype type;
  if (napi_typeof(a->env, a->argv[i], &type) != napi_ok || type != napi_function) {
    evt_throw_type(a, "argument '%s' must be a function", name);
    return false;
  }
  return true;
}

/* ------------------------------------------------------------ results */

napi_value evt_number(napi_env env, int64_t value) {
  napi_value result;
  if (value >= INT32_MIN && value <= INT32_MAX) napi_create_int32(env, (int32_t)value, &result);
  else napi_create_double(env, (double)value, &result);
  return result;
}

napi_value evt_errno(napi_env env) {
  napi_value result;
  napi_create_int32(env, -errno, &result);
  return result;
}

/* ------------------------------------------------------------ state */

evt_state *evt_state_of(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

/* Runs when the environment goes away. JS references owned by the state
 * are already released by Node at this point (it finalizes every reference
 * before instance data), so only our own memory is freed here. Watchers
 * and turns were closed earlier by the async cleanup hooks in uvwatch.c
 * and uvturn.c. */
static void free_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  evt_state *st = data;
  for (int i = 0; i < st->nbindings; i++) free(st->bindings[i].scratch);
  free(st->bindings);
  free(st->watchers);
  free(st->turns);
  free(st);
}

/* ------------------------------------------------------------ JS callbacks */

void evt_js_callback_init(napi_env env, evt_js_callback *cb, napi_value fn, const char *resource_name) {
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, resource_name, NAPI_AUTO_LENGTH, &name);
  napi_create_reference(env, fn, 1, &cb->fn);
  napi_async_init(env, resource, name, &cb->async);
}

void evt_js_callback_release(napi_env env, evt_js_callback *cb) {
  napi_delete_reference(env, cb->fn);
  napi_async_destroy(env, cb->async);
}

void evt_js_callback_call(napi_env env, evt_js_callback *cb, int32_t arg, bool *result_bool) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, global, argv, result;
  napi_get_reference_value(env, cb->fn, &fn);
  napi_get_global(env, &global);
  napi_create_int32(env, arg, &argv);
  if (napi_make_callback(env, cb->async, global, fn, 1, &argv, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  } else if (result_bool != NULL) {
    bool value;
    if (napi_get_value_bool(env, result, &value) == napi_ok) *result_bool = value;
  }
  napi_close_handle_scope(env, scope);
}

/* ------------------------------------------------------------ handle tables */

int evt_slot_alloc(void ***slots, int *cap) {
  int id = 0;
  while (id < *cap && (*slots)[id] != NULL) id++;
  if (id < *cap) return id;
  int grown_cap = *cap ? *cap * 2 : 4;
  void **grown = realloc(*slots, sizeof *grown * (size_t)grown_cap);
  if (grown == NULL) return -ENOMEM;
  for (int i = *cap; i < grown_cap; i++) grown[i] = NULL;
  *slots = grown;
  *cap = grown_cap;
  return id;
}

void *evt_arg_slot(evt_args *a, size_t i, void *const *slots, int cap, const char *what, int32_t *id) {
  if (!evt_arg_int(a, i, "id", id)) return NULL;
  if (*id < 0 || *id >= cap || slots[*id] == NULL) {
    evt_throw_range(a, "no open %s with id %d", what, *id);
    return NULL;
  }
  return slots[*id];
}

evt_teardown *evt_teardown_start(napi_async_cleanup_hook_handle hook, void *const *slots, int cap) {
  int open = 0;
  for (int i = 0; i < cap; i++) open += slots[i] != NULL;
  evt_teardown *t = open == 0 ? NULL : calloc(1, sizeof *t);
  if (t == NULL) {
    /* Nothing open, or no memory to track the closes: let Node go on. */
    napi_remove_async_cleanup_hook(hook);
    return NULL;
  }
  t->hook = hook;
  t->pending = open;
  return t;
}

void evt_teardown_closed(evt_teardown *t) {
  if (t != NULL && --t->pending == 0) {
    napi_remove_async_cleanup_hook(t->hook);
    free(t);
  }
}

/* ------------------------------------------------------------ registration */

void evt_define_functions(napi_env env, napi_value exports, const evt_function *fns, size_t count) {
  for (size_t i = 0; i < count; i++) {
    napi_value fn;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
    napi_set_named_property(env, exports, fns[i].name, fn);
  }
}

void evt_define_constant(napi_env env, napi_value constants, const char *name, int64_t value) {
  napi_set_named_property(env, constants, name, evt_number(env, value));
}

NAPI_MODULE_INIT() {
  evt_state *st = calloc(1, sizeof *st);
  if (st == NULL) {
    napi_throw_error(env, "ENOMEM", "eventide: out of memory loading the native addon");
    return NULL;
  }
  if (napi_set_instance_data(env, st, free_state, NULL) != napi_ok) {
    free(st);
    napi_throw_error(env, NULL, "eventide: napi_set_instance_data failed");
    return NULL;
  }
  napi_value constants;
  napi_create_object(env, &constants);
  evt_init_epoll(env, exports, constants);
  evt_init_fdio(env, exports, constants);
  evt_init_socket(env, exports, constants);
  evt_init_uv(env, exports, constants, st);
  evt_init_uv_turn(env, exports, st);
  napi_object_freeze(env, constants);
  napi_set_named_property(env, exports, "constants", constants);
  return exports;
}

/*
 * Plain file-descriptor I/O: read/write (and the vectored forms), close,
 * pipe2, fcntl, fstat's file type, and sendfile. Works on any fd: pipes, sockets, ttys, eventfds.
 *
 * Buffers are the caller's: (buffer, offset, length) is checked against the
 * buffer's size here and then handed to the kernel as is; nothing is copied.
 * A short count is normal for non-blocking fds (a full pipe accepts part of
 * a write) and is returned unchanged.
 */
#include "eventide.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* read(fd, buffer, offset, length) -> bytes (0 = EOF) | -errno */
static napi_value read_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd;
  uint8_t *data;
  size_t len;
  if (!evt_get_args(env, info, "read", 4, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !evt_arg_range(&a, 1, &data, &len))
    return NULL;
  ssize_t n;
  do n = read(fd, data, len);
  while (n < 0 && errno == EINTR);
  return n < 0 ? evt_errno(env) : evt_number(env, n);
}

/* write(fd, buffer, offset, length) -> bytes written | -errno */
static napi_value write_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd;
  uint8_t *data;
  size_t len;
  if (!evt_get_args(env, info, "write", 4, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !evt_arg_range(&a, 1, &data, &len))
    return NULL;
  ssize_t n;
  do n = write(fd, data, len);
  while (n < 0 && errno == EINTR);
  return n < 0 ? evt_errno(env) : evt_number(env, n);
}

/* Fills `iov` from a JS array of byte views. At most IOV_MAX entries are
 * used: a longer array is a short read/write, which callers handle anyway. */
static bool collect_iovecs(evt_args *a, struct iovec *iov, int *count) {
  bool is_array = false;
  napi_is_array(a->env, a->argv[1], &is_array);
  if (!is_array) {
    evt_throw_type(a, "argument 'buffers' must be an array of Buffers or TypedArrays");
    return false;
  }
  uint32_t length;
  napi_get_array_length(a->env, a->argv[1], &length);
  if (length > IOV_MAX) length = IOV_MAX;
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    uint8_t *data;
    size_t len;
    if (napi_get_element(a->env, a->argv[1], i, &item) != napi_ok) return false;
    if (!evt_view_bytes(a->env, item, &data, &len)) {
      evt_throw_type(a, "buffers[%u] must be a Buffer, TypedArray or DataView", i);
      return false;
    }
    iov[i] = (struct iovec){.iov_base = data, .iov_len = len};
  }
  *count = (int)length;
  return true;
}

/* readv(fd, buffers) -> bytes | -errno; fills the buffers in order. */
static napi_value readv_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd;
  struct iovec iov[IOV_MAX];
  int count;
  if (!evt_get_args(env, info, "readv", 2, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !collect_iovecs(&a, iov, &count))
    return NULL;
  ssize_t n;
  do n = readv(fd, iov, count);
  while (n < 0 && errno == EINTR);
  return n < 0 ? evt_errno(env) : evt_number(env, n);
}

/* writev(fd, buffers) -> bytes written (possibly short) | -errno */
static napi_value writev_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd;
  struct iovec iov[IOV_MAX];
  int count;
  if (!evt_get_args(env, info, "writev", 2, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !collect_iovecs(&a, iov, &count))
    return NULL;
  ssize_t n;
  do n = writev(fd, iov, count);
  while (n < 0 && errno == EINTR);
  return n < 0 ? evt_errno(env) : evt_number(env, n);
}

/* close(fd) -> 0 | -errno. Never retried: on Linux the fd is released even
 * when close reports EINTR, and a retry could close an fd another thread
 * just received. EINTR therefore counts as success. */
static napi_value close_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd;
  if (!evt_get_args(env, info, "close", 1, &a) || !evt_arg_int(&a, 0, "fd", &fd)) return NULL;
  evt_epoll_unbind(env, evt_state_of(env), fd);
  if (close(fd) < 0 && errno != EINTR) return evt_errno(env);
  return evt_number(env, 0);
}

/* Checks an Int32Array out-parameter of at least `need` elements. */
static bool arg_int32_out(evt_args *a, size_t i, const char *name, size_t need, int32_t **out) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(a->env, a->argv[i], &type, &length, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array || length < need) {
    evt_throw_type(a, "argument '%s' must be an Int32Array of length >= %zu", name, need);
    return false;
  }
  *out = data;
  return true;
}

/* pipe2(fds: Int32Array(2), flags) -> 0 | -errno; fds[0] reads, fds[1] writes. */
static napi_value pipe2_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t *out, flags;
  if (!evt_get_args(env, info, "pipe2", 2, &a) || !arg_int32_out(&a, 0, "fds", 2, &out) ||
      !evt_arg_int(&a, 1, "flags", &flags))
    return NULL;
  int fds[2];
  if (pipe2(fds, flags) < 0) return evt_errno(env);
  out[0] = fds[0];
  out[1] = fds[1];
  return evt_number(env, 0);
}

/* fcntl(fd, cmd, arg) -> result | -errno, for the int-argument commands
 * (F_GETFL/F_SETFL/F_GETFD/F_SETFD). Other commands take pointers and are
 * refused rather than passed an int the kernel would dereference. */
static napi_value fcntl_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd, cmd, arg;
  if (!evt_get_args(env, info, "fcntl", 3, &a) || !evt_arg_int(&a, 0, "fd", &fd) || !evt_arg_int(&a, 1, "cmd", &cmd) ||
      !evt_arg_int(&a, 2, "arg", &arg))
    return NULL;
  if (cmd != F_GETFL && cmd != F_SETFL && cmd != F_GETFD && cmd != F_SETFD)
    return evt_throw_range(&a, "cmd %d is not one of F_GETFL, F_SETFL, F_GETFD, F_SETFD", cmd);
  int r;
  do r = fcntl(fd, cmd, arg);
  while (r < 0 && errno == EINTR);
  return r < 0 ? evt_errno(env) : evt_number(env, r);
}

/* fstatMode(fd) -> st_mode (file type and permission bits) | -errno. The
 * pipe transports use it to refuse what is not a pipe, socket or
 * character device (a regular file is always "readable" to epoll: EPERM). */
static napi_value fstat_mode_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t fd;
  if (!evt_get_args(env, info, "fstatMode", 1, &a) || !evt_arg_int(&a, 0, "fd", &fd)) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) return evt_errno(env);
  return evt_number(env, (int64_t)st.st_mode);
}

/* sendfile(outFd, inFd, offset, count) -> bytes sent (possibly short; 0 at
 * the file's end) | -errno. The kernel copies from `inFd` (a file it can
 * map: a regular file) at `offset` to `outFd` without the bytes entering
 * this process. `inFd`'s own file position is neither used nor moved: the
 * caller advances `offset` by the result. A count above what one call
 * moves (0x7ffff000 bytes) is a short count, as from the kernel. */
static napi_value sendfile_js(napi_env env, napi_callback_info info) {
  evt_args a;
  int32_t out_fd, in_fd;
  uint64_t offset, count;
  if (!evt_get_args(env, info, "sendfile", 4, &a) || !evt_arg_int(&a, 0, "outFd", &out_fd) ||
      !evt_arg_int(&a, 1, "inFd", &in_fd) || !evt_arg_u53(&a, 2, "offset", &offset) || !evt_arg_u53(&a, 3, "count", &count))
    return NULL;
  if (count > 0x7ffff000) count = 0x7ffff000;
  off_t position = (off_t)offset;
  ssize_t n;
  do n = sendfile(out_fd, in_fd, &position, (size_t)count);
  while (n < 0 && errno == EINTR);
  return n < 0 ? evt_errno(env) : evt_number(env, n);
}

void evt_init_fdio(napi_env env, napi_value exports, napi_value constants) {
  static const evt_function fns[] = {
      {"read", read_js},   {"write", write_js}, {"readv", readv_js}, {"writev", writev_js},
      {"close", close_js}, {"pipe2", pipe2_js}, {"fcntl", fcntl_js}, {"fstatMode", fstat_mode_js},
      {"sendfile", sendfile_js},
  };
  evt_define_functions(env, exports, fns, EVT_COUNT(fns));
#define C(name) evt_define_constant(env, constants, #name, name)
  C(O_NONBLOCK); C(O_CLOEXEC); C(F_GETFL); C(F_SETFL); C(F_GETFD); C(F_SETFD); C(FD_CLOEXEC); C(IOV_MAX);
  C(S_IFMT); C(S_IFIFO); C(S_IFSOCK); C(S_IFCHR); C(S_IFREG); C(S_IFDIR);
#undef C
}

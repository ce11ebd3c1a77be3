# The native floor (see native/eventide.h). Built by npm's bundled node-gyp
# on `npm ci` from Node's installed headers (npm's `nodedir`); nothing is
# downloaded. Linux only: epoll and eventfd are Linux system calls.
{
  "targets": [
    {
      "target_name": "eventide",
      "sources": [
        "native/eventide.c",
        "native/epoll.c",
        "native/fdio.c",
        "native/socket.c",
        "native/uvwatch.c",
        "native/uvturn.c"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
  ]
}

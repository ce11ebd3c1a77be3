/*
 * The ceiling of the I/O benchmark (bench/io.ts): the least a one-core
 * epoll echo server can do per message, in C.
 *
 *   echo-server [PORT]     (default 0: any free port)
 *
 * Listens on 127.0.0.1, prints {"ports":{"*":PORT}} on stdout, and echoes
 * every connection until it is killed. One thread, epoll level-triggered:
 * on readable, one recv into a shared 256 KiB buffer and a send of what
 * arrived. If the kernel takes only part of it, the rest is kept and the
 * connection stops reading until it is sent (back-pressure, as the other
 * servers do). That is the whole per-message path an event loop must
 * have; anything a server does beyond it costs requests/s.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BYTES (256 * 1024)
#define MAX_FDS 65536

/* What a connection still has to send (NULL: nothing). Indexed by fd. */
static unsigned char *pending[MAX_FDS];
static size_t pending_len[MAX_FDS];
static size_t pending_off[MAX_FDS];
static unsigned char buffer[READ_BYTES];
static int epfd;

static void die(const char *what) {
  fprintf(stderr, "echo-server: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void drop(int fd) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
  free(pending[fd]);
  pending[fd] = NULL;
  close(fd);
}

static void watch(int fd, unsigned events, int op) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  if (epoll_ctl(epfd, op, fd, &ev) < 0) die("epoll_ctl");
}

/* Sends `len` bytes of `data`; keeps what the kernel refuses. Returns -1 if the connection died. */
static int send_or_keep(int fd, const unsigned char *data, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) break;
      return -1;
    }
    off += (size_t)n;
  }
  if (off == len) return 0;
  pending[fd] = malloc(len - off);
  if (pending[fd] == NULL) die("malloc");
  memcpy(pending[fd], data + off, len - off);
  pending_len[fd] = len - off;
  pending_off[fd] = 0;
  watch(fd, EPOLLOUT, EPOLL_CTL_MOD); /* stop reading until it is sent */
  return 0;
}

static void flush_pending(int fd) {
  while (pending_off[fd] < pending_len[fd]) {
    ssize_t n = send(fd, pending[fd] + pending_off[fd], pending_len[fd] - pending_off[fd], MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) return;
      drop(fd);
      return;
    }
    pending_off[fd] += (size_t)n;
  }
  free(pending[fd]);
  pending[fd] = NULL;
  watch(fd, EPOLLIN, EPOLL_CTL_MOD);
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 0;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  if (listen(lfd, 1024) < 0) die("listen");
  socklen_t addrlen = sizeof addr;
  if (getsockname(lfd, (struct sockaddr *)&addr, &addrlen) < 0) die("getsockname");

  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");
  watch(lfd, EPOLLIN, EPOLL_CTL_ADD);
  printf("{\"ports\":{\"*\":%d}}\n", ntohs(addr.sin_port));
  fflush(stdout);

  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(epfd, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (cfd < 0) break; /* EAGAIN, or an error the next round will see again */
          if (cfd >= MAX_FDS) {
            close(cfd);
            continue;
          }
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          watch(cfd, EPOLLIN, EPOLL_CTL_ADD);
        }
        continue;
      }
      if (pending[fd] != NULL) {
        flush_pending(fd);
        continue;
      }
      ssize_t got = recv(fd, buffer, READ_BYTES, 0);
      if (got > 0) {
        if (send_or_keep(fd, buffer, (size_t)got) < 0) drop(fd);
      } else if (got == 0 || errno != EAGAIN) {
        drop(fd);
      }
    }
  }
}

/*
 * Wake-up latency, the C ends (bench/io.ts): a socketpair ping-pong.
 *
 *   pingpong pong                  echo fd 3 back to itself until EOF
 *   pingpong ping COUNT WARMUP     COUNT timed round trips on fd 3
 *
 * The bench hands one end of a socketpair to a `pong` process (pinned to
 * one core) and the other end, as fd 3, to the side under test (pinned to
 * the other): this program's `ping`, or the eventide, Node and Python
 * equivalents. `pong` blocks in read(2) and writes back what it got, so it
 * adds the least a peer can.
 *
 * `ping` is the floor for an event loop: the fd non-blocking, one
 * epoll_wait, one read, one write per round trip. Each round trip writes
 * one byte and is timed (CLOCK_MONOTONIC) from just before the write to
 * just after the read of the reply. WARMUP untimed round trips first.
 * Prints {"samplesUs":[...],"cpuUs":C} — every round trip in µs, and this
 * process's CPU µs per round trip — the format every ping side uses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define FD 3

static void die(const char *what) {
  fprintf(stderr, "pingpong: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int pong(void) {
  char buf[64];
  for (;;) {
    ssize_t n = read(FD, buf, sizeof buf);
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return 0;
      die("read");
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(FD, buf + off, (size_t)(n - off));
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EPIPE || errno == ECONNRESET) return 0;
        die("write");
      }
      off += w;
    }
  }
}

static int ping(long count, long warmup) {
  if (fcntl(FD, F_SETFL, fcntl(FD, F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = FD};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, FD, &ev) < 0) die("epoll_ctl");
  double *samples = malloc(sizeof(double) * (size_t)count);
  if (samples == NULL) die("malloc");
  char buf[64];
  double cpu0 = 0;
  for (long i = -warmup; i < count; i++) {
    if (i == 0) cpu0 = cpu_us();
    double t0 = now_us();
    if (write(FD, "*", 1) != 1) die("write");
    for (;;) {
      struct epoll_event out;
      int n = epoll_wait(ep, &out, 1, -1);
      if (n < 0 && errno != EINTR) die("epoll_wait");
      if (n <= 0) continue;
      ssize_t got = read(FD, buf, sizeof buf);
      if (got > 0) break;
      if (got == 0) {
        fprintf(stderr, "pingpong: the peer closed\n");
        exit(1);
      }
      if (errno != EAGAIN) die("read");
    }
    double t1 = now_us();
    if (i >= 0) samples[i] = t1 - t0;
  }
  double cpu = cpu_us() - cpu0;
  printf("{\"samplesUs\":[");
  for (long i = 0; i < count; i++) printf(i == 0 ? "%.2f" : ",%.2f", samples[i]);
  printf("],\"cpuUs\":%.3f}\n", cpu / (double)count);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "pong") == 0) return pong();
  if (argc >= 4 && strcmp(argv[1], "ping") == 0) return ping(atol(argv[2]), atol(argv[3]));
  fprintf(stderr, "usage: pingpong pong | pingpong ping COUNT WARMUP   (the socket is fd 3)\n");
  return 2;
}

/*
 * The load generator of the I/O benchmark (bench/io.ts): strict
 * request/response TCP echo over N connections.
 *
 *   echo-client HOST PORT CONNS SIZE SECONDS [WARMUP_MS [SERVER_PID]]
 *
 * Each connection has exactly one message of SIZE bytes in flight: send
 * it, read until all SIZE bytes came back, check they are the bytes sent,
 * count one request, send the next. No pipelining, so requests/s measures
 * the server's whole per-message path (wake-up, read, write) and not its
 * batching.
 *
 * All connections are opened before the clock starts; the first WARMUP_MS
 * (default 200) are not counted. At the end each connection waits for the
 * echo of its last message (not counted), then closes, so servers see a
 * clean EOF rather than a reset. Prints one line of JSON on stdout:
 *   {"requests":N,"seconds":S,"rps":R,"conns":C,"size":M,"clientCpuPct":P,"serverCpuNs":T}
 * clientCpuPct is this process's CPU time over the counted interval as a
 * share of one core: near 100 means the client, not the server, was the
 * limit. serverCpuNs is the CPU time the process SERVER_PID (all its
 * threads, from /proc/PID/task/TID/schedstat) used over the same interval,
 * -1 if not given or not readable. Any error (a short echo, a reset, a wrong byte) exits with status
 * 1 and a message on stderr.
 *
 * One thread, epoll, level-triggered, non-blocking sockets, TCP_NODELAY.
 * Written for the bench; compiled by it at run time (gcc -O2).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  size_t sent;     /* bytes of the current message sent */
  size_t received; /* bytes of its echo received */
  uint64_t seq;    /* the message number, written into its first bytes */
  int want_out;    /* EPOLLOUT registered (a send was short) */
  unsigned char *msg;
  unsigned char *echo;
};

static size_t msg_size;
static int epfd;

static void die(const char *what) {
  fprintf(stderr, "echo-client: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU ns used so far by every thread of `pid`, or -1. Threads that already exited are not counted. */
static double process_cpu_ns(int pid) {
  if (pid <= 0) return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *dir = opendir(path);
  if (dir == NULL) return -1;
  double total = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    char stat_path[300];
    snprintf(stat_path, sizeof stat_path, "/proc/%d/task/%s/schedstat", pid, entry->d_name);
    FILE *f = fopen(stat_path, "r");
    if (f == NULL) continue;
    unsigned long long ns = 0;
    if (fscanf(f, "%llu", &ns) == 1) total += (double)ns;
    fclose(f);
  }
  closedir(dir);
  return total;
}

static void set_events(struct conn *c, int out) {
  /* Always readable too: the echo of the first part may come back while the rest waits to be sent. */
  struct epoll_event ev = {.events = out ? EPOLLIN | EPOLLOUT : EPOLLIN, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
  c->want_out = out;
}

/* Sends what is left of the current message; waits for EPOLLOUT if short. */
static void pump_send(struct conn *c) {
  while (c->sent < msg_size) {
    ssize_t n = send(c->fd, c->msg + c->sent, msg_size - c->sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN) {
        if (!c->want_out) set_events(c, 1);
        return;
      }
      die("send");
    }
    c->sent += (size_t)n;
  }
  if (c->want_out) set_events(c, 0);
}

static void next_message(struct conn *c) {
  c->seq++;
  memcpy(c->msg, &c->seq, sizeof c->seq);
  c->sent = 0;
  c->received = 0;
  pump_send(c);
}

/* Reads what has arrived; returns 1 when the echo of the current message is complete. */
static int pump_recv(struct conn *c) {
  for (;;) {
    ssize_t n = recv(c->fd, c->echo + c->received, msg_size - c->received, 0);
    if (n < 0) {
      if (errno == EAGAIN) return 0;
      die("recv");
    }
    if (n == 0) {
      fprintf(stderr, "echo-client: the server closed a connection mid-message (%zu of %zu bytes back)\n", c->received, msg_size);
      exit(1);
    }
    c->received += (size_t)n;
    if (c->received == msg_size) {
      if (c->sent != msg_size || memcmp(c->msg, c->echo, msg_size) != 0) {
        fprintf(stderr, "echo-client: the echo differs from the message sent\n");
        exit(1);
      }
      return 1;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: echo-client HOST PORT CONNS SIZE SECONDS [WARMUP_MS [SERVER_PID]]\n");
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  int nconns = atoi(argv[3]);
  msg_size = (size_t)atol(argv[4]);
  double seconds = atof(argv[5]);
  double warmup_s = argc > 6 ? atof(argv[6]) / 1000.0 : 0.2;
  int server_pid = argc > 7 ? atoi(argv[7]) : 0;
  if (port <= 0 || nconns <= 0 || msg_size < sizeof(uint64_t) || seconds <= 0) {
    fprintf(stderr, "echo-client: bad arguments\n");
    return 2;
  }

  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
    fprintf(stderr, "echo-client: HOST must be a numeric IPv4 address\n");
    return 2;
  }
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) die("epoll_create1");

  struct conn *conns = calloc((size_t)nconns, sizeof *conns);
  if (conns == NULL) die("calloc");
  for (int i = 0; i < nconns; i++) {
    struct conn *c = &conns[i];
    c->msg = malloc(msg_size);
    c->echo = malloc(msg_size);
    if (c->msg == NULL || c->echo == NULL) die("malloc");
    for (size_t k = 0; k < msg_size; k++) c->msg[k] = (unsigned char)('a' + (k + (size_t)i) % 26);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket");
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
  }

  double start = now_s();
  double counted_from = start + warmup_s;
  double end = counted_from + seconds;
  uint64_t requests = 0, requests_at_warmup = 0;
  double cpu_at_warmup = 0, server_at_warmup = -1;
  int warm = warmup_s <= 0;
  if (warm) {
    cpu_at_warmup = cpu_s();
    server_at_warmup = process_cpu_ns(server_pid);
  }

  for (int i = 0; i < nconns; i++) next_message(&conns[i]);

  struct epoll_event events[256];
  int open_conns = nconns;
  int finishing = 0; /* the counted interval is over: let the last echoes arrive, then close */
  double give_up = 0;
  while (open_conns > 0) {
    int n = epoll_wait(epfd, events, 256, 50);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = events[i].data.ptr;
      if (events[i].events & EPOLLOUT) pump_send(c);
      if ((events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && pump_recv(c)) {
        if (finishing) {
          epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
          close(c->fd);
          open_conns--;
          continue;
        }
        requests++;
        next_message(c);
      }
    }
    if (finishing) {
      if (now_s() > give_up) {
        fprintf(stderr, "echo-client: %d connections still waiting for an echo 10 s after the end\n", open_conns);
        return 1;
      }
      continue;
    }
    double t = now_s();
    if (!warm && t >= counted_from) {
      warm = 1;
      requests_at_warmup = requests;
      cpu_at_warmup = cpu_s();
      server_at_warmup = process_cpu_ns(server_pid);
      counted_from = t;
      end = t + seconds;
    }
    if (warm && t >= end) {
      uint64_t counted = requests - requests_at_warmup;
      double elapsed = t - counted_from;
      double cpu = cpu_s() - cpu_at_warmup;
      double server_now = process_cpu_ns(server_pid);
      double server_cpu = server_now < 0 || server_at_warmup < 0 ? -1 : server_now - server_at_warmup;
      printf("{\"requests\":%llu,\"seconds\":%.6f,\"rps\":%.1f,\"conns\":%d,\"size\":%zu,\"clientCpuPct\":%.1f,\"serverCpuNs\":%.0f}\n",
             (unsigned long long)counted, elapsed, (double)counted / elapsed, nconns, msg_size, 100.0 * cpu / elapsed, server_cpu);
      fflush(stdout);
      finishing = 1;
      give_up = t + 10;
    }
  }
  return 0;
}

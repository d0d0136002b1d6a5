// Bounded load client for bench/listener. Keeps INFLIGHT non-blocking connections going until TOTAL have
// completed: connect, send PAYLOAD bytes and a FIN, wait for the server to close (FIN or RST), count. Stops at
// TIMEOUT seconds in any case. With "hold" it opens TOTAL connections that send nothing and keeps them
// open until stdin closes (for the idle-connection memory figure). With "http" the payload is an HTTP/1.1 GET
// request instead of PAYLOAD bytes of text (for the HTTP persona), read until the server closes.
// Usage: load IP PORT TOTAL INFLIGHT PAYLOAD TIMEOUT_S [hold|http]
// Prints one JSON line: {"done":N,"errors":E,"seconds":S,"rate":R} (hold: {"held":N,"errors":E} first).
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static struct sockaddr_in addr;
static int ep;
static char payload[65536];
static int plen;

static int start(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  int r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  if (r < 0 && errno != EINPROGRESS) { close(fd); return -1; }
  struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 7) return 2;
  addr.sin_family = AF_INET;
  addr.sin_port = htons(atoi(argv[2]));
  inet_pton(AF_INET, argv[1], &addr.sin_addr);
  long total = atol(argv[3]), inflight = atol(argv[4]);
  plen = atoi(argv[5]);
  if (plen > (int)sizeof payload) plen = sizeof payload;
  for (int i = 0; i < plen; i++) payload[i] = 'a' + i % 26;
  if (plen > 0) payload[plen - 1] = '\n';
  double timeout = atof(argv[6]);
  int hold = argc > 7 && strcmp(argv[7], "hold") == 0;
  if (argc > 7 && strcmp(argv[7], "http") == 0)
    plen = snprintf(payload, sizeof payload,
                    "GET /index.html HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench-load/1.0\r\n"
                    "Accept: */*\r\n\r\n");
  ep = epoll_create1(0);
  long started = 0, done = 0, errors = 0, open = 0, held = 0;
  double t0 = now();
  struct epoll_event evs[512];
  char buf[4096];
  while ((hold ? held + errors < total : done + errors < total) && now() - t0 < timeout) {
    while (open < inflight && started < total) {
      if (start() < 0) { errors++; started++; continue; }
      started++;
      open++;
    }
    int n = epoll_wait(ep, evs, 512, 100);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (evs[i].events & EPOLLOUT) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) { errors++; open--; close(fd); continue; }
        if (hold) {
          epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
          held++;
          open--;
          continue;
        }
        if (plen > 0 && write(fd, payload, plen) < 0) { errors++; open--; close(fd); continue; }
        shutdown(fd, SHUT_WR); // the payload is complete: a FIN ends the session

        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
      } else {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r > 0) continue;
        if (r < 0 && errno == EAGAIN) continue;
        done++;
        open--;
        close(fd);
      }
    }
  }
  double secs = now() - t0;
  if (hold) {
    printf("{\"held\":%ld,\"errors\":%ld}\n", held, errors);
    fflush(stdout);
    while (read(0, buf, sizeof buf) > 0) {}
    return 0;
  }
  printf("{\"done\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"rate\":%.0f}\n", done, errors, secs, done / secs);
  return 0;
}

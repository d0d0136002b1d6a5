// Bounded UDP flood for bench/tproxy-udp: sends COUNT datagrams of SIZE bytes with sendmmsg, either to
// random addresses of a /24 and random ports (tproxy mode) or to one address and port (plain mode).
// Usage: flood COUNT SIZE A.B.C.0/24|A.B.C.D PORT|0 [RATE_PER_S]   (PORT 0: random ports 1-65535;
// a /24 prefix: random last octet 1-254). Stops after COUNT datagrams; prints the number sent and seconds.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: flood COUNT SIZE ADDR[/24] PORT [RATE]\n");
    return 2;
  }
  long count = atol(argv[1]);
  int size = atoi(argv[2]);
  char addr[64];
  snprintf(addr, sizeof addr, "%s", argv[3]);
  int random_host = 0;
  char *slash = strchr(addr, '/');
  if (slash) {
    *slash = 0;
    random_host = 1;
  }
  int port = atoi(argv[4]);
  double rate = argc > 5 ? atof(argv[5]) : 0;
  struct in_addr base;
  if (inet_pton(AF_INET, addr, &base) != 1 || count <= 0 || size < 0 || size > 65507) return 2;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int sndbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  static char payload[65536];
  memset(payload, 'x', sizeof payload);
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_in dst[BATCH];
  srand(12345);
  long sent = 0;
  double t0 = now();
  while (sent < count) {
    int n = count - sent < BATCH ? (int)(count - sent) : BATCH;
    for (int i = 0; i < n; i++) {
      memset(&dst[i], 0, sizeof dst[i]);
      dst[i].sin_family = AF_INET;
      dst[i].sin_addr = base;
      if (random_host) ((unsigned char *)&dst[i].sin_addr)[3] = 1 + rand() % 254;
      dst[i].sin_port = htons(port ? port : 1 + rand() % 65535);
      iov[i].iov_base = payload;
      iov[i].iov_len = size;
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &dst[i];
      msgs[i].msg_hdr.msg_namelen = sizeof dst[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(fd, msgs, n, 0);
    if (r < 0) {
      if (errno == ENOBUFS || errno == EAGAIN) continue;
      perror("sendmmsg");
      return 1;
    }
    sent += r;
    if (rate > 0) {
      double ahead = sent / rate - (now() - t0);
      if (ahead > 0) usleep((useconds_t)(ahead * 1e6));
    }
  }
  printf("{\"sent\":%ld,\"seconds\":%.3f}\n", sent, now() - t0);
  return 0;
}

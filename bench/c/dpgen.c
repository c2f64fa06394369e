// Traffic generator and counters of bench/data-plane.ts (built by it with the system cc).
//
//   dpgen send  SOCK DST_IP DST_PORT TUNNEL SESSION[,SESSION..] SRC_IP[,SRC_IP..] INNER_DST SIZE SECONDS [RATE]
//       L2TPv2 data messages (flags 0x0002, the LNS's tunnel/session ids, PPP ff 03 00 21) carrying
//       one IPv4/UDP packet of SIZE bytes SRC_IP:40000 -> INNER_DST:9000, sendmmsg() batches of 64,
//       flat out for SECONDS (several sessions of one tunnel: each batch cycles through them), or with
//       RATE at RATE packets/s (batches of 16 sent on a schedule, no catching up after a late batch).
//       Prints "sent N".
//   dpgen udp   DST_IP[,DST_IP..] DST_PORT SIZE SECONDS
//       plain UDP datagrams making SIZE-byte IPv4 packets, flat out (toward a session's address: the
//       LNS's TUN -> L2TP direction). Prints "sent N".
//   dpgen count SOCK DELAY_MS DUR_MS [l2tp]
//       recvmmsg() until DELAY_MS + DUR_MS, counting datagrams that arrive inside [DELAY_MS, DELAY_MS +
//       DUR_MS) (with "l2tp": only L2TP data messages, T bit clear). Prints "count N".
//   SOCK is "fd:N" (a socket inherited from the parent: the load client's L2TP socket) or
//   "bind:IP:PORT" (a new UDP socket).
// Every mode ends by itself (bounded by SECONDS / DUR_MS); nothing is sent but to the given address.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char* what) {
  fprintf(stderr, "dpgen: %s: %s\n", what, strerror(errno));
  exit(1);
}

static uint32_t ip4(const char* s) {
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1) {
    fprintf(stderr, "dpgen: bad IPv4 address %s\n", s);
    exit(2);
  }
  return a.s_addr;
}

static int open_sock(const char* spec) {
  if (strncmp(spec, "fd:", 3) == 0) return atoi(spec + 3);
  if (strncmp(spec, "bind:", 5) != 0) {
    fprintf(stderr, "dpgen: SOCK is fd:N or bind:IP:PORT\n");
    exit(2);
  }
  char buf[64];
  snprintf(buf, sizeof buf, "%s", spec + 5);
  char* colon = strrchr(buf, ':');
  if (colon == NULL) exit(2);
  *colon = 0;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  int one = 1, big = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(atoi(colon + 1)), .sin_addr.s_addr = ip4(buf)};
  if (bind(fd, (struct sockaddr*)&sin, sizeof sin) < 0) die("bind");
  return fd;
}

static uint16_t csum(const uint8_t* p, int n) {
  uint32_t s = 0;
  for (int i = 0; i + 1 < n; i += 2) s += (p[i] << 8) | p[i + 1];
  if (n & 1) s += p[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

/** IPv4 + UDP header of a `size`-byte packet at p (payload bytes left as they are). */
static void ipudp(uint8_t* p, int size, uint32_t src, uint32_t dst, uint16_t dport) {
  memset(p, 0, 28);
  p[0] = 0x45;
  p[2] = size >> 8;
  p[3] = size & 0xff;
  p[8] = 64;
  p[9] = 17;
  memcpy(p + 12, &src, 4);
  memcpy(p + 16, &dst, 4);
  uint16_t c = csum(p, 20);
  p[10] = c >> 8;
  p[11] = c & 0xff;
  p[20] = 40000 >> 8;
  p[21] = 40000 & 0xff;
  p[22] = dport >> 8;
  p[23] = dport & 0xff;
  p[24] = (size - 20) >> 8;
  p[25] = (size - 20) & 0xff;
}

#define MAXV 16

/* Flood with sendmmsg: batches cycle through the nv variants (packet, length, destination). */
static long flood(int fd, uint8_t* const* pkts, const int* lens, const struct sockaddr_in* to, int nv, double seconds, double rate) {
  struct mmsghdr mm[BATCH];
  struct iovec iov[BATCH];
  for (int i = 0; i < BATCH; i++) {
    int v = i % nv;
    iov[i].iov_base = pkts[v];
    iov[i].iov_len = lens[v];
    memset(&mm[i], 0, sizeof mm[i]);
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
    mm[i].msg_hdr.msg_name = (void*)&to[v];
    mm[i].msg_hdr.msg_namelen = sizeof to[v];
  }
  long sent = 0;
  double start = now_ms(), end = start + seconds * 1e3;
  int batch = rate > 0 ? 16 : BATCH;
  while (now_ms() < end) {
    if (rate > 0) {
      /* Paced: the next batch is due when `sent` packets at `rate` have taken their time. */
      double due = start + sent * 1e3 / rate, t = now_ms();
      if (due > t) {
        struct timespec ts = {.tv_sec = (time_t)((due - t) / 1e3), .tv_nsec = (long)(fmod(due - t, 1e3) * 1e6)};
        nanosleep(&ts, NULL);
        continue;
      }
    }
    int r = sendmmsg(fd, mm, batch, 0);
    if (r < 0) {
      if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        poll(&pf, 1, 1);
        continue;
      }
      die("sendmmsg");
    }
    sent += r;
  }
  return sent;
}

/* Split "a,b,c" in place; returns the count (at most MAXV). */
static int split(char* s, char** out) {
  int n = 0;
  for (char* t = strtok(s, ","); t != NULL && n < MAXV; t = strtok(NULL, ",")) out[n++] = t;
  return n;
}

/* send SOCK LNS PORT TUNNEL SESSION[,SESSION...] SRC[,SRC...] DST SIZE SECONDS: one variant per session. */
static int cmd_send(char** a) {
  int fd = open_sock(a[0]);
  struct sockaddr_in to[MAXV];
  int tunnel = atoi(a[3]), size = atoi(a[7]);
  if (size < 28 || size > 9000) exit(2);
  char *ss[MAXV], *cs[MAXV];
  int n = split(a[4], ss), nc = split(a[5], cs);
  if (n == 0 || nc != n) exit(2);
  static uint8_t buf[MAXV][10 + 9000];
  uint8_t* pkts[MAXV];
  int lens[MAXV];
  for (int v = 0; v < n; v++) {
    int session = atoi(ss[v]);
    uint8_t h[10] = {0x00, 0x02, tunnel >> 8, tunnel & 0xff, session >> 8, session & 0xff, 0xff, 0x03, 0x00, 0x21};
    memcpy(buf[v], h, 10);
    ipudp(buf[v] + 10, size, ip4(cs[v]), ip4(a[6]), 9000);
    pkts[v] = buf[v];
    lens[v] = 10 + size;
    to[v] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(atoi(a[2])), .sin_addr.s_addr = ip4(a[1])};
  }
  printf("sent %ld\n", flood(fd, pkts, lens, to, n, atof(a[8]), a[9] != NULL ? atof(a[9]) : 0));
  return 0;
}

/* udp DST[,DST...] PORT SIZE SECONDS */
static int cmd_udp(char** a) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  char* ds[MAXV];
  int n = split(a[0], ds);
  if (n == 0) exit(2);
  struct sockaddr_in to[MAXV];
  int size = atoi(a[2]);
  if (size < 28 || size > 9000) exit(2);
  static uint8_t payload[9000];
  uint8_t* pkts[MAXV];
  int lens[MAXV];
  for (int v = 0; v < n; v++) {
    to[v] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(atoi(a[1])), .sin_addr.s_addr = ip4(ds[v])};
    pkts[v] = payload;
    lens[v] = size - 28;
  }
  printf("sent %ld\n", flood(fd, pkts, lens, to, n, atof(a[3]), 0));
  return 0;
}

static int cmd_count(char** a, int l2tpOnly) {
  int fd = open_sock(a[0]);
  // 64 MiB (root: SO_RCVBUFFORCE passes rmem_max): ~1 s of 1400-byte datagrams at 50k/s, so a counter
  // that shares its core with the generator never loses what the forwarder delivered.
  int huge = 64 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &huge, sizeof huge);
  double t0 = now_ms(), from = t0 + atof(a[1]), until = from + atof(a[2]);
  static uint8_t bufs[BATCH][2048];
  struct mmsghdr mm[BATCH];
  struct iovec iov[BATCH];
  long count = 0;
  for (;;) {
    double t = now_ms();
    if (t >= until) break;
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    int pr = poll(&pf, 1, (int)(until - t) + 1);
    if (pr <= 0) continue;
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = sizeof bufs[i];
      memset(&mm[i], 0, sizeof mm[i]);
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    int r = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL);
    if (r <= 0) continue;
    t = now_ms();
    if (t < from || t >= until) continue;
    for (int i = 0; i < r; i++) {
      if (!l2tpOnly || (mm[i].msg_len >= 6 && (bufs[i][0] & 0x80) == 0)) count++;
    }
  }
  printf("count %ld\n", count);
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc >= 11 && strcmp(argv[1], "send") == 0) return cmd_send(argv + 2);
  if (argc >= 6 && strcmp(argv[1], "udp") == 0) return cmd_udp(argv + 2);
  if (argc >= 5 && strcmp(argv[1], "count") == 0) return cmd_count(argv + 2, argc >= 6 && strcmp(argv[5], "l2tp") == 0);
  fprintf(stderr, "usage: dpgen send|udp|count ... (see the comment at the top of bench/c/dpgen.c)\n");
  return 2;
}

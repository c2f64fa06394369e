// Generators and counters of bench/l2tpv3-tap.ts (built by it with the system cc).
//
//   v3tap udpsend SRC_IP SRC_PORT DST_IP DST_PORT HEX_PREFIX SIZE SECONDS
//       UDP datagrams of HEX_PREFIX ("-" = none) followed by a SIZE-byte broadcast Ethernet frame
//       (EtherType 0x88b5), sendmmsg() batches of 64, flat out for SECONDS. Prints "sent N".
//   v3tap udpcount BIND_IP PORT DELAY_MS DUR_MS
//       recvmmsg() until DELAY_MS + DUR_MS, counting datagrams inside [DELAY_MS, DELAY_MS + DUR_MS).
//       Prints "count N".
//   v3tap ethsend IFNAME SIZE SECONDS
//       the same frames on an interface through AF_PACKET (the kernel transmits them: into a TAP they
//       reach the process holding it), sendmmsg() batches of 64. Prints "sent N".
//   v3tap ethcount IFNAME DELAY_MS DUR_MS
//       AF_PACKET receive on IFNAME of EtherType 0x88b5 frames that were not sent from this host,
//       counted inside the window like udpcount. Prints "count N".
// Every mode ends by itself; nothing is sent but to the given address or interface.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
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
#define ETHERTYPE_BENCH 0x88b5
#define MAXPKT 2048

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char* what) {
  fprintf(stderr, "v3tap: %s: %s\n", what, strerror(errno));
  exit(1);
}

static struct sockaddr_in addr(const char* ip, int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
    fprintf(stderr, "v3tap: bad IPv4 address %s\n", ip);
    exit(2);
  }
  return a;
}

/** HEX_PREFIX then the frame; returns the packet length. */
static int build(uint8_t* p, const char* hex, int size) {
  int n = 0;
  if (strcmp(hex, "-") != 0) {
    for (const char* h = hex; h[0] != 0 && h[1] != 0 && n < 64; h += 2) {
      unsigned v;
      sscanf(h, "%2x", &v);
      p[n++] = (uint8_t)v;
    }
  }
  if (size < 14 || n + size > MAXPKT) {
    fprintf(stderr, "v3tap: bad size %d\n", size);
    exit(2);
  }
  uint8_t* f = p + n;
  memset(f, 0x5a, (size_t)size);
  memset(f, 0xff, 6);
  const uint8_t src[6] = {0x02, 0, 0, 0, 0x0b, 0x02};
  memcpy(f + 6, src, 6);
  f[12] = ETHERTYPE_BENCH >> 8;
  f[13] = ETHERTYPE_BENCH & 0xff;
  return n + size;
}

/** sendmmsg() the same packet flat out for `seconds`. */
static long flood(int fd, const uint8_t* pkt, int len, const void* to, socklen_t tolen, double seconds) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = (void*)pkt;
    iov[i].iov_len = (size_t)len;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = (void*)to;
    msgs[i].msg_hdr.msg_namelen = tolen;
  }
  long sent = 0;
  double end = now_ms() + seconds * 1e3;
  while (now_ms() < end) {
    int r = sendmmsg(fd, msgs, BATCH, 0);
    if (r > 0) sent += r;
    else if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED) continue;
    else if (r < 0) die("sendmmsg");
  }
  return sent;
}

/** Count datagrams/frames arriving inside [delay, delay + dur); `eth` filters EtherType and outgoing. */
static long count(int fd, double delay, double dur, int eth) {
  static uint8_t bufs[BATCH][MAXPKT];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_ll from[BATCH];
  double start = now_ms();
  long n = 0;
  for (;;) {
    double t = now_ms() - start;
    if (t >= delay + dur) break;
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = MAXPKT;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int r = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (r <= 0) continue;
    t = now_ms() - start;
    if (t < delay) continue;
    for (int i = 0; i < r; i++) {
      if (eth) {
        if (from[i].sll_pkttype == PACKET_OUTGOING || msgs[i].msg_len < 14) continue;
        if (((bufs[i][12] << 8) | bufs[i][13]) != ETHERTYPE_BENCH) continue;
      }
      n++;
    }
  }
  return n;
}

static int eth_socket(const char* ifname, struct sockaddr_ll* ll) {
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) die("socket(AF_PACKET)");
  memset(ll, 0, sizeof *ll);
  ll->sll_family = AF_PACKET;
  ll->sll_protocol = htons(ETH_P_ALL);
  ll->sll_ifindex = (int)if_nametoindex(ifname);
  ll->sll_halen = 6;
  memset(ll->sll_addr, 0xff, 6);
  if (ll->sll_ifindex == 0) die(ifname);
  if (bind(fd, (struct sockaddr*)ll, sizeof *ll) < 0) die("bind(AF_PACKET)");
  int rcv = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
  return fd;
}

static int udp_socket(const char* ip, int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rcv = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
  struct sockaddr_in a = addr(ip, port);
  if (bind(fd, (struct sockaddr*)&a, sizeof a) < 0) die("bind");
  return fd;
}

int main(int argc, char** argv) {
  static uint8_t pkt[MAXPKT];
  if (argc >= 9 && strcmp(argv[1], "udpsend") == 0) {
    int fd = udp_socket(argv[2], atoi(argv[3]));
    struct sockaddr_in to = addr(argv[4], atoi(argv[5]));
    int len = build(pkt, argv[6], atoi(argv[7]));
    printf("sent %ld\n", flood(fd, pkt, len, &to, sizeof to, atof(argv[8])));
    return 0;
  }
  if (argc >= 6 && strcmp(argv[1], "udpcount") == 0) {
    int fd = udp_socket(argv[2], atoi(argv[3]));
    printf("count %ld\n", count(fd, atof(argv[4]), atof(argv[5]), 0));
    return 0;
  }
  if (argc >= 5 && strcmp(argv[1], "ethsend") == 0) {
    struct sockaddr_ll ll;
    int fd = eth_socket(argv[2], &ll);
    int len = build(pkt, "-", atoi(argv[3]));
    printf("sent %ld\n", flood(fd, pkt, len, &ll, sizeof ll, atof(argv[4])));
    return 0;
  }
  if (argc >= 5 && strcmp(argv[1], "ethcount") == 0) {
    struct sockaddr_ll ll;
    int fd = eth_socket(argv[2], &ll);
    printf("count %ld\n", count(fd, atof(argv[3]), atof(argv[4]), 1));
    return 0;
  }
  fprintf(stderr, "usage: v3tap udpsend|udpcount|ethsend|ethcount ...\n");
  return 2;
}

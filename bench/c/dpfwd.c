// The ceiling of this kernel path for bench/data-plane.ts: a minimal batched L2TPv2 data forwarder
// for one session, no control plane at all. recvmmsg() on the UDP socket -> check the data header
// (T=0, our tunnel/session) -> strip L2TP (6) + PPP (4) -> write() to the TUN; TUN read() (up to 64
// per wake-up) -> L2TP + PPP header in front (iovec) -> sendmmsg() to the one peer.
//
//   dpfwd TUN BIND_IP BIND_PORT PEER_IP PEER_PORT PEER_TUNNEL PEER_SESSION OUR_TUNNEL OUR_SESSION SECONDS
// Prints "ready" once the TUN exists (the bench configures it with ip), exits after SECONDS.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define SLOT 2048

static void die(const char* what) {
  fprintf(stderr, "dpfwd: %s: %s\n", what, strerror(errno));
  exit(1);
}

int main(int argc, char** argv) {
  if (argc < 11) {
    fprintf(stderr, "usage: dpfwd TUN BIND_IP BIND_PORT PEER_IP PEER_PORT PEER_TUNNEL PEER_SESSION OUR_TUNNEL OUR_SESSION SECONDS\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  int tun = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
  if (tun < 0) die("open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  snprintf(ifr.ifr_name, IFNAMSIZ, "%s", argv[1]);
  if (ioctl(tun, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
  int udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (udp < 0) die("socket");
  int big = 8 << 20;
  setsockopt(udp, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
  struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
  inet_pton(AF_INET, argv[2], &me.sin_addr);
  if (bind(udp, (struct sockaddr*)&me, sizeof me) < 0) die("bind");
  struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[5]))};
  inet_pton(AF_INET, argv[4], &peer.sin_addr);
  int pt = atoi(argv[6]), ps = atoi(argv[7]), ot = atoi(argv[8]), os = atoi(argv[9]);
  uint8_t hdr[10] = {0x00, 0x02, pt >> 8, pt & 0xff, ps >> 8, ps & 0xff, 0xff, 0x03, 0x00, 0x21};
  static uint8_t rx[BATCH][SLOT], tx[BATCH][SLOT];
  struct mmsghdr rm[BATCH], tm[BATCH];
  struct iovec riov[BATCH], tiov[BATCH][2];
  for (int i = 0; i < BATCH; i++) {
    riov[i].iov_base = rx[i];
    riov[i].iov_len = SLOT;
    tiov[i][0].iov_base = hdr;
    tiov[i][0].iov_len = sizeof hdr;
    tiov[i][1].iov_base = tx[i];
  }
  printf("ready\n");
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  time_t end = ts.tv_sec + atoi(argv[10]);
  struct pollfd pf[2] = {{.fd = udp, .events = POLLIN}, {.fd = tun, .events = POLLIN}};
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ts.tv_sec >= end) break;
    if (poll(pf, 2, 200) <= 0) continue;
    if (pf[0].revents & POLLIN) {
      for (int i = 0; i < BATCH; i++) {
        memset(&rm[i], 0, sizeof rm[i]);
        rm[i].msg_hdr.msg_iov = &riov[i];
        rm[i].msg_hdr.msg_iovlen = 1;
      }
      int r = recvmmsg(udp, rm, BATCH, MSG_DONTWAIT, NULL);
      for (int i = 0; i < r; i++) {
        uint8_t* p = rx[i];
        unsigned len = rm[i].msg_len;
        if (len < 30 || (p[0] & 0x80) || ((p[2] << 8) | p[3]) != ot || ((p[4] << 8) | p[5]) != os) continue;
        if (write(tun, p + 10, len - 10) < 0 && errno != EAGAIN) die("write tun");
      }
    }
    if (pf[1].revents & POLLIN) {
      int n = 0;
      for (; n < BATCH; n++) {
        ssize_t r = read(tun, tx[n], SLOT);
        if (r <= 0) break;
        tiov[n][1].iov_len = r;
        memset(&tm[n], 0, sizeof tm[n]);
        tm[n].msg_hdr.msg_iov = tiov[n];
        tm[n].msg_hdr.msg_iovlen = 2;
        tm[n].msg_hdr.msg_name = &peer;
        tm[n].msg_hdr.msg_namelen = sizeof peer;
      }
      for (int i = 0; i < n;) {
        int r = sendmmsg(udp, tm + i, n - i, 0);
        if (r <= 0) break;
        i += r;
      }
    }
  }
  return 0;
}

// TUN -> L2TP on a data thread with UDP GSO (UDP_SEGMENT, Linux 4.18+): consecutive queued packets of
// one session whose datagrams (L2TP/PPP header + IP packet) have the same size — the last of a run may
// be shorter — go to the kernel as one super-datagram of up to 64 segments, so the UDP/IP output path
// (route, netfilter, device queue) runs once per run instead of once per packet; the device or the
// receiving stack cuts it into ordinary datagrams (the peer sees exactly what sendmmsg would have sent:
// same bytes, same order). Runs and single datagrams share one sendmmsg, in queue order. A kernel or
// route that refuses GSO (EIO: no checksum offload or an IPsec policy) turns it off for the lane; a
// segment above the route MTU (EINVAL) stops runs of that size; either way the rest of the batch goes
// one datagram per message, as FlushLane does. Netfilter sees a run as one packet.

#include <errno.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fast_path.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace l2tpkit {

namespace {

constexpr uint32_t kMaxGsoBytes = 65000;  // the payload of one UDP datagram (IPv4 total length 65535)
static_assert(kGsoQueue == FastLane::kQueue, "one GSO message slot per queue entry");

}  // namespace

const char* UdpGsoWanted() {
  const char* e = getenv("L2TPKIT_UDP_GSO");
  return e != nullptr && strcmp(e, "off") == 0 ? "off" : "on";
}

/** Datagram size of queue entry q (header + IP packet). */
static inline size_t DgramLen(const FastLane& L, int q) { return L.iov[q][0].iov_len + L.iov[q][1].iov_len; }

// Group the lane's queue into runs; returns the number of messages.
static int BuildRuns(FastLane& L, GsoBatch& b) {
  int m = 0, io = 0;
  for (int i = 0; i < L.queued;) {
    size_t seg = DgramLen(L, i);
    int j = i + 1;
    size_t total = seg;
    while (seg <= b.segLimit && j < L.queued && j - i < FastLane::kQueue && L.qs[j] == L.qs[i] && L.iov[j][0].iov_len == L.iov[i][0].iov_len) {
      size_t len = DgramLen(L, j);
      if (len > seg || total + len > kMaxGsoBytes) break;
      total += len;
      j++;
      if (len < seg) break;  // a shorter one ends the run
    }
    GsoMsg& g = b.msg[m];
    g.first = i;
    g.n = j - i;
    g.seg = static_cast<uint16_t>(seg);
    mmsghdr& h = b.mm[m];
    memset(&h, 0, sizeof(h));
    h.msg_hdr.msg_name = L.mm[i].msg_hdr.msg_name;
    h.msg_hdr.msg_namelen = L.mm[i].msg_hdr.msg_namelen;
    h.msg_hdr.msg_iov = &b.iov[io];
    h.msg_hdr.msg_iovlen = static_cast<size_t>(2 * g.n);
    for (int k = i; k < j; k++) {
      b.iov[io++] = L.iov[k][0];
      b.iov[io++] = L.iov[k][1];
    }
    if (g.n > 1) {
      h.msg_hdr.msg_control = b.ctl[m];
      h.msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
      cmsghdr* c = CMSG_FIRSTHDR(&h.msg_hdr);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      memcpy(CMSG_DATA(c), &g.seg, sizeof(uint16_t));
    }
    m++;
    i = j;
  }
  return m;
}

static void CountSent(FastLane& L, int first, int n) {
  for (int j = first; j < first + n; j++) {
    SessionCounters& c = L.qs[j]->ctr[L.index];
    c.txPackets.Add();
    c.txOctets.Add(L.iov[j][1].iov_len);
  }
}

static void CountDropped(FastLane& L, int first, int n) {
  for (int j = first; j < first + n; j++) L.qs[j]->ctr[L.index].sendErrors.Add();
  L.st->sendErrors.Add(static_cast<uint64_t>(n));
}

// Returns the queue index from which the rest must go one datagram per message (L.queued = all sent).
int FastPath::GsoSend(FastLane& L) {
  GsoBatch& b = *L.gso;
  if (b.refused.load(std::memory_order_relaxed)) return 0;
  int m = BuildRuns(L, b);
  int i = 0;
  while (i < m && L.udpFd >= 0) {
    int r = sendmmsg(L.udpFd, b.mm + i, static_cast<unsigned>(m - i), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (b.msg[i].n > 1 && errno == EINVAL) {  // a segment above the route's MTU: no runs of that size any more
        b.segLimit = b.msg[i].seg - 1u;
        return b.msg[i].first;
      }
      if (b.msg[i].n > 1 && (errno == EIO || errno == EOPNOTSUPP || errno == ENOPROTOOPT)) {
        b.refused.store(true, std::memory_order_relaxed);  // no checksum offload / IPsec policy: per datagram from here on
        return b.msg[i].first;
      }
      int k = (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) ? m - i : 1;
      for (int x = i; x < i + k; x++) CountDropped(L, b.msg[x].first, b.msg[x].n);
      i += k;  // as FlushLane: a full queue drops the rest, another error the message refused
      continue;
    }
    for (int x = i; x < i + r; x++) {
      CountSent(L, b.msg[x].first, b.msg[x].n);
      if (b.msg[x].n > 1) {
        b.sends.store(b.sends.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        b.packets.store(b.packets.load(std::memory_order_relaxed) + b.msg[x].n, std::memory_order_relaxed);
      }
    }
    i += r;
  }
  return L.queued;
}

}  // namespace l2tpkit

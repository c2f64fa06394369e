// UDP GSO for the TUN -> L2TP batches of a data thread (udp_gso.cc): the per-lane scratch space.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>

namespace l2tpkit {

constexpr int kGsoQueue = 64;  // = FastLane::kQueue

/** One run of the lane's queue: entries [first, first + n), sent as one message (GSO when n > 1). */
struct GsoMsg {
  int first = 0;
  int n = 0;
  uint16_t seg = 0;
};

/** A data thread's messages for one sendmmsg with runs, and what went out that way (read by stats()). */
struct GsoBatch {
  mmsghdr mm[kGsoQueue];
  iovec iov[kGsoQueue * 2];
  GsoMsg msg[kGsoQueue];
  alignas(cmsghdr) uint8_t ctl[kGsoQueue][CMSG_SPACE(sizeof(uint16_t))];
  std::atomic<uint64_t> sends{0}, packets{0};  // GSO messages (n > 1) and the datagrams they carried
  std::atomic<bool> refused{false};             // the kernel said no once: one datagram per message from then on
  uint32_t segLimit = 65535;                     // runs only of datagrams up to this size (lowered by EINVAL: above the route MTU)
};

/** "off" when L2TPKIT_UDP_GSO=off, else "on". */
const char* UdpGsoWanted();

}  // namespace l2tpkit

// The L2TPv3 Ethernet pseudowire fast path (see v3_fast.cc): a pseudowire table programmed from JS and
// the hooks the PacketPorts of a v3 socket (UDP or raw IP protocol 115) and of a TAP call while they
// drain a batch.
#pragma once

#include <napi.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <unordered_map>

namespace l2tpkit {

/** Roles a PacketPort can take in a V3Fast. */
constexpr int kV3RoleNet = 0;  // the UDP or raw IP socket
constexpr int kV3RoleTap = 1;  // one pseudowire's TAP

/** One established pseudowire (RFC 3931 §4.1 data header, RFC 4719 Ethernet). */
struct V3Pw {
  uint32_t localSession = 0;   // what the peer puts in its data messages
  uint32_t peerAddr = 0;       // network order
  uint16_t peerPort = 0;       // network order (UDP only)
  uint8_t rxCookie[8] = {};
  uint32_t rxCookieLen = 0;
  bool sublayer = false;       // default L2-Specific Sublayer (4 bytes; S=0 on send, S=1 on receive -> JS)
  uint8_t hdr[24] = {};        // the header we send: [UDP flags/ver + reserved] session id, cookie, sublayer
  uint32_t hdrLen = 0;
  uint32_t frameAt = 0;        // where the frame of the packet being matched starts
  int tapFd = -1;
  sockaddr_in dst = {};
  uint64_t rxPackets = 0, rxOctets = 0, txPackets = 0, txOctets = 0, tapWriteErrors = 0, sendErrors = 0, badSource = 0,
           toJs = 0;
};

/** Pseudowire table + per-packet hooks; JS: new V3Fast(encap 0 udp | 1 ip), add/remove/counters/stats. */
class V3Fast : public Napi::ObjectWrap<V3Fast> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit V3Fast(const Napi::CallbackInfo& info);
  ~V3Fast() override;

  /** The net port attaches with its fd; -1 detaches. A TAP port attaches with its fd and a session id. */
  void BindNet(int fd) { netFd_ = fd; queued_ = 0; }
  void BindTap(uint32_t session, int fd);
  /** One datagram from the net port (UDP payload, or the IPv4 packet with `ihl` for IP); true when consumed. */
  bool OnNet(uint8_t* p, uint32_t len, uint32_t srcAddrHost, uint16_t srcPortHost, uint32_t ihl);
  /** One Ethernet frame from the TAP bound to `session`; true when queued (bytes stay until Flush). */
  bool OnTap(uint32_t session, uint8_t* p, uint32_t len);
  /** End of a drained batch: sendmmsg what OnTap queued. */
  void Flush();

 private:
  /** The pseudowire a data message belongs to when the fast path may take it, else nullptr. */
  V3Pw* Match(const uint8_t* p, uint32_t len, uint32_t srcAddrHost, uint16_t srcPortHost, uint32_t ihl);
  Napi::Value Add(const Napi::CallbackInfo& info);
  Napi::Value Remove(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  void Clear(const Napi::CallbackInfo& info);

  static constexpr int kQueue = 64;
  bool ip_ = false;
  int netFd_ = -1;
  std::unordered_map<uint32_t, V3Pw*> bySession_;
  std::unordered_map<uint32_t, int> tapFds_;  // session -> TAP fd (kept across add/remove)
  mmsghdr mm_[kQueue] = {};
  iovec iov_[kQueue][2] = {};
  V3Pw* qs_[kQueue] = {};
  int queued_ = 0;
  uint64_t netFast_ = 0, netToJs_ = 0, tapFast_ = 0, tapToJs_ = 0, sendErrors_ = 0, tapWriteErrors_ = 0;
};

/** Whether `o` is a V3Fast made by this addon. */
bool IsV3Fast(Napi::Env env, Napi::Object o);

}  // namespace l2tpkit

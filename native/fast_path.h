// The L2TPv2 data fast path (see fast_path.cc): a session table programmed from JS and the packet
// hooks the PacketPorts of the UDP socket and of the TUN call while they drain a batch.
#pragma once

#include <napi.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <unordered_map>

namespace l2tpkit {

/** Roles a PacketPort can take in a FastPath. */
constexpr int kFastRoleUdp = 0;
constexpr int kFastRoleTun = 1;

/** One established session: what the kernel-facing side needs to move its IPv4 data. */
struct FastSession {
  uint16_t tunnel = 0;       // our tunnel id (what the peer puts in its data messages)
  uint16_t session = 0;      // our session id
  uint32_t peerAddr = 0;     // network order
  uint16_t peerPort = 0;     // network order
  uint32_t clientAddr = 0;   // the session's IPv4 address, host order
  uint32_t mtu = 0;          // largest IP packet toward the client (larger ones go to JS)
  uint32_t mss = 0;          // TCP MSS clamp, 0 = off
  uint8_t hdr[16] = {};      // L2TP data header (6 bytes) + PPP header (2-4 bytes)
  uint32_t hdrLen = 0;
  sockaddr_in dst = {};
  double rxPackets = 0, rxOctets = 0, txPackets = 0, txOctets = 0;
};

/** Whether `o` is a FastPath made by this addon (napi type tag: Unwrap alone cannot tell). */
bool IsFastPath(Napi::Env env, Napi::Object o);

/** Native session table + per-packet hooks; JS: new FastPath(), add/remove/take/stats. */
class FastPath : public Napi::ObjectWrap<FastPath> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit FastPath(const Napi::CallbackInfo& info);
  ~FastPath() override;

  /** A port (UDP socket or TUN) attaches with its fd; detaches with -1. */
  void BindFd(int role, int fd);
  /** One L2TP datagram from the UDP socket; true when consumed (written to the TUN). */
  bool OnUdp(uint8_t* p, uint32_t len, uint32_t srcAddrHost, uint16_t srcPortHost);
  /** One IP packet read from the TUN; true when queued for sendmmsg (the bytes must stay until Flush). */
  bool OnTun(uint8_t* p, uint32_t len);
  /** End of a drained batch: send what OnTun queued. */
  void Flush();

 private:
  Napi::Value Add(const Napi::CallbackInfo& info);
  Napi::Value Remove(const Napi::CallbackInfo& info);
  Napi::Value Take(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  void Clear(const Napi::CallbackInfo& info);

  static constexpr int kQueue = 64;
  int udpFd_ = -1;
  int tunFd_ = -1;
  std::unordered_map<uint32_t, FastSession*> byId_;    // tunnel << 16 | session
  std::unordered_map<uint32_t, FastSession*> byAddr_;  // client IPv4, host order
  mmsghdr mm_[kQueue] = {};
  iovec iov_[kQueue][2] = {};
  int queued_ = 0;
  // Counters (global): consumed, handed to JS by reason, errors.
  double udpFast_ = 0, udpToJs_ = 0, tunFast_ = 0, tunToJs_ = 0;
  double tunWriteErrors_ = 0, sendErrors_ = 0, mssClamped_ = 0, badSource_ = 0, tooBig_ = 0;
};

}  // namespace l2tpkit

// The L2TPv2 data fast path (see fast_path.cc): a session table programmed from JS and the packet
// hooks the PacketPorts of the UDP socket and of the TUN call while they drain a batch; with
// `threads` > 0, data threads of its own (fast_threads.cc) on SO_REUSEPORT sockets and TUN queues.
#pragma once

#include <napi.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "esp.h"
#include "keepalive.h"
#include "tun_batch.h"
#include "udp_gso.h"

namespace l2tpkit {

/** Roles a PacketPort can take in a FastPath. */
constexpr int kFastRoleUdp = 0;
constexpr int kFastRoleTun = 1;
/** Most data threads one FastPath runs. */
constexpr int kMaxFastThreads = 16;

/** A counter written by one thread and read by the JS thread (relaxed: single writer). */
struct Ctr {
  std::atomic<uint64_t> v{0};
  void Add(uint64_t n = 1) { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t Get() const { return v.load(std::memory_order_relaxed); }
};

/** Per-session counters of one data thread (a cache line or two of its own). */
struct alignas(64) SessionCounters {
  Ctr rxPackets, rxOctets, txPackets, txOctets;
  // Handed to JS: a source other than the session's address / prefix, above the MTU, other PPP.
  Ctr badSource, tooBig, toJs;
  // Dropped: the TUN write or the sendmmsg failed.
  Ctr tunWriteErrors, sendErrors;
};
constexpr int kSessionCounterFields = 9;

/** One established session: what the kernel-facing side needs to move its IPv4 and IPv6 data. */
struct FastSession {
  uint16_t tunnel = 0;       // our tunnel id (what the peer puts in its data messages)
  uint16_t session = 0;      // our session id
  uint32_t peerAddr = 0;     // network order
  uint16_t peerPort = 0;     // network order
  uint32_t clientAddr = 0;   // the session's IPv4 address, host order
  bool has6 = false;         // whether prefix64 is the session's routed /64 (RFC 5072 + RFC 4862 SLAAC)
  uint64_t prefix64 = 0;     // the upper 64 bits of the session's IPv6 addresses, host order
  uint32_t mtu = 0;          // largest IP packet toward the client (larger ones go to JS)
  uint32_t mss = 0;          // TCP MSS clamp for IPv4, 0 = off
  uint32_t mss6 = 0;         // TCP MSS clamp for IPv6, 0 = off
  uint8_t hdr[16] = {};      // L2TP data header (6 bytes) + PPP header for IPv4 (1-4 bytes)
  uint8_t hdr6[16] = {};     // the same with PPP protocol 0x0057 (IPv6)
  uint32_t hdrLen = 0;
  sockaddr_in dst = {};
  std::unique_ptr<SessionCounters[]> ctr;  // one per lane
  EspFlow* esp = nullptr;                   // inside IPsec: the flow its data is sealed for / must arrive on (esp.cc)
  uint64_t taken[4] = {};                   // rx/tx packets/octets already returned by take()
  FastKeepalive* ka = nullptr;              // the LCP keepalive when offloaded (keepalive.cc)
};

/** Global counters of one lane. */
struct alignas(64) LaneStats {
  Ctr udpFast, udpToJs, tunFast, tunToJs, tunWriteErrors, sendErrors, mssClamped, badSource, tooBig, handoffDrops;
  // LCP keepalive offload (keepalive.cc): Echo-Requests sent, Replies consumed, peer Requests answered, misses, dead reports.
  Ctr echoSent, echoReplied, echoAnswered, echoMisses, echoDead;
};

/** A PacketPort as the FastPath sees it: woken on the JS thread when a data thread handed it packets. */
class FastPortHook {
 public:
  virtual void FastWake() = 0;
  virtual ~FastPortHook() = default;
};

/** One data thread's private state (lane 0 = the JS thread's ports). */
struct FastLane {
  static constexpr int kQueue = 64;
  int index = 0;
  int udpFd = -1;
  int tunFd = -1;
  mmsghdr mm[kQueue] = {};
  iovec iov[kQueue][2] = {};
  FastSession* qs[kQueue] = {};
  int queued = 0;
  LaneStats* st = nullptr;
  // Data threads only:
  std::mutex mu;  // held while a batch is processed; the JS thread takes every lane's to program
  std::thread thread;
  int stopFd = -1;
  std::vector<uint8_t> rx, tx;
  std::vector<mmsghdr> rmm;
  std::vector<iovec> riov;
  std::vector<sockaddr_in> raddr;
  std::unique_ptr<KaWheel> ka;  // keepalive offload (keepalive.cc), made at start
  std::unique_ptr<TunBatch> tb;  // TUN I/O through io_uring (tun_batch.cc); null: read()/write() per packet
  std::unique_ptr<GsoBatch> gso;  // UDP GSO runs in FlushLane (udp_gso.cc); null: one datagram per message
};

/** A packet a data thread hands to JS. */
struct HandedPacket {
  std::vector<uint8_t> bytes;
  uint32_t addr = 0;  // UDP source, host order
  uint16_t port = 0;
};

/** Whether `o` is a FastPath made by this addon (napi type tag: Unwrap alone cannot tell). */
bool IsFastPath(Napi::Env env, Napi::Object o);

/** Native session table + per-packet hooks; JS: new FastPath(threads), add/remove/take/stats, start/stop. */
class FastPath : public Napi::ObjectWrap<FastPath> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit FastPath(const Napi::CallbackInfo& info);
  ~FastPath() override;

  /** A port (UDP socket or TUN) attaches with its fd; detaches with -1. */
  void BindFd(int role, int fd, FastPortHook* hook);
  /** One L2TP datagram from the JS thread's UDP socket; true when consumed (written to the TUN). */
  bool OnUdp(uint8_t* p, uint32_t len, uint32_t srcAddrHost, uint16_t srcPortHost) { return Decap(*lanes_[0], p, len, srcAddrHost, srcPortHost); }
  /** One IP packet read from the JS thread's TUN fd; true when queued for sendmmsg (the bytes must stay until Flush). */
  bool OnTun(uint8_t* p, uint32_t len) { return Encap(*lanes_[0], p, len); }
  /** End of a drained batch: send what OnTun queued. */
  void Flush() { FlushLane(*lanes_[0]); }
  /** One datagram from the NAT-T socket (ESP-in-UDP, esp.cc); true when consumed. */
  bool OnEsp(uint8_t* p, uint32_t len, uint32_t srcAddrHost, uint16_t srcPortHost);
  /** The NAT-T socket attaches (fd) or detaches (-1). */
  void BindEspFd(int fd);
  /** Move packets data threads handed to JS into a port's slab/meta; returns the count. */
  uint32_t PopHanded(int role, uint8_t* slab, uint32_t slabSize, uint32_t maxPackets, uint32_t* meta);

 private:
  // Per packet (fast_path.cc). Decap: L2TP -> PPP -> IP -> TUN write. Encap: IP -> L2TP queued.
  bool Decap(FastLane& L, uint8_t* p, uint32_t len, uint32_t srcAddrHost, uint16_t srcPortHost);
  bool Encap(FastLane& L, uint8_t* p, uint32_t len);
  void FlushLane(FastLane& L);
  FastSession* ByDestination(const uint8_t* p, uint32_t len, bool* v6);
  void Erase(FastSession* s);

  // ESP (esp.cc): the session's flow check in Decap, sealing in Encap, the sendmmsg of a batch, programming.
  bool EspFlowMatches(const FastLane& L, const FastSession* s) const;
  bool EspEncap(FastLane& L, FastSession* s, uint8_t* p, uint32_t len, bool v6);
  void EspFlush(FastLane& L);
  EspFlow* TakeEspBind();
  void EspClear();
  static void AddEspMethods(std::vector<Napi::ClassPropertyDescriptor<FastPath>>& props);
  Napi::Value EspAddSa(const Napi::CallbackInfo& info);
  Napi::Value EspRemoveSa(const Napi::CallbackInfo& info);
  Napi::Value EspSetFlow(const Napi::CallbackInfo& info);
  Napi::Value EspRemoveFlow(const Napi::CallbackInfo& info);
  Napi::Value EspBindNext(const Napi::CallbackInfo& info);
  Napi::Value EspSeal(const Napi::CallbackInfo& info);
  Napi::Value EspOpen(const Napi::CallbackInfo& info);
  Napi::Value EspCounters(const Napi::CallbackInfo& info);
  Napi::Value EspStats(const Napi::CallbackInfo& info);

  // Data threads (fast_threads.cc).
  Napi::Value Start(const Napi::CallbackInfo& info);
  void StopThreads();
  void StopJs(const Napi::CallbackInfo& info) { StopThreads(); }
  void Worker(FastLane* L);
  void UdpBatch(FastLane& L, bool* more);
  void TunBatch(FastLane& L, bool* more);
  // The same with io_uring (tun_batch.cc): a recvmmsg batch's TUN writes in one submission; TUN reads.
  void FlushTunWrites(FastLane& L);
  void TunBatchRing(FastLane& L, bool* more);
  void TunIoStats(Napi::Object& o);
  /** FlushLane with UDP GSO runs (udp_gso.cc); returns the queue index the per-datagram loop goes on from. */
  int GsoSend(FastLane& L);
  void Hand(int role, const uint8_t* p, uint32_t len, uint32_t addr, uint16_t port, LaneStats* st);
  void WakeJs();
  static void OnAsync(uv_async_t* a);
  /** Programming from JS: every data thread's lane lock (they hold it while they process a batch). */
  std::vector<std::unique_lock<std::mutex>> LockLanes();

  // LCP keepalive offload (keepalive.cc).
  static void AddKaMethods(std::vector<Napi::ClassPropertyDescriptor<FastPath>>& props);
  Napi::Value KaProgram(const Napi::CallbackInfo& info);
  Napi::Value KaCounters(const Napi::CallbackInfo& info);
  Napi::Value KaMisses(const Napi::CallbackInfo& info);
  Napi::Value KaStats(const Napi::CallbackInfo& info);
  void KaListen(const Napi::CallbackInfo& info);
  /** Run the due keepalives of a data thread's lane; returns the poll timeout (ms) until its next slot. */
  int KaTick(FastLane& L);
  /** An LCP frame of an offloaded session on its lane: true when consumed (Echo-Reply / Echo-Request). */
  bool KaReceive(FastLane& L, FastSession* s, const uint8_t* ppp, uint32_t len);
  void KaFire(FastLane& L, FastKeepalive* k, int64_t now);
  void KaFlush(FastLane& L);
  void KaUnlink(FastKeepalive* k);
  void KaDrop(FastSession* s);
  void KaDeliver();

  Napi::Value Add(const Napi::CallbackInfo& info);
  Napi::Value Remove(const Napi::CallbackInfo& info);
  Napi::Value Take(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value Sessions(const Napi::CallbackInfo& info);
  Napi::Value TakeAll(const Napi::CallbackInfo& info);     // w15b: every session's take() in one call
  Napi::Value TunnelSums(const Napi::CallbackInfo& info);  // w15b: sessions() summed per tunnel
  Napi::Value TableBuckets(const Napi::CallbackInfo& info);  // w15b: the range of their slices
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Size(const Napi::CallbackInfo& info);
  void Clear(const Napi::CallbackInfo& info);

  int nLanes_ = 1;  // 1 + data threads it can run (fixed at construction: sizes per-session counters)
  std::vector<std::unique_ptr<FastLane>> lanes_;
  std::unique_ptr<LaneStats[]> stats_;
  int running_ = 0;  // data threads running
  std::string tunSteering_ = "none", udpSteering_ = "none", tunIo_ = "none";
  std::unordered_map<uint32_t, FastSession*> byId_;    // tunnel << 16 | session
  std::unordered_map<uint32_t, FastSession*> byAddr_;  // client IPv4, host order
  std::unordered_map<uint64_t, FastSession*> byPrefix_;  // client /64, host order
  // Handed to JS by data threads, per role.
  std::mutex handMu_;
  std::deque<HandedPacket> handed_[2];
  FastPortHook* hooks_[2] = {nullptr, nullptr};
  uv_async_t* async_ = nullptr;
  std::atomic<bool> asyncPending_{false};
  std::atomic<bool> stop_{false};
  int tunSteerProg_ = -1;
  std::unique_ptr<EspState> esp_{new EspState()};
  // Keepalive offload: dead reports (tunnel, session, misses) under handMu_, and who hears them.
  std::vector<uint32_t> kaDead_;
  Napi::FunctionReference kaListener_;
};

}  // namespace l2tpkit

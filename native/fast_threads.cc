// Data threads of the L2TPv2 fast path (issue 16 item 2): start(udpFds, tunFds) runs one thread per
// pair, each with its own SO_REUSEPORT UDP socket (bound to the listener's address and port) and its own
// queue of the multi-queue TUN (IFF_MULTI_QUEUE), in a tight epoll loop over both: recvmmsg -> Decap ->
// TUN write, TUN read -> Encap -> sendmmsg. Sessions are pinned to a thread: a classic BPF program on the
// reuseport group (SO_ATTACH_REUSEPORT_CBPF) sends control messages (T bit) to socket 0 — the JS
// thread's — and data to thread 1 + Session ID mod N; an eBPF steering program on the TUN
// (TUNSETSTEERINGEBPF) picks queue 1 + destination mod N (IPv4 address, or the /64 for IPv6), so queue
// 0 — the JS thread's fd, which it still writes to — gets no traffic. Without eBPF the kernel's
// automatic flow steering spreads TUN packets over every queue and the JS thread forwards its share.
// What a data thread does not consume (control, LCP, unknown sessions, too big ...) is copied, queued
// and handed to the JS thread's port (uv_async -> FastPortHook::FastWake -> the usual JS batch),
// unchanged. The JS thread programs the table while holding every thread's lane lock; a thread holds
// its own while it processes a batch (one uncontended lock per batch, none per packet).

#include <errno.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fast_path.h"

namespace l2tpkit {

namespace {

constexpr uint32_t kUdpSlot = 16384;  // = src/io/native-udp.ts MAX_DATAGRAM
constexpr uint32_t kUdpStride = kUdpSlot + 192;  // not a multiple of 4 KiB: the slots' headers in distinct cache sets
constexpr uint32_t kTunMax = 65536;
constexpr uint32_t kBatch = 64;
constexpr size_t kHandMax = 8192;  // packets waiting for JS per role; beyond: dropped and counted

/** SO_ATTACH_REUSEPORT_CBPF: the index of the socket in the group (RFC 2661 §3.1 header at offset 0). */
bool SteerUdp(int fd, uint32_t threads) {
  sock_filter prog[] = {
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0),               // 0: flags
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x8000, 7, 0),  // 1: T=1 (control) -> 9
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x4000, 2, 0),  // 2: L=1 -> 5
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),               // 3: Session ID (no Length)
      BPF_STMT(BPF_JMP | BPF_JA, 1),                       // 4: -> 6
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),               // 5: Session ID after Length
      BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, threads),        // 6
      BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),              // 7: data threads are sockets 1..N
      BPF_STMT(BPF_RET | BPF_A, 0),                        // 8
      BPF_STMT(BPF_RET | BPF_K, 0),                        // 9: the JS socket (also: a short datagram)
  };
  sock_fprog fp = {10, prog};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fp, sizeof(fp)) == 0;
}

/** An eBPF socket filter for TUNSETSTEERINGEBPF: 1 + (IPv4 destination | low word of the /64) mod N. */
int LoadTunSteering(uint32_t threads) {
  bpf_insn prog[] = {
      {BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0},  // r6 = skb (LD_ABS needs it)
      {BPF_LD | BPF_ABS | BPF_B, 0, 0, 0, 0},                     // r0 = first byte
      {BPF_ALU | BPF_RSH | BPF_K, BPF_REG_0, 0, 0, 4},            // version
      {BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 2, 6},            // IPv6 -> +2
      {BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 16},                    // IPv4 destination
      {BPF_JMP | BPF_JA, 0, 0, 1, 0},                             // -> mod
      {BPF_LD | BPF_ABS | BPF_W, 0, 0, 0, 28},                    // IPv6 destination bytes 4..7 of the /64
      {BPF_ALU | BPF_MOD | BPF_K, BPF_REG_0, 0, 0, static_cast<int32_t>(threads)},
      {BPF_ALU | BPF_ADD | BPF_K, BPF_REG_0, 0, 0, 1},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  static const char license[] = "GPL";
  bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insn_cnt = sizeof(prog) / sizeof(prog[0]);
  attr.insns = reinterpret_cast<uint64_t>(prog);
  attr.license = reinterpret_cast<uint64_t>(license);
  return static_cast<int>(syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)));
}

int QueueOp(int fd, short flags) {
  ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = flags;
  return ioctl(fd, TUNSETQUEUE, &ifr);
}

std::vector<int> FdList(Napi::Env env, const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "start(udpFds: number[], tunFds: number[])");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<int> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsNumber()) throw Napi::TypeError::New(env, "fds must be numbers");
    out.push_back(e.As<Napi::Number>().Int32Value());
  }
  return out;
}

}  // namespace

// start(udpFds, tunFds): number of data threads started. Takes ownership of the fds (closed at stop):
// udpFds bound with SO_REUSEPORT to the JS socket's address after it, tunFds further queues of the
// JS TUN (detached until a thread attaches them). Both JS ports must be attached first.
Napi::Value FastPath::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2) throw Napi::TypeError::New(env, "start(udpFds: number[], tunFds: number[])");
  std::vector<int> udp = FdList(env, info[0]), tun = FdList(env, info[1]);
  if (udp.size() != tun.size() || udp.empty() || static_cast<int>(udp.size()) > nLanes_ - 1) {
    throw Napi::RangeError::New(env, "start: as many UDP as TUN fds, 1.." + std::to_string(nLanes_ - 1));
  }
  if (running_ > 0) throw Napi::Error::New(env, "start: already running");
  if (lanes_[0]->udpFd < 0 || lanes_[0]->tunFd < 0) throw Napi::Error::New(env, "start: attach the UDP and TUN ports first");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) throw Napi::Error::New(env, "cannot get the libuv loop");
  for (size_t i = 0; i < tun.size(); i++) {
    if (QueueOp(tun[i], IFF_ATTACH_QUEUE) < 0 && errno != EINVAL) throw Napi::Error::New(env, std::string("TUNSETQUEUE attach: ") + strerror(errno));
  }
  async_ = new uv_async_t;
  uv_async_init(loop, async_, &FastPath::OnAsync);
  async_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(async_));
  uint32_t n = static_cast<uint32_t>(udp.size());
  udpSteering_ = SteerUdp(lanes_[0]->udpFd, n) ? "cbpf-session" : std::string("kernel-hash (") + strerror(errno) + ")";
  tunSteerProg_ = LoadTunSteering(n);
  if (tunSteerProg_ >= 0 && ioctl(lanes_[0]->tunFd, TUNSETSTEERINGEBPF, &tunSteerProg_) == 0) {
    tunSteering_ = "ebpf-destination";
  } else {
    tunSteering_ = std::string("automq (") + strerror(errno) + ")";
    if (tunSteerProg_ >= 0) close(tunSteerProg_);
    tunSteerProg_ = -1;
  }
  stop_ = false;
  tunIo_ = TunIoWanted();
  for (uint32_t i = 0; i < n; i++) {
    FastLane& L = *lanes_[i + 1];
    std::string why;
    if (tunIo_.compare(0, 7, "syscall") != 0 && (L.tb = TunBatch::Open(tun[i], &why)) == nullptr) tunIo_ = "syscall (" + why + ")";
    if (L.tb != nullptr) L.tb->reads = tunIo_ == "io_uring";
    if (tunIo_.compare(0, 7, "syscall") == 0) L.tb.reset();
    if (strcmp(UdpGsoWanted(), "on") == 0) L.gso.reset(new GsoBatch());
    L.udpFd = udp[i];
    L.tunFd = tun[i];
    L.queued = 0;
    L.stopFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    L.rx.resize(static_cast<size_t>(kBatch) * kUdpStride);
    L.tx.resize(static_cast<size_t>(kBatch) * 2048 + kTunMax);
    L.rmm.resize(kBatch);
    L.riov.resize(kBatch);
    L.raddr.resize(kBatch);
    if (!L.ka) L.ka.reset(new KaWheel());
  }
  for (uint32_t i = 0; tunIo_.compare(0, 7, "syscall") == 0 && i < n; i++) lanes_[i + 1]->tb.reset();  // all lanes one way
  running_ = static_cast<int>(n);
  for (uint32_t i = 0; i < n; i++) {
    FastLane* L = lanes_[i + 1].get();
    L->thread = std::thread([this, L] { Worker(L); });
  }
  return Napi::Number::New(env, n);
}

void FastPath::StopThreads() {
  if (running_ == 0) return;
  stop_ = true;
  for (int i = 1; i <= running_; i++) {
    FastLane& L = *lanes_[i];
    uint64_t one = 1;
    if (write(L.stopFd, &one, sizeof(one)) < 0) { /* the flag is checked every batch anyway */ }
  }
  for (int i = 1; i <= running_; i++) {
    FastLane& L = *lanes_[i];
    if (L.thread.joinable()) L.thread.join();
    L.tb.reset();  // its registered file holds the TUN queue
    L.gso.reset();
    close(L.stopFd);
    close(L.udpFd);  // the reuseport group shrinks back to the JS socket
    close(L.tunFd);  // the TUN queue goes
    L.stopFd = L.udpFd = L.tunFd = -1;
    L.queued = 0;
  }
  running_ = 0;
  if (lanes_[0]->udpFd >= 0) setsockopt(lanes_[0]->udpFd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, nullptr, 0);
  if (tunSteerProg_ >= 0) {
    int none = -1;
    if (lanes_[0]->tunFd >= 0) ioctl(lanes_[0]->tunFd, TUNSETSTEERINGEBPF, &none);
    close(tunSteerProg_);
    tunSteerProg_ = -1;
  }
  udpSteering_ = tunSteering_ = tunIo_ = "none";
  if (async_ != nullptr) {
    async_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
    async_ = nullptr;
  }
  std::lock_guard<std::mutex> g(handMu_);
  handed_[0].clear();
  handed_[1].clear();
}

void FastPath::Worker(FastLane* L) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev = {};
  ev.events = EPOLLIN;
  ev.data.u32 = 0;
  epoll_ctl(ep, EPOLL_CTL_ADD, L->udpFd, &ev);
  ev.data.u32 = 1;
  epoll_ctl(ep, EPOLL_CTL_ADD, L->tunFd, &ev);
  ev.data.u32 = 2;
  epoll_ctl(ep, EPOLL_CTL_ADD, L->stopFd, &ev);
  bool udpReady = true, tunReady = true;
  while (!stop_.load(std::memory_order_relaxed)) {
    // Drain both until each returned a partial batch, then sleep in epoll.
    while ((udpReady || tunReady) && !stop_.load(std::memory_order_relaxed)) {
      if (udpReady) UdpBatch(*L, &udpReady);
      if (tunReady) L->tb != nullptr && L->tb->reads ? TunBatchRing(*L, &tunReady) : TunBatch(*L, &tunReady);
    }
    int timeout = KaTick(*L);  // offloaded LCP keepalives due (keepalive.cc): at most until the next 100 ms slot
    epoll_event evs[3];
    int n = epoll_wait(ep, evs, 3, timeout);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u32 == 0) udpReady = true;
      if (evs[i].data.u32 == 1) tunReady = true;
    }
  }
  close(ep);
}

void FastPath::UdpBatch(FastLane& L, bool* more) {
  for (uint32_t i = 0; i < kBatch; i++) {
    L.riov[i].iov_base = L.rx.data() + static_cast<size_t>(i) * kUdpStride;
    L.riov[i].iov_len = kUdpSlot;
    memset(&L.rmm[i], 0, sizeof(L.rmm[i]));
    L.rmm[i].msg_hdr.msg_iov = &L.riov[i];
    L.rmm[i].msg_hdr.msg_iovlen = 1;
    L.rmm[i].msg_hdr.msg_name = &L.raddr[i];
    L.rmm[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
  }
  int r;
  do {
    r = recvmmsg(L.udpFd, L.rmm.data(), kBatch, MSG_DONTWAIT, nullptr);
  } while (r < 0 && errno == EINTR);
  *more = r == static_cast<int>(kBatch);
  if (r <= 0) return;
  bool handed = false;
  {
    std::lock_guard<std::mutex> g(L.mu);
    for (int i = 0; i < r; i++) {
      if ((L.rmm[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) continue;  // as the JS socket: dropped
      uint8_t* p = L.rx.data() + static_cast<size_t>(i) * kUdpStride;
      uint32_t src = ntohl(L.raddr[i].sin_addr.s_addr);
      uint16_t sport = ntohs(L.raddr[i].sin_port);
      if (Decap(L, p, L.rmm[i].msg_len, src, sport)) continue;
      Hand(kFastRoleUdp, p, L.rmm[i].msg_len, src, sport, L.st);
      handed = true;
    }
    if (L.ka && L.ka->queued > 0) KaFlush(L);  // answers to the peers' Echo-Requests
    if (L.tb != nullptr) FlushTunWrites(L);
  }
  if (handed) WakeJs();
}

void FastPath::TunBatch(FastLane& L, bool* more) {
  uint32_t off = 0, reads = 0;
  bool handed = false;
  *more = false;
  std::lock_guard<std::mutex> g(L.mu);
  uint32_t size = static_cast<uint32_t>(L.tx.size());
  while (reads < kBatch && size - off >= kTunMax) {
    ssize_t r = read(L.tunFd, L.tx.data() + off, kTunMax);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN: drained
    }
    reads++;
    uint8_t* p = L.tx.data() + off;
    if (!Encap(L, p, static_cast<uint32_t>(r))) {
      Hand(kFastRoleTun, p, static_cast<uint32_t>(r), 0, 0, L.st);
      handed = true;
    }
    off += (static_cast<uint32_t>(r) + 7u) & ~7u;
  }
  *more = reads == kBatch || size - off < kTunMax;
  FlushLane(L);
  if (handed) WakeJs();
}

void FastPath::Hand(int role, const uint8_t* p, uint32_t len, uint32_t addr, uint16_t port, LaneStats* st) {
  std::lock_guard<std::mutex> g(handMu_);
  if (handed_[role].size() >= kHandMax) {
    st->handoffDrops.Add();
    return;
  }
  handed_[role].push_back(HandedPacket{std::vector<uint8_t>(p, p + len), addr, port});
}

void FastPath::WakeJs() {
  if (asyncPending_.exchange(true)) return;
  uv_async_t* a = async_;
  if (a != nullptr) uv_async_send(a);
}

void FastPath::OnAsync(uv_async_t* a) {
  auto* self = static_cast<FastPath*>(a->data);
  if (self == nullptr) return;
  self->asyncPending_ = false;
  for (int role = 0; role < 2; role++) {
    if (self->hooks_[role] != nullptr) self->hooks_[role]->FastWake();
  }
  self->KaDeliver();  // keepalive offload: sessions whose echoes went unanswered
}

uint32_t FastPath::PopHanded(int role, uint8_t* slab, uint32_t slabSize, uint32_t maxPackets, uint32_t* meta) {
  std::lock_guard<std::mutex> g(handMu_);
  std::deque<HandedPacket>& q = handed_[role];
  uint32_t n = 0, off = 0;
  while (!q.empty() && n < maxPackets) {
    HandedPacket& h = q.front();
    uint32_t len = static_cast<uint32_t>(h.bytes.size());
    if (len > slabSize - off) {
      if (n == 0) q.pop_front();  // cannot fit any slab: dropped (not possible with the JS ports' sizes)
      break;
    }
    memcpy(slab + off, h.bytes.data(), len);
    uint32_t* m = meta + n * 4;
    m[0] = off;
    m[1] = len;
    m[2] = h.addr;
    m[3] = h.port;
    off = (off + len + 7u) & ~7u;
    n++;
    q.pop_front();
    if (off > slabSize) break;
  }
  if (!q.empty()) WakeJs();  // the rest next turn
  return n;
}

}  // namespace l2tpkit

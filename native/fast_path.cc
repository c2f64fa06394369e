// The L2TPv2 data fast path: IPv4 and IPv6 data of established sessions moves between the L2TP UDP
// socket and the TUN inside the addon, without a JS call per packet. JS (src/io/fast-path.ts) keeps full
// authority: it installs a session when IPCP is up (add; again with the /64 at IPV6CP up), removes it
// when it goes down (remove) and reads the counters on scrape (take = deltas since the last take,
// counters = totals). The PacketPorts of the UDP socket and of the TUN offer each received packet here
// first (OnUdp / OnTun); with data threads (fast_threads.cc) their own sockets and TUN queues do the
// same. What is not consumed reaches JS unchanged: control messages, sequenced or offset data (RFC 2661
// §3.1/§5.4), unknown sessions, a source other than the installed peer, PPP frames other than IPv4 /
// IPv6 (LCP, auth, NCPs), IP from a source other than the session's address or /64 (Framed-Route
// extras, link-local ND, spoofing: JS judges), and packets toward the client above its MTU (ICMP /
// fragments in JS).
// No allocation per packet: a received L2TP payload is written to the TUN from the receive slot; a TUN
// packet is sent with sendmmsg() as two iovecs (the session's prebuilt header + the packet in the slab).
// The per-packet work is Decap (L2TP -> TUN) and Encap (TUN -> L2TP) on a lane (one data thread's
// queue and counters): the place to hook another encapsulation.

#include "be.h"
#include "fast_path.h"

#include <arpa/inet.h>
#include <algorithm>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

namespace l2tpkit {

namespace {

using be::Get16;
using be::Get32;
using be::Get64;
inline uint32_t CsumAdd(uint32_t a, uint32_t b) {
  uint32_t s = a + b;
  return (s & 0xffff) + (s >> 16);
}

// TCP MSS clamp on a SYN whose TCP header starts at `tcp` and whose IP payload ends at `end`, as
// src/dataplane/mss.ts clampMss (RFC 1624 incremental checksum; the pseudo header does not change).
bool ClampTcp(uint8_t* b, uint32_t tcp, uint32_t end, uint32_t maxMss) {
  if (end < tcp + 20) return false;
  if ((b[tcp + 13] & 0x02) == 0) return false;  // SYN only
  uint32_t dataOff = (b[tcp + 12] >> 4) * 4u;
  if (dataOff < 20 || tcp + dataOff > end) return false;
  uint32_t p = tcp + 20, optEnd = tcp + dataOff;
  while (p < optEnd) {
    uint8_t kind = b[p];
    if (kind == 0) return false;
    if (kind == 1) {
      p++;
      continue;
    }
    if (p + 1 >= optEnd) return false;
    uint32_t olen = b[p + 1];
    if (olen < 2 || p + olen > optEnd) return false;
    if (kind == 2 && olen == 4) {
      uint32_t mss = Get16(b + p + 2);
      if (mss <= maxMss) return false;
      b[p + 2] = static_cast<uint8_t>(maxMss >> 8);
      b[p + 3] = static_cast<uint8_t>(maxMss);
      uint32_t hc = Get16(b + tcp + 16);
      uint32_t s = CsumAdd(~hc & 0xffff, ~mss & 0xffff);
      s = CsumAdd(s, maxMss & 0xffff);
      uint32_t nc = ~s & 0xffff;
      b[tcp + 16] = static_cast<uint8_t>(nc >> 8);
      b[tcp + 17] = static_cast<uint8_t>(nc);
      return true;
    }
    p += olen;
  }
  return false;
}

// IPv4 (RFC 791): TCP, first fragment only.
bool ClampMss4(uint8_t* b, uint32_t len, uint32_t maxMss) {
  uint32_t ihl = (b[0] & 0x0f) * 4u;
  if (ihl < 20 || len < ihl + 20 || b[9] != 6) return false;
  if ((((b[6] & 0x1f) << 8) | b[7]) != 0) return false;
  uint32_t total = Get16(b + 2);
  return ClampTcp(b, ihl, total < len ? total : len, maxMss);
}

// IPv6 (RFC 8200 §3): TCP directly after the fixed header (extension headers: not clamped, as mss.ts).
bool ClampMss6(uint8_t* b, uint32_t len, uint32_t maxMss) {
  if (len < 60 || b[6] != 6) return false;
  uint32_t end = 40 + Get16(b + 4);
  return ClampTcp(b, 40, end < len ? end : len, maxMss);
}

inline uint32_t Key(uint32_t tunnel, uint32_t session) { return (tunnel << 16) | session; }

uint32_t U32Arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a number argument");
  return info[i].As<Napi::Number>().Uint32Value();
}

/** Totals of one session over every lane, in SessionCounters field order. */
void SumCounters(const FastSession& s, int lanes, uint64_t out[kSessionCounterFields]) {
  for (int f = 0; f < kSessionCounterFields; f++) out[f] = 0;
  for (int l = 0; l < lanes; l++) {
    const SessionCounters& c = s.ctr[l];
    const Ctr* fields[kSessionCounterFields] = {&c.rxPackets, &c.rxOctets, &c.txPackets, &c.txOctets, &c.badSource, &c.tooBig, &c.toJs, &c.tunWriteErrors, &c.sendErrors};
    for (int f = 0; f < kSessionCounterFields; f++) out[f] += fields[f]->Get();
  }
}

/** [rxPackets, rxOctets, txPackets, txOctets] since the last take; moves the baseline. */
Napi::Value TakeArray(Napi::Env env, FastSession& s, int lanes) {
  uint64_t t[kSessionCounterFields];
  SumCounters(s, lanes, t);
  Napi::Array a = Napi::Array::New(env, 4);
  for (uint32_t i = 0; i < 4; i++) {
    a.Set(i, Napi::Number::New(env, static_cast<double>(t[i] - s.taken[i])));
    s.taken[i] = t[i];
  }
  return a;
}

}  // namespace

Napi::Function FastPath::Init(Napi::Env env) {
  std::vector<Napi::ClassPropertyDescriptor<FastPath>> props = {
                         InstanceMethod<&FastPath::Add>("add"),
                         InstanceMethod<&FastPath::Remove>("remove"),
                         InstanceMethod<&FastPath::Take>("take"),
                         InstanceMethod<&FastPath::Counters>("counters"),
                         InstanceMethod<&FastPath::Sessions>("sessions"),
                         InstanceMethod<&FastPath::TakeAll>("takeAll"),
                         InstanceMethod<&FastPath::TunnelSums>("tunnelSums"),
                         InstanceMethod<&FastPath::TableBuckets>("tableBuckets"),
                         InstanceMethod<&FastPath::Stats>("stats"),
                         InstanceMethod<&FastPath::Size>("size"),
                         InstanceMethod<&FastPath::Clear>("clear"),
                         InstanceMethod<&FastPath::Start>("start"),
                         InstanceMethod<&FastPath::StopJs>("stop"),
  };
  AddEspMethods(props);
  AddKaMethods(props);
  return DefineClass(env, "FastPath", props);
}

const napi_type_tag kFastPathTag = {0x6c3274706b697466ULL, 0x6173747061746821ULL};

bool IsFastPath(Napi::Env env, Napi::Object o) {
  bool is = false;
  return napi_check_object_type_tag(env, o, &kFastPathTag, &is) == napi_ok && is;
}

// new FastPath(threads = 0): threads = the most data threads start() may run (sizes the counters)
FastPath::FastPath(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FastPath>(info) {
  napi_type_tag_object(info.Env(), info.This(), &kFastPathTag);
  uint32_t threads = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
  if (threads > kMaxFastThreads) throw Napi::RangeError::New(info.Env(), "threads must be 0..16");
  nLanes_ = 1 + static_cast<int>(threads);
  stats_.reset(new LaneStats[nLanes_]);
  for (int i = 0; i < nLanes_; i++) {
    lanes_.emplace_back(new FastLane());
    lanes_.back()->index = i;
    lanes_.back()->st = &stats_[i];
  }
  byId_.reserve(1024);
  byAddr_.reserve(1024);
}

FastPath::~FastPath() {
  StopThreads();
  for (auto& kv : byId_) {
    KaDrop(kv.second);
    delete kv.second;
  }
}

void FastPath::BindFd(int role, int fd, FastPortHook* hook) {
  if (role == kFastRoleEsp) return BindEspFd(fd);
  FastLane& L = *lanes_[0];
  if (role == kFastRoleUdp) L.udpFd = fd;
  if (role == kFastRoleTun) L.tunFd = fd;
  if (role == kFastRoleUdp || role == kFastRoleTun) hooks_[role] = fd < 0 ? nullptr : hook;
  if (fd < 0) {
    L.queued = 0;
    StopThreads();  // the data threads need both ports' JS side for what they hand over
  }
}

bool FastPath::Decap(FastLane& L, uint8_t* p, uint32_t len, uint32_t srcAddrHost, uint16_t srcPortHost) {
  FastSession* s = nullptr;
  uint32_t off = 2;
  uint8_t* ip;
  uint32_t ipLen;
  bool v6;
  if (L.tunFd < 0 || len < 6) goto toJs;
  {
    uint16_t flags = Get16(p);
    // RFC 2661 §3.1: T=0 (data), Ver=2; S (sequenced) and O (offset) are JS's (Ns check, offset bound).
    if ((flags & 0x8000) != 0 || (flags & 0x000f) != 2 || (flags & 0x0a00) != 0) goto toJs;
    if ((flags & 0x4000) != 0) {
      if (len < 8 || Get16(p + 2) != len) goto toJs;
      off = 4;
    }
    auto it = byId_.find(Key(Get16(p + off), Get16(p + off + 2)));
    if (it == byId_.end()) goto toJs;
    s = it->second;
  }
  if (htonl(srcAddrHost) != s->peerAddr || htons(srcPortHost) != s->peerPort) goto toJsOf;
  if (!EspFlowMatches(L, s)) goto toJsOf;  // an IPsec session's data only inside its own flow (esp.cc)
  off += 4;
  if (s->ka != nullptr && KaReceive(L, s, p + off, len - off)) return true;  // LCP Echo of an offloaded keepalive (keepalive.cc)
  // PPP (RFC 1662 §3.2 address/control, optional with ACFC; RFC 1661 §6.5 PFC): IPv4 0x0021, IPv6 0x0057.
  if (off + 2 <= len && p[off] == 0xff && p[off + 1] == 0x03) off += 2;
  if (off >= len) goto toJsOf;
  {
    uint16_t proto;
    if ((p[off] & 1) != 0) {
      proto = p[off];
      off += 1;
    } else {
      if (off + 1 >= len) goto toJsOf;
      proto = Get16(p + off);
      off += 2;
    }
    if (proto != 0x21 && proto != 0x57) goto toJsOf;
    v6 = proto == 0x57;
  }
  ip = p + off;
  ipLen = len - off;
  if (!v6) {
    if (ipLen < 20 || (ip[0] >> 4) != 4 || s->clientAddr == 0) goto toJsOf;
    if (Get32(ip + 12) != s->clientAddr) goto badSource;  // BCP 38 and Framed-Route extras: JS judges
    if (s->mss != 0 && ClampMss4(ip, ipLen, s->mss)) L.st->mssClamped.Add();
  } else {
    // RFC 5072: the session's /64 only (link-local ND and router solicitations are JS's).
    if (ipLen < 40 || (ip[0] >> 4) != 6 || !s->has6) goto toJsOf;
    if (Get64(ip + 8) != s->prefix64) goto badSource;
    if (s->mss6 != 0 && ClampMss6(ip, ipLen, s->mss6)) L.st->mssClamped.Add();
  }
  {
    SessionCounters& c = s->ctr[L.index];
    L.st->udpFast.Add();
    if (L.tb != nullptr) {  // written (and counted) with the rest of the batch: FlushTunWrites
      if (!L.tb->QueueWrite(s, ip, ipLen)) {
        FlushTunWrites(L);
        L.tb->QueueWrite(s, ip, ipLen);
      }
      return true;
    }
    ssize_t r;
    do {
      r = write(L.tunFd, ip, ipLen);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      L.st->tunWriteErrors.Add();
      c.tunWriteErrors.Add();
      return true;
    }
    c.rxPackets.Add();
    c.rxOctets.Add(ipLen);
    return true;
  }
badSource:
  L.st->badSource.Add();
  s->ctr[L.index].badSource.Add();
  goto toJs;
toJsOf:
  s->ctr[L.index].toJs.Add();
toJs:
  L.st->udpToJs.Add();
  return false;
}

FastSession* FastPath::ByDestination(const uint8_t* p, uint32_t len, bool* v6) {
  uint8_t ver = p[0] >> 4;
  *v6 = ver == 6;
  if (ver == 4 && len >= 20) {
    auto it = byAddr_.find(Get32(p + 16));
    return it == byAddr_.end() ? nullptr : it->second;
  }
  if (ver == 6 && len >= 40 && !byPrefix_.empty()) {
    auto it = byPrefix_.find(Get64(p + 24));
    return it == byPrefix_.end() ? nullptr : it->second;
  }
  return nullptr;
}

bool FastPath::Encap(FastLane& L, uint8_t* p, uint32_t len) {
  bool v6 = false;
  FastSession* s = L.udpFd < 0 || len < 20 ? nullptr : ByDestination(p, len, &v6);
  if (s == nullptr) {
    L.st->tunToJs.Add();
    return false;
  }
  if (len > s->mtu) {
    L.st->tooBig.Add();
    s->ctr[L.index].tooBig.Add();
    L.st->tunToJs.Add();
    return false;  // ICMP "fragmentation needed" / Packet Too Big, or fragments: src/dataplane/too-big.ts
  }
  if (!v6 && s->mss != 0 && ClampMss4(p, len, s->mss)) L.st->mssClamped.Add();
  if (v6 && s->mss6 != 0 && ClampMss6(p, len, s->mss6)) L.st->mssClamped.Add();
  if (s->esp != nullptr) {
    if (EspEncap(L, s, p, len, v6)) return true;
    L.st->tunToJs.Add();
    return false;
  }
  if (L.queued == FastLane::kQueue) FlushLane(L);
  int q = L.queued++;
  L.iov[q][0].iov_base = v6 ? s->hdr6 : s->hdr;
  L.iov[q][0].iov_len = s->hdrLen;
  L.iov[q][1].iov_base = p;
  L.iov[q][1].iov_len = len;
  L.qs[q] = s;
  mmsghdr& m = L.mm[q];
  memset(&m, 0, sizeof(m));
  m.msg_hdr.msg_iov = L.iov[q];
  m.msg_hdr.msg_iovlen = 2;
  m.msg_hdr.msg_name = &s->dst;
  m.msg_hdr.msg_namelen = sizeof(s->dst);
  L.st->tunFast.Add();
  return true;
}

void FastPath::FlushLane(FastLane& L) {
  int i = L.gso != nullptr && L.queued > 1 ? GsoSend(L) : 0;  // runs of one session's datagrams as GSO (udp_gso.cc)
  while (i < L.queued && L.udpFd >= 0) {
    int r = sendmmsg(L.udpFd, L.mm + i, static_cast<unsigned>(L.queued - i), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      int k = (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) ? L.queued - i : 1;
      for (int j = i; j < i + k; j++) L.qs[j]->ctr[L.index].sendErrors.Add();
      L.st->sendErrors.Add(static_cast<uint64_t>(k));
      i += k;  // a full queue drops the rest of the batch; another error skips the datagram refused
      continue;
    }
    for (int j = i; j < i + r; j++) {
      SessionCounters& c = L.qs[j]->ctr[L.index];
      c.txPackets.Add();
      c.txOctets.Add(L.iov[j][1].iov_len);
    }
    i += r;
  }
  L.queued = 0;
  EspFlush(L);
}

std::vector<std::unique_lock<std::mutex>> FastPath::LockLanes() {
  std::vector<std::unique_lock<std::mutex>> locks;
  if (running_ == 0) return locks;
  for (int i = 1; i < nLanes_; i++) locks.emplace_back(lanes_[i]->mu);
  return locks;
}

void FastPath::Erase(FastSession* s) {
  byId_.erase(Key(s->tunnel, s->session));
  auto a = byAddr_.find(s->clientAddr);
  if (a != byAddr_.end() && a->second == s) byAddr_.erase(a);
  auto p = byPrefix_.find(s->prefix64);
  if (s->has6 && p != byPrefix_.end() && p->second == s) byPrefix_.erase(p);
  KaDrop(s);
  delete s;
}

// add(tunnel, session, peerAddr (host order), peerPort, clientAddr (host order, 0 = none), mtu, mss,
//     header: Uint8Array, prefixHi?, prefixLo? (the /64, host order), mss6?)
// An entry with the same ids is updated in place (its counters stay); another owner of the address
// or the /64 goes.
Napi::Value FastPath::Add(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8 || !info[7].IsTypedArray()) throw Napi::TypeError::New(env, "add(tunnel, session, peerAddr, peerPort, clientAddr, mtu, mss, header, prefixHi?, prefixLo?, mss6?)");
  Napi::Uint8Array h = info[7].As<Napi::Uint8Array>();
  if (h.ElementLength() < 7 || h.ElementLength() > sizeof(FastSession::hdr)) throw Napi::RangeError::New(env, "header must be 7..16 bytes");
  uint32_t tunnel = U32Arg(info, 0), session = U32Arg(info, 1), client = U32Arg(info, 4);
  if (tunnel > 0xffff || session > 0xffff) throw Napi::RangeError::New(env, "tunnel/session ids are 16-bit");
  bool has6 = info.Length() > 9 && info[8].IsNumber() && info[9].IsNumber();
  uint64_t prefix = has6 ? (static_cast<uint64_t>(U32Arg(info, 8)) << 32) | U32Arg(info, 9) : 0;
  uint32_t mss6 = info.Length() > 10 && info[10].IsNumber() ? U32Arg(info, 10) : 0;
  EspFlow* espBind = TakeEspBind();
  auto locks = LockLanes();
  FastSession* s;
  auto old = byId_.find(Key(tunnel, session));
  if (old != byId_.end()) {
    s = old->second;
    if (byAddr_.count(s->clientAddr) != 0 && byAddr_[s->clientAddr] == s) byAddr_.erase(s->clientAddr);
    if (s->has6 && byPrefix_.count(s->prefix64) != 0 && byPrefix_[s->prefix64] == s) byPrefix_.erase(s->prefix64);
  } else {
    s = new FastSession();
    s->ctr.reset(new SessionCounters[nLanes_]);
    s->tunnel = static_cast<uint16_t>(tunnel);
    s->session = static_cast<uint16_t>(session);
  }
  auto owner = client == 0 ? byAddr_.end() : byAddr_.find(client);
  if (owner != byAddr_.end() && owner->second != s) Erase(owner->second);
  auto owner6 = has6 ? byPrefix_.find(prefix) : byPrefix_.end();
  if (owner6 != byPrefix_.end() && owner6->second != s) Erase(owner6->second);
  s->peerAddr = htonl(U32Arg(info, 2));
  s->peerPort = htons(static_cast<uint16_t>(U32Arg(info, 3)));
  s->clientAddr = client;
  s->has6 = has6;
  s->prefix64 = prefix;
  s->mtu = U32Arg(info, 5);
  s->mss = U32Arg(info, 6);
  s->mss6 = mss6;
  if (espBind != nullptr) s->esp = espBind;
  memcpy(s->hdr, h.Data(), h.ElementLength());
  memcpy(s->hdr6, h.Data(), h.ElementLength());
  s->hdrLen = static_cast<uint32_t>(h.ElementLength());
  s->hdr6[s->hdrLen - 1] = 0x57;  // RFC 5072 §3: the PPP protocol 0x0057 (the last byte either way, PFC or not)
  s->dst.sin_family = AF_INET;
  s->dst.sin_addr.s_addr = s->peerAddr;
  s->dst.sin_port = s->peerPort;
  byId_[Key(tunnel, session)] = s;
  if (client != 0) byAddr_[client] = s;
  if (has6) byPrefix_[prefix] = s;
  return Napi::Boolean::New(env, true);
}

// remove(tunnel, session): [rxPackets, rxOctets, txPackets, txOctets] since the last take, or undefined
Napi::Value FastPath::Remove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = byId_.find(Key(U32Arg(info, 0), U32Arg(info, 1)));
  if (it == byId_.end()) return env.Undefined();
  auto locks = LockLanes();
  Napi::Value out = TakeArray(env, *it->second, nLanes_);
  Erase(it->second);
  return out;
}

// take(tunnel, session): the counters since the last take, or undefined
Napi::Value FastPath::Take(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = byId_.find(Key(U32Arg(info, 0), U32Arg(info, 1)));
  if (it == byId_.end()) return env.Undefined();
  return TakeArray(env, *it->second, nLanes_);
}

// counters(tunnel, session): the totals since install over every thread, in SessionCounters order
// [rxPackets, rxOctets, txPackets, txOctets, badSource, tooBig, toJs, tunWriteErrors, sendErrors], or undefined
Napi::Value FastPath::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = byId_.find(Key(U32Arg(info, 0), U32Arg(info, 1)));
  if (it == byId_.end()) return env.Undefined();
  uint64_t t[kSessionCounterFields];
  SumCounters(*it->second, nLanes_, t);
  Napi::Array a = Napi::Array::New(env, kSessionCounterFields);
  for (uint32_t i = 0; i < kSessionCounterFields; i++) a.Set(i, Napi::Number::New(env, static_cast<double>(t[i])));
  return a;
}

// sessions(): Float64Array of (2 + 9) numbers per session: tunnel, session, then counters() of it
Napi::Value FastPath::Sessions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  constexpr size_t kRow = 2 + kSessionCounterFields;
  Napi::Float64Array a = Napi::Float64Array::New(env, byId_.size() * kRow);
  size_t r = 0;
  for (auto& kv : byId_) {
    uint64_t t[kSessionCounterFields];
    SumCounters(*kv.second, nLanes_, t);
    a[r * kRow] = kv.second->tunnel;
    a[r * kRow + 1] = kv.second->session;
    for (size_t f = 0; f < kSessionCounterFields; f++) a[r * kRow + 2 + f] = static_cast<double>(t[f]);
    r++;
  }
  return a;
}

// w15b (issue 15, metrics scrapes at 100k sessions). Both walk the session table, all of it or, with
// (fromBucket, buckets), only those hash buckets, so JS can spread one pass over several event-loop turns
// (tableBuckets() tells how many there are; a change between slices means the table rehashed).
namespace {
template <typename F>
void EachSession(std::unordered_map<uint32_t, FastSession*>& byId, const Napi::CallbackInfo& info, F f) {
  if (info.Length() < 2) {
    for (auto& kv : byId) f(*kv.second);
    return;
  }
  const size_t n = byId.bucket_count();
  const size_t from = U32Arg(info, 0);
  const size_t to = std::min(n, from + static_cast<size_t>(U32Arg(info, 1)));
  for (size_t b = from; b < to; b++)
    for (auto it = byId.begin(b); it != byId.end(b); ++it) f(*it->second);
}

Napi::Float64Array ToArray(Napi::Env env, const std::vector<double>& rows) {
  Napi::Float64Array a = Napi::Float64Array::New(env, rows.size());
  if (!rows.empty()) memcpy(a.Data(), rows.data(), rows.size() * sizeof(double));
  return a;
}
}  // namespace

// tableBuckets(): the session table's hash bucket count (the range of takeAll / tunnelSums slices).
Napi::Value FastPath::TableBuckets(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(byId_.bucket_count()));
}

// takeAll([fromBucket, buckets]): take() of every session in one call (not one call per session).
// Float64Array of 6 numbers per session whose counters moved since its last take: tunnel, session,
// rxPackets, rxOctets, txPackets, txOctets (the deltas); their baselines move.
Napi::Value FastPath::TakeAll(const Napi::CallbackInfo& info) {
  std::vector<double> rows;
  EachSession(byId_, info, [&](FastSession& s) {
    uint64_t t[4] = {};  // only the four take() fields: the first cache line of each lane's counters
    for (int l = 0; l < nLanes_; l++) {
      const SessionCounters& c = s.ctr[l];
      t[0] += c.rxPackets.Get();
      t[1] += c.rxOctets.Get();
      t[2] += c.txPackets.Get();
      t[3] += c.txOctets.Get();
    }
    if (t[0] == s.taken[0] && t[1] == s.taken[1] && t[2] == s.taken[2] && t[3] == s.taken[3]) return;
    rows.push_back(s.tunnel);
    rows.push_back(s.session);
    for (size_t i = 0; i < 4; i++) {
      rows.push_back(static_cast<double>(t[i] - s.taken[i]));
      s.taken[i] = t[i];
    }
  });
  return ToArray(info.Env(), rows);
}

// tunnelSums([fromBucket, buckets]): sessions() summed per tunnel, tunnels in the order sessions() first
// gives them: Float64Array of (1 + 9) numbers per tunnel: tunnel, then the counters() fields summed over
// its sessions (a few hundred rows at 100k sessions, not an 8.8 MB array of every session).
Napi::Value FastPath::TunnelSums(const Napi::CallbackInfo& info) {
  std::vector<double> rows;
  std::unordered_map<uint32_t, size_t> at;  // tunnel -> its row
  EachSession(byId_, info, [&](FastSession& s) {
    auto it = at.find(s.tunnel);
    if (it == at.end()) {
      it = at.emplace(s.tunnel, rows.size()).first;
      rows.push_back(s.tunnel);
      rows.resize(rows.size() + kSessionCounterFields, 0);
    }
    uint64_t t[kSessionCounterFields];
    SumCounters(s, nLanes_, t);
    for (size_t f = 0; f < kSessionCounterFields; f++) rows[it->second + 1 + f] += static_cast<double>(t[f]);
  });
  return ToArray(info.Env(), rows);
}

Napi::Value FastPath::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const char* names[] = {"udpFast", "udpToJs", "tunFast", "tunToJs", "tunWriteErrors", "sendErrors", "mssClamped", "badSource", "tooBig", "handoffDrops"};
  constexpr int kN = 10;
  Napi::Array per = Napi::Array::New(env, running_ + 1);
  double sum[kN] = {};
  for (int l = 0; l < nLanes_; l++) {
    const LaneStats& s = stats_[l];
    const Ctr* f[kN] = {&s.udpFast, &s.udpToJs, &s.tunFast, &s.tunToJs, &s.tunWriteErrors, &s.sendErrors, &s.mssClamped, &s.badSource, &s.tooBig, &s.handoffDrops};
    Napi::Object t = Napi::Object::New(env);
    for (int i = 0; i < kN; i++) {
      sum[i] += static_cast<double>(f[i]->Get());
      t.Set(names[i], Napi::Number::New(env, static_cast<double>(f[i]->Get())));
    }
    if (l <= running_) per.Set(static_cast<uint32_t>(l), t);
  }
  o.Set("sessions", Napi::Number::New(env, static_cast<double>(byId_.size())));
  for (int i = 0; i < kN; i++) o.Set(names[i], Napi::Number::New(env, sum[i]));
  o.Set("threads", Napi::Number::New(env, running_));
  o.Set("perThread", per);
  o.Set("udpSteering", Napi::String::New(env, udpSteering_));
  o.Set("tunSteering", Napi::String::New(env, tunSteering_));
  o.Set("tunIo", Napi::String::New(env, tunIo_));
  TunIoStats(o);
  return o;
}

Napi::Value FastPath::Size(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(byId_.size()));
}

void FastPath::Clear(const Napi::CallbackInfo&) {
  EspClear();
  auto locks = LockLanes();
  for (auto& kv : byId_) {
    KaDrop(kv.second);
    delete kv.second;
  }
  byId_.clear();
  byAddr_.clear();
  byPrefix_.clear();
}

}  // namespace l2tpkit

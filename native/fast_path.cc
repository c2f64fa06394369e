// The L2TPv2 data fast path: IPv4 data of established sessions moves between the L2TP UDP socket and
// the TUN inside the addon, without a JS call per packet. JS (src/io/fast-path.ts) keeps full authority:
// it installs a session when IPCP is up (add), removes it when it goes down (remove) and reads the
// counters on scrape (take = deltas since the last take). The PacketPorts of the UDP socket and of the
// TUN offer each received packet here first (OnUdp / OnTun); what is not consumed reaches JS unchanged
// in the usual batch: control messages, sequenced or offset data (RFC 2661 §3.1/§5.4), unknown
// sessions, a source other than the installed peer, PPP frames other than IPv4 (LCP, auth, NCPs,
// IPv6), IPv4 from a source other than the session's address (Framed-Route extras, spoofing: JS
// judges), and packets toward the client above its MTU (ICMP / fragments in JS).
// No allocation per packet: a received L2TP payload is written to the TUN from the receive slot; a TUN
// packet is sent with sendmmsg() as two iovecs (the session's prebuilt header + the packet in the slab).

#include "fast_path.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

namespace l2tpkit {

namespace {

inline uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t Get32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) | (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
inline uint32_t CsumAdd(uint32_t a, uint32_t b) {
  uint32_t s = a + b;
  return (s & 0xffff) + (s >> 16);
}

// TCP MSS clamp on an IPv4 SYN, as src/dataplane/mss.ts clampMss (RFC 1624 incremental checksum).
bool ClampMss4(uint8_t* b, uint32_t len, uint32_t maxMss) {
  uint32_t ihl = (b[0] & 0x0f) * 4u;
  if (ihl < 20 || len < ihl + 20 || b[9] != 6) return false;
  if ((((b[6] & 0x1f) << 8) | b[7]) != 0) return false;  // not the first fragment
  uint32_t total = Get16(b + 2);
  uint32_t end = total < len ? total : len;
  uint32_t tcp = ihl;
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

inline uint32_t Key(uint32_t tunnel, uint32_t session) { return (tunnel << 16) | session; }

uint32_t U32Arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a number argument");
  return info[i].As<Napi::Number>().Uint32Value();
}

Napi::Value CountersArray(Napi::Env env, const FastSession& s) {
  Napi::Array a = Napi::Array::New(env, 4);
  a.Set(0u, Napi::Number::New(env, s.rxPackets));
  a.Set(1u, Napi::Number::New(env, s.rxOctets));
  a.Set(2u, Napi::Number::New(env, s.txPackets));
  a.Set(3u, Napi::Number::New(env, s.txOctets));
  return a;
}

}  // namespace

Napi::Function FastPath::Init(Napi::Env env) {
  return DefineClass(env, "FastPath",
                     {
                         InstanceMethod<&FastPath::Add>("add"),
                         InstanceMethod<&FastPath::Remove>("remove"),
                         InstanceMethod<&FastPath::Take>("take"),
                         InstanceMethod<&FastPath::Stats>("stats"),
                         InstanceMethod<&FastPath::Size>("size"),
                         InstanceMethod<&FastPath::Clear>("clear"),
                     });
}

const napi_type_tag kFastPathTag = {0x6c3274706b697466ULL, 0x6173747061746821ULL};

bool IsFastPath(Napi::Env env, Napi::Object o) {
  bool is = false;
  return napi_check_object_type_tag(env, o, &kFastPathTag, &is) == napi_ok && is;
}

FastPath::FastPath(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FastPath>(info) {
  napi_type_tag_object(info.Env(), info.This(), &kFastPathTag);
  byId_.reserve(1024);
  byAddr_.reserve(1024);
}

FastPath::~FastPath() {
  for (auto& kv : byId_) delete kv.second;
}

void FastPath::BindFd(int role, int fd) {
  if (role == kFastRoleUdp) udpFd_ = fd;
  if (role == kFastRoleTun) tunFd_ = fd;
  if (fd < 0) queued_ = 0;
}

bool FastPath::OnUdp(uint8_t* p, uint32_t len, uint32_t srcAddrHost, uint16_t srcPortHost) {
  if (tunFd_ < 0 || len < 6) goto toJs;
  {
    uint16_t flags = Get16(p);
    // RFC 2661 §3.1: T=0 (data), Ver=2; S (sequenced) and O (offset) are JS's (Ns check, offset bound).
    if ((flags & 0x8000) != 0 || (flags & 0x000f) != 2 || (flags & 0x0a00) != 0) goto toJs;
    uint32_t off = 2;
    if ((flags & 0x4000) != 0) {
      if (len < 8 || Get16(p + 2) != len) goto toJs;
      off = 4;
    }
    auto it = byId_.find(Key(Get16(p + off), Get16(p + off + 2)));
    if (it == byId_.end()) goto toJs;
    FastSession* s = it->second;
    if (htonl(srcAddrHost) != s->peerAddr || htons(srcPortHost) != s->peerPort) goto toJs;
    off += 4;
    // PPP (RFC 1662 §3.2 address/control, optional with ACFC; RFC 1661 §6.5 PFC): only IPv4 (0x0021).
    if (off + 2 <= len && p[off] == 0xff && p[off + 1] == 0x03) off += 2;
    if (off >= len) goto toJs;
    if (p[off] == 0x21) {
      off += 1;
    } else if (off + 1 < len && p[off] == 0x00 && p[off + 1] == 0x21) {
      off += 2;
    } else {
      goto toJs;
    }
    uint8_t* ip = p + off;
    uint32_t ipLen = len - off;
    if (ipLen < 20 || (ip[0] >> 4) != 4) goto toJs;
    if (Get32(ip + 12) != s->clientAddr) {
      badSource_++;
      goto toJs;  // BCP 38 and Framed-Route extras: the JS ingress filter judges
    }
    if (s->mss != 0 && ClampMss4(ip, ipLen, s->mss)) mssClamped_++;
    s->rxPackets++;
    s->rxOctets += ipLen;
    udpFast_++;
    ssize_t r;
    do {
      r = write(tunFd_, ip, ipLen);
    } while (r < 0 && errno == EINTR);
    if (r < 0) tunWriteErrors_++;
    return true;
  }
toJs:
  udpToJs_++;
  return false;
}

bool FastPath::OnTun(uint8_t* p, uint32_t len) {
  if (udpFd_ < 0 || len < 20 || (p[0] >> 4) != 4) goto toJs;
  {
    auto it = byAddr_.find(Get32(p + 16));
    if (it == byAddr_.end()) goto toJs;
    FastSession* s = it->second;
    if (len > s->mtu) {
      tooBig_++;
      goto toJs;  // ICMP "fragmentation needed" or fragments: src/dataplane/too-big.ts
    }
    if (s->mss != 0 && ClampMss4(p, len, s->mss)) mssClamped_++;
    if (queued_ == kQueue) Flush();
    int q = queued_++;
    iov_[q][0].iov_base = s->hdr;
    iov_[q][0].iov_len = s->hdrLen;
    iov_[q][1].iov_base = p;
    iov_[q][1].iov_len = len;
    mmsghdr& m = mm_[q];
    memset(&m, 0, sizeof(m));
    m.msg_hdr.msg_iov = iov_[q];
    m.msg_hdr.msg_iovlen = 2;
    m.msg_hdr.msg_name = &s->dst;
    m.msg_hdr.msg_namelen = sizeof(s->dst);
    s->txPackets++;
    s->txOctets += len;
    tunFast_++;
    return true;
  }
toJs:
  tunToJs_++;
  return false;
}

void FastPath::Flush() {
  int i = 0;
  while (i < queued_ && udpFd_ >= 0) {
    int r = sendmmsg(udpFd_, mm_ + i, static_cast<unsigned>(queued_ - i), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        sendErrors_ += queued_ - i;
        break;
      }
      sendErrors_++;
      i++;  // skip the datagram the kernel refused
      continue;
    }
    i += r;
  }
  queued_ = 0;
}

// add(tunnel, session, peerAddr (host order), peerPort, clientAddr (host order), mtu, mss, header: Uint8Array)
Napi::Value FastPath::Add(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 8 || !info[7].IsTypedArray()) throw Napi::TypeError::New(env, "add(tunnel, session, peerAddr, peerPort, clientAddr, mtu, mss, header)");
  Napi::Uint8Array h = info[7].As<Napi::Uint8Array>();
  if (h.ElementLength() < 6 || h.ElementLength() > sizeof(FastSession::hdr)) throw Napi::RangeError::New(env, "header must be 6..16 bytes");
  uint32_t tunnel = U32Arg(info, 0), session = U32Arg(info, 1), client = U32Arg(info, 4);
  if (tunnel > 0xffff || session > 0xffff) throw Napi::RangeError::New(env, "tunnel/session ids are 16-bit");
  auto* s = new FastSession();
  s->tunnel = static_cast<uint16_t>(tunnel);
  s->session = static_cast<uint16_t>(session);
  s->peerAddr = htonl(U32Arg(info, 2));
  s->peerPort = htons(static_cast<uint16_t>(U32Arg(info, 3)));
  s->clientAddr = client;
  s->mtu = U32Arg(info, 5);
  s->mss = U32Arg(info, 6);
  memcpy(s->hdr, h.Data(), h.ElementLength());
  s->hdrLen = static_cast<uint32_t>(h.ElementLength());
  s->dst.sin_family = AF_INET;
  s->dst.sin_addr.s_addr = s->peerAddr;
  s->dst.sin_port = s->peerPort;
  // Replacing: the old entry of this id and the old owner of this address go.
  auto old = byId_.find(Key(tunnel, session));
  if (old != byId_.end()) {
    byAddr_.erase(old->second->clientAddr);
    delete old->second;
    byId_.erase(old);
  }
  auto owner = byAddr_.find(client);
  if (owner != byAddr_.end()) {
    byId_.erase(Key(owner->second->tunnel, owner->second->session));
    delete owner->second;
    byAddr_.erase(owner);
  }
  byId_[Key(tunnel, session)] = s;
  byAddr_[client] = s;
  return Napi::Boolean::New(env, true);
}

// remove(tunnel, session): [rxPackets, rxOctets, txPackets, txOctets] since the last take, or undefined
Napi::Value FastPath::Remove(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = byId_.find(Key(U32Arg(info, 0), U32Arg(info, 1)));
  if (it == byId_.end()) return env.Undefined();
  FastSession* s = it->second;
  Napi::Value out = CountersArray(env, *s);
  byAddr_.erase(s->clientAddr);
  byId_.erase(it);
  delete s;
  return out;
}

// take(tunnel, session): the counters since the last take (then zeroed), or undefined
Napi::Value FastPath::Take(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = byId_.find(Key(U32Arg(info, 0), U32Arg(info, 1)));
  if (it == byId_.end()) return env.Undefined();
  FastSession* s = it->second;
  Napi::Value out = CountersArray(env, *s);
  s->rxPackets = s->rxOctets = s->txPackets = s->txOctets = 0;
  return out;
}

Napi::Value FastPath::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("sessions", Napi::Number::New(env, static_cast<double>(byId_.size())));
  o.Set("udpFast", Napi::Number::New(env, udpFast_));
  o.Set("udpToJs", Napi::Number::New(env, udpToJs_));
  o.Set("tunFast", Napi::Number::New(env, tunFast_));
  o.Set("tunToJs", Napi::Number::New(env, tunToJs_));
  o.Set("tunWriteErrors", Napi::Number::New(env, tunWriteErrors_));
  o.Set("sendErrors", Napi::Number::New(env, sendErrors_));
  o.Set("mssClamped", Napi::Number::New(env, mssClamped_));
  o.Set("badSource", Napi::Number::New(env, badSource_));
  o.Set("tooBig", Napi::Number::New(env, tooBig_));
  return o;
}

Napi::Value FastPath::Size(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(byId_.size()));
}

void FastPath::Clear(const Napi::CallbackInfo&) {
  for (auto& kv : byId_) delete kv.second;
  byId_.clear();
  byAddr_.clear();
}

}  // namespace l2tpkit

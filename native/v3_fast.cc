// The L2TPv3 Ethernet pseudowire fast path (issue 16 item 4): Ethernet frames of established
// pseudowires move between a TAP and the v3 socket (UDP, RFC 3931 §4.1.2.2, or IP protocol 115,
// §4.1.1) inside the addon, without a JS call per frame. JS (src/io/v3-fast-path.ts) keeps full
// authority: it adds a pseudowire when it is established (dynamic) or opened (static), removes it at
// teardown, and reads the counters for show commands and metrics. The PacketPorts of the socket and of
// the TAP offer each packet here first (OnNet / OnTap); what is not consumed reaches JS unchanged:
// control (T bit over UDP, Session ID 0 over IP), other versions or flags, unknown sessions, a source
// other than the peer, a wrong or short cookie, a sequenced default sublayer (S=1, RFC 4719 §4.6:
// JS counts gaps and late frames), frames shorter than an Ethernet header.
// No allocation per packet: a received frame is written to the TAP from the receive slot; a TAP frame
// is sent with sendmmsg() as two iovecs (the pseudowire's prebuilt header + the frame in the slab).

#include "v3_fast.h"

#include "be.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

namespace l2tpkit {

namespace {

constexpr uint32_t kEthernetHeader = 14;

using be::Get32;
using be::Put32;

uint32_t U32Arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a number argument");
  return info[i].As<Napi::Number>().Uint32Value();
}

/** A 0, 4 or 8 byte cookie argument. */
uint32_t CookieArg(const Napi::CallbackInfo& info, size_t i, uint8_t out[8]) {
  if (info.Length() <= i || !info[i].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "expected a Uint8Array cookie");
  Napi::Uint8Array a = info[i].As<Napi::Uint8Array>();
  size_t n = a.ElementLength();
  if (n != 0 && n != 4 && n != 8) throw Napi::RangeError::New(info.Env(), "a cookie is 0, 4 or 8 bytes");
  memcpy(out, a.Data(), n);
  return static_cast<uint32_t>(n);
}

const napi_type_tag kV3FastTag = {0x6c3274706b697476ULL, 0x3366617374706174ULL};

}  // namespace

bool IsV3Fast(Napi::Env env, Napi::Object o) {
  bool is = false;
  return napi_check_object_type_tag(env, o, &kV3FastTag, &is) == napi_ok && is;
}

Napi::Function V3Fast::Init(Napi::Env env) {
  return DefineClass(env, "V3Fast",
                     {
                         InstanceMethod<&V3Fast::Add>("add"),
                         InstanceMethod<&V3Fast::Remove>("remove"),
                         InstanceMethod<&V3Fast::Counters>("counters"),
                         InstanceMethod<&V3Fast::Stats>("stats"),
                         InstanceMethod<&V3Fast::Size>("size"),
                         InstanceMethod<&V3Fast::Clear>("clear"),
                     });
}

// new V3Fast(encap: 0 udp | 1 ip)
V3Fast::V3Fast(const Napi::CallbackInfo& info) : Napi::ObjectWrap<V3Fast>(info) {
  napi_type_tag_object(info.Env(), info.This(), &kV3FastTag);
  ip_ = U32Arg(info, 0) == 1;
}

V3Fast::~V3Fast() {
  for (auto& kv : bySession_) delete kv.second;
}

void V3Fast::BindTap(uint32_t session, int fd) {
  if (fd < 0) {
    tapFds_.erase(session);
    queued_ = 0;
  } else {
    tapFds_[session] = fd;
  }
  auto it = bySession_.find(session);
  if (it != bySession_.end()) it->second->tapFd = fd;
}

bool V3Fast::OnNet(uint8_t* p, uint32_t len, uint32_t srcAddrHost, uint16_t srcPortHost, uint32_t ihl) {
  V3Pw* s = Match(p, len, srcAddrHost, srcPortHost, ihl);
  if (s == nullptr) {
    netToJs_++;
    return false;
  }
  uint32_t flen = len - s->frameAt;
  ssize_t w = write(s->tapFd, p + s->frameAt, flen);
  if (w < 0) {
    s->tapWriteErrors++;
    tapWriteErrors_++;
  } else {
    s->rxPackets++;
    s->rxOctets += flen;
  }
  netFast_++;
  return true;
}

V3Pw* V3Fast::Match(const uint8_t* p, uint32_t len, uint32_t srcAddrHost, uint16_t srcPortHost, uint32_t ihl) {
  uint32_t off = 0;
  if (ip_) {
    off = ihl;  // raw IPv4 sockets deliver the IP header (RFC 791 §3.1)
  } else {
    // §4.1.2.2: T=0, every other flag 0, Ver=3, Reserved 0.
    if (len < 8 || p[0] != 0 || p[1] != 3 || p[2] != 0 || p[3] != 0) return nullptr;
    off = 4;
  }
  if (len < off + 4) return nullptr;
  auto it = bySession_.find(Get32(p + off));  // 0 over IP: a control message (§4.1.1.2); unknown: JS counts it
  if (it == bySession_.end()) return nullptr;
  V3Pw* s = it->second;
  if (s->tapFd < 0 || htonl(srcAddrHost) != s->peerAddr || (!ip_ && htons(srcPortHost) != s->peerPort)) {
    s->badSource++;
    return nullptr;
  }
  uint32_t at = off + 4;
  uint32_t frameAt = at + s->rxCookieLen + (s->sublayer ? 4 : 0);
  // A short frame, a wrong cookie, a sequenced sublayer (S=1: JS tracks the sequence, §4.6): JS.
  if (len < frameAt + kEthernetHeader || memcmp(p + at, s->rxCookie, s->rxCookieLen) != 0 ||
      (s->sublayer && (p[at + s->rxCookieLen] & 0x40) != 0)) {
    s->toJs++;
    return nullptr;
  }
  s->frameAt = frameAt;
  return s;
}

bool V3Fast::OnTap(uint32_t session, uint8_t* p, uint32_t len) {
  auto it = bySession_.find(session);
  if (netFd_ < 0 || it == bySession_.end() || len < kEthernetHeader) {
    tapToJs_++;
    return false;
  }
  if (queued_ == kQueue) Flush();
  V3Pw* s = it->second;
  int i = queued_++;
  iov_[i][0].iov_base = s->hdr;
  iov_[i][0].iov_len = s->hdrLen;
  iov_[i][1].iov_base = p;
  iov_[i][1].iov_len = len;
  memset(&mm_[i], 0, sizeof(mm_[i]));
  mm_[i].msg_hdr.msg_iov = iov_[i];
  mm_[i].msg_hdr.msg_iovlen = 2;
  mm_[i].msg_hdr.msg_name = &s->dst;
  mm_[i].msg_hdr.msg_namelen = sizeof(s->dst);
  qs_[i] = s;
  tapFast_++;
  return true;
}

void V3Fast::Flush() {
  int done = 0;
  while (done < queued_) {
    int r = sendmmsg(netFd_, mm_ + done, static_cast<unsigned>(queued_ - done), MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR) continue;
      // One lost (full buffer or an error): count it and go on with the rest.
      qs_[done]->sendErrors++;
      sendErrors_++;
      done++;
      continue;
    }
    for (int k = done; k < done + r; k++) {
      qs_[k]->txPackets++;
      qs_[k]->txOctets += iov_[k][1].iov_len;
    }
    done += r;
  }
  queued_ = 0;
}

// add(localSession, peerSession, rxCookie, txCookie, sublayer, peerAddr (host), peerPort): true when new
Napi::Value V3Fast::Add(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t local = U32Arg(info, 0), peer = U32Arg(info, 1);
  if (local == 0 || peer == 0) throw Napi::RangeError::New(env, "session ids are non-zero");
  uint8_t txCookie[8];
  V3Pw tmp;
  tmp.rxCookieLen = CookieArg(info, 2, tmp.rxCookie);
  uint32_t txLen = CookieArg(info, 3, txCookie);
  tmp.sublayer = info.Length() > 4 && info[4].ToBoolean().Value();
  tmp.peerAddr = htonl(U32Arg(info, 5));
  tmp.peerPort = htons(static_cast<uint16_t>(ip_ ? 0 : U32Arg(info, 6)));
  uint32_t h = 0;
  if (!ip_) {
    tmp.hdr[0] = 0;
    tmp.hdr[1] = 3;  // T=0, Ver=3; Reserved 0
    h = 4;
  }
  Put32(tmp.hdr + h, peer);
  h += 4;
  memcpy(tmp.hdr + h, txCookie, txLen);
  h += txLen;
  if (tmp.sublayer) h += 4;  // S=0, sequence 0 (RFC 4719 §4.6 without sequencing)
  tmp.hdrLen = h;
  tmp.localSession = local;
  tmp.dst.sin_family = AF_INET;
  tmp.dst.sin_addr.s_addr = tmp.peerAddr;
  tmp.dst.sin_port = tmp.peerPort;
  Flush();  // nothing queued points at a pseudowire while the table changes
  auto it = bySession_.find(local);
  bool fresh = it == bySession_.end();
  V3Pw* s = fresh ? new V3Pw() : it->second;
  uint64_t keep[8] = {s->rxPackets, s->rxOctets, s->txPackets, s->txOctets, s->tapWriteErrors, s->sendErrors, s->badSource, s->toJs};
  *s = tmp;
  s->rxPackets = keep[0], s->rxOctets = keep[1], s->txPackets = keep[2], s->txOctets = keep[3];
  s->tapWriteErrors = keep[4], s->sendErrors = keep[5], s->badSource = keep[6], s->toJs = keep[7];
  auto t = tapFds_.find(local);
  s->tapFd = t == tapFds_.end() ? -1 : t->second;
  bySession_[local] = s;
  return Napi::Boolean::New(env, fresh);
}

/** [rxPackets, rxOctets, txPackets, txOctets, tapWriteErrors, sendErrors, badSource, toJs] of one pseudowire. */
static Napi::Value CountersOf(Napi::Env env, const V3Pw& s) {
  const uint64_t v[8] = {s.rxPackets, s.rxOctets, s.txPackets, s.txOctets, s.tapWriteErrors, s.sendErrors, s.badSource, s.toJs};
  Napi::Array a = Napi::Array::New(env, 8);
  for (uint32_t i = 0; i < 8; i++) a.Set(i, Napi::Number::New(env, static_cast<double>(v[i])));
  return a;
}

// remove(localSession): its final counters, undefined if absent
Napi::Value V3Fast::Remove(const Napi::CallbackInfo& info) {
  auto it = bySession_.find(U32Arg(info, 0));
  if (it == bySession_.end()) return info.Env().Undefined();
  Flush();
  Napi::Value c = CountersOf(info.Env(), *it->second);
  delete it->second;
  bySession_.erase(it);
  return c;
}

// counters(localSession): totals since add, undefined if absent
Napi::Value V3Fast::Counters(const Napi::CallbackInfo& info) {
  auto it = bySession_.find(U32Arg(info, 0));
  if (it == bySession_.end()) return info.Env().Undefined();
  return CountersOf(info.Env(), *it->second);
}

// stats(): { netFast, netToJs, tapFast, tapToJs, sendErrors, tapWriteErrors, pseudowires }
Napi::Value V3Fast::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("netFast", Napi::Number::New(env, static_cast<double>(netFast_)));
  o.Set("netToJs", Napi::Number::New(env, static_cast<double>(netToJs_)));
  o.Set("tapFast", Napi::Number::New(env, static_cast<double>(tapFast_)));
  o.Set("tapToJs", Napi::Number::New(env, static_cast<double>(tapToJs_)));
  o.Set("sendErrors", Napi::Number::New(env, static_cast<double>(sendErrors_)));
  o.Set("tapWriteErrors", Napi::Number::New(env, static_cast<double>(tapWriteErrors_)));
  o.Set("pseudowires", Napi::Number::New(env, static_cast<double>(bySession_.size())));
  return o;
}

Napi::Value V3Fast::Size(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(bySession_.size())); }

void V3Fast::Clear(const Napi::CallbackInfo& info) {
  queued_ = 0;
  for (auto& kv : bySession_) delete kv.second;
  bySession_.clear();
}

}  // namespace l2tpkit

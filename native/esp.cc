// ESP in the data fast path (issue 16 item 3; docs/ARCHITECTURE.md "The native fast path").
// JS (src/io/fast-path-esp.ts) programs SAs from the IKE core's child-sa-up (espAddSa, one per
// direction), the flows they belong to (espFlow: outer destination, inner ports, the newest outbound
// SA) and binds a session to its flow when it installs it (espBindNext + add). From the moment an SA is
// here it has ONE authority: the sequence counter and the replay window live in this file, and JS's own
// ESP on that SA (control messages, LCP, anything the fast path hands over) goes through espSeal /
// espOpen, never through a second copy of the state.
//
// Inbound (OnEsp, the NAT-T socket's drain on the JS thread = lane 0): SPI -> outer source check ->
// replay check -> decrypt into the lane's scratch (the received ciphertext stays untouched) -> UDP to
// our L2TP port -> Decap (the plain fast path's steps, with the flow as the expected one) -> TUN. Only
// when Decap consumed the packet does the window move; anything else (IKE, keepalives, unknown SPI,
// NAT rebinding, replay, bad ICV, padding, TFC dummies, control, LCP, unknown sessions ...) is handed to
// JS as received, where the gate opens it with espOpen, which counts what it refuses.
// Outbound (EspEncap from Encap, any lane): UDP 1701 -> client port + the session's L2TP/PPP header +
// the IP packet from the TUN slab, sealed in one pass into a lane slot, sent with sendmmsg on the NAT-T
// socket at the end of the batch. No allocation per packet; EVP contexts per SA per lane.

#include "esp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <string.h>

#include "be.h"
#include "fast_path.h"

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // HMAC_CTX: OpenSSL 3 keeps it, Node exports it

namespace l2tpkit {

namespace {

using be::Get16;
using be::Get32;
using be::Put16;
using be::Put32;
inline void Bump(std::atomic<uint64_t>& c, uint64_t n = 1) { c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }

uint32_t Arg32(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a number argument");
  return info[i].As<Napi::Number>().Uint32Value();
}

Napi::Uint8Array BytesArg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), "expected a Uint8Array argument");
  }
  return info[i].As<Napi::Uint8Array>();
}

constexpr uint32_t kEspHeader = 8;  // RFC 4303 §2: SPI, sequence number
constexpr uint32_t kUdpHeader = 8;
constexpr uint8_t kNextUdp = 17;

}  // namespace

// ---------------------------------------------------------------- replay window (RFC 4303 §3.4.3)

int ReplayWin::Check(uint32_t seq) const {
  if (seq == 0) return kEspZero;
  if (seq > top) return kEspOk;
  if (top - seq >= size) return kEspTooOld;
  uint32_t i = seq % size;
  return (bits[i >> 5] & (1u << (i & 31))) != 0 ? kEspDuplicate : kEspOk;
}

void ReplayWin::Update(uint32_t seq) {
  if (seq > top) {
    uint32_t diff = seq - top;
    if (diff >= size) {
      memset(bits, 0, sizeof(bits));
    } else {
      for (uint32_t s = top + 1; s <= seq; s++) bits[(s % size) >> 5] &= ~(1u << ((s % size) & 31));
    }
    top = seq;
  }
  uint32_t i = seq % size;
  bits[i >> 5] |= 1u << (i & 31);
}

EspSaN::~EspSaN() {
  for (EVP_CIPHER_CTX* c : ctx) EVP_CIPHER_CTX_free(c);
  for (HMAC_CTX* m : mac) HMAC_CTX_free(m);
}

EspState::~EspState() {
  for (auto& kv : in) delete kv.second;
  for (auto& kv : out) delete kv.second;
  for (auto& kv : flows) delete kv.second;
}

// ---------------------------------------------------------------- seal / open

uint32_t EspSealParts(EspSaN& sa, EspLane& lane, int li, const uint8_t* const* parts, const uint32_t* lens, int n, uint8_t nextHeader, uint8_t* dst, uint32_t cap) {
  uint32_t total = 0;
  for (int i = 0; i < n; i++) total += lens[i];
  uint32_t ptLen = (total + 2 + sa.block - 1) / sa.block * sa.block;
  uint32_t outLen = kEspHeader + sa.ivLen + ptLen + sa.icvLen;
  if (outLen > cap) return 0;
  uint64_t seq = sa.seqOut.fetch_add(1, std::memory_order_relaxed) + 1;
  if (seq > 0xffffffffULL) {  // RFC 4303 §3.3.3: the counter never cycles; the SA must be rekeyed
    sa.seqOut.store(0xffffffffULL, std::memory_order_relaxed);
    return 0;
  }
  Put32(dst, sa.spi);
  Put32(dst + 4, static_cast<uint32_t>(seq));
  uint8_t* iv = dst + kEspHeader;
  EVP_CIPHER_CTX* c = sa.ctx[li];
  int w = 0;
  if (sa.cipher == kEspGcm16) {
    // RFC 4106 §3.1: the explicit IV is the sequence number (unique per key); nonce = salt | IV.
    Put32(iv, 0);
    Put32(iv + 4, static_cast<uint32_t>(seq));
    uint8_t nonce[12];
    memcpy(nonce, sa.salt, 4);
    memcpy(nonce + 4, iv, 8);
    if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, nonce) != 1) return 0;
    if (EVP_EncryptUpdate(c, nullptr, &w, dst, kEspHeader) != 1) return 0;  // RFC 4106 §5: AAD = SPI | seq
  } else {
    // RFC 3602 §2.1: an unpredictable IV per packet, from a pooled RAND_bytes block.
    if (lane.ivOff + 16 > sizeof(lane.ivPool)) {
      if (RAND_bytes(lane.ivPool, sizeof(lane.ivPool)) != 1) return 0;
      lane.ivOff = 0;
    }
    memcpy(iv, lane.ivPool + lane.ivOff, 16);
    lane.ivOff += 16;
    if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, iv) != 1) return 0;
    EVP_CIPHER_CTX_set_padding(c, 0);
  }
  uint8_t* o = iv + sa.ivLen;
  uint32_t off = 0;
  for (int i = 0; i < n; i++) {
    if (lens[i] == 0) continue;
    if (EVP_EncryptUpdate(c, o + off, &w, parts[i], static_cast<int>(lens[i])) != 1) return 0;
    off += static_cast<uint32_t>(w);
  }
  // RFC 4303 §2.4: default padding 1, 2, 3 ..., then Pad Length and Next Header.
  uint8_t trailer[20];
  uint32_t padLen = ptLen - total - 2;
  for (uint32_t i = 0; i < padLen; i++) trailer[i] = static_cast<uint8_t>(i + 1);
  trailer[padLen] = static_cast<uint8_t>(padLen);
  trailer[padLen + 1] = nextHeader;
  if (EVP_EncryptUpdate(c, o + off, &w, trailer, static_cast<int>(padLen + 2)) != 1) return 0;
  off += static_cast<uint32_t>(w);
  if (EVP_EncryptFinal_ex(c, o + off, &w) != 1) return 0;
  off += static_cast<uint32_t>(w);
  if (off != ptLen) return 0;
  if (sa.cipher == kEspGcm16) {
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, o + ptLen) != 1) return 0;
  } else {
    // RFC 4303 §2.8 / RFC 2404 / RFC 4868: HMAC over SPI .. Next Header, truncated.
    HMAC_CTX* m = sa.mac[li];
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned ml = 0;
    if (HMAC_Init_ex(m, nullptr, 0, nullptr, nullptr) != 1 || HMAC_Update(m, dst, kEspHeader + sa.ivLen + ptLen) != 1 || HMAC_Final(m, md, &ml) != 1) return 0;
    memcpy(o + ptLen, md, sa.icvLen);
  }
  EspSaN::LaneCtr& k = sa.ctr[li];
  Bump(k.packets);
  Bump(k.octets, total);
  return outLen;
}

int EspOpenPacket(EspSaN& sa, int li, const uint8_t* p, uint32_t len, uint8_t* plain, uint32_t* plainLen, uint8_t* nextHeader, uint32_t* seqOut) {
  if (len < kEspHeader + sa.ivLen + sa.icvLen) return kEspMalformed;
  uint32_t ctLen = len - kEspHeader - sa.ivLen - sa.icvLen;
  if (ctLen < (sa.block > 4 ? sa.block : 4) || ctLen % sa.block != 0 || ctLen > EspLane::kDec) return kEspMalformed;
  uint32_t seq = Get32(p + 4);
  *seqOut = seq;
  // RFC 4303 §3.4.3: the cheap replay check comes before the ICV.
  if (sa.replayOn) {
    int v = sa.win.Check(seq);
    if (v != kEspOk) return v;
  }
  EVP_CIPHER_CTX* c = sa.ctx[li];
  const uint8_t* ct = p + kEspHeader + sa.ivLen;
  int w = 0, w2 = 0;
  if (sa.cipher == kEspGcm16) {
    uint8_t nonce[12], tag[16];
    memcpy(nonce, sa.salt, 4);
    memcpy(nonce + 4, p + kEspHeader, 8);
    memcpy(tag, p + len - 16, 16);
    if (EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, nonce) != 1) return kEspIcv;
    if (EVP_DecryptUpdate(c, nullptr, &w, p, kEspHeader) != 1) return kEspIcv;
    if (EVP_DecryptUpdate(c, plain, &w, ct, static_cast<int>(ctLen)) != 1) return kEspIcv;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1) return kEspIcv;
    if (EVP_DecryptFinal_ex(c, plain + w, &w2) <= 0) return kEspIcv;
  } else {
    HMAC_CTX* m = sa.mac[li];
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned ml = 0;
    if (HMAC_Init_ex(m, nullptr, 0, nullptr, nullptr) != 1 || HMAC_Update(m, p, len - sa.icvLen) != 1 || HMAC_Final(m, md, &ml) != 1) return kEspIcv;
    if (CRYPTO_memcmp(md, p + len - sa.icvLen, sa.icvLen) != 0) return kEspIcv;
    if (EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, p + kEspHeader) != 1) return kEspMalformed;
    EVP_CIPHER_CTX_set_padding(c, 0);
    if (EVP_DecryptUpdate(c, plain, &w, ct, static_cast<int>(ctLen)) != 1) return kEspMalformed;
    if (EVP_DecryptFinal_ex(c, plain + w, &w2) != 1) return kEspMalformed;
  }
  if (static_cast<uint32_t>(w + w2) != ctLen) return kEspMalformed;
  uint32_t padLen = plain[ctLen - 2];
  if (padLen + 2 > ctLen) return kEspPadding;
  uint32_t dataLen = ctLen - 2 - padLen;
  // RFC 4303 §2.4: the receiver checks the default 1, 2, 3 ... padding.
  for (uint32_t i = 0; i < padLen; i++) {
    if (plain[dataLen + i] != static_cast<uint8_t>(i + 1)) return kEspPadding;
  }
  *plainLen = dataLen;
  *nextHeader = plain[ctLen - 1];
  return kEspOk;
}

// ---------------------------------------------------------------- per packet

bool FastPath::OnEsp(uint8_t* p, uint32_t len, uint32_t srcAddrHost, uint16_t srcPortHost) {
  EspState& E = *esp_;
  FastLane& L = *lanes_[0];
  if (E.lanes.empty() || len < 4) return false;  // no SA yet; a NAT-T keepalive (RFC 3948 §2.3)
  EspLaneStats& st = E.st[0];
  uint32_t spi = Get32(p);
  if (spi == 0) return false;  // RFC 3948 §2.2: the non-ESP marker, IKE
  auto it = E.in.find(spi);
  if (it == E.in.end()) {
    Bump(st.unknownSpiToJs);
    return false;
  }
  EspSaN& sa = *it->second;
  EspFlow* f = sa.flow;
  // RFC 3948 §3: a packet from another NAT mapping moves the flow: JS decides (it opens it with espOpen).
  if (f == nullptr || f->dead || f->dst.sin_addr.s_addr != htonl(srcAddrHost) || f->dst.sin_port != htons(srcPortHost)) {
    Bump(st.inToJs);
    return false;
  }
  EspLane& EL = *E.lanes[0];
  uint32_t plainLen = 0, seq = 0;
  uint8_t nh = 0;
  int v = EspOpenPacket(sa, 0, p, len, EL.dec.data(), &plainLen, &nh, &seq);
  if (v != kEspOk) {
    Bump(v == kEspDuplicate || v == kEspTooOld || v == kEspZero ? st.replayToJs : (v == kEspIcv ? st.icvToJs : st.inToJs));
    return false;  // JS opens it again and refuses it, counted once in the SA
  }
  const uint8_t* u = EL.dec.data();
  // RFC 3193 §4: UDP to our L2TP port only (the inner checksum is not checked, RFC 3948 §3.1.2).
  if (nh != kNextUdp || plainLen < kUdpHeader || Get16(u + 2) != f->l2tpPort || Get16(u + 4) < kUdpHeader || Get16(u + 4) > plainLen) {
    Bump(st.inToJs);
    return false;
  }
  EL.inFlow = f;
  bool done = Decap(L, EL.dec.data() + kUdpHeader, Get16(u + 4) - kUdpHeader, srcAddrHost, Get16(u));
  EL.inFlow = nullptr;
  if (!done) {
    Bump(st.inToJs);
    return false;
  }
  if (sa.replayOn) sa.win.Update(seq);  // RFC 4303 §3.4.3: only for authenticated, accepted packets
  Bump(sa.ctr[0].packets);
  Bump(sa.ctr[0].octets, plainLen);
  Bump(st.inFast);
  return true;
}

bool FastPath::EspFlowMatches(const FastLane& L, const FastSession* s) const {
  const EspFlow* in = L.index < static_cast<int>(esp_->lanes.size()) ? esp_->lanes[L.index]->inFlow : nullptr;
  return s->esp == in;
}

bool FastPath::EspEncap(FastLane& L, FastSession* s, uint8_t* p, uint32_t len, bool v6) {
  EspState& E = *esp_;
  EspFlow* f = s->esp;
  EspLaneStats& st = E.st[L.index];
  int fd = E.fd.load(std::memory_order_relaxed);
  if (f->dead || f->out == nullptr || fd < 0 || E.lanes.empty()) {
    Bump(st.outToJs);
    return false;
  }
  EspLane& EL = *E.lanes[L.index];
  if (EL.queued == EspLane::kQueue) EspFlush(L);
  int q = EL.queued;
  uint8_t* dst = EL.out.data() + static_cast<size_t>(q) * EspLane::kSlot;
  // RFC 768 header from our L2TP port to the client's; checksum 0 (RFC 3948 §3.1.2 transport mode).
  uint8_t udp[kUdpHeader] = {};
  Put16(udp, f->l2tpPort);
  Put16(udp + 2, f->innerPort);
  Put16(udp + 4, kUdpHeader + s->hdrLen + len);
  const uint8_t* parts[3] = {udp, v6 ? s->hdr6 : s->hdr, p};
  uint32_t lens[3] = {kUdpHeader, s->hdrLen, len};
  uint32_t n = EspSealParts(*f->out, EL, L.index, parts, lens, 3, kNextUdp, dst, EspLane::kSlot);
  if (n == 0) {
    Bump(st.outToJs);
    return false;  // larger than a slot, or the sequence counter is exhausted: JS's
  }
  EL.iov[q].iov_base = dst;
  EL.iov[q].iov_len = n;
  mmsghdr& m = EL.mm[q];
  memset(&m, 0, sizeof(m));
  m.msg_hdr.msg_iov = &EL.iov[q];
  m.msg_hdr.msg_iovlen = 1;
  m.msg_hdr.msg_name = &f->dst;
  m.msg_hdr.msg_namelen = sizeof(f->dst);
  EL.qs[q] = s;
  EL.ipLen[q] = len;
  EL.queued++;
  Bump(st.outFast);
  return true;
}

void FastPath::EspFlush(FastLane& L) {
  EspState& E = *esp_;
  if (static_cast<size_t>(L.index) >= E.lanes.size()) return;
  EspLane& EL = *E.lanes[L.index];
  int fd = E.fd.load(std::memory_order_relaxed);
  int i = 0;
  while (i < EL.queued) {
    int r = fd < 0 ? -1 : sendmmsg(fd, EL.mm + i, static_cast<unsigned>(EL.queued - i), 0);
    if (r < 0) {
      if (fd >= 0 && errno == EINTR) continue;
      int k = (fd < 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) ? EL.queued - i : 1;
      for (int j = i; j < i + k; j++) EL.qs[j]->ctr[L.index].sendErrors.Add();
      Bump(E.st[L.index].sendErrors, static_cast<uint64_t>(k));
      i += k;
      continue;
    }
    for (int j = i; j < i + r; j++) {
      SessionCounters& c = EL.qs[j]->ctr[L.index];
      c.txPackets.Add();
      c.txOctets.Add(EL.ipLen[j]);
    }
    i += r;
  }
  EL.queued = 0;
}

EspFlow* FastPath::TakeEspBind() {
  EspFlow* f = esp_->nextBind;
  esp_->nextBind = nullptr;
  return f;
}

void FastPath::BindEspFd(int fd) {
  esp_->fd.store(fd, std::memory_order_relaxed);
  if (fd < 0) {
    StopThreads();  // data threads send on it
    for (auto& l : esp_->lanes) l->queued = 0;
  }
}

// ---------------------------------------------------------------- programming from JS

namespace {

const EVP_CIPHER* CipherFor(int cipher, size_t keyLen) {
  if (cipher == kEspGcm16) return keyLen == 16 ? EVP_aes_128_gcm() : keyLen == 24 ? EVP_aes_192_gcm() : keyLen == 32 ? EVP_aes_256_gcm() : nullptr;
  if (cipher == kEspAesCbc) return keyLen == 16 ? EVP_aes_128_cbc() : keyLen == 24 ? EVP_aes_192_cbc() : keyLen == 32 ? EVP_aes_256_cbc() : nullptr;
  return nullptr;
}

}  // namespace

// espAddSa(spi, inbound, cipher 0 gcm16 | 1 aes-cbc, key (GCM: + 4-byte salt), integ 0 none | 1 sha1-96 |
//          2 sha256-128, authKey, replayWindow (0 = off), flowId): replaces an SA with the same SPI and direction
Napi::Value FastPath::EspAddSa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t spi = Arg32(info, 0);
  bool inbound = info.Length() > 1 && info[1].ToBoolean().Value();
  int cipher = static_cast<int>(Arg32(info, 2));
  Napi::Uint8Array key = BytesArg(info, 3);
  int integ = static_cast<int>(Arg32(info, 4));
  Napi::Uint8Array akey = BytesArg(info, 5);
  uint32_t window = Arg32(info, 6), flowId = Arg32(info, 7);
  if (spi == 0) throw Napi::RangeError::New(env, "SPI 0 is reserved");
  size_t keyLen = key.ElementLength() - (cipher == kEspGcm16 ? 4 : 0);
  const EVP_CIPHER* ev = key.ElementLength() < 4 ? nullptr : CipherFor(cipher, keyLen);
  if (ev == nullptr) throw Napi::RangeError::New(env, "espAddSa: AES-GCM-16 with a 16/24/32-byte key + 4 salt, or AES-CBC with 16/24/32 bytes");
  const EVP_MD* md = integ == kIntegSha1_96 ? EVP_sha1() : integ == kIntegSha256_128 ? EVP_sha256() : nullptr;
  if ((cipher == kEspGcm16) != (md == nullptr) || window > ReplayWin::kMaxBits) throw Napi::RangeError::New(env, "espAddSa: GCM takes no integrity, CBC needs hmac-sha1-96 or hmac-sha256-128; window <= 1024");
  auto fl = esp_->flows.find(flowId);
  if (inbound && fl == esp_->flows.end()) throw Napi::RangeError::New(env, "espAddSa: unknown flow (espFlow first)");
  std::unique_ptr<EspSaN> sa(new EspSaN());
  sa->spi = spi;
  sa->inbound = inbound;
  sa->cipher = cipher;
  sa->integ = integ;
  sa->ivLen = cipher == kEspGcm16 ? 8 : 16;
  sa->block = cipher == kEspGcm16 ? 4 : 16;
  sa->icvLen = cipher == kEspGcm16 ? 16 : integ == kIntegSha1_96 ? 12 : 16;
  if (cipher == kEspGcm16) memcpy(sa->salt, key.Data() + keyLen, 4);
  sa->replayOn = window > 0;
  sa->win.size = window == 0 ? 32 : (window + 31) / 32 * 32;
  sa->ctr.reset(new EspSaN::LaneCtr[nLanes_]);
  for (int l = 0; l < nLanes_; l++) {
    EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
    sa->ctx.push_back(c);
    if (c == nullptr || EVP_CipherInit_ex(c, ev, nullptr, key.Data(), nullptr, inbound ? 0 : 1) != 1) throw Napi::Error::New(env, "EVP_CipherInit_ex failed");
    if (md != nullptr) {
      HMAC_CTX* m = HMAC_CTX_new();
      sa->mac.push_back(m);
      if (m == nullptr || HMAC_Init_ex(m, akey.Data(), static_cast<int>(akey.ElementLength()), md, nullptr) != 1) throw Napi::Error::New(env, "HMAC_Init_ex failed");
    }
  }
  auto locks = LockLanes();
  if (esp_->lanes.empty()) {
    esp_->st.reset(new EspLaneStats[nLanes_]);
    for (int l = 0; l < nLanes_; l++) esp_->lanes.emplace_back(new EspLane());
  }
  auto& table = inbound ? esp_->in : esp_->out;
  auto old = table.find(spi);
  if (old != table.end()) {
    for (auto& f : esp_->flows) {
      if (f.second->out == old->second) f.second->out = nullptr;
    }
    delete old->second;
  }
  if (inbound) sa->flow = fl->second;
  table[spi] = sa.release();
  return Napi::Boolean::New(env, true);
}

// espRemoveSa(spi, inbound): whether it was there (a flow whose newest outbound SA it was has none until espFlow)
Napi::Value FastPath::EspRemoveSa(const Napi::CallbackInfo& info) {
  uint32_t spi = Arg32(info, 0);
  bool inbound = info.Length() > 1 && info[1].ToBoolean().Value();
  auto& table = inbound ? esp_->in : esp_->out;
  auto it = table.find(spi);
  if (it == table.end()) return Napi::Boolean::New(info.Env(), false);
  auto locks = LockLanes();
  for (auto& f : esp_->flows) {
    if (f.second->out == it->second) f.second->out = nullptr;
  }
  delete it->second;
  table.erase(it);
  return Napi::Boolean::New(info.Env(), true);
}

// espFlow(flowId, outSpi (0 = none), remoteAddr (host order), remotePort, innerPort, l2tpPort): create or update
Napi::Value FastPath::EspSetFlow(const Napi::CallbackInfo& info) {
  uint32_t id = Arg32(info, 0), outSpi = Arg32(info, 1), addr = Arg32(info, 2), port = Arg32(info, 3), inner = Arg32(info, 4), l2tp = Arg32(info, 5);
  auto locks = LockLanes();
  EspFlow*& f = esp_->flows[id];
  if (f == nullptr) {
    f = new EspFlow();
    f->id = id;
  }
  auto o = esp_->out.find(outSpi);
  f->out = o == esp_->out.end() ? nullptr : o->second;
  f->dst.sin_family = AF_INET;
  f->dst.sin_addr.s_addr = htonl(addr);
  f->dst.sin_port = htons(static_cast<uint16_t>(port));
  f->innerPort = static_cast<uint16_t>(inner);
  f->l2tpPort = static_cast<uint16_t>(l2tp);
  return Napi::Boolean::New(info.Env(), f->out != nullptr);
}

// espRemoveFlow(flowId): sessions bound to it hand everything to JS from now on (never in the clear)
Napi::Value FastPath::EspRemoveFlow(const Napi::CallbackInfo& info) {
  auto it = esp_->flows.find(Arg32(info, 0));
  if (it == esp_->flows.end()) return Napi::Boolean::New(info.Env(), false);
  auto locks = LockLanes();
  EspFlow* f = it->second;
  for (auto& kv : byId_) {
    if (kv.second->esp == f) kv.second->esp = &esp_->deadFlow;
  }
  for (auto& kv : esp_->in) {
    if (kv.second->flow == f) kv.second->flow = nullptr;
  }
  if (esp_->nextBind == f) esp_->nextBind = nullptr;
  esp_->flows.erase(it);
  delete f;
  return Napi::Boolean::New(info.Env(), true);
}

// espBindNext(flowId): the next add() of a new session binds it to the flow (atomically: never a moment in the clear)
Napi::Value FastPath::EspBindNext(const Napi::CallbackInfo& info) {
  auto it = esp_->flows.find(Arg32(info, 0));
  esp_->nextBind = it == esp_->flows.end() ? &esp_->deadFlow : it->second;
  return Napi::Boolean::New(info.Env(), it != esp_->flows.end());
}

// espSeal(spi, nextHeader, parts: Uint8Array[]): the ESP packet (a new Uint8Array), or an EspVerdict number
Napi::Value FastPath::EspSeal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = esp_->out.find(Arg32(info, 0));
  if (it == esp_->out.end() || esp_->lanes.empty()) return Napi::Number::New(env, kEspUnknownSpi);
  uint8_t nh = static_cast<uint8_t>(Arg32(info, 1));
  if (info.Length() < 3 || !info[2].IsArray()) throw Napi::TypeError::New(env, "espSeal(spi, nextHeader, parts)");
  Napi::Array a = info[2].As<Napi::Array>();
  if (a.Length() > 4) throw Napi::RangeError::New(env, "espSeal: at most 4 parts");
  const uint8_t* parts[4];
  uint32_t lens[4];
  uint32_t total = 0;
  int n = static_cast<int>(a.Length());
  for (int i = 0; i < n; i++) {
    Napi::Value v = a.Get(static_cast<uint32_t>(i));
    if (!v.IsTypedArray()) throw Napi::TypeError::New(env, "espSeal: parts must be Uint8Arrays");
    Napi::Uint8Array b = v.As<Napi::Uint8Array>();
    parts[i] = b.Data();
    lens[i] = static_cast<uint32_t>(b.ElementLength());
    total += lens[i];
  }
  uint32_t cap = total + 64;
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, cap);
  uint32_t len = EspSealParts(*it->second, *esp_->lanes[0], 0, parts, lens, n, nh, out.Data(), cap);
  if (len == 0) return Napi::Number::New(env, it->second->seqOut.load() >= 0xffffffffULL ? kEspSeqExhausted : kEspMalformed);
  return Napi::Uint8Array::New(env, len, out.ArrayBuffer(), out.ByteOffset());
}

// espOpen(spi, packet): [seq, nextHeader, payload (a new Uint8Array)], or an EspVerdict number (counted)
Napi::Value FastPath::EspOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = esp_->in.find(Arg32(info, 0));
  if (it == esp_->in.end() || esp_->lanes.empty()) return Napi::Number::New(env, kEspUnknownSpi);
  EspSaN& sa = *it->second;
  Napi::Uint8Array pkt = BytesArg(info, 1);
  uint32_t len = static_cast<uint32_t>(pkt.ElementLength());
  if (len < kEspHeader || Get32(pkt.Data()) != sa.spi) return Napi::Number::New(env, kEspUnknownSpi);
  EspLane& EL = *esp_->lanes[0];
  uint32_t plainLen = 0, seq = 0;
  uint8_t nh = 0;
  int v = EspOpenPacket(sa, 0, pkt.Data(), len, EL.dec.data(), &plainLen, &nh, &seq);
  if (v != kEspOk) {
    if (v == kEspDuplicate || v == kEspTooOld || v == kEspZero) sa.replayDrops++;
    else if (v == kEspIcv) sa.authFailures++;
    else if (v == kEspPadding) sa.padErrors++;
    else sa.malformed++;
    return Napi::Number::New(env, v);
  }
  if (sa.replayOn) sa.win.Update(seq);
  Bump(sa.ctr[0].packets);
  Bump(sa.ctr[0].octets, plainLen);
  Napi::Array r = Napi::Array::New(env, 3);
  r.Set(0u, Napi::Number::New(env, seq));
  r.Set(1u, Napi::Number::New(env, nh));
  r.Set(2u, Napi::Buffer<uint8_t>::Copy(env, EL.dec.data(), plainLen));
  return r;
}

// espCounters(spi, inbound): [packets, octets, replayDrops, authFailures, malformed, padErrors, lastSeq], or undefined
Napi::Value FastPath::EspCounters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool inbound = info.Length() > 1 && info[1].ToBoolean().Value();
  auto& table = inbound ? esp_->in : esp_->out;
  auto it = table.find(Arg32(info, 0));
  if (it == table.end()) return env.Undefined();
  EspSaN& sa = *it->second;
  uint64_t pk = 0, oc = 0;
  for (int l = 0; l < nLanes_; l++) {
    pk += sa.ctr[l].packets.load(std::memory_order_relaxed);
    oc += sa.ctr[l].octets.load(std::memory_order_relaxed);
  }
  uint64_t last = inbound ? sa.win.top : sa.seqOut.load(std::memory_order_relaxed);
  double f[7] = {static_cast<double>(pk), static_cast<double>(oc), static_cast<double>(sa.replayDrops), static_cast<double>(sa.authFailures),
                 static_cast<double>(sa.malformed), static_cast<double>(sa.padErrors), static_cast<double>(last)};
  Napi::Array a = Napi::Array::New(env, 7);
  for (uint32_t i = 0; i < 7; i++) a.Set(i, Napi::Number::New(env, f[i]));
  return a;
}

// espStats(): the lanes' ESP counters summed, and the table sizes
Napi::Value FastPath::EspStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const char* names[kEspStatFields] = {"espInFast", "espInToJs", "espOutFast", "espOutToJs", "espSendErrors", "espReplayToJs", "espIcvToJs", "espUnknownSpiToJs"};
  double sum[kEspStatFields] = {};
  for (size_t l = 0; l < esp_->lanes.size(); l++) {
    const EspLaneStats& s = esp_->st[l];
    const std::atomic<uint64_t>* f[kEspStatFields] = {&s.inFast, &s.inToJs, &s.outFast, &s.outToJs, &s.sendErrors, &s.replayToJs, &s.icvToJs, &s.unknownSpiToJs};
    for (int i = 0; i < kEspStatFields; i++) sum[i] += static_cast<double>(f[i]->load(std::memory_order_relaxed));
  }
  for (int i = 0; i < kEspStatFields; i++) o.Set(names[i], Napi::Number::New(env, sum[i]));
  o.Set("inboundSas", Napi::Number::New(env, static_cast<double>(esp_->in.size())));
  o.Set("outboundSas", Napi::Number::New(env, static_cast<double>(esp_->out.size())));
  o.Set("flows", Napi::Number::New(env, static_cast<double>(esp_->flows.size())));
  return o;
}

void FastPath::EspClear() {
  auto locks = LockLanes();
  for (auto& kv : byId_) {
    if (kv.second->esp != nullptr) kv.second->esp = &esp_->deadFlow;
  }
  for (auto& kv : esp_->in) delete kv.second;
  for (auto& kv : esp_->out) delete kv.second;
  for (auto& kv : esp_->flows) delete kv.second;
  esp_->in.clear();
  esp_->out.clear();
  esp_->flows.clear();
  esp_->nextBind = nullptr;
}

void FastPath::AddEspMethods(std::vector<Napi::ClassPropertyDescriptor<FastPath>>& props) {
  props.push_back(InstanceMethod<&FastPath::EspAddSa>("espAddSa"));
  props.push_back(InstanceMethod<&FastPath::EspRemoveSa>("espRemoveSa"));
  props.push_back(InstanceMethod<&FastPath::EspSetFlow>("espFlow"));
  props.push_back(InstanceMethod<&FastPath::EspRemoveFlow>("espRemoveFlow"));
  props.push_back(InstanceMethod<&FastPath::EspBindNext>("espBindNext"));
  props.push_back(InstanceMethod<&FastPath::EspSeal>("espSeal"));
  props.push_back(InstanceMethod<&FastPath::EspOpen>("espOpen"));
  props.push_back(InstanceMethod<&FastPath::EspCounters>("espCounters"));
  props.push_back(InstanceMethod<&FastPath::EspStats>("espStats"));
}

}  // namespace l2tpkit

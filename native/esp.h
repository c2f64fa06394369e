// ESP (RFC 4303, transport mode, ESP-in-UDP RFC 3948) in the data fast path (issue 16 item 3): the SA
// table, the per-lane scratch and the seal/open primitives (esp.cc). FastPath (fast_path.h) owns one
// EspState; its inbound hook OnEsp, its outbound EspEncap and the JS-facing esp* methods live in esp.cc.
// OpenSSL EVP comes from the Node binary itself (its headers in /usr/include/node/openssl).
#pragma once

#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

namespace l2tpkit {

struct FastSession;
struct Ctr;

/** Role of the NAT-T (UDP 4500) socket in a FastPath (0 = L2TP UDP, 1 = TUN). */
constexpr int kFastRoleEsp = 2;

/** Ciphers (RFC 4106 AES-GCM-16, RFC 3602 AES-CBC) and integrity (RFC 2404, RFC 4868) the addon runs. */
enum EspCipher : int { kEspGcm16 = 0, kEspAesCbc = 1 };
enum EspInteg : int { kIntegNone = 0, kIntegSha1_96 = 1, kIntegSha256_128 = 2 };

/** What espOpen / OpenPacket says about a packet (0 = ok); mirrors src/ipsec/esp.ts EspError kinds. */
enum EspVerdict : int {
  kEspOk = 0, kEspDuplicate = 1, kEspTooOld = 2, kEspZero = 3, kEspIcv = 4, kEspMalformed = 5, kEspPadding = 6, kEspUnknownSpi = 7, kEspSeqExhausted = 8,
};

/** RFC 4303 §3.4.3 anti-replay window over 32-bit sequence numbers (src/ipsec/replay.ts, bit for bit). */
struct ReplayWin {
  static constexpr uint32_t kMaxBits = 1024;
  uint32_t size = 128;  // multiple of 32
  uint32_t top = 0;     // highest accepted, 0 = none
  uint32_t bits[kMaxBits / 32] = {};
  /** kEspOk, kEspDuplicate, kEspTooOld or kEspZero; changes nothing. */
  int Check(uint32_t seq) const;
  /** Mark `seq` received (after its ICV verified). */
  void Update(uint32_t seq);
};

struct EspFlow;

/** One direction of an SA: keys (an EVP context per lane: lanes run in parallel), sequence / window, counters. */
struct EspSaN {
  uint32_t spi = 0;
  bool inbound = false;
  int cipher = kEspGcm16;
  int integ = kIntegNone;
  uint32_t ivLen = 8, icvLen = 16, block = 4;
  uint8_t salt[4] = {};  // RFC 4106 §4: nonce = salt | explicit IV
  std::vector<EVP_CIPHER_CTX*> ctx;
  std::vector<HMAC_CTX*> mac;
  /** Outbound: last sequence number used (RFC 4303 §3.3.3: never cycles). Atomic: lanes share it. */
  std::atomic<uint64_t> seqOut{0};
  /** Inbound only (touched on the JS thread only: lane 0 and espOpen). */
  bool replayOn = true;
  ReplayWin win;
  EspFlow* flow = nullptr;  // inbound: the flow it belongs to
  /** Per lane: packets / payload bytes sealed or opened. */
  struct alignas(64) LaneCtr {
    std::atomic<uint64_t> packets{0}, octets{0};
  };
  std::unique_ptr<LaneCtr[]> ctr;
  uint64_t replayDrops = 0, authFailures = 0, malformed = 0, padErrors = 0;  // inbound, JS thread
  ~EspSaN();
};

/** One IPsec flow (one client): where its ESP goes and the inner UDP ports (RFC 3193). */
struct EspFlow {
  uint32_t id = 0;
  EspSaN* out = nullptr;  // the newest outbound SA; nullptr = none (data goes to JS)
  sockaddr_in dst = {};   // the client's outer address and NAT-T port
  uint16_t innerPort = 0;  // the client's L2TP port inside ESP (host order)
  uint16_t l2tpPort = 1701;
  bool dead = false;  // removed: sessions still pointing here hand everything to JS
};

/** Per-lane ESP scratch: the decrypt buffer, sealed packets waiting for sendmmsg, CBC IV pool. */
struct EspLane {
  static constexpr int kQueue = 64;
  static constexpr uint32_t kSlot = 2048;  // a sealed packet larger than this goes to JS
  static constexpr uint32_t kDec = 16384;  // = the UDP receive slot
  std::vector<uint8_t> dec;
  std::vector<uint8_t> out;
  mmsghdr mm[kQueue] = {};
  iovec iov[kQueue] = {};
  FastSession* qs[kQueue] = {};
  EspSaN* qsa[kQueue] = {};
  uint32_t ipLen[kQueue] = {};
  int queued = 0;
  uint8_t ivPool[4096] = {};
  uint32_t ivOff = sizeof(ivPool);
  EspFlow* inFlow = nullptr;  // the flow of the ESP packet Decap is looking at (nullptr: clear L2TP)
  EspLane() : dec(kDec), out(static_cast<size_t>(kQueue) * kSlot) {}
};

/** Global ESP counters of one lane. */
struct alignas(64) EspLaneStats {
  std::atomic<uint64_t> inFast{0}, inToJs{0}, outFast{0}, outToJs{0}, sendErrors{0}, replayToJs{0}, icvToJs{0}, unknownSpiToJs{0};
};
constexpr int kEspStatFields = 8;

/** Everything ESP of one FastPath. */
struct EspState {
  std::unordered_map<uint32_t, EspSaN*> in, out;  // by SPI
  std::unordered_map<uint32_t, EspFlow*> flows;   // by flow id
  std::vector<std::unique_ptr<EspLane>> lanes;
  std::unique_ptr<EspLaneStats[]> st;
  std::atomic<int> fd{-1};  // the NAT-T socket (lane 0's port; data threads send on it too)
  EspFlow deadFlow;          // what sessions of a removed flow point at: everything to JS
  EspFlow* nextBind = nullptr;  // espBindNext: the flow the next new session of add() belongs to
  EspState() { deadFlow.dead = true; }
  ~EspState();
};

/** Seal `parts` (concatenated: the transport-mode payload) with `sa` on `lane` into `dst` (room `cap`); its length, 0 if it does not fit / seq exhausted. */
uint32_t EspSealParts(EspSaN& sa, EspLane& lane, int laneIndex, const uint8_t* const* parts, const uint32_t* lens, int n, uint8_t nextHeader, uint8_t* dst, uint32_t cap);
/** Verify and decrypt into `plain` (room kDec); on kEspOk *plainLen / *nextHeader are set. Updates nothing. */
int EspOpenPacket(EspSaN& sa, int laneIndex, const uint8_t* p, uint32_t len, uint8_t* plain, uint32_t* plainLen, uint8_t* nextHeader, uint32_t* seq);

}  // namespace l2tpkit

// LCP keepalive offload (issue 15: idle CPU at 100k sessions): a session installed in the fast path
// with data threads can have its LCP Echo (RFC 1661 §5.8) run by the data thread that owns it, with
// exactly the semantics of src/ppp/lcp.ts handleTimeout/rearm. Per lane a hashed timing wheel of
// 100 ms slots (O(1) insert / remove, no scan of idle sessions), woken by the thread's poll timeout;
// due Echo-Requests go out batched with sendmmsg, a bounded number per tick. Echo-Replies and the
// peer's Echo-Requests of an offloaded session are consumed natively (keepalive.cc); after `failure`
// unanswered requests the session is reported dead to JS (a small queue drained on the uv_async wake).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <vector>

namespace l2tpkit {

struct FastSession;

/** One session's offloaded keepalive; its lane's wheel owns the timer (list links below). */
struct FastKeepalive {
  FastSession* s = nullptr;
  FastKeepalive* prev = nullptr;  // slot list of the wheel
  FastKeepalive* next = nullptr;
  uint32_t slot = 0;
  bool linked = false;
  int lane = 0;
  // Programmed by JS (lcp.ts LcpConfig + LcpState.ourMagic).
  uint32_t magic = 0;
  uint32_t intervalMs = 0;
  uint32_t failure = 3;
  double jitter = 0;
  bool adaptive = true;
  bool ac = true;  // 0xff 0x03 in front of LCP frames (never compressed, RFC 1661 §6.5/§6.6)
  // The keepalive's own schedule and state (lcp.ts echoDue / echoOutstanding / echoMisses / echoId).
  int64_t dueMs = 0;  // CLOCK_MONOTONIC ms
  uint8_t echoId = 0;
  bool outstanding = false;
  bool dead = false;
  std::atomic<uint32_t> misses{0};  // read without the lane lock by keepaliveMisses (show of a session)
  /** Something from the peer since the last tick (set by Decap of any lane). */
  std::atomic<bool> heard{false};
  // Totals since programmed (written by the owning lane under its lock).
  uint64_t sent = 0, replied = 0, answered = 0, missTotal = 0;
};

/** Frames one lane queued for sendmmsg (its Echo-Requests and its answers to the peer's). */
constexpr int kKaOut = 64;
constexpr uint32_t kKaFrame = 1600;

/** A lane's timing wheel and send queue. */
struct KaWheel {
  static constexpr int64_t kSlotMs = 100;
  static constexpr uint32_t kSlots = 1024;  // 102.4 s: a longer interval waits its round in its slot
  FastKeepalive* slots[kSlots] = {};
  int64_t cursor = -1;  // last absolute slot (ms / kSlotMs) fully processed
  uint32_t count = 0;
  uint64_t rng = 0x9e3779b97f4a7c15ULL;
  std::vector<uint8_t> buf = std::vector<uint8_t>(static_cast<size_t>(kKaOut) * kKaFrame);
  mmsghdr mm[kKaOut] = {};
  iovec iov[kKaOut] = {};
  FastKeepalive* qk[kKaOut] = {};
  int queued = 0;
};

/** Monotonic milliseconds (the wheel's clock). */
int64_t KaNowMs();

}  // namespace l2tpkit

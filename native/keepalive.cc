// LCP keepalive offload (see keepalive.h). JS (src/io/fast-path.ts) programs an installed session with
// keepalive(...) and suspends its own echo timer; the data thread that owns the session (lane 1 +
// Session ID mod N, as the reuseport steering) keeps the timer in its wheel. One tick of the wheel
// runs lcp.ts handleTimeout for each due session: heard from the peer -> misses reset (adaptive: no
// request); the last request unanswered -> one miss, `failure` misses -> reported dead; else the next
// Echo-Request (id + 1, our Magic-Number), re-armed from its own due time ± jitter/2 (rearm()).

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmath>

#include "be.h"
#include "fast_path.h"

namespace l2tpkit {

namespace {

constexpr uint32_t kEchoPerTick = 512;  // Echo-Requests one lane sends per 100 ms tick; the rest wait a tick
constexpr uint16_t kLcp = 0xc021;
constexpr uint8_t kEchoRequest = 9, kEchoReply = 10;

using be::Get16;
using be::Get32;
using be::Put32;

/** A uniform number in [0, 1) (xorshift64*: jitter only). */
double Unit(uint64_t* s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return static_cast<double>((x * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

double Num(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "keepalive(tunnel, session, magic, intervalMs, failure, jitter, adaptive, firstDueMs, addressControl, misses, outstanding, echoId)");
  return info[i].As<Napi::Number>().DoubleValue();
}

}  // namespace

int64_t KaNowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void FastPath::AddKaMethods(std::vector<Napi::ClassPropertyDescriptor<FastPath>>& props) {
  props.push_back(InstanceMethod<&FastPath::KaProgram>("keepalive"));
  props.push_back(InstanceMethod<&FastPath::KaCounters>("keepaliveCounters"));
  props.push_back(InstanceMethod<&FastPath::KaMisses>("keepaliveMisses"));
  props.push_back(InstanceMethod<&FastPath::KaStats>("keepaliveStats"));
  props.push_back(InstanceMethod<&FastPath::KaListen>("keepaliveListener"));
}

/** Put `k` in the slot of its due time (never one already processed). */
static void KaInsert(KaWheel& w, FastKeepalive* k) {
  int64_t abs = k->dueMs / KaWheel::kSlotMs;
  if (w.cursor >= 0 && abs <= w.cursor) abs = w.cursor + 1;
  uint32_t slot = static_cast<uint32_t>(abs % KaWheel::kSlots);
  k->slot = slot;
  k->prev = nullptr;
  k->next = w.slots[slot];
  if (k->next != nullptr) k->next->prev = k;
  w.slots[slot] = k;
  k->linked = true;
}

void FastPath::KaUnlink(FastKeepalive* k) {
  if (!k->linked) return;
  KaWheel& w = *lanes_[k->lane]->ka;
  if (k->prev != nullptr) k->prev->next = k->next;
  else w.slots[k->slot] = k->next;
  if (k->next != nullptr) k->next->prev = k->prev;
  k->prev = k->next = nullptr;
  k->linked = false;
  w.count--;
}

/** The session leaves the table (Erase / Clear, under every lane lock): its keepalive goes with it. */
void FastPath::KaDrop(FastSession* s) {
  if (s->ka == nullptr) return;
  if (s->ka->lane > 0 && s->ka->lane < nLanes_ && lanes_[s->ka->lane]->ka) KaUnlink(s->ka);
  delete s->ka;
  s->ka = nullptr;
}

// keepalive(tunnel, session, magic, intervalMs, failure, jitter, adaptive, firstDueMs, addressControl,
//           misses, outstanding, echoId): true when the owning data thread now runs the session's LCP
// Echo; false without data threads, without per-session UDP steering (a reply could reach another
// thread) or for an unknown session. Programming an offloaded session again replaces its settings and schedule.
Napi::Value FastPath::KaProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t tunnel = static_cast<uint32_t>(Num(info, 0)), session = static_cast<uint32_t>(Num(info, 1));
  auto it = byId_.find((tunnel << 16) | session);
  if (running_ == 0 || udpSteering_ != "cbpf-session" || it == byId_.end()) return Napi::Boolean::New(env, false);
  double iv = Num(info, 3), failure = Num(info, 4), jitter = Num(info, 5), first = Num(info, 7);
  if (!(iv >= 100 && iv <= 86400000) || !(failure >= 1 && failure <= 1000) || !(jitter >= 0 && jitter < 1)) throw Napi::RangeError::New(env, "keepalive: intervalMs 100..86400000, failure 1..1000, jitter 0..<1");
  auto locks = LockLanes();
  FastSession* s = it->second;
  KaDrop(s);
  auto* k = new FastKeepalive();
  k->s = s;
  k->lane = 1 + static_cast<int>(s->session % static_cast<uint32_t>(running_));
  k->magic = static_cast<uint32_t>(Num(info, 2));
  k->intervalMs = static_cast<uint32_t>(iv);
  k->failure = static_cast<uint32_t>(failure);
  k->jitter = jitter;
  k->adaptive = info.Length() > 6 && info[6].ToBoolean().Value();
  k->ac = info.Length() > 8 && info[8].ToBoolean().Value();
  k->misses.store(static_cast<uint32_t>(Num(info, 9)), std::memory_order_relaxed);
  k->outstanding = info.Length() > 10 && info[10].ToBoolean().Value();
  k->echoId = static_cast<uint8_t>(Num(info, 11));
  k->dueMs = KaNowMs() + static_cast<int64_t>(first < 0 ? 0 : first);
  KaWheel& w = *lanes_[k->lane]->ka;
  KaInsert(w, k);
  w.count++;
  s->ka = k;
  return Napi::Boolean::New(env, true);
}

// keepaliveCounters(tunnel, session): [sent, replied, answered, misses, missTotal, outstanding 0/1], or undefined
Napi::Value FastPath::KaCounters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = byId_.find((static_cast<uint32_t>(Num(info, 0)) << 16) | static_cast<uint32_t>(Num(info, 1)));
  if (it == byId_.end() || it->second->ka == nullptr) return env.Undefined();
  auto locks = LockLanes();
  const FastKeepalive& k = *it->second->ka;
  const double v[6] = {static_cast<double>(k.sent), static_cast<double>(k.replied), static_cast<double>(k.answered), static_cast<double>(k.misses.load(std::memory_order_relaxed)), static_cast<double>(k.missTotal), k.outstanding ? 1.0 : 0.0};
  Napi::Array a = Napi::Array::New(env, 6);
  for (uint32_t i = 0; i < 6; i++) a.Set(i, Napi::Number::New(env, v[i]));
  return a;
}

// keepaliveMisses(tunnel, session): unanswered requests in a row now (no lane lock: one atomic), or undefined
Napi::Value FastPath::KaMisses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto it = byId_.find((static_cast<uint32_t>(Num(info, 0)) << 16) | static_cast<uint32_t>(Num(info, 1)));
  if (it == byId_.end() || it->second->ka == nullptr) return env.Undefined();
  return Napi::Number::New(env, it->second->ka->misses.load(std::memory_order_relaxed));
}

// keepaliveStats(): { sessions, missing, echoSent, echoReplied, echoAnswered, echoMisses, echoDead }
Napi::Value FastPath::KaStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t sessions = 0, missing = 0;
  {
    auto locks = LockLanes();
    for (auto& kv : byId_) {
      const FastKeepalive* k = kv.second->ka;
      if (k == nullptr || k->dead) continue;
      sessions++;
      if (k->misses.load(std::memory_order_relaxed) > 0) missing++;
    }
  }
  double t[5] = {};
  for (int l = 0; l < nLanes_; l++) {
    const LaneStats& st = stats_[l];
    const Ctr* f[5] = {&st.echoSent, &st.echoReplied, &st.echoAnswered, &st.echoMisses, &st.echoDead};
    for (int i = 0; i < 5; i++) t[i] += static_cast<double>(f[i]->Get());
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("sessions", Napi::Number::New(env, sessions));
  o.Set("missing", Napi::Number::New(env, missing));
  const char* names[5] = {"echoSent", "echoReplied", "echoAnswered", "echoMisses", "echoDead"};
  for (int i = 0; i < 5; i++) o.Set(names[i], Napi::Number::New(env, t[i]));
  return o;
}

// keepaliveListener(fn | null): fn(reports: Uint32Array of (tunnel, session, misses)) on the JS thread
void FastPath::KaListen(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsFunction()) kaListener_ = Napi::Persistent(info[0].As<Napi::Function>());
  else kaListener_.Reset();
}

/** On the JS thread (OnAsync): hand the dead reports to the listener. */
void FastPath::KaDeliver() {
  std::vector<uint32_t> dead;
  {
    std::lock_guard<std::mutex> g(handMu_);
    dead.swap(kaDead_);
  }
  if (dead.empty() || kaListener_.IsEmpty()) return;
  Napi::Env env = kaListener_.Env();
  Napi::HandleScope scope(env);
  Napi::Uint32Array a = Napi::Uint32Array::New(env, dead.size());
  memcpy(a.Data(), dead.data(), dead.size() * sizeof(uint32_t));
  try {
    kaListener_.MakeCallback(env.Global(), {a});
  } catch (const Napi::Error& e) {
    napi_fatal_exception(env, e.Value());
  }
}

int FastPath::KaTick(FastLane& L) {
  KaWheel& w = *L.ka;
  int64_t now = KaNowMs();
  int64_t done = now / KaWheel::kSlotMs - 1;  // slots whose time range is over
  if (w.cursor < 0) w.cursor = done;
  if (w.count > 0 && w.cursor < done) {
    std::lock_guard<std::mutex> g(L.mu);
    uint32_t budget = kEchoPerTick;
    while (w.cursor < done && budget > 0) {
      int64_t abs = w.cursor + 1;
      int64_t end = (abs + 1) * KaWheel::kSlotMs;
      FastKeepalive* k = w.slots[abs % KaWheel::kSlots];
      while (k != nullptr && budget > 0) {
        FastKeepalive* nx = k->next;
        if (k->dueMs < end) {
          KaUnlink(k);
          w.count++;  // still this lane's until it is reported dead
          budget--;
          KaFire(L, k, now);
        }
        k = nx;
      }
      if (k != nullptr) break;  // the budget ran out inside this slot: the rest next tick
      w.cursor = abs;
    }
    KaFlush(L);
  } else if (w.count == 0) {
    w.cursor = done;
    return 500;  // nothing offloaded on this lane: the old idle poll
  }
  int64_t next = (done + 2) * KaWheel::kSlotMs - now;
  return static_cast<int>(next < 1 ? 1 : next > 500 ? 500 : next);
}

/** lcp.ts handleTimeout for one due session. */
void FastPath::KaFire(FastLane& L, FastKeepalive* k, int64_t now) {
  KaWheel& w = *L.ka;
  if (k->heard.exchange(false, std::memory_order_relaxed)) {
    k->outstanding = false;
    k->misses.store(0, std::memory_order_relaxed);
    if (k->adaptive) goto rearm;
  }
  if (k->outstanding) {
    uint32_t m = k->misses.load(std::memory_order_relaxed) + 1;
    k->misses.store(m, std::memory_order_relaxed);
    k->missTotal++;
    L.st->echoMisses.Add();
    if (m >= k->failure) {
      // §5.8 keepalive gave up: JS ends the session as its own echo-timeout does.
      k->dead = true;
      w.count--;
      L.st->echoDead.Add();
      {
        std::lock_guard<std::mutex> g(handMu_);
        kaDead_.push_back(k->s->tunnel);
        kaDead_.push_back(k->s->session);
        kaDead_.push_back(m);
      }
      WakeJs();
      return;
    }
  }
  {
    if (w.queued == kKaOut) KaFlush(L);
    k->echoId = static_cast<uint8_t>(k->echoId + 1);
    k->outstanding = true;
    uint8_t* f = w.buf.data() + static_cast<size_t>(w.queued) * kKaFrame;
    uint32_t n = 6;
    memcpy(f, k->s->hdr, 6);  // RFC 2661 §3.1 data header with the peer's ids
    if (k->ac) {
      f[n++] = 0xff;
      f[n++] = 0x03;
    }
    f[n++] = 0xc0;
    f[n++] = 0x21;
    f[n++] = kEchoRequest;
    f[n++] = k->echoId;
    f[n++] = 0;
    f[n++] = 8;
    Put32(f + n, k->magic);
    n += 4;
    w.iov[w.queued] = {f, n};
    w.qk[w.queued] = k;
    w.queued++;
    k->sent++;
    L.st->echoSent.Add();
  }
rearm:
  // Next due = last due + interval ± interval·jitter/2, skipping whole intervals missed in a stall.
  double iv = k->intervalMs;
  double next = static_cast<double>(k->dueMs) + iv + iv * k->jitter * (k->jitter > 0 ? Unit(&w.rng) - 0.5 : 0);
  if (next <= static_cast<double>(now)) next += std::ceil((static_cast<double>(now) - next + 1) / iv) * iv;
  k->dueMs = static_cast<int64_t>(next);
  KaInsert(w, k);
}

void FastPath::KaFlush(FastLane& L) {
  KaWheel& w = *L.ka;
  for (int i = 0; i < w.queued; i++) {
    memset(&w.mm[i], 0, sizeof(w.mm[i]));
    w.mm[i].msg_hdr.msg_iov = &w.iov[i];
    w.mm[i].msg_hdr.msg_iovlen = 1;
    w.mm[i].msg_hdr.msg_name = &w.qk[i]->s->dst;
    w.mm[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
  }
  int i = 0;
  while (i < w.queued && L.udpFd >= 0) {
    int r = sendmmsg(L.udpFd, w.mm + i, static_cast<unsigned>(w.queued - i), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      L.st->sendErrors.Add();  // lost like any datagram: the keepalive counts a miss if it mattered
      i++;
      continue;
    }
    i += r;
  }
  w.queued = 0;
}

// RFC 1661 §5.8 on the owning lane: Echo-Reply -> misses reset (our own magic = looped back, §6.4: not
// counted); the peer's Echo-Request -> answered with our magic; anything else is liveness and goes on.
bool FastPath::KaReceive(FastLane& L, FastSession* s, const uint8_t* ppp, uint32_t len) {
  FastKeepalive* k = s->ka;
  uint32_t off = 0;
  if (len >= 2 && ppp[0] == 0xff && ppp[1] == 0x03) off = 2;
  bool lcp = len >= off + 2 + 8 && Get16(ppp + off) == kLcp;
  const uint8_t* c = ppp + off + 2;
  uint8_t code = lcp ? c[0] : 0;
  uint32_t clen = lcp ? Get16(c + 2) : 0;
  if (!lcp || (code != kEchoRequest && code != kEchoReply) || clen < 8 || clen > len - off - 2 || L.index != k->lane || k->dead || !L.ka) {
    k->heard.store(true, std::memory_order_relaxed);
    return false;
  }
  uint32_t magic = Get32(c + 4);
  bool looped = k->magic != 0 && magic == k->magic;
  if (code == kEchoReply) {
    if (!looped) {
      k->outstanding = false;
      k->misses.store(0, std::memory_order_relaxed);
      k->replied++;
      L.st->echoReplied.Add();
    }
    return true;
  }
  if (looped) return true;  // our own request looped back: no answer (lcp.ts echoReply)
  k->heard.store(true, std::memory_order_relaxed);
  KaWheel& w = *L.ka;
  uint32_t n = 6 + (k->ac ? 2 : 0) + 2 + clen;
  if (n > kKaFrame) return false;  // a huge request: JS answers it
  if (w.queued == kKaOut) KaFlush(L);
  uint8_t* f = w.buf.data() + static_cast<size_t>(w.queued) * kKaFrame;
  uint32_t o = 6;
  memcpy(f, s->hdr, 6);
  if (k->ac) {
    f[o++] = 0xff;
    f[o++] = 0x03;
  }
  f[o++] = 0xc0;
  f[o++] = 0x21;
  memcpy(f + o, c, clen);
  f[o] = kEchoReply;  // same identifier, length and data
  Put32(f + o + 4, k->magic);
  w.iov[w.queued] = {f, n};
  w.qk[w.queued] = k;
  w.queued++;
  k->answered++;
  L.st->echoAnswered.Add();
  return true;
}

}  // namespace l2tpkit

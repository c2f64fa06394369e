// A PPP-over-L2TP load client for bench/scale-100k.ts (built with the system cc by that bench): its
// own LAC (RFC 2661 control channel: SCCRQ/SCCRP/SCCCN, ICRQ/ICRP/ICCN, ZLB acks, Ns/Nr with the
// peer's Receive Window, retransmission) and PPP peer (RFC 1661 LCP, RFC 1994 CHAP-MD5, RFC 1332
// IPCP) per session, so that figures at 100,000 sessions measure the LNS and not the client.
//
//   pppload LNS_IP LNS_PORT LOCAL_IP TUNNELS SESSIONS WINDOW HOLD_S [RCVBUF_BYTES] [ECHO_INTERVAL_S]
//
// TUNNELS tunnels, each on its own UDP socket (ephemeral port, RCVBUF via SO_RCVBUFFORCE), carry
// SESSIONS sessions round-robin (session g on tunnel g % TUNNELS); at most WINDOW sessions are
// negotiating at once. User names/secrets are u<g>/p<g>. Every LCP Echo-Request is answered in
// the same loop turn it is read in. After the last session is up (or failed) the client holds for
// HOLD_S seconds and exits; stdin EOF ends it early (the parent died). One timer structure: a
// binary min-heap of (due, who) with positions kept in the tunnel/session records, O(log N) per
// arm, cancel and expiry; no O(N) scan anywhere in the loop. Lines on stdout:
//   tunnels up=T s=SECONDS
//   stat t=S up=N inflight=N failed=N lost=N echo=N            once a second
//   dialed up=N failed=N s=SECONDS p50=MS p99=MS max=MS
//   final up=N lost=N lost_cdn=N lost_stopccn=N lost_term=N echo=N gap_max_ms=MS late=N
//         win_max=N win_avg=X                                    echoes per 100 ms window in the hold
// Nothing is sent but to LNS_IP:LNS_PORT.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "md5.h"

#define SLOTS 256      // control messages per tunnel kept for (re)transmission
#define SLOT_BYTES 160 // our longest control message is well below this
#define BATCH 64
#define RESTART_S 3.0 // RFC 1661 restart timer
#define SETUP_LIMIT_S 120.0

enum { T_IDLE, T_WAIT_SCCRP, T_UP, T_DOWN };
enum { S_IDLE, S_WAIT_ICRP, S_PPP, S_UP, S_FAILED, S_LOST };

typedef struct {
  int fd;
  uint16_t lid, rid;
  uint16_t ns, sent, una, nr; // next Ns to assign, next to transmit, oldest unacked, next expected
  uint16_t peer_rws;
  uint8_t state, need_ack, listed;
  int retries;
  double rto;
  int32_t hpos;
  uint16_t wq_head, wq_tail;   // sessions whose ICCN is not acked yet, in Ns order
  int32_t wq[SLOTS];
  uint16_t slot_len[SLOTS];
  uint8_t slot[SLOTS][SLOT_BYTES];
} Tunnel;

typedef struct {
  uint16_t rsid;
  uint16_t iccn_ns;
  uint8_t state, iccn_acked;
  uint8_t lcp_sent, lcp_ours, lcp_theirs, auth_ok, ipcp_ours, ipcp_theirs; // Configure-Ack received / sent
  uint8_t lcp_id, ipcp_id, retries;
  uint32_t magic, addr;
  int32_t hpos;
  float t_start, t_up, last_echo, max_gap;
} Session;

typedef struct {
  double due;
  uint32_t who; // session index, or TUN_BIT | tunnel index
} HeapEntry;
#define TUN_BIT 0x80000000u

static Tunnel* tuns;
static Session* sess;
static int NT, NS, WINDOW;
static HeapEntry* heap;
static int heap_n;
static struct sockaddr_in lns;
static double t0;
static long n_up, n_failed, n_lost, lost_cdn, lost_stopccn, lost_term, echoes, inflight, next_dial;
static double hold_from = -1;
static uint32_t* win; // echoes per 100 ms window of the hold
static long win_n;
static uint32_t rnd_state = 0x2545f491;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9 - t0;
}
static uint32_t rnd(void) {
  rnd_state ^= rnd_state << 13;
  rnd_state ^= rnd_state >> 17;
  rnd_state ^= rnd_state << 5;
  return rnd_state;
}

// ---- the timer heap --------------------------------------------------------------------------
static int32_t* hpos(uint32_t who) { return who & TUN_BIT ? &tuns[who & ~TUN_BIT].hpos : &sess[who].hpos; }
static void heap_put(int i, HeapEntry e) {
  heap[i] = e;
  *hpos(e.who) = i;
}
static void heap_up(int i) {
  HeapEntry e = heap[i];
  while (i > 0 && heap[(i - 1) / 2].due > e.due) heap_put(i, heap[(i - 1) / 2]), i = (i - 1) / 2;
  heap_put(i, e);
}
static void heap_down(int i) {
  HeapEntry e = heap[i];
  for (;;) {
    int c = 2 * i + 1;
    if (c >= heap_n) break;
    if (c + 1 < heap_n && heap[c + 1].due < heap[c].due) c++;
    if (heap[c].due >= e.due) break;
    heap_put(i, heap[c]);
    i = c;
  }
  heap_put(i, e);
}
/** Arm (or move) the one timer of `who`. */
static void timer_set(uint32_t who, double due) {
  int32_t* p = hpos(who);
  if (*p < 0) {
    heap_n++;
    heap_put(heap_n - 1, (HeapEntry){due, who});
    heap_up(heap_n - 1);
    return;
  }
  int i = *p;
  double old = heap[i].due;
  heap[i].due = due;
  if (due < old) heap_up(i);
  else heap_down(i);
}
static void timer_cancel(uint32_t who) {
  int32_t* p = hpos(who);
  if (*p < 0) return;
  int i = *p;
  *p = -1;
  heap_n--;
  if (i == heap_n) return;
  HeapEntry last = heap[heap_n];
  heap_put(i, last);
  heap_up(i);
  heap_down(*hpos(last.who));
}

// ---- L2TP control channel (RFC 2661 §3.1, §4.1, §5.8) ---------------------------------------
static uint8_t* avp(uint8_t* p, uint16_t type, const void* v, int len) {
  int n = 6 + len;
  p[0] = 0x80 | (n >> 8), p[1] = n & 0xff, p[2] = 0, p[3] = 0, p[4] = type >> 8, p[5] = type & 0xff;
  memcpy(p + 6, v, len);
  return p + n;
}
static uint8_t* avp16(uint8_t* p, uint16_t type, uint16_t v) {
  uint8_t b[2] = {v >> 8, v & 0xff};
  return avp(p, type, b, 2);
}
static uint8_t* avp32(uint8_t* p, uint16_t type, uint32_t v) {
  uint8_t b[4] = {v >> 24, v >> 16, v >> 8, v};
  return avp(p, type, b, 4);
}
static void put16(uint8_t* p, uint16_t v) { p[0] = v >> 8, p[1] = v & 0xff; }
static uint16_t get16(const uint8_t* p) { return (uint16_t)(p[0] << 8 | p[1]); }

/** Write the header and send slot `ns` of tunnel t with the current Nr. */
static void transmit(Tunnel* t, uint16_t ns) {
  uint8_t* m = t->slot[ns % SLOTS];
  int len = t->slot_len[ns % SLOTS];
  put16(m, 0xc802), put16(m + 2, len), put16(m + 4, t->rid), put16(m + 8, ns), put16(m + 10, t->nr); // 6..7: the session id
  send(t->fd, m, len, MSG_DONTWAIT);
  t->need_ack = 0;
}
/** Transmit what the peer's window allows; arm the retransmit timer when something is unacked. */
static void pump(int ti) {
  Tunnel* t = &tuns[ti];
  while (t->sent != t->ns && (uint16_t)(t->sent - t->una) < t->peer_rws) transmit(t, t->sent++);
  if (t->una != t->sent) {
    if (t->hpos < 0) timer_set(TUN_BIT | ti, now_s() + t->rto);
  } else {
    timer_cancel(TUN_BIT | ti);
  }
}
/** Queue a control message (AVPs body[0..n)) with session id `sid`; false when the ring is full. */
static int enqueue(int ti, uint16_t sid, const uint8_t* body, int n) {
  Tunnel* t = &tuns[ti];
  if ((uint16_t)(t->ns - t->una) >= SLOTS - 1) return 0;
  uint8_t* m = t->slot[t->ns % SLOTS];
  memcpy(m + 12, body, n);
  put16(m + 6, sid);
  t->slot_len[t->ns % SLOTS] = 12 + n;
  t->ns++;
  pump(ti);
  return 1;
}

static void send_sccrq(int ti) {
  uint8_t b[128], *p = b;
  p = avp16(p, 0, 1);
  p = avp16(p, 2, 0x0100);
  p = avp32(p, 3, 3);
  p = avp(p, 7, "pppload", 7);
  p = avp16(p, 9, tuns[ti].lid);
  p = avp16(p, 10, 64);
  enqueue(ti, 0, b, (int)(p - b));
}

// ---- PPP (RFC 1661, 1994, 1332) ----------------------------------------------------------------
static void ppp_send(int g, uint16_t proto, uint8_t code, uint8_t id, const uint8_t* data, int n) {
  Session* s = &sess[g];
  Tunnel* t = &tuns[g % NT];
  uint8_t b[1600];
  put16(b, 0x0002), put16(b + 2, t->rid), put16(b + 4, s->rsid);
  b[6] = 0xff, b[7] = 0x03, put16(b + 8, proto);
  b[10] = code, b[11] = id, put16(b + 12, 4 + n);
  if (n > 0) memcpy(b + 14, data, n);
  send(t->fd, b, 14 + n, MSG_DONTWAIT);
}
static void lcp_request(int g) {
  Session* s = &sess[g];
  uint8_t o[6] = {5, 6, s->magic >> 24, s->magic >> 16, s->magic >> 8, s->magic};
  ppp_send(g, 0xc021, 1, ++s->lcp_id, o, 6);
  s->lcp_sent = 1;
}
static void ipcp_request(int g) {
  Session* s = &sess[g];
  uint32_t a = s->addr;
  uint8_t o[6] = {3, 6, a >> 24, a >> 16, a >> 8, a};
  ppp_send(g, 0x8021, 1, ++s->ipcp_id, o, 6);
}
static void settle(int g, int st) {
  Session* s = &sess[g];
  double now = now_s();
  if (st == S_UP) {
    s->t_up = (float)now;
    s->last_echo = (float)now;
    n_up++;
  } else {
    n_failed++;
  }
  s->state = st;
  inflight--;
  timer_cancel(g);
}
/** A session that was up is gone: count why. */
static void lose(int g, long* why) {
  Session* s = &sess[g];
  if (s->state == S_UP) {
    s->state = S_LOST;
    n_up--, n_lost++, (*why)++;
  } else if (s->state != S_FAILED && s->state != S_LOST && s->state != S_IDLE) {
    settle(g, S_FAILED);
  }
  timer_cancel(g);
}
static void maybe_up(int g) {
  Session* s = &sess[g];
  if (s->state == S_PPP && s->ipcp_ours && s->ipcp_theirs) settle(g, S_UP);
}
static void on_echo(int g) {
  Session* s = &sess[g];
  double now = now_s();
  echoes++;
  if (hold_from >= 0 && now >= hold_from) {
    long w = (long)((now - hold_from) * 10);
    if (w >= 0 && w < win_n) win[w]++;
    float gap = (float)now - s->last_echo;
    if (gap > s->max_gap) s->max_gap = gap;
  }
  s->last_echo = (float)now;
}
static void on_lcp(int g, const uint8_t* p, int n) {
  Session* s = &sess[g];
  if (n < 4) return;
  uint8_t code = p[0], id = p[1];
  int len = get16(p + 2);
  if (len > n || len < 4) return;
  switch (code) {
    case 1: { // Configure-Request: every option is acceptable to a load client
      int opened = s->lcp_ours && s->lcp_theirs;
      if (opened) s->lcp_ours = 0, s->auth_ok = 0, s->ipcp_ours = 0, s->ipcp_theirs = 0; // RFC 1661 RCR in Opened: tld, scr, sca
      ppp_send(g, 0xc021, 2, id, p + 4, len - 4);
      s->lcp_theirs = 1;
      if (opened || !s->lcp_sent) lcp_request(g);
      return;
    }
    case 2:
      if (id == s->lcp_id) s->lcp_ours = 1;
      return;
    case 3:
    case 4:
      s->magic = 0;
      ppp_send(g, 0xc021, 1, ++s->lcp_id, NULL, 0);
      return;
    case 5: // Terminate-Request
      ppp_send(g, 0xc021, 6, id, NULL, 0);
      lose(g, &lost_term);
      return;
    case 9: { // Echo-Request: answer at once with our magic
      uint8_t b[1500];
      if (len < 8 || len - 4 > (int)sizeof b) return;
      memcpy(b, p + 4, len - 4);
      b[0] = s->magic >> 24, b[1] = s->magic >> 16, b[2] = s->magic >> 8, b[3] = s->magic;
      ppp_send(g, 0xc021, 10, id, b, len - 4);
      on_echo(g);
      return;
    }
    default:
      return;
  }
}
static void on_chap(int g, const uint8_t* p, int n) {
  Session* s = &sess[g];
  if (n < 4) return;
  uint8_t code = p[0], id = p[1];
  if (code == 1 && n >= 5) { // Challenge: MD5(id || secret || challenge)
    int vs = p[4];
    if (5 + vs > n) return;
    char name[32], secret[32];
    int nl = snprintf(name, sizeof name, "u%d", g), sl = snprintf(secret, sizeof secret, "p%d", g);
    uint8_t in[300], r[64];
    in[0] = id;
    memcpy(in + 1, secret, sl);
    memcpy(in + 1 + sl, p + 5, vs);
    r[0] = 16;
    md5(in, 1 + sl + vs, r + 1);
    memcpy(r + 17, name, nl);
    ppp_send(g, 0xc223, 2, id, r, 17 + nl);
  } else if (code == 3) {
    if (!s->auth_ok) {
      s->auth_ok = 1;
      s->retries = 0;
      ipcp_request(g);
      timer_set(g, now_s() + RESTART_S);
    }
  } else if (code == 4) {
    lose(g, &lost_term);
  }
}
static void on_ipcp(int g, const uint8_t* p, int n) {
  Session* s = &sess[g];
  if (n < 4) return;
  uint8_t code = p[0], id = p[1];
  int len = get16(p + 2);
  if (len > n || len < 4) return;
  if (code == 1) {
    ppp_send(g, 0x8021, 2, id, p + 4, len - 4);
    s->ipcp_theirs = 1;
    maybe_up(g);
  } else if (code == 2 && id == s->ipcp_id) {
    s->ipcp_ours = 1;
    maybe_up(g);
  } else if (code == 3) { // Configure-Nak: take the address offered
    for (int i = 4; i + 2 <= len && p[i + 1] >= 2 && i + p[i + 1] <= len; i += p[i + 1])
      if (p[i] == 3 && p[i + 1] == 6) s->addr = (uint32_t)p[i + 2] << 24 | p[i + 3] << 16 | p[i + 4] << 8 | p[i + 5];
    ipcp_request(g);
  }
}
static void on_frame(int g, const uint8_t* p, int n) {
  Session* s = &sess[g];
  if (s->state != S_PPP && s->state != S_UP) return;
  if (n >= 2 && p[0] == 0xff && p[1] == 0x03) p += 2, n -= 2;
  if (n < 1) return;
  uint16_t proto;
  if (p[0] & 1) proto = p[0], p += 1, n -= 1;
  else if (n >= 2) proto = get16(p), p += 2, n -= 2;
  else return;
  if (proto == 0xc021) on_lcp(g, p, n);
  else if (proto == 0xc223) on_chap(g, p, n);
  else if (proto == 0x8021) on_ipcp(g, p, n);
  else if (proto == 0x0021) s->last_echo = (float)now_s(); // data also shows the link alive
  else if (s->lcp_ours && s->lcp_theirs) { // Protocol-Reject (IPV6CP, CCP, ...)
    uint8_t b[64];
    int m = n < 60 ? n : 60;
    put16(b, proto);
    memcpy(b + 2, p, m);
    ppp_send(g, 0xc021, 8, ++s->lcp_id, b, 2 + m);
  }
}

// ---- dialing -----------------------------------------------------------------------------------
static void start_session(int g) {
  int ti = g % NT;
  Session* s = &sess[g];
  uint16_t lsid = (uint16_t)(g / NT + 1);
  uint8_t b[64], *p = b;
  p = avp16(p, 0, 10);
  p = avp16(p, 14, lsid);
  p = avp32(p, 15, (uint32_t)g + 1);
  if (!enqueue(ti, tuns[ti].rid, b, (int)(p - b))) return;
  s->state = S_WAIT_ICRP;
  s->t_start = (float)now_s();
  s->magic = rnd() | 1;
  inflight++;
  timer_set(g, now_s() + SETUP_LIMIT_S);
}
static void dial_more(void) {
  while (inflight < WINDOW && next_dial < NS) {
    int g = (int)next_dial;
    if (tuns[g % NT].state != T_UP) {
      next_dial++, n_failed++;
      continue;
    }
    start_session(g);
    if (sess[g].state != S_WAIT_ICRP) break; // ring full: retry on the next turn
    next_dial++;
  }
}
static void on_iccn_acked(int ti) {
  // LCP starts once the LNS has the ICCN: a Configure-Request overtaking it would be dropped.
  Tunnel* t = &tuns[ti];
  while (t->wq_head != t->wq_tail) {
    int g = t->wq[t->wq_head % SLOTS];
    Session* s = &sess[g];
    if (s->state == S_PPP && (int16_t)(t->una - s->iccn_ns) <= 0) break;
    t->wq_head++;
    if (s->state != S_PPP || s->iccn_acked) continue;
    s->iccn_acked = 1;
    if (!s->lcp_sent) lcp_request(g);
    timer_set(g, now_s() + RESTART_S);
  }
}

// ---- receive -----------------------------------------------------------------------------------
static int* ack_list; // tunnels owing a ZLB after this turn
static int ack_n;
static void owe_ack(int ti) {
  if (!tuns[ti].listed) ack_list[ack_n++] = ti, tuns[ti].listed = 1;
  tuns[ti].need_ack = 1;
}
static void on_control(int ti, const uint8_t* m, int n) {
  Tunnel* t = &tuns[ti];
  if (n < 12) return;
  uint16_t sid = get16(m + 6), ns = get16(m + 8), nr = get16(m + 10);
  if ((int16_t)(nr - t->una) > 0 && (int16_t)(t->sent - nr) >= 0) {
    t->una = nr;
    t->retries = 0;
    t->rto = 1.0;
    timer_cancel(TUN_BIT | ti);
    pump(ti);
    on_iccn_acked(ti);
  }
  if (n == 12) return; // ZLB
  if (ns != t->nr) {
    owe_ack(ti); // duplicate (or out of order: the peer retransmits)
    return;
  }
  t->nr++;
  owe_ack(ti);
  int type = -1, rws = -1, assigned_tunnel = -1, assigned_session = -1;
  for (int i = 12; i + 6 <= n;) {
    int alen = get16(m + i) & 0x3ff;
    if (alen < 6 || i + alen > n) break;
    uint16_t vendor = get16(m + i + 2), at = get16(m + i + 4);
    const uint8_t* v = m + i + 6;
    if (vendor == 0 && alen >= 8) {
      if (at == 0) type = get16(v);
      else if (at == 9) assigned_tunnel = get16(v);
      else if (at == 10) rws = get16(v);
      else if (at == 14) assigned_session = get16(v);
    }
    i += alen;
  }
  if (type == 2 && t->state == T_WAIT_SCCRP) { // SCCRP
    t->rid = (uint16_t)assigned_tunnel;
    t->peer_rws = rws > 0 ? (uint16_t)(rws < SLOTS - 1 ? rws : SLOTS - 1) : 4;
    uint8_t b[16], *p = b;
    p = avp16(p, 0, 3);
    enqueue(ti, 0, b, (int)(p - b));
    t->state = T_UP;
  } else if (type == 4) { // StopCCN
    t->state = T_DOWN;
    for (int g = ti; g < NS; g += NT) lose(g, &lost_stopccn);
  } else if (type == 11 || type == 14) { // ICRP, CDN: our session id is in the header
    int g = (int)(sid - 1) * NT + ti;
    if (sid == 0 || g >= NS) return;
    Session* s = &sess[g];
    if (type == 14) {
      lose(g, &lost_cdn);
      return;
    }
    if (s->state != S_WAIT_ICRP || assigned_session < 0) return;
    s->rsid = (uint16_t)assigned_session;
    uint8_t b[64], *p = b;
    p = avp16(p, 0, 12);
    p = avp32(p, 24, 100000000);
    p = avp32(p, 19, 1);
    s->iccn_ns = t->ns;
    if (!enqueue(ti, s->rsid, b, (int)(p - b))) return;
    s->state = S_PPP;
    t->wq[t->wq_tail++ % SLOTS] = g;
    on_iccn_acked(ti);
  }
}
static void on_datagram(int ti, const uint8_t* d, int n) {
  if (n < 6) return;
  uint16_t flags = get16(d);
  if ((flags & 0x000f) != 2) return;
  if (flags & 0x8000) {
    on_control(ti, d, n);
    return;
  }
  int off = 2;
  if (flags & 0x4000) off += 2;
  if (n < off + 4) return;
  uint16_t sid = get16(d + off + 2);
  off += 4;
  if (flags & 0x0800) off += 4;
  if (flags & 0x0200) {
    if (n < off + 2) return;
    off += 2 + get16(d + off);
  }
  if (off > n) return;
  int g = (int)(sid - 1) * NT + ti;
  if (sid == 0 || g >= NS) return;
  on_frame(g, d + off, n - off);
}

static void on_timer(uint32_t who, double now) {
  if (who & TUN_BIT) {
    int ti = (int)(who & ~TUN_BIT);
    Tunnel* t = &tuns[ti];
    if (t->una == t->sent) return;
    if (++t->retries > 10) {
      t->state = T_DOWN;
      for (int g = ti; g < NS; g += NT) lose(g, &lost_stopccn);
      return;
    }
    for (uint16_t k = t->una; k != t->sent; k++) transmit(t, k);
    t->rto = t->rto * 2 > 8 ? 8 : t->rto * 2;
    timer_set(who, now + t->rto);
    return;
  }
  int g = (int)who;
  Session* s = &sess[g];
  if (now - s->t_start > SETUP_LIMIT_S || ++s->retries > 10) {
    settle(g, S_FAILED);
    return;
  }
  if (s->state == S_PPP) {
    if (!s->lcp_ours) lcp_request(g);
    else if (s->auth_ok && !s->ipcp_ours) ipcp_request(g);
  }
  timer_set(g, now + RESTART_S);
}

static int cmp_float(const void* a, const void* b) {
  float x = *(const float*)a, y = *(const float*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc < 8) {
    fprintf(stderr, "usage: pppload LNS_IP LNS_PORT LOCAL_IP TUNNELS SESSIONS WINDOW HOLD_S [RCVBUF] [ECHO_S]\n");
    return 2;
  }
  t0 = 0;
  t0 = now_s();
  lns.sin_family = AF_INET;
  lns.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &lns.sin_addr) != 1) return 2;
  struct sockaddr_in local = {.sin_family = AF_INET};
  if (inet_pton(AF_INET, argv[3], &local.sin_addr) != 1) return 2;
  NT = atoi(argv[4]), NS = atoi(argv[5]), WINDOW = atoi(argv[6]);
  double hold = atof(argv[7]);
  int rcvbuf = argc > 8 ? atoi(argv[8]) : 4 << 20;
  double echo_s = argc > 9 ? atof(argv[9]) : 30;
  if (NT < 1 || NS < 1 || NS > NT * 65535 || WINDOW < 1) return 2;
  rnd_state ^= (uint32_t)getpid();
  tuns = calloc(NT, sizeof *tuns);
  sess = calloc(NS, sizeof *sess);
  heap = calloc(NS + NT + 1, sizeof *heap);
  ack_list = calloc(NT, sizeof *ack_list);
  win_n = (long)(hold * 10) + 10;
  win = calloc(win_n, sizeof *win);
  if (!tuns || !sess || !heap || !win) return 1;
  int ep = epoll_create1(0);
  for (int i = 0; i < NT; i++) {
    Tunnel* t = &tuns[i];
    t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (t->fd < 0 || bind(t->fd, (struct sockaddr*)&local, sizeof local) < 0 || connect(t->fd, (struct sockaddr*)&lns, sizeof lns) < 0) {
      perror("pppload socket");
      return 1;
    }
    if (setsockopt(t->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    t->lid = (uint16_t)(i + 1);
    t->peer_rws = 4;
    t->rto = 1.0;
    t->hpos = -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, t->fd, &ev);
  }
  for (int g = 0; g < NS; g++) sess[g].hpos = -1;
  struct epoll_event sev = {.events = EPOLLIN, .data.u32 = 0xffffffffu};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev);
  // Tunnels: a few in flight at a time (the LNS bounds half-open tunnels per peer).
  int topen = 0, tup = 0, tdone = 0;
  double last_stat = 0, dial_t0 = -1, dial_end = -1, end_at = -1;
  static uint8_t bufs[BATCH][2048];
  struct mmsghdr mm[BATCH];
  struct iovec iov[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i], iov[i].iov_len = sizeof bufs[i];
    memset(&mm[i], 0, sizeof mm[i]);
    mm[i].msg_hdr.msg_iov = &iov[i], mm[i].msg_hdr.msg_iovlen = 1;
  }
  (void)echo_s;
  for (;;) {
    double now = now_s();
    while (topen < NT && topen - tdone < 16) {
      tuns[topen].state = T_WAIT_SCCRP;
      send_sccrq(topen++);
    }
    if (!tdone || tdone < NT) {
      tup = 0, tdone = 0;
      for (int i = 0; i < topen; i++) tup += tuns[i].state == T_UP, tdone += tuns[i].state == T_UP || tuns[i].state == T_DOWN;
      if (tdone == NT) printf("tunnels up=%d s=%.2f\n", tup, now), fflush(stdout), dial_t0 = now;
      if (now > 60 && tdone < NT) {
        fprintf(stderr, "pppload: only %d of %d tunnels up after 60 s\n", tup, NT);
        return 1;
      }
    }
    if (dial_t0 >= 0 && dial_end < 0) {
      dial_more();
      if (next_dial >= NS && inflight == 0) {
        dial_end = now;
        float* lat = malloc(sizeof(float) * (n_up + 1));
        long k = 0;
        for (int g = 0; g < NS; g++)
          if (sess[g].state == S_UP) lat[k++] = sess[g].t_up - sess[g].t_start;
        qsort(lat, k, sizeof *lat, cmp_float);
        printf("dialed up=%ld failed=%ld s=%.2f p50=%.1f p99=%.1f max=%.1f\n", n_up, n_failed, dial_end - dial_t0,
               k ? lat[k / 2] * 1e3 : -1, k ? lat[(long)(k * 0.99)] * 1e3 : -1, k ? lat[k - 1] * 1e3 : -1);
        fflush(stdout);
        free(lat);
        hold_from = now + echo_s; // echo windows counted after one interval of settling
        end_at = now + hold;
        for (int g = 0; g < NS; g++) sess[g].max_gap = 0;
      }
    }
    if (end_at >= 0 && now >= end_at) break;
    if (now - last_stat >= 1.0) {
      last_stat = now;
      printf("stat t=%.1f up=%ld inflight=%ld failed=%ld lost=%ld echo=%ld\n", now, n_up, inflight, n_failed, n_lost, echoes);
      fflush(stdout);
    }
    int wait_ms = 100;
    if (heap_n > 0) {
      double d = (heap[0].due - now) * 1e3;
      if (d < wait_ms) wait_ms = d < 0 ? 0 : (int)d + 1;
    }
    struct epoll_event evs[256];
    int ne = epoll_wait(ep, evs, 256, wait_ms);
    for (int e = 0; e < ne; e++) {
      uint32_t ti = evs[e].data.u32;
      if (ti == 0xffffffffu) {
        char c[64];
        if (read(0, c, sizeof c) <= 0) goto out;
        continue;
      }
      for (int rounds = 0; rounds < 16; rounds++) {
        int r = recvmmsg(tuns[ti].fd, mm, BATCH, MSG_DONTWAIT, NULL);
        if (r <= 0) break;
        for (int i = 0; i < r; i++) on_datagram((int)ti, bufs[i], (int)mm[i].msg_len);
        if (r < BATCH) break;
      }
    }
    for (int k = 0; k < ack_n; k++) { // a ZLB where no message carried the ack (RFC 2661 §5.8)
      int i = ack_list[k];
      tuns[i].listed = 0;
      if (tuns[i].need_ack) {
        uint8_t z[12];
        put16(z, 0xc802), put16(z + 2, 12), put16(z + 4, tuns[i].rid), put16(z + 6, 0), put16(z + 8, tuns[i].sent), put16(z + 10, tuns[i].nr);
        send(tuns[i].fd, z, 12, MSG_DONTWAIT);
        tuns[i].need_ack = 0;
      }
    }
    ack_n = 0;
    now = now_s();
    for (int k = 0; k < 100000 && heap_n > 0 && heap[0].due <= now; k++) {
      uint32_t who = heap[0].who;
      timer_cancel(who);
      on_timer(who, now);
    }
  }
out:;
  float gap_max = 0;
  long late = 0;
  double end = now_s();
  for (int g = 0; g < NS; g++) {
    if (sess[g].state != S_UP) continue;
    if (end - sess[g].last_echo > sess[g].max_gap) sess[g].max_gap = (float)(end - sess[g].last_echo);
    if (sess[g].max_gap > gap_max) gap_max = sess[g].max_gap;
    if (sess[g].max_gap > 2.5 * echo_s) late++; // adaptive echo: a reply silences the next tick, so 2 intervals is normal
  }
  long wmax = 0, wsum = 0, wcount = 0;
  double now = now_s();
  for (long w = 0; w < win_n && hold_from >= 0 && hold_from + (w + 1) / 10.0 <= now; w++) {
    wsum += win[w], wcount++;
    if (win[w] > wmax) wmax = win[w];
  }
  printf("final up=%ld lost=%ld lost_cdn=%ld lost_stopccn=%ld lost_term=%ld failed=%ld echo=%ld gap_max_ms=%.0f late=%ld win_max=%ld win_avg=%.1f\n",
         n_up, n_lost, lost_cdn, lost_stopccn, lost_term, n_failed, echoes, gap_max * 1e3, late, wmax, wcount ? (double)wsum / wcount : 0.0);
  fflush(stdout);
  return 0;
}

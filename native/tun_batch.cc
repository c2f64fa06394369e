// TUN I/O in batches through io_uring (see tun_batch.h), and the two data-thread hooks that use it:
// FlushTunWrites (the end of a recvmmsg batch: every Decap'd packet written to the TUN in one
// io_uring_enter) and TunBatchRing (TUN -> L2TP: n reads in one io_uring_enter, then Encap + one
// sendmmsg, as TunBatch does with read()). Every op carries RWF_NOWAIT, so it completes inline while
// io_uring_enter runs (a read of an empty queue with -EAGAIN): no op is left in flight between
// batches, the slots are free again when it returns, and the ops run in submission order (packet
// order within a session is kept).

#include "tun_batch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>

#include "fast_path.h"

namespace l2tpkit {

namespace {

int Setup(unsigned entries, io_uring_params* p) { return static_cast<int>(syscall(__NR_io_uring_setup, entries, p)); }
int Enter(int fd, unsigned submit, unsigned complete, unsigned flags) {
  return static_cast<int>(syscall(__NR_io_uring_enter, fd, submit, complete, flags, nullptr, 0));
}
int Register(int fd, unsigned op, const void* arg, unsigned n) { return static_cast<int>(syscall(__NR_io_uring_register, fd, op, arg, n)); }

unsigned LoadAcquire(const unsigned* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
void StoreRelease(unsigned* p, unsigned v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

}  // namespace

const char* TunIoWanted() {
  const char* e = getenv("L2TPKIT_TUN_IO");
  // Default: the writes only (a clear win in bench/data-plane.ts); the reads through the ring did not
  // measure better than read() until EAGAIN (docs/BENCHMARKS.md), so they are opt-in.
  if (e != nullptr && strcmp(e, "syscall") == 0) return "syscall";
  if (e != nullptr && strcmp(e, "io_uring") == 0) return "io_uring";
  return "io_uring writes";
}

std::unique_ptr<TunBatch> TunBatch::Open(int tunFd, std::string* why) {
  int fl = fcntl(tunFd, F_GETFL);
  if (fl < 0 || ((fl & O_NONBLOCK) == 0 && fcntl(tunFd, F_SETFL, fl | O_NONBLOCK) < 0)) {
    *why = std::string("fcntl: ") + strerror(errno);
    return nullptr;
  }
  std::unique_ptr<TunBatch> b(new TunBatch());
  io_uring_params p;
  memset(&p, 0, sizeof(p));
  // A bad SQE does not stop the rest of the batch (its CQE says why). Not SINGLE_ISSUER: the ring is
  // made here on the JS thread and used by the data thread (io_uring_enter would say EEXIST).
  p.flags = IORING_SETUP_SUBMIT_ALL;
  b->fd_ = Setup(2 * kMax, &p);
  if (b->fd_ < 0 && errno == EINVAL) {  // older kernel (< 5.18): without
    memset(&p, 0, sizeof(p));
    b->fd_ = Setup(2 * kMax, &p);
  }
  if (b->fd_ < 0) {
    *why = std::string("io_uring_setup: ") + strerror(errno);
    return nullptr;
  }
  size_t sqLen = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cqLen = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
  bool single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
  if (single && cqLen > sqLen) sqLen = cqLen;
  b->ringLen_ = sqLen;
  b->ring_ = mmap(nullptr, sqLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, b->fd_, IORING_OFF_SQ_RING);
  if (b->ring_ == MAP_FAILED) {
    b->ring_ = nullptr;
    *why = std::string("mmap SQ ring: ") + strerror(errno);
    return nullptr;
  }
  if (single) {
    b->cqRing_ = b->ring_;
  } else {
    b->cqLen_ = cqLen;
    b->cqRing_ = mmap(nullptr, cqLen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, b->fd_, IORING_OFF_CQ_RING);
    if (b->cqRing_ == MAP_FAILED) {
      b->cqRing_ = nullptr;
      *why = std::string("mmap CQ ring: ") + strerror(errno);
      return nullptr;
    }
  }
  b->sqesLen_ = p.sq_entries * sizeof(io_uring_sqe);
  void* sqes = mmap(nullptr, b->sqesLen_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, b->fd_, IORING_OFF_SQES);
  if (sqes == MAP_FAILED) {
    *why = std::string("mmap SQEs: ") + strerror(errno);
    return nullptr;
  }
  b->sqes_ = static_cast<io_uring_sqe*>(sqes);
  auto* sq = static_cast<uint8_t*>(b->ring_);
  auto* cq = static_cast<uint8_t*>(b->cqRing_);
  b->sqHead_ = reinterpret_cast<unsigned*>(sq + p.sq_off.head);
  b->sqTail_ = reinterpret_cast<unsigned*>(sq + p.sq_off.tail);
  b->sqMask_ = *reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
  b->sqArray_ = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
  b->cqHead_ = reinterpret_cast<unsigned*>(cq + p.cq_off.head);
  b->cqTail_ = reinterpret_cast<unsigned*>(cq + p.cq_off.tail);
  b->cqMask_ = *reinterpret_cast<unsigned*>(cq + p.cq_off.ring_mask);
  b->cqes_ = reinterpret_cast<io_uring_cqe*>(cq + p.cq_off.cqes);
  b->tail_ = *b->sqTail_;
  // The TUN fd as fixed file 0: no fget/fput (an atomic on the shared file) per op.
  if (Register(b->fd_, IORING_REGISTER_FILES, &tunFd, 1) < 0) {
    *why = std::string("IORING_REGISTER_FILES: ") + strerror(errno);
    return nullptr;
  }
  // Default-initialised: untouched pages of the 4 MiB stay unbacked (a read touches only its packet).
  b->slots_.reset(new uint8_t[static_cast<size_t>(kMax) * kStride]);
  return b;
}

TunBatch::~TunBatch() {
  if (sqes_ != nullptr) munmap(sqes_, sqesLen_);
  if (cqRing_ != nullptr && cqRing_ != ring_) munmap(cqRing_, cqLen_);
  if (ring_ != nullptr) munmap(ring_, ringLen_);
  if (fd_ >= 0) close(fd_);
}

io_uring_sqe* TunBatch::Sqe() {
  io_uring_sqe* e = &sqes_[tail_ & sqMask_];
  sqArray_[tail_ & sqMask_] = tail_ & sqMask_;
  tail_++;
  memset(e, 0, sizeof(*e));
  e->flags = IOSQE_FIXED_FILE;
  e->fd = 0;
  return e;
}

bool TunBatch::QueueWrite(FastSession* s, const uint8_t* p, uint32_t len) {
  if (nw_ == kMax) return false;
  ws_[nw_] = s;
  wp_[nw_] = p;
  wl_[nw_] = len;
  nw_++;
  return true;
}

bool TunBatch::Submit(uint32_t n, int32_t* res) {
  StoreRelease(sqTail_, tail_);
  uint32_t done = 0;
  int r;
  do {
    r = Enter(fd_, n, n, IORING_ENTER_GETEVENTS);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    int e = errno;
    // Nothing was consumed: take the SQEs back (the ring's tail is ours alone).
    tail_ = LoadAcquire(sqHead_);
    StoreRelease(sqTail_, tail_);
    for (uint32_t i = 0; i < n; i++) res[i] = -e;
    return false;
  }
  while (done < n) {
    unsigned head = *cqHead_;
    unsigned tail = LoadAcquire(cqTail_);
    if (head == tail) {
      // Not all completed inline (not expected on an O_NONBLOCK TUN): wait for the rest.
      do {
        r = Enter(fd_, 0, n - done, IORING_ENTER_GETEVENTS);
      } while (r < 0 && errno == EINTR);
      if (r < 0) {
        for (uint32_t i = 0; i < n; i++) res[i] = -errno;
        return false;
      }
      continue;
    }
    for (; head != tail; head++) {
      const io_uring_cqe& c = cqes_[head & cqMask_];
      if (c.user_data < n) res[c.user_data] = c.res;
      done++;
    }
    StoreRelease(cqHead_, head);
  }
  return true;
}

bool TunBatch::RunWrites(int32_t* res) {
  for (uint32_t i = 0; i < nw_; i++) {
    io_uring_sqe* e = Sqe();
    e->opcode = IORING_OP_WRITE;
    e->addr = reinterpret_cast<uint64_t>(wp_[i]);
    e->len = wl_[i];
    e->off = static_cast<uint64_t>(-1);  // a stream: no offset
    e->rw_flags = RWF_NOWAIT;            // as write() on the O_NONBLOCK fd: -EAGAIN, never parked
    e->user_data = i;
  }
  return Submit(nw_, res);
}

bool TunBatch::RunReads(uint32_t n, int32_t* res) {
  for (uint32_t i = 0; i < n; i++) {
    io_uring_sqe* e = Sqe();
    e->opcode = IORING_OP_READ;
    e->addr = reinterpret_cast<uint64_t>(Slot(i));
    e->len = kSlot;
    e->off = static_cast<uint64_t>(-1);
    e->rw_flags = RWF_NOWAIT;  // an empty queue: -EAGAIN now (O_NONBLOCK alone makes io_uring park the read on poll)
    e->user_data = i;
  }
  return Submit(n, res);
}

void TunBatch::Adapt(uint32_t issued, uint32_t got) {
  // All found a packet: more next time; else a little above what was there (an empty read costs an op).
  uint32_t n = got == issued ? issued * 2 : got + got / 2 + 2;
  nr_ = n < 2 ? 2 : n > kMax ? kMax : n;
}

// The end of a recvmmsg batch: the packets Decap queued, written to the TUN in order, counted.
void FastPath::FlushTunWrites(FastLane& L) {
  l2tpkit::TunBatch& b = *L.tb;  // qualified: FastPath::TunBatch is the read() path
  uint32_t n = b.Queued();
  if (n == 0) return;
  int32_t res[l2tpkit::TunBatch::kMax];
  if (n == 1) {  // a lone packet (a light load): one write() is cheaper than an io_uring_enter + op
    ssize_t r;
    do {
      r = write(L.tunFd, b.WritePtr(0), b.WriteLen(0));
    } while (r < 0 && errno == EINTR);
    res[0] = r < 0 ? -errno : static_cast<int32_t>(r);
  } else {
    b.RunWrites(res);
    b.writeBatches.store(b.writeBatches.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    b.writeOps.store(b.writeOps.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  for (uint32_t i = 0; i < n; i++) {
    SessionCounters& c = b.WriteSession(i)->ctr[L.index];
    if (res[i] < 0) {
      L.st->tunWriteErrors.Add();
      c.tunWriteErrors.Add();
      continue;
    }
    c.rxPackets.Add();
    c.rxOctets.Add(b.WriteLen(i));
  }
  b.ClearWrites();
}

// TUN -> L2TP on a data thread with a ring: as TunBatch, the reads in one io_uring_enter.
void FastPath::TunBatchRing(FastLane& L, bool* more) {
  l2tpkit::TunBatch& b = *L.tb;  // qualified: FastPath::TunBatch is the read() path
  uint32_t n = b.ReadCount(), got = 0;
  int32_t res[l2tpkit::TunBatch::kMax];
  bool handed = false;
  std::lock_guard<std::mutex> g(L.mu);
  if (!b.RunReads(n, res)) {
    *more = false;
    return;
  }
  b.readBatches.store(b.readBatches.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  b.readOps.store(b.readOps.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  for (uint32_t i = 0; i < n; i++) {
    if (res[i] <= 0) continue;  // -EAGAIN: the queue was empty by then
    got++;
    uint8_t* p = b.Slot(i);
    if (!Encap(L, p, static_cast<uint32_t>(res[i]))) {
      Hand(kFastRoleTun, p, static_cast<uint32_t>(res[i]), 0, 0, L.st);
      handed = true;
    }
  }
  FlushLane(L);
  b.Adapt(n, got);
  *more = got == n;
  if (handed) WakeJs();
}

// stats(): tunIoBatches / tunIoOps = [writes, reads] through the rings of the running data threads.
void FastPath::TunIoStats(Napi::Object& o) {
  double v[4] = {};
  for (int i = 1; i <= running_; i++) {
    const l2tpkit::TunBatch* b = lanes_[i]->tb.get();
    if (b == nullptr) continue;
    v[0] += static_cast<double>(b->writeBatches.load(std::memory_order_relaxed));
    v[1] += static_cast<double>(b->readBatches.load(std::memory_order_relaxed));
    v[2] += static_cast<double>(b->writeOps.load(std::memory_order_relaxed));
    v[3] += static_cast<double>(b->readOps.load(std::memory_order_relaxed));
  }
  Napi::Array batches = Napi::Array::New(o.Env(), 2), ops = Napi::Array::New(o.Env(), 2);
  for (uint32_t k = 0; k < 2; k++) {
    batches.Set(k, Napi::Number::New(o.Env(), v[k]));
    ops.Set(k, Napi::Number::New(o.Env(), v[2 + k]));
  }
  o.Set("tunIoBatches", batches);
  o.Set("tunIoOps", ops);
  // udpGso: "on" (every running lane sends runs as GSO), "off" (L2TPKIT_UDP_GSO=off, or the kernel refused), "none".
  double gso[2] = {};
  int on = 0;
  for (int i = 1; i <= running_; i++) {
    const GsoBatch* g = lanes_[i]->gso.get();
    if (g == nullptr) continue;
    if (!g->refused.load(std::memory_order_relaxed)) on++;
    gso[0] += static_cast<double>(g->sends.load(std::memory_order_relaxed));
    gso[1] += static_cast<double>(g->packets.load(std::memory_order_relaxed));
  }
  o.Set("udpGso", Napi::String::New(o.Env(), running_ == 0 ? "none" : on == running_ ? "on" : "off"));
  o.Set("udpGsoSends", Napi::Number::New(o.Env(), gso[0]));
  o.Set("udpGsoPackets", Napi::Number::New(o.Env(), gso[1]));
}

}  // namespace l2tpkit

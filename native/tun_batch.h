// TUN I/O of a data thread in batches (issue 16): one io_uring_enter() for a batch of TUN writes (the
// L2TP -> TUN direction; the default) or reads (TUN -> L2TP; L2TPKIT_TUN_IO=io_uring) instead of one
// write()/read() syscall per packet. Raw io_uring syscalls (<linux/io_uring.h>), no liburing. Off (the
// per-packet syscalls of fast_path.cc / fast_threads.cc) when the kernel refuses io_uring or
// L2TPKIT_TUN_IO=syscall.
#pragma once

#include <linux/io_uring.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace l2tpkit {

struct FastSession;

/** One data thread's ring on its TUN queue fd (registered as fixed file 0) and its read slots. */
class TunBatch {
 public:
  static constexpr uint32_t kMax = 64;      // ops per batch (= fast_threads.cc kBatch)
  static constexpr uint32_t kSlot = 65536;  // one TUN read (any MTU)
  // Slot stride: not a multiple of 4 KiB, so the slots' first lines do not share one cache set.
  static constexpr uint32_t kStride = kSlot + 192;

  /** A ring on `tunFd` (made O_NONBLOCK: a read of an empty queue completes with -EAGAIN); null + why when not possible. */
  static std::unique_ptr<TunBatch> Open(int tunFd, std::string* why);
  ~TunBatch();

  // Writes queued by Decap; Flush issues them in order in one io_uring_enter and calls back per result.
  bool QueueWrite(FastSession* s, const uint8_t* p, uint32_t len);
  uint32_t Queued() const { return nw_; }
  FastSession* WriteSession(uint32_t i) const { return ws_[i]; }
  uint32_t WriteLen(uint32_t i) const { return wl_[i]; }
  const uint8_t* WritePtr(uint32_t i) const { return wp_[i]; }
  /** Issue the queued writes; res[i] = bytes written or -errno, in queue order. False: io_uring_enter failed (res = that -errno). */
  bool RunWrites(int32_t* res);
  void ClearWrites() { nw_ = 0; }

  /** Issue `n` reads into slots 0..n-1; res[i] = packet length, -EAGAIN (queue empty) or -errno. */
  bool RunReads(uint32_t n, int32_t* res);
  uint8_t* Slot(uint32_t i) { return slots_.get() + static_cast<size_t>(i) * kStride; }
  /** How many reads the next batch issues (adapted to what the last batches found). */
  uint32_t ReadCount() const { return nr_; }
  void Adapt(uint32_t issued, uint32_t got);
  bool reads = true;  // TUN reads through the ring too (else only the writes)

  // Written by the data thread, read by stats(): io_uring_enter calls and the ops they carried, per kind.
  std::atomic<uint64_t> writeBatches{0}, writeOps{0}, readBatches{0}, readOps{0};

 private:
  TunBatch() = default;
  io_uring_sqe* Sqe();
  bool Submit(uint32_t n, int32_t* res);

  int fd_ = -1;
  void* ring_ = nullptr;
  size_t ringLen_ = 0;
  void* cqRing_ = nullptr;  // == ring_ with IORING_FEAT_SINGLE_MMAP
  size_t cqLen_ = 0;
  io_uring_sqe* sqes_ = nullptr;
  size_t sqesLen_ = 0;
  unsigned* sqTail_ = nullptr;
  unsigned* sqHead_ = nullptr;
  unsigned sqMask_ = 0;
  unsigned* sqArray_ = nullptr;
  unsigned* cqHead_ = nullptr;
  unsigned* cqTail_ = nullptr;
  unsigned cqMask_ = 0;
  io_uring_cqe* cqes_ = nullptr;
  unsigned tail_ = 0;  // local SQ tail
  std::unique_ptr<uint8_t[]> slots_;
  FastSession* ws_[kMax] = {};
  const uint8_t* wp_[kMax] = {};
  uint32_t wl_[kMax] = {};
  uint32_t nw_ = 0;
  uint32_t nr_ = 8;
};

/** L2TPKIT_TUN_IO: "syscall" (per-packet read()/write()), "io_uring" (writes and reads), else (default) "io_uring writes" (reads by read()). */
const char* TunIoWanted();

}  // namespace l2tpkit

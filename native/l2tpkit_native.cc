// l2tpkit native addon: what Node cannot do by itself.
//
//  - openTun(name, tap)      open /dev/net/tun with IFF_TUN|IFF_NO_PI (or IFF_TAP|IFF_NO_PI), non-blocking
//  - openRaw(proto, bind)    socket(AF_INET, SOCK_RAW, proto) for ESP (50) and L2TPv3-over-IP (115)
//  - PacketPort              owns one such fd; a libuv uv_poll_t drives batched reads into one
//                            preallocated ArrayBuffer slab and calls JS ONCE per batch with the count;
//                            single, gathered (sendmsg() with an iovec) and batched writes (write()/sendmmsg()).
//  - openUdp(addr, port)     a non-blocking IPv4 UDP socket (the L2TP listener of the data fast path)
//  - FastPath                the L2TPv2 data fast path (fast_path.cc); a UDP and a TUN PacketPort offer it
//                            every packet first (setFastPath) and only what it does not consume reaches JS.
//
// Batch layout (shared with JS, allocated once per port):
//   slab : ArrayBuffer of slabSize bytes, packets copied in by the kernel
//   meta : Uint32Array of maxPackets * 4: [offset, length, sourceAddr (host order, raw only), ipHeaderLength]
// The slab and meta contents are valid only during the callback; the next batch overwrites them.

#include <napi.h>
#include <uv.h>

#include "fast_path.h"
#include "v3_fast.h"
#include "packet_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

constexpr uint32_t kMetaStride = 4;
constexpr int kKindTun = 0;
constexpr int kKindRaw = 1;
constexpr int kKindUdp = 2;
constexpr int kAbiVersion = 6;
constexpr uint32_t kMaxBatch = 1024;
constexpr uint32_t kMaxIov = 8;

/** "EACCES" for EACCES; falls back to the number. */
std::string ErrnoName(int e) {
  const char* n = strerrorname_np(e);
  return n != nullptr ? std::string(n) : ("errno " + std::to_string(e));
}

/** A JS Error "what: ECODE (strerror)[ hint]" with .code, .errno and .syscall set. */
Napi::Error ErrnoError(Napi::Env env, const std::string& what, const char* syscall, int e,
                       const std::string& hint = "") {
  std::string msg = what + ": " + ErrnoName(e) + " (" + strerror(e) + ")";
  if (!hint.empty()) msg += " (" + hint + ")";
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, ErrnoName(e)));
  err.Set("errno", Napi::Number::New(env, e));
  err.Set("syscall", Napi::String::New(env, syscall));
  return err;
}

std::string PermissionHint(int e) {
  if (e == EACCES || e == EPERM) return "run as root or grant CAP_NET_ADMIN";
  return "";
}

// openTun(name: string, tap: boolean, blocking?: boolean, queues?: number): { fd, name, queues: number[] }
// queues > 0: IFF_MULTI_QUEUE, and that many more queue fds, detached (TUNSETQUEUE) until a data thread
// of the fast path attaches one (a detached queue gets no packets).
// (blocking fds exist only for the fs.read baseline in bench/tun-throughput.ts)
Napi::Value OpenTun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBoolean()) {
    throw Napi::TypeError::New(env, "openTun(name: string, tap: boolean)");
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  bool tap = info[1].As<Napi::Boolean>().Value();
  bool blocking = info.Length() > 2 && info[2].ToBoolean().Value();
  int queues = info.Length() > 3 && info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : 0;
  if (queues < 0 || queues > 16) throw Napi::RangeError::New(env, "queues must be 0..16");
  if (name.size() >= IFNAMSIZ) {
    throw Napi::TypeError::New(env, "interface name '" + name + "' is longer than " +
                                        std::to_string(IFNAMSIZ - 1) + " characters");
  }
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | (blocking ? 0 : O_NONBLOCK));
  if (fd < 0) {
    int e = errno;
    std::string hint = PermissionHint(e);
    if (e == ENOENT || e == ENODEV || e == ENXIO) hint = "load the tun module: modprobe tun";
    throw ErrnoError(env, "cannot open /dev/net/tun", "open", e, hint);
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = static_cast<short>((tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (queues > 0 ? IFF_MULTI_QUEUE : 0));
  memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    std::string hint = PermissionHint(e);
    if (e == EBUSY) hint = "interface name in use by another process or of another type";
    if (e == EINVAL) hint = "invalid interface name or name in use by a non-tun device";
    throw ErrnoError(env, std::string("cannot create ") + (tap ? "tap" : "tun") + " interface '" + name + "'",
                     "ioctl(TUNSETIFF)", e, hint);
  }
  Napi::Array extra = Napi::Array::New(env, queues);
  for (int q = 0; q < queues; q++) {
    int qfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    struct ifreq qr = ifr;  // the name the kernel gave the first queue
    struct ifreq det;
    memset(&det, 0, sizeof(det));
    det.ifr_flags = IFF_DETACH_QUEUE;
    if (qfd < 0 || ioctl(qfd, TUNSETIFF, &qr) < 0 || ioctl(qfd, TUNSETQUEUE, &det) < 0) {
      int e = errno;
      if (qfd >= 0) close(qfd);
      for (uint32_t k = 0; k < extra.Length(); k++) close(extra.Get(k).As<Napi::Number>().Int32Value());
      close(fd);
      throw ErrnoError(env, "cannot open queue " + std::to_string(q + 1) + " of " + name, "ioctl(TUNSETIFF)", e);
    }
    extra.Set(static_cast<uint32_t>(q), Napi::Number::New(env, qfd));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Napi::Number::New(env, fd));
  out.Set("name", Napi::String::New(env, std::string(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ))));
  out.Set("queues", extra);
  return out;
}

// openRaw(proto: number, bindAddr: string | null, rcvbuf: number): number (fd)
Napi::Value OpenRaw(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !(info[1].IsString() || info[1].IsNull()) ||
      !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "openRaw(proto: number, bindAddr: string | null, rcvbuf: number)");
  }
  int proto = info[0].As<Napi::Number>().Int32Value();
  if (proto <= 0 || proto > 255) throw Napi::RangeError::New(env, "IP protocol must be 1..255");
  int rcvbuf = info[2].As<Napi::Number>().Int32Value();
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  bool doBind = false;
  std::string addr;
  if (info[1].IsString()) {
    addr = info[1].As<Napi::String>().Utf8Value();
    if (inet_pton(AF_INET, addr.c_str(), &sin.sin_addr) != 1) {
      throw Napi::TypeError::New(env, "not an IPv4 address: '" + addr + "'");
    }
    doBind = true;
  }
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) {
    int e = errno;
    std::string hint = (e == EACCES || e == EPERM) ? "run as root or grant CAP_NET_RAW" : "";
    if (e == EPROTONOSUPPORT) hint = "protocol not supported by this kernel";
    throw ErrnoError(env, "cannot open raw IP socket for protocol " + std::to_string(proto), "socket", e, hint);
  }
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0) {
    int e = errno;
    close(fd);
    throw ErrnoError(env, "cannot set SO_RCVBUF", "setsockopt", e);
  }
  if (doBind && bind(fd, reinterpret_cast<struct sockaddr*>(&sin), sizeof(sin)) < 0) {
    int e = errno;
    close(fd);
    throw ErrnoError(env, "cannot bind raw socket to " + addr, "bind", e,
                     e == EADDRNOTAVAIL ? "address not assigned to any interface" : "");
  }
  return Napi::Number::New(env, fd);
}

// openUdp(addr: string, port: number, rcvbuf: number, reusePort?: boolean): { fd: number, port: number }
// — IPv4 UDP, non-blocking; reusePort = SO_REUSEPORT before bind (the fast path's data threads join it)
Napi::Value OpenUdp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "openUdp(addr: string, port: number, rcvbuf: number)");
  }
  std::string addr = info[0].As<Napi::String>().Utf8Value();
  int port = info[1].As<Napi::Number>().Int32Value();
  int rcvbuf = info[2].As<Napi::Number>().Int32Value();
  if (port < 0 || port > 65535) throw Napi::RangeError::New(env, "port must be 0..65535");
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof(sin));
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, addr.c_str(), &sin.sin_addr) != 1) throw Napi::TypeError::New(env, "not an IPv4 address: '" + addr + "'");
  bool reusePort = info.Length() > 3 && info[3].ToBoolean().Value();
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw ErrnoError(env, "cannot open UDP socket", "socket", errno);
  int one = 1;
  if (reusePort && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
    int e = errno;
    close(fd);
    throw ErrnoError(env, "cannot set SO_REUSEPORT", "setsockopt", e);
  }
  if (rcvbuf > 0) {
    // SO_RCVBUFFORCE (root) passes net.core.rmem_max; else SO_RCVBUF, capped by the kernel.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof(rcvbuf));
  }
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&sin), sizeof(sin)) < 0) {
    int e = errno;
    close(fd);
    throw ErrnoError(env, "cannot bind UDP " + addr + ":" + std::to_string(port), "bind", e,
                     e == EADDRINUSE ? "address in use" : e == EADDRNOTAVAIL ? "address not assigned to any interface" : PermissionHint(e));
  }
  socklen_t sl = sizeof(sin);
  getsockname(fd, reinterpret_cast<struct sockaddr*>(&sin), &sl);
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Napi::Number::New(env, fd));
  out.Set("port", Napi::Number::New(env, ntohs(sin.sin_port)));
  return out;
}

uint8_t* TypedArrayBytes(Napi::Env env, const Napi::Value& v, size_t* len) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(env, "expected a Uint8Array");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(env, "expected a Uint8Array");
  Napi::Uint8Array u8 = v.As<Napi::Uint8Array>();
  *len = u8.ElementLength();
  return u8.Data();
}

uint32_t* Uint32Elements(Napi::Env env, const Napi::Value& v, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    throw Napi::TypeError::New(env, "expected a Uint32Array");
  }
  Napi::Uint32Array a = v.As<Napi::Uint32Array>();
  *len = a.ElementLength();
  return a.Data();
}

bool WouldBlock(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS; }

/** One fd (TUN/TAP or raw socket) with a libuv poll driving batched reads. */
class PacketPort : public Napi::ObjectWrap<PacketPort>, public l2tpkit::FastPortHook {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "PacketPort",
                       {
                           InstanceMethod<&PacketPort::Start>("start"),
                           InstanceMethod<&PacketPort::Stop>("stop"),
                           InstanceMethod<&PacketPort::ReadNow>("readNow"),
                           InstanceMethod<&PacketPort::Write>("write"),
                           InstanceMethod<&PacketPort::WriteBatch>("writeBatch"),
                           InstanceMethod<&PacketPort::SendTo>("sendTo"),
                           InstanceMethod<&PacketPort::SendToV>("sendToV"),
                           InstanceMethod<&PacketPort::SendBatch>("sendBatch"),
                           InstanceMethod<&PacketPort::SetRef>("setRef"),
                           InstanceMethod<&PacketPort::Close>("close"),
                           InstanceMethod<&PacketPort::SetFastPath>("setFastPath"),
                           InstanceMethod<&PacketPort::SetV3Fast>("setV3Fast"),
                           InstanceAccessor<&PacketPort::GetSlab>("slab"),
                           InstanceAccessor<&PacketPort::GetMeta>("meta"),
                           InstanceAccessor<&PacketPort::GetFd>("fd"),
                           InstanceAccessor<&PacketPort::GetLastErrno>("lastErrno"),
                           InstanceAccessor<&PacketPort::GetTruncated>("truncated"),
                       });
  }

  // new PacketPort(fd: number, kind: 0 tun | 1 raw, maxPackets: number, maxPacketSize: number)
  explicit PacketPort(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<PacketPort>(info), async_(info.Env(), "l2tpkit.PacketPort") {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() ||
        !info[3].IsNumber()) {
      throw Napi::TypeError::New(env, "new PacketPort(fd, kind, maxPackets, maxPacketSize)");
    }
    fd_ = info[0].As<Napi::Number>().Int32Value();
    kind_ = info[1].As<Napi::Number>().Int32Value();
    int64_t maxPackets = info[2].As<Napi::Number>().Int64Value();
    int64_t maxPacketSize = info[3].As<Napi::Number>().Int64Value();
    if (fd_ < 0) throw Napi::RangeError::New(env, "bad fd");
    if (kind_ != kKindTun && kind_ != kKindRaw && kind_ != kKindUdp) throw Napi::RangeError::New(env, "kind must be 0 (tun), 1 (raw) or 2 (udp)");
    if (maxPackets < 1 || maxPackets > kMaxBatch) throw Napi::RangeError::New(env, "maxPackets must be 1..1024");
    if (maxPacketSize < 64 || maxPacketSize > 65536) {
      throw Napi::RangeError::New(env, "maxPacketSize must be 64..65536");
    }
    maxPackets_ = static_cast<uint32_t>(maxPackets);
    maxPacketSize_ = static_cast<uint32_t>(maxPacketSize);
    // TUN reads pack packets back to back (typical packets are far below maxPacketSize), keeping one
    // maxPacketSize of headroom; raw recvmmsg() needs one fixed slot per packet.
    slabSize_ = kind_ == kKindTun ? maxPackets_ * 2048u + maxPacketSize_ : maxPackets_ * maxPacketSize_;
    Napi::ArrayBuffer slab = Napi::ArrayBuffer::New(env, slabSize_);
    slabData_ = static_cast<uint8_t*>(slab.Data());
    slabRef_ = Napi::Persistent(slab);
    Napi::Uint32Array meta = Napi::Uint32Array::New(env, maxPackets_ * kMetaStride);
    metaData_ = meta.Data();
    metaRef_ = Napi::Persistent(meta);
    if (kind_ != kKindTun) {
      msgs_.resize(maxPackets_);
      iovs_.resize(maxPackets_);
      addrs_.resize(maxPackets_);
    }
  }

  ~PacketPort() override { Shutdown(); }

 private:
  // start(cb: (count: number, errno: number) => void): void
  void Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "start(callback)");
    if (closed_) throw Napi::Error::New(env, "port is closed");
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    if (poll_ == nullptr) {
      uv_loop_t* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
        throw Napi::Error::New(env, "cannot get the libuv loop");
      }
      poll_ = new uv_poll_t;
      int r = uv_poll_init(loop, poll_, fd_);
      if (r != 0) {
        delete poll_;
        poll_ = nullptr;
        throw Napi::Error::New(env, std::string("uv_poll_init: ") + uv_strerror(r));
      }
      poll_->data = this;
      if (!refed_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    }
    int r = uv_poll_start(poll_, UV_READABLE, &PacketPort::OnPoll);
    if (r != 0) throw Napi::Error::New(env, std::string("uv_poll_start: ") + uv_strerror(r));
    if (!polling_) {
      polling_ = true;
      Ref();  // keep the wrapper alive while the kernel may call back into it
    }
  }

  void StopPolling() {
    if (poll_ != nullptr) uv_poll_stop(poll_);
    if (polling_) {
      polling_ = false;
      Unref();
    }
  }

  void Stop(const Napi::CallbackInfo&) { StopPolling(); }

  // setRef(ref: boolean): whether an active poll keeps the event loop alive
  void SetRef(const Napi::CallbackInfo& info) {
    refed_ = info.Length() < 1 || info[0].ToBoolean().Value();
    if (poll_ == nullptr) return;
    if (refed_) {
      uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    } else {
      uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    }
  }

  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<PacketPort*>(handle->data);
    if (self == nullptr || self->closed_) return;
    self->HandleReadable(status);
  }

  /** Read one batch; returns the count (>= 0) or -errno when nothing was read and an error occurred. */
  int64_t Drain() {
    int64_t n = kind_ == kKindTun ? DrainTun() : DrainRaw();
    if (fast_ != nullptr) fast_->Flush();
    if (v3_ != nullptr && v3Role_ == l2tpkit::kV3RoleTap) v3_->Flush();
    return n;
  }

  // setV3Fast(v3: V3Fast | null, role: 0 net | 1 tap, session?: number): offer every packet to v3 first
  void SetV3Fast(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    DetachV3();
    if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) return;
    if (closed_) throw Napi::Error::New(env, "port is closed");
    if (!info[0].IsObject() || info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "setV3Fast(v3, role, session)");
    int role = info[1].As<Napi::Number>().Int32Value();
    if ((role == l2tpkit::kV3RoleNet && kind_ == kKindTun) || (role == l2tpkit::kV3RoleTap && kind_ != kKindTun) || role < 0 || role > 1) {
      throw Napi::TypeError::New(env, "role 0 needs a UDP or raw port, role 1 a TAP port");
    }
    Napi::Object o = info[0].As<Napi::Object>();
    if (!l2tpkit::IsV3Fast(env, o)) throw Napi::TypeError::New(env, "not a V3Fast");
    l2tpkit::V3Fast* v = l2tpkit::V3Fast::Unwrap(o);
    if (v == nullptr) throw Napi::TypeError::New(env, "not a V3Fast");
    v3Ref_ = Napi::Persistent(o);
    v3_ = v;
    v3Role_ = role;
    v3Session_ = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
    if (role == l2tpkit::kV3RoleNet) v->BindNet(fd_);
    else v->BindTap(v3Session_, fd_);
  }

  void DetachV3() {
    if (v3_ != nullptr) {
      if (v3Role_ == l2tpkit::kV3RoleNet) v3_->BindNet(-1);
      else v3_->BindTap(v3Session_, -1);
    }
    v3_ = nullptr;
    if (!v3Ref_.IsEmpty()) v3Ref_.Reset();
  }

  // setFastPath(fp: FastPath | null, role: 0 udp | 1 tun | 2 NAT-T ESP): offer every received packet to fp first
  void SetFastPath(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    DetachFast();
    if (info.Length() < 1 || info[0].IsNull() || info[0].IsUndefined()) return;
    if (closed_) throw Napi::Error::New(env, "port is closed");
    if (!info[0].IsObject() || info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "setFastPath(fastPath, role)");
    int role = info[1].As<Napi::Number>().Int32Value();
    if (((role == l2tpkit::kFastRoleUdp || role == l2tpkit::kFastRoleEsp) && kind_ != kKindUdp) || (role == l2tpkit::kFastRoleTun && kind_ != kKindTun) || role < 0 || role > 2) {
      throw Napi::TypeError::New(env, "role 0 (L2TP) and 2 (NAT-T ESP) need a UDP port, role 1 a TUN port");
    }
    Napi::Object o = info[0].As<Napi::Object>();
    if (!l2tpkit::IsFastPath(env, o)) throw Napi::TypeError::New(env, "not a FastPath");
    l2tpkit::FastPath* fp = l2tpkit::FastPath::Unwrap(o);
    if (fp == nullptr) throw Napi::TypeError::New(env, "not a FastPath");
    fastRef_ = Napi::Persistent(o);
    fast_ = fp;
    fastRole_ = role;
    fp->BindFd(role, fd_, this);
  }

  void DetachFast() {
    if (fast_ != nullptr) fast_->BindFd(fastRole_, -1, nullptr);
    fast_ = nullptr;
    if (!fastRef_.IsEmpty()) fastRef_.Reset();
  }

  int64_t DrainTun() {
    uint32_t n = 0;
    uint32_t off = 0;
    uint32_t reads = 0;
    // off only grows; stop while one more maximal packet still fits (no unsigned wrap-around). A packet
    // the fast path takes keeps its bytes (sendmmsg at Flush) but gets no meta entry.
    while (reads < maxPackets_ && off <= slabSize_ && slabSize_ - off >= maxPacketSize_) {
      ssize_t r = read(fd_, slabData_ + off, maxPacketSize_);
      if (r < 0) {
        int e = errno;
        if (e == EINTR) continue;
        if (e == EAGAIN || e == EWOULDBLOCK) break;
        lastErrno_ = e;
        if (n == 0 && reads == 0) return -static_cast<int64_t>(e);
        break;
      }
      reads++;
      if ((fast_ != nullptr && fast_->OnTun(slabData_ + off, static_cast<uint32_t>(r))) ||
          (v3_ != nullptr && v3_->OnTap(v3Session_, slabData_ + off, static_cast<uint32_t>(r)))) {
        off += (static_cast<uint32_t>(r) + 7u) & ~7u;
        continue;
      }
      uint32_t* m = metaData_ + n * kMetaStride;
      m[0] = off;
      m[1] = static_cast<uint32_t>(r);
      m[2] = 0;
      m[3] = 0;
      off += (static_cast<uint32_t>(r) + 7u) & ~7u;  // keep packets 8-byte aligned for DataView users
      n++;
    }
    return n;
  }

  int64_t DrainRaw() {
    for (uint32_t i = 0; i < maxPackets_; i++) {
      iovs_[i].iov_base = slabData_ + static_cast<size_t>(i) * maxPacketSize_;
      iovs_[i].iov_len = maxPacketSize_;
      memset(&msgs_[i], 0, sizeof(msgs_[i]));
      msgs_[i].msg_hdr.msg_iov = &iovs_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_hdr.msg_name = &addrs_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(addrs_[i]);
    }
    int r;
    do {
      r = recvmmsg(fd_, msgs_.data(), maxPackets_, MSG_DONTWAIT, nullptr);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) return 0;
      lastErrno_ = e;
      return -static_cast<int64_t>(e);
    }
    uint32_t n = 0;
    for (int i = 0; i < r; i++) {
      const struct mmsghdr& mh = msgs_[i];
      uint32_t len = mh.msg_len;
      uint8_t* p = slabData_ + static_cast<size_t>(i) * maxPacketSize_;
      if (kind_ == kKindUdp) {
        if ((mh.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
          truncated_++;
          continue;
        }
        uint32_t src = ntohl(addrs_[i].sin_addr.s_addr);
        uint16_t sport = ntohs(addrs_[i].sin_port);
        if (fast_ != nullptr && (fastRole_ == l2tpkit::kFastRoleEsp ? fast_->OnEsp(p, len, src, sport) : fast_->OnUdp(p, len, src, sport))) continue;
        if (v3_ != nullptr && v3_->OnNet(p, len, src, sport, 0)) continue;
        uint32_t* m = metaData_ + n * kMetaStride;
        m[0] = static_cast<uint32_t>(i) * maxPacketSize_;
        m[1] = len;
        m[2] = src;
        m[3] = sport;
        n++;
        continue;
      }
      if ((mh.msg_hdr.msg_flags & MSG_TRUNC) != 0 || len < 20) {
        truncated_++;
        continue;
      }
      // RFC 791 §3.1: raw IPv4 sockets deliver the IP header; IHL counts 32-bit words.
      uint32_t ihl = static_cast<uint32_t>(p[0] & 0x0f) * 4u;
      if (ihl < 20 || ihl > len) {
        truncated_++;
        continue;
      }
      if (v3_ != nullptr && v3_->OnNet(p, len, ntohl(addrs_[i].sin_addr.s_addr), 0, ihl)) continue;
      uint32_t* m = metaData_ + n * kMetaStride;
      m[0] = static_cast<uint32_t>(i) * maxPacketSize_;
      m[1] = len;
      m[2] = ntohl(addrs_[i].sin_addr.s_addr);
      m[3] = ihl;
      n++;
    }
    return n;
  }

  // FastPortHook: packets a data thread of the fast path did not consume, delivered as one batch.
  void FastWake() override {
    if (closed_ || fast_ == nullptr || callback_.IsEmpty()) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    uint32_t n = fast_->PopHanded(fastRole_, slabData_, slabSize_, maxPackets_, metaData_);
    if (n == 0) return;
    try {
      callback_.MakeCallback(Value(), {Napi::Number::New(env, static_cast<double>(n)), Napi::Number::New(env, 0)}, async_);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  void HandleReadable(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    int64_t n;
    if (status < 0) {
      // libuv reports -errno on Unix
      n = status;
    } else {
      n = Drain();
      if (n == 0) return;
    }
    int err = 0;
    if (n < 0) {
      err = static_cast<int>(-n);
      n = 0;
      // A TUN fd whose interface went away keeps failing: stop instead of spinning.
      if (kind_ == kKindTun || status < 0) StopPolling();
    }
    if (callback_.IsEmpty()) return;
    try {
      callback_.MakeCallback(Value(), {Napi::Number::New(env, static_cast<double>(n)), Napi::Number::New(env, err)},
                             async_);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  // readNow(): number — synchronous drain (count; throws on error)
  Napi::Value ReadNow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) throw Napi::Error::New(env, "port is closed");
    int64_t n = Drain();
    if (n < 0) throw ErrnoError(env, "read failed", kind_ == kKindTun ? "read" : "recvmmsg", static_cast<int>(-n));
    return Napi::Number::New(env, static_cast<double>(n));
  }

  // write(buf: Uint8Array): number — bytes written, 0 if the kernel queue is full; throws on other errors
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) throw Napi::Error::New(env, "port is closed");
    if (info.Length() < 1) throw Napi::TypeError::New(env, "write(buf)");
    size_t len = 0;
    uint8_t* data = TypedArrayBytes(env, info[0], &len);
    return SendOne(env, "write", [&] { return write(fd_, data, len); });
  }

  // writeBatch(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): number
  // One write() per packet (a TUN fd takes exactly one packet per write). Stops at a full queue;
  // packets failing for other reasons are skipped. Returns the number of packets written.
  Napi::Value WriteBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) throw Napi::Error::New(env, "port is closed");
    if (info.Length() < 4 || !info[3].IsNumber()) throw Napi::TypeError::New(env, "writeBatch(buf, offsets, lengths, count)");
    size_t len = 0, no = 0, nl = 0;
    uint8_t* data = TypedArrayBytes(env, info[0], &len);
    uint32_t* offs = Uint32Elements(env, info[1], &no);
    uint32_t* lens = Uint32Elements(env, info[2], &nl);
    int64_t count = info[3].As<Napi::Number>().Int64Value();
    if (count < 0 || static_cast<size_t>(count) > no || static_cast<size_t>(count) > nl) {
      throw Napi::RangeError::New(env, "count exceeds offsets/lengths");
    }
    uint32_t written = 0;
    for (int64_t i = 0; i < count; i++) {
      uint64_t o = offs[i], l = lens[i];
      if (o + l > len) throw Napi::RangeError::New(env, "packet " + std::to_string(i) + " exceeds the buffer");
      ssize_t r;
      do {
        r = write(fd_, data + o, l);
      } while (r < 0 && errno == EINTR);
      if (r < 0) {
        lastErrno_ = errno;
        if (WouldBlock(lastErrno_)) break;
        continue;
      }
      written++;
    }
    return Napi::Number::New(env, written);
  }

  // One send/write: retried on EINTR; bytes written, 0 when the kernel queue is full (EAGAIN,
  // ENOBUFS), a JS error naming the syscall otherwise.
  template <typename F>
  Napi::Value SendOne(Napi::Env env, const char* syscall, F call) {
    ssize_t r;
    do {
      r = call();
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      int e = errno;
      lastErrno_ = e;
      if (WouldBlock(e)) return Napi::Number::New(env, 0);
      throw ErrnoError(env, std::string(syscall) + " failed", syscall, e);
    }
    return Napi::Number::New(env, static_cast<double>(r));
  }

  static void FillSin(struct sockaddr_in* sin, uint32_t addr, uint16_t port = 0) {
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(addr);
    sin->sin_port = htons(port);
  }

  // sendTo(buf: Uint8Array, addr: number /* IPv4, host order */, port?: number /* UDP */): number — bytes, 0 if queue full
  Napi::Value SendTo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) throw Napi::Error::New(env, "port is closed");
    if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "sendTo(buf, addr)");
    size_t len = 0;
    uint8_t* data = TypedArrayBytes(env, info[0], &len);
    struct sockaddr_in sin;
    uint32_t port = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 0;
    FillSin(&sin, info[1].As<Napi::Number>().Uint32Value(), static_cast<uint16_t>(port));
    return SendOne(env, "sendto", [&] { return sendto(fd_, data, len, 0, reinterpret_cast<struct sockaddr*>(&sin), sizeof(sin)); });
  }

  // sendToV(parts: Uint8Array[], addr: number /* IPv4, host order */): number — bytes, 0 if queue full.
  // One datagram gathered from up to kMaxIov segments with sendmsg(), so a packet built in pieces
  // (ESP header | ciphertext | ICV) is never joined in JS.
  Napi::Value SendToV(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) throw Napi::Error::New(env, "port is closed");
    if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsNumber()) {
      throw Napi::TypeError::New(env, "sendToV(parts, addr)");
    }
    Napi::Array parts = info[0].As<Napi::Array>();
    uint32_t n = parts.Length();
    if (n == 0 || n > kMaxIov) throw Napi::RangeError::New(env, "sendToV: 1 to 8 parts");
    struct iovec iov[kMaxIov];
    for (uint32_t i = 0; i < n; i++) {
      size_t len = 0;
      iov[i].iov_base = TypedArrayBytes(env, parts.Get(i), &len);
      iov[i].iov_len = len;
    }
    struct sockaddr_in sin;
    FillSin(&sin, info[1].As<Napi::Number>().Uint32Value());
    struct msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_name = &sin;
    mh.msg_namelen = sizeof(sin);
    mh.msg_iov = iov;
    mh.msg_iovlen = n;
    return SendOne(env, "sendmsg", [&] { return sendmsg(fd_, &mh, 0); });
  }

  // sendBatch(buf, offsets: Uint32Array, lengths: Uint32Array, addrs: Uint32Array, count): number
  // sendmmsg() in chunks; stops at a full queue, skips packets failing otherwise.
  Napi::Value SendBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) throw Napi::Error::New(env, "port is closed");
    if (info.Length() < 5 || !info[4].IsNumber()) {
      throw Napi::TypeError::New(env, "sendBatch(buf, offsets, lengths, addrs, count)");
    }
    size_t len = 0, no = 0, nl = 0, na = 0;
    uint8_t* data = TypedArrayBytes(env, info[0], &len);
    uint32_t* offs = Uint32Elements(env, info[1], &no);
    uint32_t* lens = Uint32Elements(env, info[2], &nl);
    uint32_t* dsts = Uint32Elements(env, info[3], &na);
    int64_t count = info[4].As<Napi::Number>().Int64Value();
    if (count < 0 || static_cast<size_t>(count) > no || static_cast<size_t>(count) > nl ||
        static_cast<size_t>(count) > na) {
      throw Napi::RangeError::New(env, "count exceeds offsets/lengths/addrs");
    }
    constexpr int kChunk = 64;
    struct mmsghdr mm[kChunk];
    struct iovec iov[kChunk];
    struct sockaddr_in sa[kChunk];
    uint32_t sent = 0;
    int64_t i = 0;
    while (i < count) {
      int k = 0;
      for (; k < kChunk && i + k < count; k++) {
        uint64_t o = offs[i + k], l = lens[i + k];
        if (o + l > len) throw Napi::RangeError::New(env, "packet " + std::to_string(i + k) + " exceeds the buffer");
        iov[k].iov_base = data + o;
        iov[k].iov_len = l;
        FillSin(&sa[k], dsts[i + k]);
        memset(&mm[k], 0, sizeof(mm[k]));
        mm[k].msg_hdr.msg_iov = &iov[k];
        mm[k].msg_hdr.msg_iovlen = 1;
        mm[k].msg_hdr.msg_name = &sa[k];
        mm[k].msg_hdr.msg_namelen = sizeof(sa[k]);
      }
      int r;
      do {
        r = sendmmsg(fd_, mm, static_cast<unsigned>(k), 0);
      } while (r < 0 && errno == EINTR);
      if (r < 0) {
        lastErrno_ = errno;
        if (WouldBlock(lastErrno_)) break;
        i += 1;  // the first packet of the chunk failed: skip it
        continue;
      }
      sent += static_cast<uint32_t>(r);
      i += r;
    }
    return Napi::Number::New(env, sent);
  }

  void Shutdown() {
    if (closed_) return;
    closed_ = true;
    if (fast_ != nullptr) fast_->BindFd(fastRole_, -1, nullptr);
    fast_ = nullptr;
    DetachV3();
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      poll_->data = nullptr;
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  // close(): void — idempotent; stops polling, closes the fd (a TUN interface disappears with it)
  void Close(const Napi::CallbackInfo&) {
    if (polling_) {
      polling_ = false;
      Unref();
    }
    Shutdown();
    callback_.Reset();
    if (!fastRef_.IsEmpty()) fastRef_.Reset();
  }

  Napi::Value GetSlab(const Napi::CallbackInfo&) { return slabRef_.Value(); }
  Napi::Value GetMeta(const Napi::CallbackInfo&) { return metaRef_.Value(); }
  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
  Napi::Value GetLastErrno(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), lastErrno_); }
  Napi::Value GetTruncated(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(truncated_));
  }

  int fd_ = -1;
  int kind_ = kKindTun;
  uint32_t maxPackets_ = 0;
  uint32_t maxPacketSize_ = 0;
  uint32_t slabSize_ = 0;
  uint8_t* slabData_ = nullptr;
  uint32_t* metaData_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> slabRef_;
  Napi::Reference<Napi::Uint32Array> metaRef_;
  Napi::FunctionReference callback_;
  Napi::AsyncContext async_;
  uv_poll_t* poll_ = nullptr;
  bool polling_ = false;
  bool closed_ = false;
  bool refed_ = true;
  int lastErrno_ = 0;
  uint64_t truncated_ = 0;
  std::vector<struct mmsghdr> msgs_;
  std::vector<struct iovec> iovs_;
  std::vector<struct sockaddr_in> addrs_;
  l2tpkit::FastPath* fast_ = nullptr;
  l2tpkit::V3Fast* v3_ = nullptr;
  Napi::ObjectReference v3Ref_;
  int v3Role_ = 0;
  uint32_t v3Session_ = 0;
  int fastRole_ = 0;
  Napi::ObjectReference fastRef_;
};

// socketBuffers(fd, rcvbuf, sndbuf): { receive, send } -- sets each size > 0 (SO_*BUFFORCE as root,
// else SO_*BUF capped by net.core.[rw]mem_max) and returns what the kernel reports now.
Napi::Value SocketBuffers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "socketBuffers(fd: number, rcvbuf: number, sndbuf: number)");
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  int rcv = info[1].As<Napi::Number>().Int32Value();
  int snd = info[2].As<Napi::Number>().Int32Value();
  if (rcv > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
  if (snd > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
  int gotR = 0, gotS = 0;
  socklen_t l = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &gotR, &l) < 0) throw ErrnoError(env, "cannot read SO_RCVBUF", "getsockopt", errno);
  l = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &gotS, &l) < 0) throw ErrnoError(env, "cannot read SO_SNDBUF", "getsockopt", errno);
  Napi::Object out = Napi::Object::New(env);
  out.Set("receive", Napi::Number::New(env, gotR));
  out.Set("send", Napi::Number::New(env, gotS));
  return out;
}

// errnoName(errno: number): string
Napi::Value ErrnoNameJs(const Napi::CallbackInfo& info) {
  int e = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  return Napi::String::New(info.Env(), ErrnoName(e) + " (" + strerror(e) + ")");
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("openTun", Napi::Function::New<OpenTun>(env, "openTun"));
  exports.Set("openRaw", Napi::Function::New<OpenRaw>(env, "openRaw"));
  exports.Set("openUdp", Napi::Function::New<OpenUdp>(env, "openUdp"));
  exports.Set("socketBuffers", Napi::Function::New<SocketBuffers>(env, "socketBuffers"));
  exports.Set("FastPath", l2tpkit::FastPath::Init(env));
  exports.Set("V3Fast", l2tpkit::V3Fast::Init(env));
  exports.Set("errnoName", Napi::Function::New<ErrnoNameJs>(env, "errnoName"));
  exports.Set("PacketPort", PacketPort::Init(env));
  l2tpkit::RegisterPacketSocket(env, exports);  // openPacket, FramePort (AF_PACKET for PPPoE)
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  return exports;
}

}  // namespace

NODE_API_MODULE(l2tpkit_native, Init)

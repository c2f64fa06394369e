// AF_PACKET (Linux packet(7)) sockets for the PPPoE access concentrator: whole Ethernet frames of
// EtherType 0x8863 (discovery) and 0x8864 (session) on one interface, RFC 2516 §3.
//
//  - openPacket(ifname, netns, rcvbuf)  socket(AF_PACKET, SOCK_RAW) with a classic BPF filter that
//                                       keeps 0x8863/0x8864 (also behind one or two in-line 802.1Q
//                                       tags), PACKET_AUXDATA, PACKET_IGNORE_OUTGOING, bound to the
//                                       interface; optionally created inside a network namespace
//                                       (setns on this thread, then back). Returns the interface's
//                                       ifindex, MAC, MTU and whether it is up.
//  - FramePort                          the same JS surface as PacketPort (l2tpkit_native.cc):
//                                       a libuv poll drives recvmmsg() batches into one slab and
//                                       calls JS once per batch; send/sendto/sendmsg/sendmmsg.
//
// Batch layout (allocated once per port):
//   slab : maxPackets slots of (4 + maxPacketSize) bytes rounded up to 8; the frame lands 4 bytes
//          into its slot so that a VLAN tag the kernel stripped (auxdata TP_STATUS_VLAN_VALID) can
//          be put back in front of the EtherType without a copy of the payload.
//   meta : Uint32Array of maxPackets * 4: [offset, length, sll_pkttype, vlan]
//          vlan = (TPID << 16) | TCI of a tag the kernel stripped, 0 when there was none.

#include "packet_socket.h"

#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace l2tpkit {
namespace {

constexpr uint32_t kMetaStride = 4;
constexpr uint32_t kMaxBatch = 1024;
constexpr uint32_t kMaxIov = 8;
constexpr uint32_t kVlanRoom = 4;
constexpr size_t kCmsgSpace = CMSG_SPACE(sizeof(struct tpacket_auxdata));

std::string ErrnoText(int e) {
  const char* n = strerrorname_np(e);
  return (n != nullptr ? std::string(n) : "errno " + std::to_string(e)) + " (" + strerror(e) + ")";
}

/** A JS Error "what: ECODE (strerror)[ (hint)]" with .code, .errno and .syscall, as in l2tpkit_native.cc. */
Napi::Error SysError(Napi::Env env, const std::string& what, const char* syscall, int e, const std::string& hint = "") {
  std::string msg = what + ": " + ErrnoText(e);
  if (!hint.empty()) msg += " (" + hint + ")";
  Napi::Error err = Napi::Error::New(env, msg);
  const char* n = strerrorname_np(e);
  err.Set("code", Napi::String::New(env, n != nullptr ? n : "EIO"));
  err.Set("errno", Napi::Number::New(env, e));
  err.Set("syscall", Napi::String::New(env, syscall));
  return err;
}

// Classic BPF (packet(7) SO_ATTACH_FILTER): accept EtherType 0x8863/0x8864 directly, behind one tag
// (0x8100, 0x88a8, 0x9100) or behind 0x8100 after an outer tag. Jumps are "skip n instructions".
const struct sock_filter kPppoeFilter[] = {
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),            // 0: A = EtherType or TPID
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8863, 14, 0),  // 1: -> 16 accept
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8864, 13, 0),  // 2: -> 16
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8100, 3, 0),   // 3: -> 7 one tag
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x88a8, 2, 0),   // 4: -> 7
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x9100, 1, 0),   // 5: -> 7
    BPF_STMT(BPF_RET | BPF_K, 0),                        // 6: reject
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 16),              // 7: A = type after one tag
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8863, 7, 0),   // 8: -> 16
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8864, 6, 0),   // 9: -> 16
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8100, 1, 0),   // 10: -> 12 second tag
    BPF_STMT(BPF_RET | BPF_K, 0),                        // 11: reject
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),              // 12: A = type after two tags
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8863, 2, 0),   // 13: -> 16
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8864, 1, 0),   // 14: -> 16
    BPF_STMT(BPF_RET | BPF_K, 0),                        // 15: reject
    BPF_STMT(BPF_RET | BPF_K, 0x40000),                  // 16: accept the whole frame
};

/** Enters a network namespace on this thread and always returns to the original one. */
class NetnsGuard {
 public:
  NetnsGuard(Napi::Env env, const std::string& netns) : env_(env) {
    if (netns.empty()) return;
    std::string path = netns.find('/') == std::string::npos ? "/run/netns/" + netns : netns;
    orig_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (orig_ < 0) throw SysError(env, "cannot open /proc/thread-self/ns/net", "open", errno);
    int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (target < 0) {
      int e = errno;
      close(orig_);
      throw SysError(env, "cannot open network namespace " + path, "open", e, e == ENOENT ? "no such namespace (ip netns add NAME)" : "");
    }
    int r = setns(target, CLONE_NEWNET);
    int e = errno;
    close(target);
    if (r < 0) {
      close(orig_);
      throw SysError(env, "cannot enter network namespace " + path, "setns", e, "needs CAP_SYS_ADMIN");
    }
  }
  ~NetnsGuard() {
    if (orig_ < 0) return;
    // Staying in the other namespace would move every later socket of this thread: abort instead.
    if (setns(orig_, CLONE_NEWNET) < 0) napi_fatal_error("l2tpkit.openPacket", NAPI_AUTO_LENGTH, "cannot return to the original network namespace", NAPI_AUTO_LENGTH);
    close(orig_);
  }
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

 private:
  Napi::Env env_;
  int orig_ = -1;
};

/** Closes the fd on scope exit unless released. */
struct FdHolder {
  int fd;
  ~FdHolder() {
    if (fd >= 0) close(fd);
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

void SetOpt(Napi::Env env, int fd, int level, int name, const void* v, socklen_t len, const char* what) {
  if (setsockopt(fd, level, name, v, len) < 0) throw SysError(env, std::string("cannot set ") + what, "setsockopt", errno);
}

// openPacket(ifname: string, netns: string | null, rcvbuf: number):
//   { fd, ifindex, mac: number[6], mtu, up }
Napi::Value OpenPacket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !(info[1].IsString() || info[1].IsNull()) || !info[2].IsNumber()) {
    throw Napi::TypeError::New(env, "openPacket(ifname: string, netns: string | null, rcvbuf: number)");
  }
  std::string ifname = info[0].As<Napi::String>().Utf8Value();
  std::string netns = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  int rcvbuf = info[2].As<Napi::Number>().Int32Value();
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) throw Napi::TypeError::New(env, "interface name must be 1.." + std::to_string(IFNAMSIZ - 1) + " characters");
  NetnsGuard ns(env, netns);
  // Protocol 0 receives nothing until bind(), so no frame passes before the filter is attached.
  FdHolder s{socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) {
    int e = errno;
    throw SysError(env, "cannot open AF_PACKET socket", "socket", e, (e == EPERM || e == EACCES) ? "run as root or grant CAP_NET_RAW" : "");
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  if (ioctl(s.fd, SIOCGIFINDEX, &ifr) < 0) {
    int e = errno;
    throw SysError(env, "no interface '" + ifname + "'" + (netns.empty() ? "" : " in " + netns), "ioctl(SIOCGIFINDEX)", e, e == ENODEV ? "check `ip link`" : "");
  }
  int ifindex = ifr.ifr_ifindex;
  if (ioctl(s.fd, SIOCGIFHWADDR, &ifr) < 0) throw SysError(env, "cannot read the MAC of '" + ifname + "'", "ioctl(SIOCGIFHWADDR)", errno);
  if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) throw SysError(env, "'" + ifname + "' is not an Ethernet interface", "ioctl(SIOCGIFHWADDR)", EINVAL, "PPPoE needs Ethernet framing");
  Napi::Array mac = Napi::Array::New(env, 6);
  for (uint32_t i = 0; i < 6; i++) mac.Set(i, Napi::Number::New(env, static_cast<uint8_t>(ifr.ifr_hwaddr.sa_data[i])));
  if (ioctl(s.fd, SIOCGIFMTU, &ifr) < 0) throw SysError(env, "cannot read the MTU of '" + ifname + "'", "ioctl(SIOCGIFMTU)", errno);
  int mtu = ifr.ifr_mtu;
  if (ioctl(s.fd, SIOCGIFFLAGS, &ifr) < 0) throw SysError(env, "cannot read the flags of '" + ifname + "'", "ioctl(SIOCGIFFLAGS)", errno);
  bool up = (ifr.ifr_flags & IFF_UP) != 0;
  struct sock_fprog prog = {static_cast<unsigned short>(sizeof(kPppoeFilter) / sizeof(kPppoeFilter[0])), const_cast<struct sock_filter*>(kPppoeFilter)};
  SetOpt(env, s.fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog), "SO_ATTACH_FILTER");
  int one = 1;
  SetOpt(env, s.fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one), "PACKET_AUXDATA");
  // Our own transmissions would come back on ETH_P_ALL; the kernel drops them (Linux >= 4.20), and
  // the drain skips PACKET_OUTGOING for older kernels.
  (void)setsockopt(s.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
  if (rcvbuf > 0) SetOpt(env, s.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf), "SO_RCVBUF");
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(s.fd, reinterpret_cast<struct sockaddr*>(&sll), sizeof(sll)) < 0) throw SysError(env, "cannot bind to '" + ifname + "'", "bind", errno);
  Napi::Object out = Napi::Object::New(env);
  out.Set("fd", Napi::Number::New(env, s.release()));
  out.Set("ifindex", Napi::Number::New(env, ifindex));
  out.Set("mac", mac);
  out.Set("mtu", Napi::Number::New(env, mtu));
  out.Set("up", Napi::Boolean::New(env, up));
  return out;
}

uint8_t* Bytes(Napi::Env env, const Napi::Value& v, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(env, "expected a Uint8Array");
  Napi::Uint8Array u8 = v.As<Napi::Uint8Array>();
  *len = u8.ElementLength();
  return u8.Data();
}

uint32_t* U32s(Napi::Env env, const Napi::Value& v, size_t* len) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) throw Napi::TypeError::New(env, "expected a Uint32Array");
  Napi::Uint32Array a = v.As<Napi::Uint32Array>();
  *len = a.ElementLength();
  return a.Data();
}

bool WouldBlock(int e) { return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS; }

void FillLl(struct sockaddr_ll* sll, int ifindex) {
  memset(sll, 0, sizeof(*sll));
  sll->sll_family = AF_PACKET;
  sll->sll_ifindex = ifindex;
  sll->sll_halen = ETH_ALEN;
}

/** One AF_PACKET fd with batched reads; JS-compatible with PacketPort. */
class FramePort : public Napi::ObjectWrap<FramePort> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "FramePort",
                       {
                           InstanceMethod<&FramePort::Start>("start"),
                           InstanceMethod<&FramePort::Stop>("stop"),
                           InstanceMethod<&FramePort::ReadNow>("readNow"),
                           InstanceMethod<&FramePort::Write>("write"),
                           InstanceMethod<&FramePort::WriteBatch>("writeBatch"),
                           InstanceMethod<&FramePort::SendTo>("sendTo"),
                           InstanceMethod<&FramePort::SendToV>("sendToV"),
                           InstanceMethod<&FramePort::SendBatch>("sendBatch"),
                           InstanceMethod<&FramePort::SetRef>("setRef"),
                           InstanceMethod<&FramePort::Close>("close"),
                           InstanceAccessor<&FramePort::GetSlab>("slab"),
                           InstanceAccessor<&FramePort::GetMeta>("meta"),
                           InstanceAccessor<&FramePort::GetFd>("fd"),
                           InstanceAccessor<&FramePort::GetLastErrno>("lastErrno"),
                           InstanceAccessor<&FramePort::GetTruncated>("truncated"),
                       });
  }

  // new FramePort(fd, ifindex, maxPackets, maxPacketSize, reinsertVlan)
  explicit FramePort(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FramePort>(info), async_(info.Env(), "l2tpkit.FramePort") {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
      throw Napi::TypeError::New(env, "new FramePort(fd, ifindex, maxPackets, maxPacketSize, reinsertVlan)");
    }
    fd_ = info[0].As<Napi::Number>().Int32Value();
    ifindex_ = info[1].As<Napi::Number>().Int32Value();
    int64_t maxPackets = info[2].As<Napi::Number>().Int64Value();
    int64_t maxPacketSize = info[3].As<Napi::Number>().Int64Value();
    reinsertVlan_ = info[4].ToBoolean().Value();
    if (fd_ < 0 || ifindex_ <= 0) throw Napi::RangeError::New(env, "bad fd or ifindex");
    if (maxPackets < 1 || maxPackets > kMaxBatch) throw Napi::RangeError::New(env, "maxPackets must be 1..1024");
    if (maxPacketSize < 64 || maxPacketSize > 65536) throw Napi::RangeError::New(env, "maxPacketSize must be 64..65536");
    maxPackets_ = static_cast<uint32_t>(maxPackets);
    maxPacketSize_ = static_cast<uint32_t>(maxPacketSize);
    slot_ = (kVlanRoom + maxPacketSize_ + 7u) & ~7u;
    Napi::ArrayBuffer slab = Napi::ArrayBuffer::New(env, static_cast<size_t>(slot_) * maxPackets_);
    slabData_ = static_cast<uint8_t*>(slab.Data());
    slabRef_ = Napi::Persistent(slab);
    Napi::Uint32Array meta = Napi::Uint32Array::New(env, maxPackets_ * kMetaStride);
    metaData_ = meta.Data();
    metaRef_ = Napi::Persistent(meta);
    msgs_.resize(maxPackets_);
    iovs_.resize(maxPackets_);
    addrs_.resize(maxPackets_);
    cmsgs_.resize(maxPackets_ * kCmsgSpace);
  }

  ~FramePort() override { Shutdown(); }

 private:
  void Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "start(callback)");
    if (closed_) throw Napi::Error::New(env, "port is closed");
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    if (poll_ == nullptr) {
      uv_loop_t* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) throw Napi::Error::New(env, "cannot get the libuv loop");
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
    int r = uv_poll_start(poll_, UV_READABLE, &FramePort::OnPoll);
    if (r != 0) throw Napi::Error::New(env, std::string("uv_poll_start: ") + uv_strerror(r));
    if (!polling_) {
      polling_ = true;
      Ref();  // alive while the kernel may call back into it
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

  void SetRef(const Napi::CallbackInfo& info) {
    refed_ = info.Length() < 1 || info[0].ToBoolean().Value();
    if (poll_ == nullptr) return;
    if (refed_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    else uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }

  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<FramePort*>(handle->data);
    if (self == nullptr || self->closed_) return;
    self->HandleReadable(status);
  }

  /** A VLAN tag the kernel took off (auxdata), as (TPID << 16) | TCI; 0 when none. */
  static uint32_t StrippedVlan(struct msghdr* mh) {
    for (struct cmsghdr* c = CMSG_FIRSTHDR(mh); c != nullptr; c = CMSG_NXTHDR(mh, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA || c->cmsg_len < CMSG_LEN(sizeof(struct tpacket_auxdata))) continue;
      struct tpacket_auxdata aux;
      memcpy(&aux, CMSG_DATA(c), sizeof(aux));
      if ((aux.tp_status & TP_STATUS_VLAN_VALID) == 0) return 0;
      uint32_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 ? aux.tp_vlan_tpid : 0x8100;
      return (tpid << 16) | aux.tp_vlan_tci;
    }
    return 0;
  }

  /** One recvmmsg() batch; returns the count (>= 0) or -errno. */
  int64_t Drain() {
    for (uint32_t i = 0; i < maxPackets_; i++) {
      iovs_[i].iov_base = slabData_ + static_cast<size_t>(i) * slot_ + kVlanRoom;
      iovs_[i].iov_len = maxPacketSize_;
      memset(&msgs_[i], 0, sizeof(msgs_[i]));
      msgs_[i].msg_hdr.msg_iov = &iovs_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_hdr.msg_name = &addrs_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(addrs_[i]);
      msgs_[i].msg_hdr.msg_control = cmsgs_.data() + static_cast<size_t>(i) * kCmsgSpace;
      msgs_[i].msg_hdr.msg_controllen = kCmsgSpace;
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
      struct mmsghdr& mh = msgs_[i];
      if (addrs_[i].sll_pkttype == PACKET_OUTGOING) continue;
      uint32_t len = mh.msg_len;
      if ((mh.msg_hdr.msg_flags & MSG_TRUNC) != 0 || len < 14) {
        truncated_++;
        continue;
      }
      uint8_t* slot = slabData_ + static_cast<size_t>(i) * slot_;
      uint32_t vlan = StrippedVlan(&mh.msg_hdr);
      uint32_t off = kVlanRoom;
      if (vlan != 0 && reinsertVlan_) {
        // IEEE 802.1Q: the tag sits between the source MAC and the EtherType.
        memmove(slot, slot + kVlanRoom, 12);
        slot[12] = static_cast<uint8_t>(vlan >> 24);
        slot[13] = static_cast<uint8_t>(vlan >> 16);
        slot[14] = static_cast<uint8_t>(vlan >> 8);
        slot[15] = static_cast<uint8_t>(vlan);
        off = 0;
        len += kVlanRoom;
      }
      uint32_t* m = metaData_ + n * kMetaStride;
      m[0] = static_cast<uint32_t>(i) * slot_ + off;
      m[1] = len;
      m[2] = addrs_[i].sll_pkttype;
      m[3] = vlan;
      n++;
    }
    return n;
  }

  void HandleReadable(int status) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    int64_t n = status < 0 ? status : Drain();
    if (n == 0) return;
    int err = 0;
    if (n < 0) {
      err = static_cast<int>(-n);
      n = 0;
      // ENETDOWN / ENXIO: the interface went down or away; stop instead of spinning.
      if (status < 0 || err == ENXIO || err == ENODEV) StopPolling();
    }
    if (callback_.IsEmpty()) return;
    try {
      callback_.MakeCallback(Value(), {Napi::Number::New(env, static_cast<double>(n)), Napi::Number::New(env, err)}, async_);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env, e.Value());
    }
  }

  Napi::Value ReadNow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) throw Napi::Error::New(env, "port is closed");
    int64_t n = Drain();
    if (n < 0) throw SysError(env, "recvmmsg failed", "recvmmsg", static_cast<int>(-n));
    return Napi::Number::New(env, static_cast<double>(n));
  }

  /** One send call retried on EINTR: bytes, 0 when the queue is full, a JS error otherwise. */
  template <typename F>
  Napi::Value SendOne(Napi::Env env, const char* syscall, F call) {
    if (closed_) throw Napi::Error::New(env, "port is closed");
    ssize_t r;
    do {
      r = call();
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
      int e = errno;
      lastErrno_ = e;
      if (WouldBlock(e)) return Napi::Number::New(env, 0);
      throw SysError(env, std::string(syscall) + " failed", syscall, e, e == EMSGSIZE ? "frame larger than the interface MTU" : "");
    }
    return Napi::Number::New(env, static_cast<double>(r));
  }

  int IfindexArg(const Napi::CallbackInfo& info, size_t i) const {
    int x = info.Length() > i && info[i].IsNumber() ? info[i].As<Napi::Number>().Int32Value() : 0;
    return x > 0 ? x : ifindex_;
  }

  // write(frame): bytes, 0 when the queue is full — on the bound interface
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1) throw Napi::TypeError::New(env, "write(frame)");
    size_t len = 0;
    uint8_t* data = Bytes(env, info[0], &len);
    return SendOne(env, "send", [&] { return send(fd_, data, len, 0); });
  }

  // sendTo(frame, ifindex): bytes — the "address" of a packet socket is the interface (0 = bound one)
  Napi::Value SendTo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1) throw Napi::TypeError::New(env, "sendTo(frame, ifindex)");
    size_t len = 0;
    uint8_t* data = Bytes(env, info[0], &len);
    struct sockaddr_ll sll;
    FillLl(&sll, IfindexArg(info, 1));
    if (len >= ETH_ALEN) memcpy(sll.sll_addr, data, ETH_ALEN);
    return SendOne(env, "sendto", [&] { return sendto(fd_, data, len, 0, reinterpret_cast<struct sockaddr*>(&sll), sizeof(sll)); });
  }

  // sendToV(parts, ifindex): one frame gathered from 1..8 parts (header in one, payload in another)
  Napi::Value SendToV(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "sendToV(parts, ifindex)");
    Napi::Array parts = info[0].As<Napi::Array>();
    uint32_t n = parts.Length();
    if (n == 0 || n > kMaxIov) throw Napi::RangeError::New(env, "sendToV: 1 to 8 parts");
    struct iovec iov[kMaxIov];
    for (uint32_t i = 0; i < n; i++) {
      size_t len = 0;
      iov[i].iov_base = Bytes(env, parts.Get(i), &len);
      iov[i].iov_len = len;
    }
    struct sockaddr_ll sll;
    FillLl(&sll, IfindexArg(info, 1));
    struct msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_name = &sll;
    mh.msg_namelen = sizeof(sll);
    mh.msg_iov = iov;
    mh.msg_iovlen = n;
    return SendOne(env, "sendmsg", [&] { return sendmsg(fd_, &mh, 0); });
  }

  /** sendmmsg() of count frames; `ifindexes` may be null (bound interface). Returns the number sent. */
  Napi::Value Batch(Napi::Env env, const Napi::Value& bufV, const Napi::Value& offV, const Napi::Value& lenV, const uint32_t* ifx, size_t nifx, int64_t count) {
    if (closed_) throw Napi::Error::New(env, "port is closed");
    size_t len = 0, no = 0, nl = 0;
    uint8_t* data = Bytes(env, bufV, &len);
    uint32_t* offs = U32s(env, offV, &no);
    uint32_t* lens = U32s(env, lenV, &nl);
    if (count < 0 || static_cast<size_t>(count) > no || static_cast<size_t>(count) > nl || (ifx != nullptr && static_cast<size_t>(count) > nifx)) {
      throw Napi::RangeError::New(env, "count exceeds offsets/lengths/ifindexes");
    }
    constexpr int kChunk = 64;
    struct mmsghdr mm[kChunk];
    struct iovec iov[kChunk];
    struct sockaddr_ll sa[kChunk];
    uint32_t sent = 0;
    int64_t i = 0;
    while (i < count) {
      int k = 0;
      for (; k < kChunk && i + k < count; k++) {
        uint64_t o = offs[i + k], l = lens[i + k];
        if (o + l > len) throw Napi::RangeError::New(env, "frame " + std::to_string(i + k) + " exceeds the buffer");
        iov[k].iov_base = data + o;
        iov[k].iov_len = l;
        memset(&mm[k], 0, sizeof(mm[k]));
        mm[k].msg_hdr.msg_iov = &iov[k];
        mm[k].msg_hdr.msg_iovlen = 1;
        if (ifx != nullptr) {
          FillLl(&sa[k], ifx[i + k] > 0 ? static_cast<int>(ifx[i + k]) : ifindex_);
          mm[k].msg_hdr.msg_name = &sa[k];
          mm[k].msg_hdr.msg_namelen = sizeof(sa[k]);
        }
      }
      int r;
      do {
        r = sendmmsg(fd_, mm, static_cast<unsigned>(k), 0);
      } while (r < 0 && errno == EINTR);
      if (r < 0) {
        lastErrno_ = errno;
        if (WouldBlock(lastErrno_)) break;
        i += 1;  // the chunk's first frame failed: skip it
        continue;
      }
      sent += static_cast<uint32_t>(r);
      i += r;
    }
    return Napi::Number::New(env, sent);
  }

  // writeBatch(buf, offsets, lengths, count): frames on the bound interface
  Napi::Value WriteBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[3].IsNumber()) throw Napi::TypeError::New(env, "writeBatch(buf, offsets, lengths, count)");
    return Batch(env, info[0], info[1], info[2], nullptr, 0, info[3].As<Napi::Number>().Int64Value());
  }

  // sendBatch(buf, offsets, lengths, ifindexes, count)
  Napi::Value SendBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[4].IsNumber()) throw Napi::TypeError::New(env, "sendBatch(buf, offsets, lengths, ifindexes, count)");
    size_t nifx = 0;
    uint32_t* ifx = U32s(env, info[3], &nifx);
    return Batch(env, info[0], info[1], info[2], ifx, nifx, info[4].As<Napi::Number>().Int64Value());
  }

  void Shutdown() {
    if (closed_) return;
    closed_ = true;
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

  void Close(const Napi::CallbackInfo&) {
    if (polling_) {
      polling_ = false;
      Unref();
    }
    Shutdown();
    callback_.Reset();
  }

  Napi::Value GetSlab(const Napi::CallbackInfo&) { return slabRef_.Value(); }
  Napi::Value GetMeta(const Napi::CallbackInfo&) { return metaRef_.Value(); }
  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
  Napi::Value GetLastErrno(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), lastErrno_); }
  Napi::Value GetTruncated(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(truncated_)); }

  int fd_ = -1;
  int ifindex_ = 0;
  bool reinsertVlan_ = true;
  uint32_t maxPackets_ = 0;
  uint32_t maxPacketSize_ = 0;
  uint32_t slot_ = 0;
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
  std::vector<struct sockaddr_ll> addrs_;
  std::vector<uint8_t> cmsgs_;
};

}  // namespace

void RegisterPacketSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("openPacket", Napi::Function::New<OpenPacket>(env, "openPacket"));
  exports.Set("FramePort", FramePort::Init(env));
}

}  // namespace l2tpkit

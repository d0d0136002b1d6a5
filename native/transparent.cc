// Transparent (TPROXY) sockets for tproxy mode. Thin on purpose: TypeScript validates every argument
// (src/listen/transparent-addon.ts); this file only does what Node's net and dgram cannot:
//  - tcpListen: a listening TCP socket with IP_TRANSPARENT / IPV6_TRANSPARENT; the session engine
//    (tcp-engine.cc) accepts on it and reads the original destination from the accepted socket's name.
//  - udpSocket: a UDP socket with IP_TRANSPARENT and IP(V6)_RECVORIGDSTADDR, so each datagram carries the
//    address the client aimed at (dgram's rinfo only has the source).
//  - sendFrom: a UDP reply from the original destination (address and port) a datagram was aimed at; tproxy
//    mode has no socket bound there, and IP_PKTINFO can set the source address but not the port.
//  - UdpReceiver: polls a UDP fd with uv_poll on the loop thread and drains it with recvmmsg straight into
//    a JS-owned Buffer of fixed-stride records; one JS callback per wakeup (a batch), never per datagram.
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#ifndef IP_RECVORIGDSTADDR
#define IP_RECVORIGDSTADDR 20
#endif
#ifndef IP_ORIGDSTADDR
#define IP_ORIGDSTADDR 20
#endif
#ifndef IPV6_RECVORIGDSTADDR
#define IPV6_RECVORIGDSTADDR 74
#endif
#ifndef IPV6_ORIGDSTADDR
#define IPV6_ORIGDSTADDR 74
#endif

namespace {

// Record layout (must match RECORD_HEADER in src/listen/transparent-addon.ts):
//   0 u32 wire length (whole datagram, host order)   4 u16 kept length (host order)
//   6 u8 family (4|6)   7 u8 flags (bit0: original destination missing)
//   8 u16 source port (network order)   10 u16 original destination port (network order)
//  12 u32 reserved   16 source address [16]   32 original destination address [16]   48 payload
constexpr size_t kHeader = 48;
// Record flags, exported as RECORD_FLAG and checked against src/listen/transparent-addon.ts by
// src/core/addon.test.ts.
enum Flags : uint8_t { kNoOrigDst = 1 };
constexpr unsigned kVlen = 64;  // datagrams per recvmmsg call

bool SetInt(int fd, int level, int opt, int value) {
  return setsockopt(fd, level, opt, &value, sizeof value) == 0;
}

// Shared by tcpListen, udpSocket and sendFrom. One socket per family: the IPv4 socket takes IPv4, so the IPv6 one
// must not see v4-mapped traffic (v6only).
tw::SocketSpec TransparentSpec(const Napi::Value& address, const Napi::Value& port, int type) {
  tw::SocketSpec spec;
  spec.address = address.As<Napi::String>().Utf8Value();
  spec.port = port.As<Napi::Number>().Int32Value();
  spec.type = type;
  spec.transparent = true;
  return spec;
}

// tcpListen(family, address, port, backlog) -> fd
Napi::Value TcpListen(const Napi::CallbackInfo& info) {
  tw::SocketSpec spec = TransparentSpec(info[1], info[2], SOCK_STREAM);
  spec.backlog = info[3].As<Napi::Number>().Int32Value();
  return tw::OpenSocketOrThrow(info.Env(), spec);
}

// udpSocket(family, address, port, rcvbuf) -> fd
Napi::Value UdpSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = info[0].As<Napi::Number>().Int32Value();
  int rcvbuf = info[3].As<Napi::Number>().Int32Value();
  const char* what = "";
  int fd = tw::OpenSocket(TransparentSpec(info[1], info[2], SOCK_DGRAM), &what);
  if (fd < 0) return tw::ThrowErrno(env, what, -fd);
  bool ok = family == 4 ? SetInt(fd, SOL_IP, IP_RECVORIGDSTADDR, 1)
                        : SetInt(fd, SOL_IPV6, IPV6_RECVORIGDSTADDR, 1);
  if (!ok) {
    int err = errno;
    close(fd);
    return tw::ThrowErrno(env, "setsockopt(RECVORIGDSTADDR)", err);
  }
  // A big receive buffer absorbs bursts between wakeups. FORCE passes rmem_max with CAP_NET_ADMIN;
  // without it fall back to the capped size (not fatal).
  if (rcvbuf > 0 && !SetInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf)) SetInt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf);
  return Napi::Number::New(env, fd);
}

// closeFd(fd): for fds that were never handed to Node (error paths, UDP fds after the receiver stopped).
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (fd >= 0) close(fd);
  return info.Env().Undefined();
}

// sendFrom(fromAddress, fromPort, toAddress, toPort, data) -> bytes sent. One short-lived transparent socket
// per reply: replies are rate-limited (--respond-udp-rate), so a socket per reply costs little.
Napi::Value SendFrom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  tw::SocketSpec spec = TransparentSpec(info[0], info[1], SOCK_DGRAM);
  sockaddr_storage to;
  socklen_t tolen = 0;
  if (!tw::MakeSockaddr(info[2].As<Napi::String>().Utf8Value(), info[3].As<Napi::Number>().Int32Value(), 0,
                        &to, &tolen))
    return tw::ThrowErrno(env, "inet_pton", EINVAL);
  auto data = info[4].As<Napi::Buffer<uint8_t>>();
  const char* what = "";
  int fd = tw::OpenSocket(spec, &what);
  if (fd < 0) return tw::ThrowErrno(env, what, -fd);
  ssize_t n = sendto(fd, data.Data(), data.Length(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), tolen);
  int err = errno;
  close(fd);
  if (n < 0) return tw::ThrowErrno(env, "sendto", err);
  return Napi::Number::New(env, static_cast<double>(n));
}

class UdpReceiver : public Napi::ObjectWrap<UdpReceiver> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "UdpReceiver",
                       {InstanceMethod("start", &UdpReceiver::Start), InstanceMethod("stop", &UdpReceiver::Stop),
                        InstanceMethod("stats", &UdpReceiver::Stats)});
  }

  // new UdpReceiver(fd, buffer, keep, maxRecords, callback(count, drops))
  // buffer holds maxRecords records of stride kHeader + align8(keep); JS reads it synchronously in callback.
  explicit UdpReceiver(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpReceiver>(info) {
    fd_ = info[0].As<Napi::Number>().Int32Value();
    auto buf = info[1].As<Napi::Buffer<uint8_t>>();
    keep_ = info[2].As<Napi::Number>().Uint32Value();
    max_records_ = info[3].As<Napi::Number>().Uint32Value();
    stride_ = kHeader + ((keep_ + 7) & ~static_cast<size_t>(7));
    if (max_records_ == 0 || buf.Length() < stride_ * max_records_) {
      Napi::RangeError::New(info.Env(), "buffer too small for maxRecords records").ThrowAsJavaScriptException();
      return;
    }
    data_ = buf.Data();
    buffer_ref_ = Napi::Persistent(buf.As<Napi::Object>());
    callback_ = Napi::Persistent(info[4].As<Napi::Function>());
    msgs_.resize(kVlen);
    iovs_.resize(kVlen);
    names_.resize(kVlen);
    ctrls_.resize(kVlen);
  }

  ~UdpReceiver() override { StopPoll(); }

 private:
  struct Ctrl {
    alignas(cmsghdr) uint8_t bytes[CMSG_SPACE(sizeof(sockaddr_in6)) + 64];
  };

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (poll_) return env.Undefined();
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    int r = uv_poll_init(loop, poll_, fd_);
    if (r == 0) r = uv_poll_start(poll_, UV_READABLE, OnReadable);
    if (r != 0) {
      delete poll_;
      poll_ = nullptr;
      return tw::ThrowErrno(env, "uv_poll", -r);
    }
    env_ = env;
    Ref();  // stay alive while polling even if JS drops its reference
    return env.Undefined();
  }

  // stop(): no more callbacks; the fd stays open (JS closes it with closeFd).
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (poll_) {
      StopPoll();
      Unref();
    }
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("datagrams", Napi::Number::New(info.Env(), static_cast<double>(datagrams_)));
    o.Set("wakeups", Napi::Number::New(info.Env(), static_cast<double>(wakeups_)));
    o.Set("errors", Napi::Number::New(info.Env(), static_cast<double>(errors_)));
    return o;
  }

  void StopPoll() {
    if (!poll_) return;
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }

  static void OnReadable(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<UdpReceiver*>(handle->data);
    if (status < 0 || !(events & UV_READABLE)) return;
    self->Drain();
  }

  // Reads until the socket is empty or the batch buffer is full, then makes one JS call.
  void Drain() {
    wakeups_++;
    uint32_t count = 0;
    while (count < max_records_) {
      unsigned vlen = std::min<unsigned>(kVlen, max_records_ - count);
      for (unsigned i = 0; i < vlen; i++) {
        uint8_t* rec = data_ + (count + i) * stride_;
        iovs_[i].iov_base = rec + kHeader;
        iovs_[i].iov_len = keep_;
        msghdr& h = msgs_[i].msg_hdr;
        memset(&h, 0, sizeof h);
        h.msg_name = &names_[i];
        h.msg_namelen = sizeof names_[i];
        h.msg_iov = &iovs_[i];
        h.msg_iovlen = 1;
        h.msg_control = ctrls_[i].bytes;
        h.msg_controllen = sizeof ctrls_[i].bytes;
        msgs_[i].msg_len = 0;
      }
      // MSG_TRUNC: msg_len is the datagram's real size even when only `keep` bytes fit.
      int n = recvmmsg(fd_, msgs_.data(), vlen, MSG_DONTWAIT | MSG_TRUNC, nullptr);
      if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) errors_++;
        break;
      }
      for (int i = 0; i < n; i++) Encode(data_ + (count + i) * stride_, msgs_[i]);
      count += n;
      datagrams_ += n;
      if (static_cast<unsigned>(n) < vlen) break;
    }
    if (count == 0) return;
    Napi::HandleScope scope(env_);
    callback_.MakeCallback(env_.Global(), {Napi::Number::New(env_, count)});
  }

  void Encode(uint8_t* rec, const mmsghdr& m) {
    const msghdr& h = m.msg_hdr;
    uint32_t wire = m.msg_len;
    uint16_t kept = static_cast<uint16_t>(std::min<uint32_t>(wire, keep_));
    memset(rec, 0, kHeader);
    memcpy(rec, &wire, 4);
    memcpy(rec + 4, &kept, 2);
    uint8_t flags = kNoOrigDst;  // cleared below when the original destination is found
    const auto* src = reinterpret_cast<const sockaddr*>(h.msg_name);
    if (src->sa_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(src);
      rec[6] = 4;
      memcpy(rec + 8, &a->sin_port, 2);
      memcpy(rec + 16, &a->sin_addr, 4);
    } else {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(src);
      rec[6] = 6;
      memcpy(rec + 8, &a->sin6_port, 2);
      memcpy(rec + 16, &a->sin6_addr, 16);
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(const_cast<msghdr*>(&h)); c; c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      // A control message shorter than the address it claims to carry is skipped, never read past its end.
      if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR && c->cmsg_len >= CMSG_LEN(sizeof(sockaddr_in))) {
        sockaddr_in a;
        memcpy(&a, CMSG_DATA(c), sizeof a);
        memcpy(rec + 10, &a.sin_port, 2);
        memcpy(rec + 32, &a.sin_addr, 4);
        flags = 0;
      } else if (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR &&
                 c->cmsg_len >= CMSG_LEN(sizeof(sockaddr_in6))) {
        sockaddr_in6 a;
        memcpy(&a, CMSG_DATA(c), sizeof a);
        memcpy(rec + 10, &a.sin6_port, 2);
        memcpy(rec + 32, &a.sin6_addr, 16);
        flags = 0;
      }
    }
    rec[7] = flags;
  }

  int fd_ = -1;
  uint8_t* data_ = nullptr;
  size_t keep_ = 0;
  size_t stride_ = 0;
  uint32_t max_records_ = 0;
  uv_poll_t* poll_ = nullptr;
  Napi::Env env_ = nullptr;
  Napi::ObjectReference buffer_ref_;
  Napi::FunctionReference callback_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<sockaddr_storage> names_;
  std::vector<Ctrl> ctrls_;
  uint64_t datagrams_ = 0, wakeups_ = 0, errors_ = 0;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("tcpListen", Napi::Function::New(env, TcpListen));
  exports.Set("udpSocket", Napi::Function::New(env, UdpSocket));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("sendFrom", Napi::Function::New(env, SendFrom));
  exports.Set("UdpReceiver", UdpReceiver::Define(env));
  exports.Set("RECORD_HEADER", Napi::Number::New(env, kHeader));
  exports.Set("RECORD_FLAG", tw::EnumObject<int>(env, {{"noOrigDst", kNoOrigDst}}));
  return exports;
}

}  // namespace

NODE_API_MODULE(tidewatch_transparent, Init)

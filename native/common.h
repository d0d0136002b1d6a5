// Helpers every addon shares: coded errors, sockaddr building, opening a bound (or listening) socket and
// exporting a named enum. One home, so the three addons throw alike and build addresses alike.
//
// Errors thrown into JavaScript always carry a `code` the TypeScript side maps to a TW_ERR_* code without
// reading the message: an errno name as libuv (and so node:net) spells it (`EADDRINUSE`), with `errno`
// beside it, or an addon's own named code (`PCAP_FILTER`, see pcap.cc).
#pragma once

#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <initializer_list>
#include <string>
#include <utility>

namespace tw {

inline Napi::Value ThrowCoded(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, code));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

// "what: strerror", code = the errno's name (libuv's table, as Node names it; "ERR" if it has none).
inline Napi::Value ThrowErrno(Napi::Env env, const std::string& what, int err) {
  char name[64];
  uv_err_name_r(-err, name, sizeof name);  // on Linux a libuv error code is the negated errno
  Napi::Error e = Napi::Error::New(env, what + ": " + strerror(err));
  e.Set("code", Napi::String::New(env, name[0] == 'E' ? name : "ERR"));
  e.Set("errno", Napi::Number::New(env, err));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

// A named enum as a JS object ({ fin: 1, rst: 2, ... } or { filter: 'PCAP_FILTER', ... }): the TypeScript
// side keeps the same object and a unit test checks that both agree.
template <typename T>
Napi::Object EnumObject(Napi::Env env, std::initializer_list<std::pair<const char*, T>> members) {
  Napi::Object o = Napi::Object::New(env);
  for (const auto& m : members) o.Set(m.first, m.second);
  return o;
}

// Fills a sockaddr from an address literal (validated by TypeScript) and a port; `scope` is the interface
// index of a link-local IPv6 address. Returns AF_INET, AF_INET6, or 0 if the literal does not parse.
inline int MakeSockaddr(const std::string& address, int port, uint32_t scope, sockaddr_storage* ss,
                        socklen_t* len) {
  memset(ss, 0, sizeof *ss);
  auto* a4 = reinterpret_cast<sockaddr_in*>(ss);
  auto* a6 = reinterpret_cast<sockaddr_in6*>(ss);
  if (inet_pton(AF_INET, address.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof *a4;
    return AF_INET;
  }
  if (inet_pton(AF_INET6, address.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(port));
    a6->sin6_scope_id = scope;
    *len = sizeof *a6;
    return AF_INET6;
  }
  return 0;
}

// Writes an address as 16 bytes and returns its family (4|6); IPv4-mapped IPv6 (dual-stack sockets) is IPv4.
inline uint8_t PutAddress(const sockaddr_storage& ss, uint8_t out[16], uint16_t* port) {
  memset(out, 0, 16);
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    memcpy(out, &a->sin_addr, 4);
    *port = ntohs(a->sin_port);
    return 4;
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
  *port = ntohs(a->sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
    memcpy(out, a->sin6_addr.s6_addr + 12, 4);
    return 4;
  }
  memcpy(out, &a->sin6_addr, 16);
  return 6;
}

// What to open: an address literal and port, SOCK_STREAM or SOCK_DGRAM, with options.
struct SocketSpec {
  std::string address;
  int port = 0;
  uint32_t scope = 0;
  int type = SOCK_STREAM;
  bool v6only = true;       // IPv6 only: false with "::" is dual-stack
  bool transparent = false; // IP(V6)_TRANSPARENT: accept traffic for any address (tproxy)
  int backlog = 0;          // > 0: listen() too
};

#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif

// socket (non-blocking, close-on-exec), SO_REUSEADDR, the spec's options, bind, listen. Returns the fd, or
// -errno with `*what` naming the step that failed.
inline int OpenSocket(const SocketSpec& s, const char** what) {
  sockaddr_storage ss;
  socklen_t len = 0;
  int family = MakeSockaddr(s.address, s.port, s.scope, &ss, &len);
  if (!family) {
    *what = "inet_pton";
    return -EINVAL;
  }
  int fd = socket(family, s.type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *what = "socket";
    return -errno;
  }
  int one = 1, v6only = s.v6only ? 1 : 0;
  *what = nullptr;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) *what = "setsockopt(SO_REUSEADDR)";
  else if (s.transparent && family == AF_INET && setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one) != 0)
    *what = "setsockopt(IP_TRANSPARENT)";
  else if (s.transparent && family == AF_INET6 && setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &one, sizeof one) != 0)
    *what = "setsockopt(IPV6_TRANSPARENT)";
  else if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) != 0)
    *what = "setsockopt(IPV6_V6ONLY)";
  else if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) *what = "bind";
  else if (s.backlog > 0 && listen(fd, s.backlog) != 0) *what = "listen";
  if (*what) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

// OpenSocket, throwing a coded error on failure: the fd, or undefined with the exception pending.
inline Napi::Value OpenSocketOrThrow(Napi::Env env, const SocketSpec& s) {
  const char* what = "";
  int fd = OpenSocket(s, &what);
  if (fd < 0) return ThrowErrno(env, what, -fd);
  return Napi::Number::New(env, fd);
}

}  // namespace tw

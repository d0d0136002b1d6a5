// The TCP session engine: accept, read the first bytes and close in C, on the loop thread. A net.Socket per
// connection costs about 35 µs of CPU and 4 KB of memory; here a connection costs a few syscalls and one
// ~120-byte struct (its payload buffer is allocated only when bytes come). The engine owns one epoll set of
// listening sockets and connections; libuv polls that set's descriptor (nested epoll), and each wakeup
// drains it and makes ONE JavaScript call with a batch of records:
//   ACCEPT   a connection was accepted (JS emits the probe event)
//   SHED     accepted beyond the cap and reset at once (probe event, counted)
//   END      a session ended: addresses, times, byte count, close reason and every kept read
//   HANDOFF  JS takes the descriptor over: the first bytes began a TLS record (node:tls completes the
//            handshake) or matched a responder's prefix (setPrefixes), the port speaks first (setBannerPorts:
//            handed over right after ACCEPT, without bytes), or, with flag KEPT on an END, the tarpit holds it
// accept4 is given the peer address, so a connection reset while still in the accept queue is recorded
// too (getpeername() would fail on it). Timeouts, the byte cap, RST (SO_LINGER 0) or FIN close, shedding
// at the cap and EMFILE back-off all happen here. TypeScript (src/listen/tcp-engine.ts) validates every
// argument and decodes the records; the layout below must match it.
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace {

// ── Record layout (little endian; every record starts 8-aligned) ──────────────────────────────────────
//   0 u8 kind   1 u8 family (4|6)   2 u8 close reason   3 u8 flags
//   4 u16 source port   6 u16 destination port   8 u32 record length   12 u32 chunk count
//  16 f64 started (ms since the epoch)   24 f64 ended   32 f64 bytes received in all
//  40 i32 descriptor handed to JS (-1: none)   44 u32 bytes kept
//  48 source address [16]   64 destination address [16]   (IPv4 in the first 4 bytes)
//  80 chunk table: count x { f64 time, u32 length, u32 0 }, then the kept bytes, padded to 8
constexpr size_t kHeader = 80;
constexpr size_t kChunkEntry = 16;
// Named on both sides: Init exports them as RECORD_KIND, CLOSE_REASON and RECORD_FLAG, and
// src/core/addon.test.ts checks them against the TypeScript copies.
enum Kind : uint8_t { kAccept = 1, kShed = 2, kEnd = 3, kHandoff = 4 };
enum Reason : uint8_t { kFin = 1, kRst = 2, kTimeout = 3, kCap = 4, kError = 5, kShutdown = 6 };
enum Flags : uint8_t { kTruncated = 1, kKept = 2 };

constexpr int kEvents = 256;        // epoll events per round
constexpr int kRounds = 8;          // rounds per wakeup before yielding to the rest of the loop
constexpr int kAcceptBurst = 256;   // accepts per listener event (fairness between listeners)
constexpr int kReadsPerEvent = 8;   // reads per readable event
constexpr size_t kScratch = 65536;  // one read; the kept part is copied out
// Payload entries per session: one per read, as tcppc-go records them, but a client trickling one byte per
// read must not make thousands of entries; later reads are appended to the last one.
constexpr size_t kMaxChunks = 128;
// One batch (one JS call, one Buffer) stops growing past this many bytes: a sweep that times out 100,000
// sessions, or stop(), hands them over in several calls instead of one buffer of gigabytes.
constexpr size_t kMaxBatch = 1 << 20;
constexpr double kBackoffMin = 100, kBackoffMax = 5000;

double NowMs() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return static_cast<double>(t.tv_sec) * 1000 + static_cast<double>(t.tv_nsec / 1000000);
}

struct Pollable {
  bool listener;
};

struct Listener : Pollable {
  int fd;
  int id;
  bool paused = false;
  double resume_at = 0, backoff = kBackoffMin, last_fail = 0;
};

struct Chunk {
  double time;
  uint32_t length;
};

// Allocated at the first byte: most scanner connections never send any.
struct Payload {
  std::vector<uint8_t> bytes;
  std::vector<Chunk> chunks;
};

// Which list a connection is in: open_, closing_ (FIN sent, waiting for the client's), or none.
enum State : uint8_t { kOpen, kClosing, kDetached };

struct Conn : Pollable {
  int fd;
  uint8_t family;
  State state = kOpen;
  uint16_t sport, dport;
  uint8_t src[16], dst[16];
  double started, last;
  double bytes = 0;
  uint32_t kept = 0;
  Payload* payload = nullptr;
  Conn *prev = nullptr, *next = nullptr;
};

// Intrusive list: O(1) unlink, and the sweep walks it without a container per connection.
struct List {
  Conn* head = nullptr;
  size_t size = 0;
  void Push(Conn* c) {
    c->prev = nullptr;
    c->next = head;
    if (head) head->prev = c;
    head = c;
    size++;
  }
  void Unlink(Conn* c) {
    if (c->prev) c->prev->next = c->next;
    else head = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = nullptr;
    size--;
  }
};

void CloseReset(int fd) {
  linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

class TcpEngine : public Napi::ObjectWrap<TcpEngine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TcpEngine",
                       {InstanceMethod("listen", &TcpEngine::Listen), InstanceMethod("unlisten", &TcpEngine::Unlisten),
                        InstanceMethod("setCapacity", &TcpEngine::SetCapacity),
                        InstanceMethod("setExternal", &TcpEngine::SetExternal),
                        InstanceMethod("setPrefixes", &TcpEngine::SetPrefixes),
                        InstanceMethod("setBannerPorts", &TcpEngine::SetBannerPorts),
                        InstanceMethod("counters", &TcpEngine::Counters), InstanceMethod("stop", &TcpEngine::Stop)});
  }

  // new TcpEngine(bufsize, idleMs, maxSessionMs, capacity, fin, finGraceMs, handoffTls, keepForTarpit, cb)
  explicit TcpEngine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TcpEngine>(info) {
    Napi::Env env = info.Env();
    bufsize_ = info[0].As<Napi::Number>().Uint32Value();
    idle_ms_ = info[1].As<Napi::Number>().DoubleValue();
    max_session_ms_ = info[2].As<Napi::Number>().DoubleValue();
    capacity_ = info[3].As<Napi::Number>().Uint32Value();
    fin_ = info[4].As<Napi::Boolean>().Value();
    fin_grace_ms_ = info[5].As<Napi::Number>().DoubleValue();
    handoff_tls_ = info[6].As<Napi::Boolean>().Value();
    keep_for_tarpit_ = info[7].As<Napi::Boolean>().Value();
    callback_ = Napi::Persistent(info[8].As<Napi::Function>());
    env_ = env;
    scratch_.resize(kScratch);
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) {
      tw::ThrowErrno(env, "epoll_create1", errno);
      return;
    }
    // One descriptor kept in reserve: at EMFILE it is closed to accept (and reset) the pending connection,
    // so the listener never wakes up again and again for the same one.
    reserve_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    // Each handle is kept only once initialised: Teardown closes what is there.
    auto* poll = new uv_poll_t;
    int r = uv_poll_init(loop, poll, epfd_);
    if (r != 0) {
      delete poll;
      tw::ThrowErrno(env, "uv_poll_init", -r);
      return;
    }
    poll_ = poll;
    poll_->data = this;
    auto* timer = new uv_timer_t;
    uv_timer_init(loop, timer);  // cannot fail
    timer_ = timer;
    timer_->data = this;
    r = uv_poll_start(poll_, UV_READABLE, OnPoll);
    if (r != 0) {
      tw::ThrowErrno(env, "uv_poll_start", -r);
      return;
    }
    // The sweep interval: a quarter of the shortest timeout, between 50 ms and 1 s.
    double step = std::max(50.0, std::min(1000.0, std::min(idle_ms_, max_session_ms_) / 4));
    uv_timer_start(timer_, OnTimer, static_cast<uint64_t>(step), static_cast<uint64_t>(step));
    uv_unref(reinterpret_cast<uv_handle_t*>(timer_));  // the poll handle keeps the loop alive, not the sweep
    Ref();                                               // alive while running, even if JS drops it
    running_ = true;
  }

  ~TcpEngine() override { Teardown(); }

 private:
  // listen(fd) -> id: the engine takes a listening socket (non-blocking) and owns it from here on.
  Napi::Value Listen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int fd = info[0].As<Napi::Number>().Int32Value();
    if (!running_) return tw::ThrowErrno(env, "listen on a stopped engine", EBADF);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return tw::ThrowErrno(env, "fcntl", errno);
    auto* l = new Listener();
    l->listener = true;
    l->fd = fd;
    l->id = next_listener_id_++;
    if (!Watch(l)) {
      int err = errno;
      delete l;
      return tw::ThrowErrno(env, "epoll_ctl", err);
    }
    listeners_.push_back(l);
    return Napi::Number::New(env, l->id);
  }

  // unlisten(id): stops accepting on that socket and closes it. Open sessions stay.
  Napi::Value Unlisten(const Napi::CallbackInfo& info) {
    int id = info[0].As<Napi::Number>().Int32Value();
    for (size_t i = 0; i < listeners_.size(); i++)
      if (listeners_[i]->id == id) {
        close(listeners_[i]->fd);  // also leaves the epoll set
        delete listeners_[i];
        listeners_.erase(listeners_.begin() + static_cast<long>(i));
        break;
      }
    return info.Env().Undefined();
  }

  Napi::Value SetCapacity(const Napi::CallbackInfo& info) {
    capacity_ = info[0].As<Napi::Number>().Uint32Value();
    return info.Env().Undefined();
  }

  // Sessions JS holds (TLS hand-offs) count against the same cap.
  Napi::Value SetExternal(const Napi::CallbackInfo& info) {
    external_ = info[0].As<Napi::Number>().Uint32Value();
    return info.Env().Undefined();
  }

  // setPrefixes(buf): first bytes that hand a connection to JS (a responder identifies the protocol), as
  // { u8 length, bytes } entries. A first read shorter than a prefix matches when it is that prefix's start.
  Napi::Value SetPrefixes(const Napi::CallbackInfo& info) {
    Napi::Buffer<uint8_t> b = info[0].As<Napi::Buffer<uint8_t>>();
    prefixes_.clear();
    for (size_t i = 0; i < b.Length();) {
      size_t n = b.Data()[i++];
      if (n == 0 || i + n > b.Length()) break;
      prefixes_.emplace_back(b.Data() + i, b.Data() + i + n);
      i += n;
    }
    return info.Env().Undefined();
  }

  // setBannerPorts(bitmap): 8192 bytes, one bit per destination port whose connections JS takes at accept
  // (the responder speaks first there). An empty buffer clears it.
  Napi::Value SetBannerPorts(const Napi::CallbackInfo& info) {
    Napi::Buffer<uint8_t> b = info[0].As<Napi::Buffer<uint8_t>>();
    banner_ports_.assign(b.Data(), b.Data() + std::min<size_t>(b.Length(), 8192));
    return info.Env().Undefined();
  }

  bool BannerPort(uint16_t port) const {
    return banner_ports_.size() == 8192 && (banner_ports_[port >> 3] & (1u << (port & 7)));
  }

  bool MatchesPrefix(const uint8_t* d, size_t n) const {
    for (const auto& p : prefixes_)
      if (memcmp(d, p.data(), std::min(n, p.size())) == 0) return true;
    return false;
  }

  Napi::Value Counters(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    auto set = [&](const char* k, double v) { o.Set(k, Napi::Number::New(env, v)); };
    set("accepted", static_cast<double>(accepted_));
    set("shed", static_cast<double>(shed_));
    set("emfile", static_cast<double>(emfile_));
    set("resetBeforeAccept", static_cast<double>(reset_before_accept_));
    set("acceptErrors", static_cast<double>(accept_errors_));
    set("noOrigDst", static_cast<double>(no_origdst_));
    set("open", static_cast<double>(open_.size));
    set("closing", static_cast<double>(closing_.size));
    set("pausedListeners", static_cast<double>(
                               std::count_if(listeners_.begin(), listeners_.end(), [](Listener* l) { return l->paused; })));
    set("wakeups", static_cast<double>(wakeups_));
    set("undelivered", static_cast<double>(undelivered_));
    return o;
  }

  // stop(): closes the listeners, ends every open session with close "shutdown" (delivered through the
  // callback before stop returns) and releases everything. Idempotent.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (!running_) return info.Env().Undefined();
    running_ = false;  // no accept or read runs before Teardown: the listeners can close there
    double now = NowMs();
    while (open_.head) {
      End(open_.head, kShutdown, now);
      if (out_.size() >= kMaxBatch) Flush();
    }
    Flush();
    Teardown();
    Unref();
    return info.Env().Undefined();
  }

  void Teardown() {
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
    }
    if (timer_) {
      uv_timer_stop(timer_);
      uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
      timer_ = nullptr;
    }
    for (Listener* l : listeners_) {
      close(l->fd);
      delete l;
    }
    listeners_.clear();
    while (open_.head) Free(open_.head, true);
    while (closing_.head) Free(closing_.head, true);
    if (epfd_ >= 0) close(epfd_);
    if (reserve_ >= 0) close(reserve_);
    epfd_ = reserve_ = -1;
  }

  bool Watch(Listener* l) {
    epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.ptr = static_cast<Pollable*>(l);
    return epoll_ctl(epfd_, EPOLL_CTL_ADD, l->fd, &ev) == 0;
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<TcpEngine*>(handle->data);
    if (status < 0 || !(events & UV_READABLE)) return;
    self->Drain();
  }

  static void OnTimer(uv_timer_t* handle) { static_cast<TcpEngine*>(handle->data)->Sweep(); }

  void Drain() {
    wakeups_++;
    epoll_event evs[kEvents];
    for (int round = 0; round < kRounds && running_; round++) {
      int n = epoll_wait(epfd_, evs, kEvents, 0);
      if (n <= 0) break;
      double now = NowMs();
      for (int i = 0; i < n; i++) {
        auto* p = static_cast<Pollable*>(evs[i].data.ptr);
        if (p->listener) OnAcceptable(static_cast<Listener*>(p), now);
        else OnReadable(static_cast<Conn*>(p), evs[i].events, now);
      }
      Flush();  // JS may call stop() from here: nothing below touches the events any more
      if (n < kEvents) break;
    }
  }

  void OnAcceptable(Listener* l, double now) {
    for (int i = 0; i < kAcceptBurst; i++) {
      sockaddr_storage peer;
      socklen_t plen = sizeof peer;
      int fd = accept4(l->fd, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        int err = errno;
        if (err == EAGAIN || err == EWOULDBLOCK) return;
        if (err == EINTR) continue;
        if (err == ECONNABORTED) {
          reset_before_accept_++;
          continue;
        }
        if (err == EMFILE || err == ENFILE) {
          emfile_++;
          int shed = ShedWithReserve(l, now);
          if (shed > 0) continue;
          if (shed == 0) return;  // nothing was pending after all
        } else {
          accept_errors_++;
        }
        Pause(l, now);
        return;
      }
      Accepted(fd, peer, now);
    }
  }

  // Out of descriptors: free the reserve, accept the pending connection, reset it (shed), take the reserve
  // back. 1: shed one; 0: none was pending; -1: even that failed (then the listener pauses).
  int ShedWithReserve(Listener* l, double now) {
    if (reserve_ < 0) reserve_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (reserve_ < 0) return -1;
    close(reserve_);
    sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    int fd = accept4(l->fd, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    int err = errno;
    if (fd >= 0) Shed(fd, peer, now);
    reserve_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) return 1;
    if (err == ECONNABORTED) {
      reset_before_accept_++;
      return 1;
    }
    return err == EAGAIN || err == EWOULDBLOCK ? 0 : -1;
  }

  // Stops watching a listener for a while (growing from 100 ms to 5 s while failures repeat).
  void Pause(Listener* l, double now) {
    l->backoff = now - l->last_fail < 10000 ? std::min(l->backoff * 2, kBackoffMax) : kBackoffMin;
    l->last_fail = now;
    l->resume_at = now + l->backoff;
    l->paused = true;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, l->fd, nullptr);
  }

  void Accepted(int fd, const sockaddr_storage& peer, double now) {
    if (open_.size + external_ >= capacity_) return Shed(fd, peer, now);
    sockaddr_storage local;
    socklen_t llen = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) != 0) {
      no_origdst_++;
      CloseReset(fd);
      return;
    }
    auto* c = new Conn();
    c->listener = false;
    c->fd = fd;
    c->family = tw::PutAddress(peer, c->src, &c->sport);
    tw::PutAddress(local, c->dst, &c->dport);
    c->started = c->last = now;
    epoll_event ev = {};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = static_cast<Pollable*>(c);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      accept_errors_++;
      CloseReset(fd);
      delete c;
      return;
    }
    open_.Push(c);
    accepted_++;
    PutRecord(kAccept, c, 0, 0, now, -1);
    if (BannerPort(c->dport)) Handoff(c, 0, now);
  }

  void Shed(int fd, const sockaddr_storage& peer, double now) {
    Conn c;
    c.listener = false;
    c.fd = -1;
    c.family = tw::PutAddress(peer, c.src, &c.sport);
    sockaddr_storage local;
    socklen_t llen = sizeof local;
    bool named = getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) == 0;
    CloseReset(fd);
    shed_++;
    // Without its destination a record would say 0.0.0.0: counted, not reported.
    if (!named) {
      no_origdst_++;
      return;
    }
    tw::PutAddress(local, c.dst, &c.dport);
    c.started = now;
    PutRecord(kShed, &c, 0, 0, now, -1);
  }

  void OnReadable(Conn* c, uint32_t events, double now) {
    if (c->state == kClosing) return Drop(c);
    for (int i = 0; i < kReadsPerEvent; i++) {
      ssize_t n = read(c->fd, scratch_.data(), kScratch);
      if (n > 0) {
        bool first = c->bytes == 0;
        c->bytes += static_cast<double>(n);
        c->last = now;
        Keep(c, scratch_.data(), static_cast<size_t>(n), now);
        if (first && ((handoff_tls_ && scratch_[0] == 0x16) || MatchesPrefix(scratch_.data(), static_cast<size_t>(n))))
          return Handoff(c, static_cast<size_t>(n), now);
        if (c->kept >= bufsize_) return End(c, kCap, now);
        // A short read emptied the socket, unless the peer's FIN is pending: read on to see it now.
        if (static_cast<size_t>(n) < kScratch && !(events & EPOLLRDHUP)) return;
        continue;
      }
      if (n == 0) return End(c, kFin, now);
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR) continue;
      return End(c, err == ECONNRESET || err == EPIPE ? kRst : kError, now);
    }
  }

  void Keep(Conn* c, const uint8_t* data, size_t n, double now) {
    if (c->kept >= bufsize_) return;
    size_t take = std::min<size_t>(n, bufsize_ - c->kept);
    if (!c->payload) c->payload = new Payload();
    Payload* p = c->payload;
    // Grow by doubling, but never past --bufsize: the kept bytes of a session cost at most that.
    size_t need = p->bytes.size() + take;
    if (p->bytes.capacity() < need) p->bytes.reserve(std::min<size_t>(bufsize_, std::max(need, p->bytes.size() * 2)));
    p->bytes.insert(p->bytes.end(), data, data + take);
    if (p->chunks.size() < kMaxChunks) p->chunks.push_back({now, static_cast<uint32_t>(take)});
    else p->chunks.back().length += static_cast<uint32_t>(take);
    c->kept += static_cast<uint32_t>(take);
  }

  // A FIN-closed connection: read and drop until the client's FIN (or the grace time), so unread bytes
  // do not turn our FIN into an RST.
  void Drop(Conn* c) {
    for (;;) {
      ssize_t n = read(c->fd, scratch_.data(), kScratch);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      return Free(c, false);
    }
  }

  // The session is over: one END record, then RST (default), FIN (--fin) or the tarpit keeps it.
  void End(Conn* c, Reason reason, double now) {
    Detach(c);
    bool keep = keep_for_tarpit_ && running_ && (reason == kCap || reason == kTimeout);
    if (keep) {
      epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
      PutRecord(kEnd, c, reason, kKept, now, c->fd);
      c->fd = -1;
      return Free(c, false);
    }
    PutRecord(kEnd, c, reason, 0, now, -1);
    if (fin_ && running_ && (reason == kFin || reason == kCap || reason == kTimeout)) {
      shutdown(c->fd, SHUT_WR);
      delete c->payload;
      c->payload = nullptr;
      c->last = now + fin_grace_ms_;  // the deadline, for the sweep
      c->state = kClosing;
      closing_.Push(c);
      if (reason == kFin) Drop(c);  // the client already sent its FIN: done at once
      return;
    }
    Free(c, true);
  }

  // The first read began a TLS record or a responder's prefix: JS takes the descriptor with every byte read
  // so far (all of them, not only the kept ones: the handshake needs the whole ClientHello). n = 0: at
  // accept, on a port where the responder speaks first.
  void Handoff(Conn* c, size_t n, double now) {
    Detach(c);
    epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
    Chunk whole = {now, static_cast<uint32_t>(n)};
    PutRecord(kHandoff, c, 0, 0, now, c->fd, n ? &whole : nullptr, n ? scratch_.data() : nullptr);
    c->fd = -1;
    Free(c, false);
  }

  // Takes a connection out of whichever list holds it.
  void Detach(Conn* c) {
    if (c->state == kOpen) open_.Unlink(c);
    else if (c->state == kClosing) closing_.Unlink(c);
    c->state = kDetached;
  }

  // Closes (RST when `reset`) and frees a connection, wherever it is.
  void Free(Conn* c, bool reset) {
    Detach(c);
    if (c->fd >= 0) {
      if (reset) CloseReset(c->fd);
      else close(c->fd);
    }
    delete c->payload;
    delete c;
  }

  void Sweep() {
    if (!running_) return;
    double now = NowMs();
    for (Conn* c = open_.head; c;) {
      Conn* next = c->next;
      if (now - c->last >= idle_ms_ || now - c->started >= max_session_ms_) {
        End(c, kTimeout, now);
        // JS runs in Flush and may call stop(), which frees every connection: `next` is then gone.
        if (out_.size() >= kMaxBatch) {
          Flush();
          if (!running_) return;
        }
      }
      c = next;
    }
    for (Conn* c = closing_.head; c;) {
      Conn* next = c->next;
      if (now >= c->last) Free(c, true);
      c = next;
    }
    for (Listener* l : listeners_)
      if (l->paused && now >= l->resume_at && Watch(l)) l->paused = false;
    Flush();
  }

  // Appends one record to the batch. The chunks are the connection's kept reads, or `raw` (one chunk).
  void PutRecord(Kind kind, const Conn* c, uint8_t reason, uint8_t flags, double now, int fd,
                 const Chunk* raw = nullptr, const uint8_t* raw_bytes = nullptr) {
    const Payload* p = kind == kEnd ? c->payload : nullptr;
    const Chunk* chunks = raw ? raw : p ? p->chunks.data() : nullptr;
    const uint8_t* bytes = raw ? raw_bytes : p ? p->bytes.data() : nullptr;
    size_t nchunks = raw ? 1 : p ? p->chunks.size() : 0;
    size_t data = raw ? raw->length : p ? p->bytes.size() : 0;
    size_t len = (kHeader + nchunks * kChunkEntry + data + 7) & ~static_cast<size_t>(7);
    size_t off = out_.size();
    out_.resize(off + len);
    uint8_t* r = out_.data() + off;
    memset(r, 0, kHeader);
    if (kind == kEnd && c->bytes > c->kept) flags |= kTruncated;
    r[0] = kind;
    r[1] = c->family;
    r[2] = reason;
    r[3] = flags;
    uint32_t len32 = static_cast<uint32_t>(len), n32 = static_cast<uint32_t>(nchunks);
    memcpy(r + 4, &c->sport, 2);
    memcpy(r + 6, &c->dport, 2);
    memcpy(r + 8, &len32, 4);
    memcpy(r + 12, &n32, 4);
    memcpy(r + 16, &c->started, 8);
    memcpy(r + 24, &now, 8);
    memcpy(r + 32, &c->bytes, 8);
    int32_t fd32 = fd;
    memcpy(r + 40, &fd32, 4);
    if (fd >= 0) out_fds_.push_back({off, fd});
    memcpy(r + 44, &c->kept, 4);
    memcpy(r + 48, c->src, 16);
    memcpy(r + 64, c->dst, 16);
    uint8_t* t = r + kHeader;
    for (size_t i = 0; i < nchunks; i++, t += kChunkEntry) {
      memset(t, 0, kChunkEntry);
      memcpy(t, &chunks[i].time, 8);
      memcpy(t + 8, &chunks[i].length, 4);
    }
    if (data) memcpy(t, bytes, data);
  }

  // Hands the batch to JS. The callback returns how many bytes of it it decoded and took: a descriptor in a
  // record past that (a batch that failed to decode, or a callback that threw) is still the engine's, and
  // is closed here rather than leaked.
  void Flush() {
    if (out_.empty()) return;
    Napi::HandleScope scope(env_);
    Napi::Buffer<uint8_t> buf = Napi::Buffer<uint8_t>::Copy(env_, out_.data(), out_.size());
    out_.clear();
    if (out_.capacity() > (4u << 20)) out_.shrink_to_fit();  // a burst's buffer is not kept for ever
    std::vector<std::pair<size_t, int>> fds;
    fds.swap(out_fds_);
    Napi::Value taken = callback_.MakeCallback(env_.Global(), {buf});
    double upto = !taken.IsEmpty() && taken.IsNumber() ? taken.As<Napi::Number>().DoubleValue() : 0;
    for (const auto& [off, fd] : fds)
      if (!(static_cast<double>(off) < upto)) {
        CloseReset(fd);
        undelivered_++;
      }
  }

  uint32_t bufsize_ = 8192, capacity_ = 10000, external_ = 0;
  double idle_ms_ = 30000, max_session_ms_ = 120000, fin_grace_ms_ = 2000;
  bool fin_ = false, handoff_tls_ = false, keep_for_tarpit_ = false, running_ = false;
  int epfd_ = -1, reserve_ = -1, next_listener_id_ = 1;
  uv_poll_t* poll_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  Napi::Env env_ = nullptr;
  Napi::FunctionReference callback_;
  std::vector<Listener*> listeners_;
  List open_, closing_;
  std::vector<uint8_t> scratch_, out_, banner_ports_;
  std::vector<std::vector<uint8_t>> prefixes_;
  std::vector<std::pair<size_t, int>> out_fds_;  // (record offset, descriptor) of the batch being built
  uint64_t accepted_ = 0, shed_ = 0, emfile_ = 0, reset_before_accept_ = 0, accept_errors_ = 0, no_origdst_ = 0,
           wakeups_ = 0, undelivered_ = 0;
};

// tcpListen(address, scope, port, backlog, v6only) -> fd: a non-blocking listening TCP socket for ports
// mode. `scope` is the interface index of a link-local IPv6 address (0 otherwise); ":: " with v6only false is
// dual-stack. Errors carry the errno and its name as `code` (EADDRINUSE: "in use, skipped").
Napi::Value TcpListen(const Napi::CallbackInfo& info) {
  tw::SocketSpec spec;
  spec.address = info[0].As<Napi::String>().Utf8Value();
  spec.scope = info[1].As<Napi::Number>().Uint32Value();
  spec.port = info[2].As<Napi::Number>().Int32Value();
  spec.backlog = info[3].As<Napi::Number>().Int32Value();
  spec.v6only = info[4].As<Napi::Boolean>().Value();
  return tw::OpenSocketOrThrow(info.Env(), spec);
}

// boundPort(fd) -> the local port of a socket (tests listen on port 0).
Napi::Value BoundPort(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return tw::ThrowErrno(info.Env(), "getsockname", errno);
  uint8_t addr[16];
  uint16_t port = 0;
  tw::PutAddress(ss, addr, &port);
  return Napi::Number::New(info.Env(), port);
}

// scopeId(name) -> interface index (0: unknown), for link-local --bind addresses such as fe80::1%eth0.
Napi::Value ScopeId(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(info.Env(), if_nametoindex(name.c_str()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("TcpEngine", TcpEngine::Define(env));
  exports.Set("tcpListen", Napi::Function::New(env, TcpListen));
  exports.Set("scopeId", Napi::Function::New(env, ScopeId));
  exports.Set("boundPort", Napi::Function::New(env, BoundPort));
  exports.Set("RECORD_HEADER", Napi::Number::New(env, kHeader));
  exports.Set("MAX_BATCH", Napi::Number::New(env, kMaxBatch));
  exports.Set("RECORD_KIND", tw::EnumObject<int>(env, {{"accept", kAccept}, {"shed", kShed}, {"end", kEnd}, {"handoff", kHandoff}}));
  exports.Set("CLOSE_REASON", tw::EnumObject<int>(env, {{"fin", kFin}, {"rst", kRst}, {"timeout", kTimeout}, {"cap", kCap},
                                                   {"error", kError}, {"shutdown", kShutdown}}));
  exports.Set("RECORD_FLAG", tw::EnumObject<int>(env, {{"truncated", kTruncated}, {"kept", kKept}}));
  return exports;
}

}  // namespace

NODE_API_MODULE(tidewatch_tcp, Init)

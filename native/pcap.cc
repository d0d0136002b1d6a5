// tidewatch_pcap: a thin libpcap binding that hands packets to TypeScript in batches.
//
// Why batches: crossing the JS boundary once per packet costs 3-15x more than the parsing itself
// (docs/capture.md, stack-notes §1). Each call fills one caller-owned Buffer with many records:
//   record i at an 8-byte aligned offset: u32 tsSec, u32 tsUsec, u32 caplen, u32 origLen (host LE),
//   then caplen frame bytes; the next record starts at align8(offset + 16 + caplen).
// TypeScript validates every argument; this file only does what TypeScript cannot.
#include <pcap/pcap.h>

#include "common.h"

#include <cerrno>
#include <cstdio>
#include <stdio_ext.h>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t kHeader = 16;

// Named on both sides: exported as ERROR_CODE and BATCH_STATE, checked against src/capture/addon.ts by
// src/core/addon.test.ts. Errors from the system carry the errno's name instead (ENOENT, EACCES, ...).
constexpr const char* kErrFilter = "PCAP_FILTER";         // the BPF filter does not compile or install
constexpr const char* kErrNotCapture = "PCAP_NOT_CAPTURE";  // a file that is not pcap or pcapng
constexpr const char* kErrHeaderCut = "PCAP_HEADER_CUT";    // a capture file whose file header is cut
constexpr const char* kErrOpen = "PCAP_OPEN";               // libpcap refused the file or interface
constexpr const char* kErrState = "PCAP_STATE";             // a call the handle's state does not allow
enum BatchState { kMore = 0, kEndOfFile = 1, kFailed = 2 };
// libpcap says why a file did not open only in words: the file's first bytes say it in a code. The magic
// numbers and minimum header sizes are those of the pcap (24 bytes) and pcapng (28) formats.
const char* OfflineErrorCode(FILE* fp) {
  uint8_t h[28];
  rewind(fp);
  size_t n = fread(h, 1, sizeof h, fp);
  if (n < 4) return kErrHeaderCut;
  uint32_t magic;
  std::memcpy(&magic, h, 4);
  bool pcap = magic == 0xa1b2c3d4 || magic == 0xd4c3b2a1 || magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
  if (pcap) return n < 24 ? kErrHeaderCut : kErrOpen;
  if (magic != 0x0a0d0d0a) return kErrNotCapture;
  if (n < 12) return kErrHeaderCut;
  uint32_t order;
  std::memcpy(&order, h + 8, 4);
  if (order != 0x1a2b3c4d && order != 0x4d3c2b1a) return kErrNotCapture;
  return n < 28 ? kErrHeaderCut : kErrOpen;
}

inline size_t Align8(size_t n) { return (n + 7) & ~static_cast<size_t>(7); }

// Writes one record at `off` (caller checked it fits); returns the next aligned offset.
inline size_t PutRecord(uint8_t* base, size_t off, const pcap_pkthdr* h, const uint8_t* data, uint32_t caplen) {
  uint32_t hdr[4] = {static_cast<uint32_t>(h->ts.tv_sec), static_cast<uint32_t>(h->ts.tv_usec), caplen, h->len};
  std::memcpy(base + off, hdr, kHeader);
  std::memcpy(base + off + kHeader, data, caplen);
  return Align8(off + kHeader + caplen);
}

// State of one dispatch into a batch buffer.
struct Fill {
  uint8_t* base = nullptr;
  size_t cap = 0;
  size_t off = 0;
  uint32_t count = 0;
  std::vector<uint8_t>* pending = nullptr;  // a packet that did not fit goes here (copied)
  pcap_pkthdr pendingHdr{};
  bool hasPending = false;
  pcap_t* breakOnFull = nullptr;  // files: stop pcap_dispatch when the buffer is full
};

void OnPacket(u_char* user, const pcap_pkthdr* h, const u_char* bytes) {
  auto* f = reinterpret_cast<Fill*>(user);
  uint32_t caplen = h->caplen;
  if (f->off + kHeader + caplen <= f->cap) {
    f->off = PutRecord(f->base, f->off, h, bytes, caplen);
    f->count++;
    return;
  }
  // Does not fit: keep a copy for the next batch (only one can be pending: dispatch is bounded below).
  f->pending->assign(bytes, bytes + caplen);
  f->pendingHdr = *h;
  f->hasPending = true;
  if (f->breakOnFull) pcap_breakloop(f->breakOnFull);
}

class Pcap : public Napi::ObjectWrap<Pcap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Pcap",
                       {
                           StaticMethod<&Pcap::OpenOffline>("openOffline"),
                           StaticMethod<&Pcap::OpenLive>("openLive"),
                           StaticMethod<&Pcap::LibVersion>("libVersion"),
                           InstanceMethod<&Pcap::ReadBatch>("readBatch"),
                           InstanceMethod<&Pcap::Start>("start"),
                           InstanceMethod<&Pcap::Stats>("stats"),
                           InstanceMethod<&Pcap::DrainNow>("drain"),
                           InstanceMethod<&Pcap::Close>("close"),
                           InstanceMethod<&Pcap::Linktype>("linktype"),
                           InstanceMethod<&Pcap::Snaplen>("snaplen"),
                       });
  }

  explicit Pcap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Pcap>(info) {}
  ~Pcap() override { Release(); }

 private:
  static Napi::FunctionReference* ctor(Napi::Env env) { return env.GetInstanceData<Napi::FunctionReference>(); }


  // Compiles and installs a tcpdump-syntax filter; returns an error line or "".
  std::string SetFilter(const std::string& expr) {
    if (expr.empty()) return "";
    bpf_program prog{};
    if (pcap_compile(p_, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
      return std::string("bad filter: ") + pcap_geterr(p_);
    int rc = pcap_setfilter(p_, &prog);
    pcap_freecode(&prog);
    if (rc != 0) return std::string("cannot set filter: ") + pcap_geterr(p_);
    return "";
  }

  // openOffline(path, filter) -> Pcap. pcap_open_offline reads pcap and pcapng.
  static Napi::Value OpenOffline(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string path = info[0].As<Napi::String>();
    std::string filter = info[1].As<Napi::String>();
    char err[PCAP_ERRBUF_SIZE] = {0};
    // Our own FILE so its buffer is set before the first read: libpcap reads files through stdio, and
    // 1 MiB instead of 4 KiB cuts read() calls 256-fold. pcap_fopen_offline owns (and closes) it.
    FILE* fp = fopen(path.c_str(), "rb");
    if (!fp) return tw::ThrowErrno(env, path, errno);
    setvbuf(fp, nullptr, _IOFBF, 1 << 20);
    // Only this thread touches the FILE: skip stdio's lock around each of libpcap's two freads a packet.
    __fsetlocking(fp, FSETLOCKING_BYCALLER);
    pcap_t* p = pcap_fopen_offline(fp, err);
    if (!p) {
      const char* code = OfflineErrorCode(fp);
      fclose(fp);
      return tw::ThrowCoded(env, code, err);
    }
    Napi::Object obj = ctor(env)->New({});
    Pcap* self = Unwrap(obj);
    self->p_ = p;
    self->offline_ = true;
    std::string ferr = self->SetFilter(filter);
    if (!ferr.empty()) {
      self->Release();
      return tw::ThrowCoded(env, kErrFilter, ferr);
    }
    return obj;
  }

  // openLive(iface, filter, snaplen, bufferBytes, timeoutMs) -> Pcap, incoming direction only.
  static Napi::Value OpenLive(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::string iface = info[0].As<Napi::String>();
    std::string filter = info[1].As<Napi::String>();
    int snaplen = info[2].As<Napi::Number>().Int32Value();
    int bufferBytes = info[3].As<Napi::Number>().Int32Value();
    int timeoutMs = info[4].As<Napi::Number>().Int32Value();
    char err[PCAP_ERRBUF_SIZE] = {0};
    pcap_t* p = pcap_create(iface.c_str(), err);
    if (!p) return tw::ThrowCoded(env, kErrOpen, err);
    pcap_set_snaplen(p, snaplen);
    pcap_set_promisc(p, 1);
    pcap_set_buffer_size(p, bufferBytes);
    pcap_set_timeout(p, timeoutMs);
    pcap_set_immediate_mode(p, 0);
    int rc = pcap_activate(p);
    if (rc < 0) {
      std::string msg = std::string(iface) + ": " + pcap_statustostr(rc);
      const char* detail = pcap_geterr(p);
      if (detail && *detail) msg = std::string(iface) + ": " + detail;
      pcap_close(p);
      return tw::ThrowCoded(env, kErrOpen, msg);
    }
    Napi::Object obj = ctor(env)->New({});
    Pcap* self = Unwrap(obj);
    self->p_ = p;
    // The sensor's own outgoing packets are never counted as incoming: the kernel tells us the direction.
    if (pcap_setdirection(p, PCAP_D_IN) != 0) {
      std::string msg = std::string("cannot capture incoming only: ") + pcap_geterr(p);
      self->Release();
      return tw::ThrowCoded(env, kErrOpen, msg);
    }
    if (pcap_setnonblock(p, 1, err) != 0) {
      self->Release();
      return tw::ThrowCoded(env, kErrOpen, err);
    }
    std::string ferr = self->SetFilter(filter);
    if (!ferr.empty()) {
      self->Release();
      return tw::ThrowCoded(env, kErrFilter, ferr);
    }
    return obj;
  }

  static Napi::Value LibVersion(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), pcap_lib_version());
  }

  Napi::Value Linktype(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), p_ ? pcap_datalink(p_) : -1);
  }
  Napi::Value Snaplen(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), p_ ? pcap_snapshot(p_) : 0);
  }

  // Moves the pending packet (if any) into the batch; it is cut to the buffer if it is larger than it.
  void FlushPending(Fill& f) {
    if (!f.hasPending) return;
    size_t room = f.cap > kHeader ? f.cap - kHeader : 0;
    uint32_t caplen = static_cast<uint32_t>(std::min<size_t>(pending_.size(), room));
    if (f.off + kHeader + caplen > f.cap) return;  // not even at the start of a batch: give up on it below
    f.off = PutRecord(f.base, f.off, &pendingHdr_, pending_.data(), caplen);
    f.count++;
    f.hasPending = false;
  }

  // readBatch(buf) -> [count, bytesUsed, state (BatchState), error text].
  // Synchronous but bounded by the buffer size: the TypeScript side yields to the loop between calls.
  Napi::Value ReadBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!p_ || !offline_) return tw::ThrowCoded(env, kErrState, "not an open capture file");
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    Fill f;
    f.base = buf.Data();
    f.cap = buf.Length();
    f.pending = &pending_;
    f.hasPending = hasPending_;
    f.pendingHdr = pendingHdr_;
    FlushPending(f);
    int state = kMore;
    std::string error;
    if (f.hasPending) {
      // A record larger than the whole buffer: cannot happen with the TS buffer size; drop it, say so.
      f.hasPending = false;
    }
    if (!f.hasPending) {
      // pcap_dispatch loops inside libpcap (cheaper than pcap_next_ex per packet); OnPacket breaks the
      // loop when a packet does not fit, keeping it as pending for the next batch.
      f.breakOnFull = p_;
      int rc = pcap_dispatch(p_, -1, OnPacket, reinterpret_cast<u_char*>(&f));
      if (rc == 0) {
        state = kEndOfFile;
      } else if (rc == PCAP_ERROR) {
        state = kFailed;
        error = pcap_geterr(p_);
      }
      // rc > 0 cannot happen with cnt -1 on a file; PCAP_ERROR_BREAK: the buffer is full.
    }
    hasPending_ = f.hasPending;
    pendingHdr_ = f.pendingHdr;
    if (state == kEndOfFile && hasPending_) state = kMore;  // deliver the pending one first
    auto out = Napi::Array::New(env, 4);
    out.Set(0u, Napi::Number::New(env, f.count));
    out.Set(1u, Napi::Number::New(env, static_cast<double>(f.off)));
    out.Set(2u, Napi::Number::New(env, state));
    out.Set(3u, Napi::String::New(env, error));
    return out;
  }

  // start(buf, cb): polls the capture fd on the event loop; calls cb(buf, count, linktype) once per full
  // buffer or wakeup. cb must consume the buffer synchronously: it is reused.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!p_ || offline_ || poll_) return tw::ThrowCoded(env, kErrState, "not an idle live capture");
    int fd = pcap_get_selectable_fd(p_);
    if (fd < 0) return tw::ThrowCoded(env, kErrOpen, "capture has no selectable fd");
    bufRef_ = Napi::Persistent(info[0].As<Napi::Buffer<uint8_t>>());
    cb_ = Napi::Persistent(info[1].As<Napi::Function>());
    base_ = bufRef_.Value().As<Napi::Buffer<uint8_t>>().Data();
    cap_ = bufRef_.Value().As<Napi::Buffer<uint8_t>>().Length();
    env_ = env;
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    poll_ = new uv_poll_t;
    poll_->data = this;
    if (uv_poll_init(loop, poll_, fd) != 0) {
      delete poll_;
      poll_ = nullptr;
      return tw::ThrowCoded(env, kErrOpen, "uv_poll_init failed");
    }
    uv_poll_start(poll_, UV_READABLE, &Pcap::OnReadable);
    Ref();  // keep this object alive while the loop polls it
    return env.Undefined();
  }

  static void OnReadable(uv_poll_t* h, int status, int) {
    auto* self = static_cast<Pcap*>(h->data);
    if (status < 0 || !self->p_) return;
    Napi::HandleScope scope(self->env_);
    self->Drain();
  }

  // Drains what the kernel has, at most kMaxBatches buffers per wakeup so a flood cannot starve the loop
  // (epoll is level-triggered: the rest comes on the next turn).
  void Drain() {
    constexpr int kMaxBatches = 16;
    size_t worst = Align8(kHeader + static_cast<size_t>(pcap_snapshot(p_)));
    for (int b = 0; b < kMaxBatches && p_; b++) {
      Fill f;
      f.base = base_;
      f.cap = cap_;
      f.pending = &pending_;
      bool more = true;
      while (cap_ - f.off >= worst) {
        int room = static_cast<int>((cap_ - f.off) / worst);
        int n = pcap_dispatch(p_, room, OnPacket, reinterpret_cast<u_char*>(&f));
        if (n <= 0) {
          more = false;
          if (n == PCAP_ERROR) lastError_ = pcap_geterr(p_);
          break;
        }
      }
      if (f.count > 0) {
        Napi::Env env = env_;
        inCallback_ = true;
        cb_.MakeCallback(env.Global(), {bufRef_.Value(), Napi::Number::New(env, f.count),
                                        Napi::Number::New(env, pcap_datalink(p_))});
        inCallback_ = false;
        if (closeRequested_) {
          Release();
          return;
        }
      }
      if (!more) return;
    }
  }

  // drain(): delivers what the ring holds now (before close, so the last packets are counted).
  Napi::Value DrainNow(const Napi::CallbackInfo& info) {
    if (p_ && poll_ && !inCallback_) Drain();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto out = Napi::Object::New(env);
    pcap_stat st{};
    if (p_ && !offline_ && pcap_stats(p_, &st) == 0) {
      out.Set("recv", Napi::Number::New(env, st.ps_recv));
      out.Set("drop", Napi::Number::New(env, st.ps_drop));
      out.Set("ifdrop", Napi::Number::New(env, st.ps_ifdrop));
    } else {
      out.Set("recv", Napi::Number::New(env, 0));
      out.Set("drop", Napi::Number::New(env, 0));
      out.Set("ifdrop", Napi::Number::New(env, 0));
    }
    if (!lastError_.empty()) out.Set("error", Napi::String::New(env, lastError_));
    return out;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (inCallback_)
      closeRequested_ = true;  // released right after the callback returns
    else
      Release();
    return info.Env().Undefined();
  }

  // Idempotent: stops polling, closes the handle.
  void Release() {
    if (poll_) {
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
      poll_ = nullptr;
      cb_.Reset();
      bufRef_.Reset();
      Unref();
    }
    if (p_) {
      pcap_close(p_);
      p_ = nullptr;
    }
  }

  pcap_t* p_ = nullptr;
  bool offline_ = false;
  std::vector<uint8_t> pending_;
  pcap_pkthdr pendingHdr_{};
  bool hasPending_ = false;
  // live
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference cb_;
  Napi::Reference<Napi::Buffer<uint8_t>> bufRef_;
  uint8_t* base_ = nullptr;
  size_t cap_ = 0;
  napi_env env_ = nullptr;
  bool inCallback_ = false;
  bool closeRequested_ = false;
  std::string lastError_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Function fn = Pcap::Define(env);
  auto* ref = new Napi::FunctionReference(Napi::Persistent(fn));
  env.SetInstanceData<Napi::FunctionReference>(ref);
  exports.Set("Pcap", fn);
  exports.Set("ERROR_CODE", tw::EnumObject<const char*>(env, {{"filter", kErrFilter},
                                                              {"notCapture", kErrNotCapture},
                                                              {"headerCut", kErrHeaderCut},
                                                              {"open", kErrOpen},
                                                              {"state", kErrState}}));
  exports.Set("BATCH_STATE", tw::EnumObject<int>(env, {{"more", kMore}, {"endOfFile", kEndOfFile}, {"failed", kFailed}}));
  return exports;
}

}  // namespace

NODE_API_MODULE(tidewatch_pcap, Init)

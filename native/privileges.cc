// dropPrivileges(uid, gid, groups, keep): switches a process started as root to another user, keeping only
// the capabilities in `keep` (numbers, linux/capability.h). Node has no capset API and Debian's libcap would
// bring a dependency for three system calls, so they are made here (with the raw capset syscall).
//
// Node runs threads (libuv's pool, V8's platform workers) and capabilities belong to each thread. The order
// below leaves only this thread (the event loop, which forks nft and ip) with any capability:
//   1. PR_CAPBSET_DROP every other capability while still root (the bounding set of children too);
//   2. PR_SET_KEEPCAPS on this thread only;
//   3. setgroups, setresgid, setresuid: glibc applies them to every thread, and the kernel clears the
//      permitted set of each thread that changes uid away from 0 without keepcaps: all but this one;
//   4. capset: this thread's permitted, effective and inheritable sets become `keep`;
//   5. PR_CAP_AMBIENT_RAISE for each kept capability: nft and ip, started as the new user, inherit them;
//   6. PR_SET_NO_NEW_PRIVS: no set-uid or file-capability program can give any back.
// Every failure throws a coded error (errno name) before the next step.
#include "common.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

namespace {

bool SetCaps(uint64_t mask) {
  __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; i++) {
    uint32_t part = static_cast<uint32_t>(mask >> (32 * i));
    data[i].effective = data[i].permitted = data[i].inheritable = part;
  }
  return syscall(SYS_capset, &hdr, data) == 0;
}

Napi::Value DropPrivileges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uid_t uid = info[0].As<Napi::Number>().Uint32Value();
  gid_t gid = info[1].As<Napi::Number>().Uint32Value();
  Napi::Array groups_in = info[2].As<Napi::Array>();
  Napi::Array keep_in = info[3].As<Napi::Array>();
  std::vector<gid_t> groups;
  for (uint32_t i = 0; i < groups_in.Length(); i++)
    groups.push_back(groups_in.Get(i).As<Napi::Number>().Uint32Value());
  uint64_t keep = 0;
  for (uint32_t i = 0; i < keep_in.Length(); i++) keep |= 1ull << keep_in.Get(i).As<Napi::Number>().Uint32Value();

  for (int cap = 0; cap <= 63; cap++) {
    if (keep & (1ull << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)  // EINVAL: past the kernel's last
      return tw::ThrowErrno(env, "prctl(PR_CAPBSET_DROP)", errno);
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return tw::ThrowErrno(env, "prctl(PR_SET_KEEPCAPS)", errno);
  if (setgroups(groups.size(), groups.data()) != 0) return tw::ThrowErrno(env, "setgroups", errno);
  if (setresgid(gid, gid, gid) != 0) return tw::ThrowErrno(env, "setresgid", errno);
  if (setresuid(uid, uid, uid) != 0) return tw::ThrowErrno(env, "setresuid", errno);
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (!SetCaps(keep)) return tw::ThrowErrno(env, "capset", errno);
  for (int cap = 0; cap <= 63; cap++)
    if ((keep & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
      return tw::ThrowErrno(env, "prctl(PR_CAP_AMBIENT_RAISE)", errno);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return tw::ThrowErrno(env, "prctl(PR_SET_NO_NEW_PRIVS)", errno);
  return env.Undefined();
}

// keepCapabilities(keep): narrows this thread's capabilities (and ambient set) to `keep`, never widens.
Napi::Value KeepCapabilities(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array keep_in = info[0].As<Napi::Array>();
  uint64_t keep = 0;
  for (uint32_t i = 0; i < keep_in.Length(); i++) keep |= 1ull << keep_in.Get(i).As<Napi::Number>().Uint32Value();
  for (int cap = 0; cap <= 63; cap++)
    if (!(keep & (1ull << cap))) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, cap, 0, 0);
  if (!SetCaps(keep)) return tw::ThrowErrno(env, "capset", errno);
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("dropPrivileges", Napi::Function::New(env, DropPrivileges));
  exports.Set("keepCapabilities", Napi::Function::New(env, KeepCapabilities));
  return exports;
}

}  // namespace

NODE_API_MODULE(tidewatch_priv, Init)

// TODO(owner): the native work stream fills this addon in.
#include <napi.h>

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return exports; }

NODE_API_MODULE(tidewatch_transparent, Init)

{
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_DISABLE_CPP_EXCEPTIONS"],
    "cflags": ["-fvisibility=hidden"],
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fvisibility=hidden", "-fvisibility-inlines-hidden"],
    "cflags_cc!": ["-fno-exceptions"],
    "configurations": {
      "Release": { "cflags_cc": ["-O2"] },
      "Debug": { "cflags_cc": ["-O0", "-g", "-Werror"] }
    }
  },
  "targets": [
    { "target_name": "tidewatch_pcap", "sources": ["native/pcap.cc"], "libraries": ["-lpcap"] },
    { "target_name": "tidewatch_transparent", "sources": ["native/transparent.cc"] },
    { "target_name": "tidewatch_tcp", "sources": ["native/tcp-engine.cc"] },
    { "target_name": "tidewatch_priv", "sources": ["native/privileges.cc"] }
  ]
}

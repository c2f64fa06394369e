{
  "targets": [
    {
      "target_name": "l2tpkit_native",
      "sources": ["native/l2tpkit_native.cc", "native/packet_socket.cc", "native/fast_path.cc", "native/fast_threads.cc", "native/esp.cc", "native/v3_fast.cc", "native/tun_batch.cc", "native/udp_gso.cc", "native/keepalive.cc"],
      "dependencies": ["<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    }
  ]
}

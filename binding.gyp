{
  "targets": [
    {
      "target_name": "pixtral_native",
      "sources": [
        "native/src/addon.cc",
        "native/src/amx.cc",
        "native/src/attention.cc",
        "native/src/attention_amx.cc",
        "native/src/attention_dpbf16.cc",
        "native/src/bandwidth.cc",
        "native/src/cpu.cc",
        "native/src/elementwise.cc",
        "native/src/kernels_portable.cc",
        "native/src/kernels_avx2.cc",
        "native/src/kernels_avx512.cc",
        "native/src/kernels_amx.cc",
        "native/src/matmul.cc",
        "native/src/matmul_amx.cc",
        "native/src/matmul_dpbf16.cc",
        "native/src/registry.cc",
        "native/src/thread_pool.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math", "-Wno-maybe-uninitialized", "-Wno-uninitialized", "-Wno-psabi"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3"] }
    }
  ]
}

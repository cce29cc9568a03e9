{
  "targets": [
    {
      "target_name": "runtime_sampler",
      "sources": [
        "native/addon.cc",
        "native/monitor.cc",
        "native/publish.cc",
        "native/v8/gc_hooks.cc",
        "native/v8/heap_stats.cc",
        "native/v8/histograms.cc",
        "native/uv/loop_monitor.cc",
        "native/uv/refresh.cc",
        "native/uv/threadpool_probe.cc",
        "native/watchdog/stall.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags": ["-fvisibility=hidden"],
      "cflags_cc": ["-fno-exceptions", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-cast-function-type"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "NO",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "conditions": [
        ["OS=='win'", { "defines": ["_HAS_EXCEPTIONS=0"] }]
      ]
    }
  ]
}

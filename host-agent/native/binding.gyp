{
  # Hefery's own libvirt addon (node-addon-api / Node-API).
  # Build: npm run build:native  ->  build/Release/hefery_libvirt.node
  "targets": [
    {
      "target_name": "hefery_libvirt",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/params.cc",
        "src/events.cc",
        "src/connection.cc",
        "src/legacy_stats.cc",
        "src/peercred.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "include_dirs": ["<!@(pkg-config --cflags-only-I libvirt libvirt-qemu | sed s/-I//g)"],
      "libraries": ["<!@(pkg-config --libs libvirt libvirt-qemu)"]
    }
  ]
}

{
  "targets": [
    {
      "target_name": "talos_native",
      "sources": ["talos_native.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}

"""Test helpers: media made on the fly (`media`, `broken`), a real PulseAudio server and
its null sinks (`pulse`), a local nginx RTMP server (`rtmp_server`)."""

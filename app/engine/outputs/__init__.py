"""Where composited frames go: virtual camera, video file, PNG sequence, RTMP stream, preview."""

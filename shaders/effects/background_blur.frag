#version 330 core
// Background blur, one direction of the separable Gaussian; run at a reduced size (the
// caller halves the picture first) so that the strength, in pixels at 1080p, costs the same
// at any resolution. Also blurs the light for light wrap and the matte-weighted colour for
// spill suppression (PREMULTIPLY, then UNPREMULTIPLY on the second direction).
#include "lib/gaussian.glsl"

out vec4 color;

void main() {
    vec4 v = gaussian(ivec2(gl_FragCoord.xy));
#ifdef UNPREMULTIPLY
    v.rgb = clamp(v.rgb / max(v.a, 1.0 / 255.0), 0.0, 1.0);
#endif
    color = v;
}

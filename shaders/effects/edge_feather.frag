#version 330 core
// Edge feather: one direction of a Gaussian over the matte, at the matte's own size.
#include "lib/gaussian.glsl"

out vec4 color;

void main() {
    color = vec4(gaussian(ivec2(gl_FragCoord.xy)).r, 0.0, 0.0, 1.0);
}

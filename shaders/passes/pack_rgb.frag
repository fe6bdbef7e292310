#version 330 core
// Pack an RGBA picture's RGB into an RGBA8 target of width 3W/4 (see lib/packed.glsl), so
// that reading it back gives tightly packed RGB bytes with no conversion.
uniform sampler2D src;
out vec4 color;

void main() {
    ivec2 q = ivec2(gl_FragCoord.xy);
    int group = q.x / 3;
    int k = q.x - 3 * group;
    vec3 a = texelFetch(src, ivec2(4 * group + k, q.y), 0).rgb;
    vec3 b = texelFetch(src, ivec2(4 * group + k + 1, q.y), 0).rgb;
    color = k == 0 ? vec4(a, b.r) : (k == 1 ? vec4(a.gb, b.rg) : vec4(a.b, b));
}

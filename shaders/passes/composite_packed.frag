#version 330 core
// The output picture, four bytes at a time in the packed layout (lib/packed.glsl). Output
// texel i holds bytes 4i..4i+3 of the RGB rows: the same bytes as texel i of the packed
// frame and picture, so each of those is one fetch, and the result reads back as RGB with
// no conversion. Per-pixel values (matte, edge maps, a scaled background) are taken for the
// two pixels those bytes belong to and spread over the bytes (the small, smooth edge maps
// and a background of at most a third of the size are sampled once, between the two).
// Same effects, same defines as passes/composite.frag.
#include "lib/frame.glsl"
#include "lib/background.glsl"
#include "effects/spill.glsl"
#include "effects/colour_match.glsl"
#include "effects/light_wrap.glsl"
#include "effects/alpha_blend.glsl"

uniform sampler2D edge_tex;
uniform sampler2D light_tex;
out vec4 color;

// bytes 4i..4i+3 are (p0.rgb, p1.r), (p0.gb, p1.rg) or (p0.b, p1.rgb) as i % 3 is 0, 1, 2
vec4 spread(vec3 c0, vec3 c1, int phase) {
    return phase == 0 ? vec4(c0, c1.r) : (phase == 1 ? vec4(c0.gb, c1.rg) : vec4(c0.b, c1));
}

vec4 spread(float v0, float v1, int phase) {
    return phase == 0 ? vec4(v0, v0, v0, v1) : (phase == 1 ? vec4(v0, v0, v1, v1) : vec4(v0, v1, v1, v1));
}

void main() {
    ivec2 q = ivec2(gl_FragCoord.xy);
    float group = floor((gl_FragCoord.x - 0.5) / 3.0 + 1e-3);  // float: integer division is slow in software GL
    int phase = q.x - 3 * int(group);
    ivec2 p0 = ivec2(4 * int(group) + phase, q.y);
    ivec2 p1 = p0 + ivec2(1, 0);
    vec2 uv = (vec2(p0) + vec2(1.0, 0.5)) / out_size;  // between the two pixels
    vec4 f = texelFetch(frame_tex, q, 0);
#ifdef ALPHA_PACKED
    vec4 four = texelFetch(alpha_tex, ivec2(p0.x >> 2, q.y), 0);  // p0 and p1 share a texel
    vec4 a = spread(four[phase], four[phase + 1], phase);
#else
    vec4 a = spread(alpha_at(p0), alpha_at(p1), phase);
#endif
#if defined(SPILL) || defined(LIGHT_WRAP)
    vec4 edge = texture(edge_tex, uv);
#endif
#ifdef SPILL
    f = suppress_spill(f, a, spread(edge.rgb, edge.rgb, phase));
#endif
#ifdef COLOUR_MATCH
    f = match_colour(f, spread(colour_gain, colour_gain, phase));
#endif
#if BG_MODE == BG_PICTURE
    vec4 b = texelFetch(bg_tex, q, 0);
#elif BG_MODE == BG_COLOUR
    vec4 b = spread(bg_colour, bg_colour, phase);
#elif defined(ONE_TAP)  // a third of the size or less, so smooth here: sampled once, between the two pixels
    vec3 behind = scaled_background(vec2(p0) + vec2(1.0, 0.5));
    vec4 b = spread(behind, behind, phase);
#else
    vec4 b = spread(background_at(p0, out_size), background_at(p1, out_size), phase);
#endif
#ifdef LIGHT_WRAP
#if BG_MODE == BG_COLOUR
    vec4 light = b;
#else
    vec3 lit = texture(light_tex, uv).rgb;
    vec4 light = spread(lit, lit, phase);
#endif
    f = wrap_light(f, vec4(edge.a), light);
#endif
    color = alpha_blend(f, b, a);
}

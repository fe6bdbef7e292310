#version 330 core
// Make a reduced level of a picture (rgb) and the matte (a):
//   default  halve an earlier level (SOURCE 2) or the frame/background (SOURCE 0/1) by
//            averaging 2x2 blocks (OpenCV's INTER_AREA at exactly half size)
//   QUARTER  4x4 blocks of the full-size frame (SOURCE 0) or picture (SOURCE 1) in one pass:
//            packed, a row of four pixels is three whole texels
//   SAMPLED  a scaled background (SOURCE 1, BG_SCALED) straight to the level: four bilinear
//            taps per level pixel
//   COPY     the full-size frame or background as it is
// SOURCE 0: the frame and its matte; 1: the background (a = 1); 2: an earlier level.
#include "lib/frame.glsl"
#include "lib/background.glsl"

uniform sampler2D src;
uniform vec2 level_size;  // SAMPLED: size of the level being made
out vec4 color;

vec4 fetch(ivec2 p) {
#if SOURCE == 0
    return vec4(frame_at(p), alpha_at(p));
#elif SOURCE == 1
    return vec4(background_at(p, out_size), 1.0);
#else
    return texelFetch(src, p, 0);
#endif
}

#if SOURCE == 0
#define FULL_TEX frame_tex
#else
#define FULL_TEX bg_tex
#endif

vec3 row_of_four(int x4, int y) {
#ifdef PACKED
    vec4 t0 = texelFetch(FULL_TEX, ivec2(3 * x4, y), 0);
    vec4 t1 = texelFetch(FULL_TEX, ivec2(3 * x4 + 1, y), 0);
    vec4 t2 = texelFetch(FULL_TEX, ivec2(3 * x4 + 2, y), 0);
    return t0.rgb + vec3(t0.a, t1.rg) + vec3(t1.ba, t2.r) + t2.gba;
#else
    vec3 sum = vec3(0.0);
    for (int dx = 0; dx < 4; ++dx) sum += texelFetch(FULL_TEX, ivec2(4 * x4 + dx, y), 0).rgb;
    return sum;
#endif
}

void main() {
    ivec2 q = ivec2(gl_FragCoord.xy);
#if defined(COPY)
    color = fetch(q);
#elif defined(QUARTER)
    vec3 sum = vec3(0.0);
    for (int dy = 0; dy < 4; ++dy) sum += row_of_four(q.x, 4 * q.y + dy);
    float a = 1.0;
#if SOURCE == 0 && defined(ALPHA_PACKED)
    vec4 fours = vec4(0.0);  // a row of the block is one texel
    for (int dy = 0; dy < 4; ++dy) fours += texelFetch(alpha_tex, ivec2(q.x, 4 * q.y + dy), 0);
    a = dot(fours, vec4(1.0 / 16.0));
#elif SOURCE == 0
    vec2 corner = vec2(4 * q) / out_size;  // taps between texels: each is a 2x2 mean
    vec2 step = 2.0 / out_size;
    a = 0.25 * (texture(alpha_tex, corner + 0.5 * step).r + texture(alpha_tex, corner + vec2(1.5, 0.5) * step).r
              + texture(alpha_tex, corner + vec2(0.5, 1.5) * step).r + texture(alpha_tex, corner + 1.5 * step).r);
#endif
    color = vec4(sum / 16.0, a);
#elif defined(SAMPLED)
    vec2 block = out_size / level_size;
    vec2 centre = (vec2(q) + 0.5) * block;
    vec3 sum = vec3(0.0);
    for (int i = 0; i < 4; ++i) {
        vec2 offset = (vec2(i & 1, i >> 1) - 0.5) * 0.5 * block;
        sum += scaled_background(centre + offset);
    }
    color = vec4(0.25 * sum, 1.0);
#else
    ivec2 p = 2 * q;
    color = 0.25 * (fetch(p) + fetch(p + ivec2(1, 0)) + fetch(p + ivec2(0, 1)) + fetch(p + ivec2(1, 1)));
#endif
}

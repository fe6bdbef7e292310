// The camera frame and its matte at output pixel p (image rows, top first).
// The matte is either full size and packed four pixels to an RGBA8 texel (ALPHA_PACKED:
// uploaded as is, one fetch gives four pixels), or of its own size, sampled bilinearly
// (ALPHA_SCALED: a low-resolution matte is upsampled here), or a plain R8 texture.
#include "lib/packed.glsl"

uniform sampler2D frame_tex;
uniform sampler2D alpha_tex;
uniform vec2 out_size;  // the frame's size in pixels

vec3 frame_at(ivec2 p) {
    return RGB_AT(frame_tex, p);
}

float alpha_at(ivec2 p) {
#if defined(ALPHA_PACKED)
    return texelFetch(alpha_tex, ivec2(p.x >> 2, p.y), 0)[p.x & 3];
#elif defined(ALPHA_SCALED)
    return texture(alpha_tex, (vec2(p) + 0.5) / out_size).r;
#else
    return texelFetch(alpha_tex, p, 0).r;
#endif
}

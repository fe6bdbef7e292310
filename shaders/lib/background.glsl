// What is behind the person at output pixel p, by BG_MODE:
//   BG_COLOUR  a solid colour
//   BG_PICTURE a frame-sized picture (photo, video frame), packed like the frame
//   BG_SCALED  a texture of another size sampled bilinearly (blurred room, procedural scene,
//              a video's own frames) placed at bg_origin, bg_extent pixels big; black
//              outside it with BG_BARS; bg_flip = 1 when its rows run bottom first (a scene
//              drawn with gl_FragCoord)
//   BG_NONE    transparent
#include "lib/packed.glsl"

#define BG_COLOUR 0
#define BG_PICTURE 1
#define BG_SCALED 2
#define BG_NONE 3

uniform vec3 bg_colour;
uniform sampler2D bg_tex;
uniform float bg_flip;
uniform vec2 bg_origin;  // frame position (pixels) of the texture's top-left corner
uniform vec2 bg_extent;  // the texture's size in the frame (pixels)

vec3 scaled_background(vec2 centre) {  // centre: a position in the frame, in pixels
    vec2 uv = (centre - bg_origin) / bg_extent;
#ifdef BG_BARS
    if (any(lessThan(uv, vec2(0.0))) || any(greaterThan(uv, vec2(1.0)))) return vec3(0.0);
#endif
    uv.y = mix(uv.y, 1.0 - uv.y, bg_flip);
    return texture(bg_tex, uv).rgb;
}

vec3 background_at(ivec2 p, vec2 size) {
#if BG_MODE == BG_COLOUR
    return bg_colour;
#elif BG_MODE == BG_PICTURE
    return RGB_AT(bg_tex, p);
#elif BG_MODE == BG_SCALED
    return scaled_background(vec2(p) + 0.5);
#else
    return vec3(0.0);
#endif
}

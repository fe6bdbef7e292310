// Pictures are kept in image order (row 0 = top) and, when the width is a multiple of 4,
// "packed": RGB bytes stored in an RGBA8 texture of width 3W/4 (4 pixels = 3 texels), so
// uploads and readbacks are plain copies with no format conversion.
// RGB_AT(tex, p) reads pixel p of such a picture, packed (PACKED defined) or not.

vec3 packed_rgb(sampler2D tex, ivec2 p) {
    int base = 3 * (p.x >> 2);
    int j = p.x & 3;
    vec4 t0 = texelFetch(tex, ivec2(base + (j >> 1), p.y), 0);
    vec4 t1 = texelFetch(tex, ivec2(base + 1 + (j >> 1), p.y), 0);
    if (j == 0) return t0.rgb;
    if (j == 1) return vec3(t0.a, t1.rg);
    if (j == 2) return vec3(t0.ba, t1.r);
    return t1.gba;
}

#ifdef PACKED
#define RGB_AT(tex, p) packed_rgb(tex, p)
#else
#define RGB_AT(tex, p) texelFetch(tex, p, 0).rgb
#endif

// One direction of a separable Gaussian with OpenCV's kernel and borders: the weights for
// offsets 0..radius come from the caller (cv2.getGaussianKernel), so both paths agree.
#include "lib/reflect.glsl"

#define MAX_TAPS 64
uniform sampler2D src;
uniform ivec2 direction;  // (1, 0) or (0, 1)
uniform int radius;       // taps each side, < MAX_TAPS
uniform float weights[MAX_TAPS];

vec4 load(ivec2 p, ivec2 size) {
    vec4 v = texelFetch(src, reflect101(p, size), 0);
#ifdef PREMULTIPLY
    v.rgb *= v.a;  // blur colour weighted by the matte
#endif
    return v;
}

vec4 gaussian(ivec2 p) {
    ivec2 size = textureSize(src, 0);
    vec4 sum = weights[0] * load(p, size);
    for (int i = 1; i <= radius; ++i) {
        sum += weights[i] * (load(p + i * direction, size) + load(p - i * direction, size));
    }
    return sum;
}

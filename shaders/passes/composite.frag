#version 330 core
// The output picture: the frame's subject, with the enabled effects, over the background.
// Effects are switched by defines (SPILL, COLOUR_MATCH, LIGHT_WRAP) so that what is off
// costs nothing. edge_tex and light_tex are small (see passes/downsample.frag and
// effects/background_blur.frag) and sampled bilinearly.
#include "lib/frame.glsl"
#include "lib/background.glsl"
#include "effects/spill.glsl"
#include "effects/colour_match.glsl"
#include "effects/light_wrap.glsl"
#include "effects/alpha_blend.glsl"

uniform sampler2D edge_tex;   // rgb: the subject's colour nearby; a: the blurred matte
uniform sampler2D light_tex;  // the background, blurred
out vec4 color;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec2 uv = (vec2(p) + 0.5) / out_size;
    float a = alpha_at(p);
    vec3 f = frame_at(p);
#if defined(SPILL) || defined(LIGHT_WRAP)
    vec4 edge = texture(edge_tex, uv);
#endif
#ifdef SPILL
    f = suppress_spill(f, a, edge.rgb);
#endif
#ifdef COLOUR_MATCH
    f = match_colour(f, colour_gain);
#endif
#if BG_MODE == BG_NONE
    color = vec4(f, a);
#else
    vec3 b = background_at(p, out_size);
#ifdef LIGHT_WRAP
#if BG_MODE == BG_COLOUR
    f = wrap_light(f, edge.a, bg_colour);
#else
    f = wrap_light(f, edge.a, texture(light_tex, uv).rgb);
#endif
#endif
    color = vec4(alpha_blend(f, b, a), 1.0);
#endif
}

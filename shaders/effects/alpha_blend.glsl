// Alpha blend: the subject over the background by the matte.
// (The vec4 form works on four bytes of packed RGB at once: see passes/composite_packed.frag.)
vec3 alpha_blend(vec3 subject, vec3 background, float a) {
    return mix(background, subject, a);
}

vec4 alpha_blend(vec4 subject, vec4 background, vec4 a) {
    return mix(background, subject, a);
}

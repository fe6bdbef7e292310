// Light wrap: near the subject's edge (where the blurred matte falls off) some of the new
// background's light, blurred, shows on the subject, as if it lit them from behind.
uniform float wrap_strength;

vec3 wrap_light(vec3 subject, float matte_blurred, vec3 light) {
    return mix(subject, light, wrap_strength * (1.0 - matte_blurred));
}

vec4 wrap_light(vec4 subject, vec4 matte_blurred, vec4 light) {
    return mix(subject, light, wrap_strength * (1.0 - matte_blurred));
}

// Foreground spill suppression: where the matte is partial the pixel still carries the old
// room's colour. Pull it toward the subject's own colour nearby (the matte-weighted blur of
// the frame), more the more transparent the pixel is: by min(1, 2 * strength * (1 - a)).
uniform float spill_strength;

vec3 suppress_spill(vec3 subject, float a, vec3 subject_nearby) {
    return mix(subject, subject_nearby, min(1.0, 2.0 * spill_strength * (1.0 - a)));
}

vec4 suppress_spill(vec4 subject, vec4 a, vec4 subject_nearby) {
    return mix(subject, subject_nearby, min(vec4(1.0), 2.0 * spill_strength * (1.0 - a)));
}

// Colour match: the subject's brightness and white balance pulled toward the background's.
// colour_gain comes from the mean colours (passes/stats.frag), limited and scaled by strength.
uniform vec3 colour_gain;

vec3 match_colour(vec3 subject, vec3 gain) {
    return min(subject * gain, vec3(1.0));
}

vec4 match_colour(vec4 subject, vec4 gain) {
    return min(subject * gain, vec4(1.0));
}

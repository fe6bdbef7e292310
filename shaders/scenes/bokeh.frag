// Soft bokeh: out-of-focus lights drifting in front of a warm, dim room.
// (The lights are written out one call each rather than looped over an array: software
// GL indexes arrays per pixel slowly, and this scene should cost next to nothing.)
uniform float time;
uniform vec2 resolution;
out vec4 fragColor;

vec2 sx;     // sin, cos of the x drift angle, once per pixel
vec2 sy;     // sin, cos of the y drift angle
float glow;  // slow pulse

// One light: l = (x 0..1 of the width, y 0..1 from the bottom, radius of the height, tint
// 0 warm .. 1 cool); ph = its drift phases as (cos, sin) for x and y, so sin(t + phase)
// is two multiply-adds.
void light(inout vec3 col, vec2 p, float aspect, vec4 l, vec4 ph, float i) {
    vec2 drift = vec2(sx.x * ph.x + sx.y * ph.y, sy.y * ph.z - sy.x * ph.w);
    vec2 d = p - vec2(l.x * aspect, l.y) - 0.035 * drift;
    float dist = length(d);
    float disc = 1.0 - smoothstep(0.8 * l.z, l.z, dist);
    float rim = smoothstep(0.6 * l.z, l.z, dist) * disc;
    vec3 tint = mix(mix(vec3(1.0, 0.74, 0.40), vec3(1.0, 0.52, 0.32), fract(i * 0.37)), vec3(0.60, 0.78, 1.0), l.w);
    col += tint * (0.13 * disc + 0.07 * rim) * mix(glow, 1.0, ph.x * 0.5 + 0.5);
}

void main() {
    vec2 uv = gl_FragCoord.xy / resolution;
    float aspect = resolution.x / resolution.y;
    vec2 p = vec2(uv.x * aspect, uv.y);
    vec3 col = mix(vec3(0.07, 0.045, 0.035), vec3(0.19, 0.12, 0.09), uv.y);
    vec2 lamp = uv - vec2(0.72, 0.62);
    col += vec3(0.22, 0.14, 0.07) * exp(-7.0 * dot(lamp, lamp));
    sx = vec2(sin(0.13 * time), cos(0.13 * time));
    sy = vec2(sin(0.10 * time), cos(0.10 * time));
    glow = 0.8 + 0.2 * sin(0.5 * time);
    light(col, p, aspect, vec4(0.06, 0.78, 0.070, 0.1), vec4(1.000, 0.000, 0.878, 0.479), 0.0);
    light(col, p, aspect, vec4(0.14, 0.42, 0.095, 0.0), vec4(0.540, 0.841, -0.227, 0.974), 1.0);
    light(col, p, aspect, vec4(0.21, 0.88, 0.045, 0.9), vec4(-0.416, 0.909, -0.999, 0.042), 2.0);
    light(col, p, aspect, vec4(0.27, 0.63, 0.080, 0.2), vec4(-0.990, 0.141, -0.307, -0.952), 3.0);
    light(col, p, aspect, vec4(0.33, 0.24, 0.060, 0.0), vec4(-0.654, -0.757, 0.835, -0.551), 4.0);
    light(col, p, aspect, vec4(0.40, 0.82, 0.105, 0.1), vec4(0.284, -0.959, 0.754, 0.657), 5.0);
    light(col, p, aspect, vec4(0.46, 0.50, 0.050, 0.3), vec4(0.960, -0.279, -0.431, 0.902), 6.0);
    light(col, p, aspect, vec4(0.52, 0.71, 0.075, 0.0), vec4(0.754, 0.657, -0.985, -0.174), 7.0);
    light(col, p, aspect, vec4(0.58, 0.30, 0.095, 1.0), vec4(-0.146, 0.989, -0.095, -0.995), 8.0);
    light(col, p, aspect, vec4(0.63, 0.92, 0.060, 0.2), vec4(-0.911, 0.412, 0.934, -0.358), 9.0);
    light(col, p, aspect, vec4(0.69, 0.58, 0.110, 0.0), vec4(-0.839, -0.544, 0.595, 0.804), 10.0);
    light(col, p, aspect, vec4(0.74, 0.18, 0.055, 0.1), vec4(0.004, -1.000, -0.615, 0.788), 11.0);
    light(col, p, aspect, vec4(0.79, 0.80, 0.085, 0.0), vec4(0.844, -0.537, -0.924, -0.382), 12.0);
    light(col, p, aspect, vec4(0.84, 0.44, 0.065, 0.8), vec4(0.907, 0.420, 0.121, -0.993), 13.0);
    light(col, p, aspect, vec4(0.89, 0.67, 0.045, 0.1), vec4(0.137, 0.991, 0.989, -0.149), 14.0);
    light(col, p, aspect, vec4(0.93, 0.27, 0.100, 0.0), vec4(-0.760, 0.650, 0.408, 0.913), 15.0);
    light(col, p, aspect, vec4(0.97, 0.86, 0.075, 0.2), vec4(-0.958, -0.288, -0.771, 0.637), 16.0);
    light(col, p, aspect, vec4(0.10, 0.12, 0.085, 0.0), vec4(-0.275, -0.961, -0.820, -0.572), 17.0);
    vec2 c = uv - 0.5;
    col *= 1.0 - 0.6 * dot(c, c);
    fragColor = vec4(col, 1.0);
}

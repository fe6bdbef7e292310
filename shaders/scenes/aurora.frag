// Aurora: slow ribbons of light over a night sky. Repeats exactly every PERIOD seconds.
uniform float time;        // seconds
uniform vec2 resolution;   // pixels
out vec4 fragColor;

const float TAU = 6.28318530718;
const float PERIOD = 12.0;

const vec3 GREEN = vec3(0.15, 0.95, 0.55);
const vec3 TEAL = vec3(0.10, 0.70, 0.95);
const vec3 VIOLET = vec3(0.65, 0.30, 0.95);

vec3 palette(float band, float x) {
    vec3 low = mix(GREEN, TEAL, 0.5 + 0.5 * sin(x));
    return band < 1.0 ? low : (band < 2.0 ? mix(TEAL, GREEN, 0.5 + 0.5 * cos(x)) : VIOLET);
}

void main() {
    vec2 uv = gl_FragCoord.xy / resolution;
    float aspect = resolution.x / resolution.y;
    float x = uv.x * aspect;
    float t = TAU * time / PERIOD;
    vec3 col = mix(vec3(0.015, 0.02, 0.06), vec3(0.04, 0.08, 0.18), uv.y);
    for (int i = 0; i < 3; ++i) {
        float fi = float(i);
        float centre = 0.50 + 0.11 * fi
                     + 0.07 * sin(x * (1.1 + 0.35 * fi) + t + 2.0 * fi)
                     + 0.03 * sin(x * 2.7 - 2.0 * t + fi);
        float d = uv.y - centre;
        float band = exp(-d * d / (0.0035 + 0.0025 * fi));
        float glow = exp(-max(d, 0.0) * (5.0 + 2.0 * fi)) * step(0.0, d);  // light trailing upward
        float shimmer = 0.7 + 0.3 * sin(x * 7.0 + 3.0 * t + 1.7 * fi);
        vec3 tint = palette(fi, t + 0.8 * x);
        col += tint * (band * 0.50 + glow * 0.10) * shimmer * (1.0 - 0.22 * fi);
    }
    vec2 c = uv - 0.5;
    col *= 1.0 - 0.7 * dot(c, c);
    fragColor = vec4(col, 1.0);
}

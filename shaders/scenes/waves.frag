// Waves: layered soft bands of colour rolling slowly, back to front. Repeats exactly every
// PERIOD seconds (every motion is a whole number of turns per period).
uniform float time;
uniform vec2 resolution;
out vec4 fragColor;

const float TAU = 6.28318530718;
const float PERIOD = 6.0;
const int LAYERS = 4;

void main() {
    vec2 uv = gl_FragCoord.xy / resolution;
    float aspect = resolution.x / resolution.y;
    float x = uv.x * aspect;
    float t = TAU * time / PERIOD;
    vec3 col = mix(vec3(0.36, 0.55, 0.72), vec3(0.72, 0.83, 0.92), uv.y);
    for (int i = 0; i < LAYERS; ++i) {
        float fi = float(i);
        float level = 0.74 - 0.17 * fi
                    + 0.035 * sin(x * (1.3 + 0.4 * fi) + (fi < 2.0 ? t : -t) + 1.9 * fi)
                    + 0.015 * sin(x * 3.1 - 2.0 * t + fi);
        float edge = 1.0 - smoothstep(level - 0.012, level + 0.04, uv.y);
        vec3 tint = mix(vec3(0.24, 0.60, 0.74), vec3(0.07, 0.14, 0.38), fi / float(LAYERS - 1));
        col = mix(col, tint * (1.0 - 0.25 * (level - uv.y)), 0.9 * edge);
        col += vec3(0.9, 0.95, 1.0) * 0.05 * exp(-80.0 * abs(uv.y - level));
    }
    vec2 c = uv - 0.5;
    col *= 1.0 - 0.45 * dot(c, c);
    fragColor = vec4(col, 1.0);
}

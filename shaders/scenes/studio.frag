// Virtual studio: a panelled back wall meeting a glossy floor, with a soft spotlight that
// sweeps slowly across the wall and its reflection on the floor.
uniform float time;
uniform vec2 resolution;
out vec4 fragColor;

const float HORIZON = 0.33;  // where the floor meets the wall, from the bottom
const vec3 LAMP = vec3(1.0, 0.92, 0.80);
const vec3 COVE = vec3(0.25, 0.45, 0.95);

void main() {
    vec2 uv = gl_FragCoord.xy / resolution;
    float aspect = resolution.x / resolution.y;
    vec2 light = vec2(0.5 + 0.26 * sin(time * 0.25), 0.64 + 0.04 * sin(time * 0.17));
    vec3 col;
    if (uv.y >= HORIZON) {
        float height = (uv.y - HORIZON) / (1.0 - HORIZON);
        vec2 q = vec2((uv.x - light.x) * aspect, uv.y - light.y);
        float spot = exp(-7.0 * dot(q, q));
        float seam = smoothstep(0.46, 0.5, abs(fract(uv.x * 5.0) - 0.5));
        col = vec3(0.15, 0.17, 0.23) * (0.65 + 0.35 * height) * (1.0 - 0.25 * seam);
        col += LAMP * 0.5 * spot;
        col += COVE * 0.22 * exp(-30.0 * (uv.y - HORIZON));
    } else {
        float depth = (HORIZON - uv.y) / HORIZON;  // 0 at the wall, 1 at the front
        float z = 1.0 / max(depth, 0.02);
        vec2 tile = abs(fract(vec2((uv.x - 0.5) * aspect * z, z) * 1.25) - 0.5);
        float grid = smoothstep(0.47, 0.5, max(tile.x, tile.y)) * depth;
        vec2 r = vec2((uv.x - light.x) * aspect, (HORIZON - uv.y) * 2.2 - 0.25 * (light.y - HORIZON));
        float reflection = exp(-6.0 * dot(r, r));
        col = vec3(0.09, 0.09, 0.11) * (0.7 + 0.6 * depth) + 0.03 * grid;
        col += LAMP * 0.3 * reflection;
        col += COVE * 0.16 * exp(-25.0 * (HORIZON - uv.y));
    }
    vec2 c = uv - 0.5;
    col *= 1.0 - 0.6 * dot(c, c);
    fragColor = vec4(col, 1.0);
}

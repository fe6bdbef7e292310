#version 330 core
// Sums for colour matching, in two passes. ROWS: output 2 x H; column 0 of row y holds
// (sum of colour * matte, sum of matte) over row y of the frame level, column 1 holds
// (sum of background colour, count) over row y of the background level.
// Otherwise: output 2 x 1, the sums of those rows.
uniform sampler2D frame_level;
uniform sampler2D bg_level;
uniform sampler2D rows;
out vec4 color;

void main() {
    ivec2 p = ivec2(gl_FragCoord.xy);
    vec4 sum = vec4(0.0);
#ifdef ROWS
    if (p.x == 0) {
        int w = textureSize(frame_level, 0).x;
        for (int x = 0; x < w; ++x) {
            vec4 v = texelFetch(frame_level, ivec2(x, p.y), 0);
            sum += vec4(v.rgb * v.a, v.a);
        }
    } else {
        int w = textureSize(bg_level, 0).x;
        for (int x = 0; x < w; ++x) {
            sum += vec4(texelFetch(bg_level, ivec2(x, p.y), 0).rgb, 1.0);
        }
    }
#else
    int h = textureSize(rows, 0).y;
    for (int y = 0; y < h; ++y) {
        sum += texelFetch(rows, ivec2(p.x, y), 0);
    }
#endif
    color = sum;
}

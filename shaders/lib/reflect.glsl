// Border handling that matches OpenCV's default (BORDER_REFLECT_101: gfedcb|abcdefgh|gfedcba),
// for offsets of less than the size (no integer division: it is slow in software GL).
int reflect101(int i, int n) {
    i = abs(i);
    return clamp(min(i, 2 * n - 2 - i), 0, n - 1);
}

ivec2 reflect101(ivec2 p, ivec2 size) {
    return ivec2(reflect101(p.x, size.x), reflect101(p.y, size.y));
}

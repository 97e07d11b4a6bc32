/* Animation frames' seeds: one per (seed, frame), all different, in range. */
#include "check.h"
#include "synth/synth.h"

int main(void)
{
    enum { SEEDS = 4, FRAMES = 500 };
    static int seen[SEEDS * FRAMES];
    int n = 0, same = 0;
    for (int s = 0; s < SEEDS; s++)
        for (int k = 0; k < FRAMES; k++) {
            int v = animate_frame_seed(s * 1000003, k);
            CHECK(v >= 0);
            CHECK(v == animate_frame_seed(s * 1000003, k));
            for (int i = 0; i < n; i++)
                same += seen[i] == v;
            seen[n++] = v;
        }
    CHECK(same == 0);
    CHECK(animate_frame_seed(2147483647, 99999) >= 0);
    return check_report("test_animate");
}

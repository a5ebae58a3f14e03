/* The size baseline for main.c: the same output loop without the network, so that the
 * difference of the two binaries is what the network adds. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define POINTS 16

static uint32_t float_bits(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

int main(void) {
    for (int k = 0; k < POINTS; k++) {
        float x = (float)k * 0.4f;
        printf("x %.9f bits %08x\n", x, (unsigned)float_bits(x));
    }
    return 0;
}

/* Calls the sine network of the no_std static library (src/lib.rs), prints its
 * predictions at x = 0, 0.4, ..., 6.0, and measures the stack one inference uses.
 * run.sh compares the predictions with the std build of the same network. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

float sine_predict(float x);
size_t sine_param_bytes(void);
size_t sine_forward_bytes(void);

#define POINTS 16

/* The stack measurement paints this many bytes below the caller's frame. */
#define PAINT_BYTES 16384
#define PAINT 0xA5

/* The lowest address of the painted region, set by paint_stack. It is kept as an
 * integer because the region's frame has returned when stack_used reads it. */
static uintptr_t painted_low;

static uint32_t float_bits(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

/* Fills PAINT_BYTES of stack below the caller's frame with PAINT. */
__attribute__((noinline)) static void paint_stack(void) {
    volatile unsigned char region[PAINT_BYTES];
    for (size_t i = 0; i < PAINT_BYTES; i++) {
        region[i] = PAINT;
    }
    painted_low = (uintptr_t)region;
}

/* A function that uses almost no stack, the baseline of the measurement. */
__attribute__((noinline)) static float identity(float x) {
    __asm__ volatile("" : : : "memory");
    return x;
}

/* Returns how many bytes below the caller's frame a call of `f` wrote: the stack is
 * painted, `f` runs at the same depth as the painter, and the bytes still painted are
 * counted from the bottom. This reads memory of a returned frame through a volatile
 * pointer, which the C standard leaves undefined but gcc on x86-64 compiles as
 * written; it is a measurement tool, not production code. */
__attribute__((noinline)) static size_t stack_used(float (*f)(float), float x) {
    paint_stack();
    volatile float y = f(x);
    (void)y;
    volatile unsigned char *painted = (volatile unsigned char *)painted_low;
    size_t untouched = 0;
    while (untouched < PAINT_BYTES && painted[untouched] == PAINT) {
        untouched++;
    }
    return PAINT_BYTES - untouched;
}

int main(void) {
    for (int k = 0; k < POINTS; k++) {
        /* The same computation as examples/sine.rs: k as f32 * 0.4. */
        float x = (float)k * 0.4f;
        float y = sine_predict(x);
        printf("x %.9f bits %08x prediction %.9f bits %08x\n", x, (unsigned)float_bits(x), y,
               (unsigned)float_bits(y));
    }

    /* The predictions above resolved every symbol, so no lazy binding runs below. */
    size_t baseline = stack_used(identity, 1.0f);
    size_t inference = stack_used(sine_predict, 1.0f);
    printf("param_bytes %zu\n", sine_param_bytes());
    printf("forward_bytes %zu\n", sine_forward_bytes());
    printf("stack_baseline %zu\n", baseline);
    printf("stack_inference %zu\n", inference);
    return 0;
}

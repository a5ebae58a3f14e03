/* Links the no_std static library of static-nn's check crate into a C program and
 * prints its results, so run.sh can compare them with the std build. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int32_t nn_input_len(void);
int32_t nn_class_count(void);
int32_t nn_predict(const float *x);
int32_t nn_logits(const float *x, float *out);
float nn_gradient_norm(const float *x, int32_t label);
int32_t nn_train_sgd(const float *samples, const int32_t *labels, int32_t steps, float *losses);

#define INPUTS 4
#define CLASSES 3
#define SAMPLES 3
#define TRAIN_STEPS 20

/* The same samples and labels as reference/src/main.rs. */
static const float samples[SAMPLES][INPUTS] = {
    {0.5f, -1.0f, 2.0f, 0.25f},
    {-2.0f, -2.0f, -1.0f, -2.0f},
    {-1.0f, 2.0f, -2.0f, -2.0f},
};
static const int32_t labels[SAMPLES] = {0, 1, 2};

static uint32_t float_bits(float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

int main(void) {
    if (nn_input_len() != INPUTS || nn_class_count() != CLASSES) {
        fprintf(stderr, "error: library has %" PRId32 " inputs and %" PRId32
                        " classes, expected %d and %d\n",
                nn_input_len(), nn_class_count(), INPUTS, CLASSES);
        return 1;
    }

    for (int i = 0; i < SAMPLES; i++) {
        float logits[CLASSES];
        if (nn_logits(samples[i], logits) != 0) {
            fprintf(stderr, "error: nn_logits failed for sample %d\n", i);
            return 1;
        }
        printf("sample %d prediction %" PRId32 "\n", i, nn_predict(samples[i]));
        printf("sample %d logits", i);
        for (int c = 0; c < CLASSES; c++) {
            printf(" %08" PRIx32, float_bits(logits[c]));
        }
        printf("\nsample %d logit_values", i);
        for (int c = 0; c < CLASSES; c++) {
            printf(" %.9g", logits[c]);
        }
        printf("\n");
        printf("sample %d gradient_norm %.9g\n", i, nn_gradient_norm(samples[i], labels[i]));
    }

    /* Training on the device: SGD steps on the three samples, all on the stack. */
    float losses[2];
    if (nn_train_sgd(&samples[0][0], labels, TRAIN_STEPS, losses) != 0) {
        fprintf(stderr, "error: nn_train_sgd failed\n");
        return 1;
    }
    printf("train steps %d\n", TRAIN_STEPS);
    printf("train loss_before %.9g\n", losses[0]);
    printf("train loss_after %.9g\n", losses[1]);

    /* Invalid arguments must give the documented error values, not a crash. */
    printf("null predict %" PRId32 "\n", nn_predict(NULL));
    printf("bad label gradient_norm %.9g\n", nn_gradient_norm(samples[0], CLASSES));
    static const int32_t bad_labels[SAMPLES] = {0, 1, CLASSES};
    printf("bad label train %" PRId32 "\n", nn_train_sgd(&samples[0][0], bad_labels, 1, losses));
    return 0;
}

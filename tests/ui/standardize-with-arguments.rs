// The width comes from the previous layer and the statistics are assigned later.
use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [4],
        norm: Standardize(4),
        out: Dense(2),
    }
}

fn main() {}

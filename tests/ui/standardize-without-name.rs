use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [4],
        Standardize,
        out: Dense(2),
    }
}

fn main() {}

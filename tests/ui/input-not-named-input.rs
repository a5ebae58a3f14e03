use static_nn::prelude::*;

network! {
    struct Net<f32> {
        features: [4],
        out: Dense(2),
    }
}

fn main() {}

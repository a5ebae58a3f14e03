use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [4],
        hidden: Dense(8), LeakyRelu(1e300),
        out: Dense(2),
    }
}

fn main() {}

use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [64],
        hidden: Dense(32), Relu,
        out: Dense(16 -> 10),
    }
}

fn main() {}

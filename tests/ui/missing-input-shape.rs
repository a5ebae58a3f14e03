use static_nn::prelude::*;

network! {
    struct Net<f32> {
        hidden: Dense(8), Relu,
        out: Dense(2),
    }
}

fn main() {}

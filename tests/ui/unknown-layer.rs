use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [4],
        hidden: Dens(8),
        out: Dense(2),
    }
}

fn main() {}

use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [4],
        hidden: Dense(8),
        #[frozen] Relu,
        out: Dense(2),
    }
}

fn main() {}

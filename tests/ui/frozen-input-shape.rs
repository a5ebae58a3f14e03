use static_nn::prelude::*;

network! {
    struct Net<f32> {
        #[frozen] input: [4],
        out: Dense(2),
    }
}

fn main() {}

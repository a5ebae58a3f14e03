use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [4],
        #[frozen(true)] hidden: Dense(8), Relu,
        out: Dense(2),
    }
}

fn main() {}

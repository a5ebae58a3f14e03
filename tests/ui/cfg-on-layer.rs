use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [4],
        hidden: Dense(8), Relu,
        #[cfg(feature = "wide")]
        extra: Dense(8), Relu,
        out: Dense(2),
    }
}

fn main() {}

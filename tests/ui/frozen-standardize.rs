// Training never changes the statistics, so there is nothing to freeze.
use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [4],
        #[frozen] norm: Standardize,
        out: Dense(2),
    }
}

fn main() {}

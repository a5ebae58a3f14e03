use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [4],
    }
}

fn main() {}

use static_nn::prelude::*;

network! {
    struct Net<f32> {}
}

fn main() {}

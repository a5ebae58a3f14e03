use static_nn::prelude::*;

network! {
    struct Net<i32> {
        input: [4],
        out: Dense(2),
    }
}

fn main() {}

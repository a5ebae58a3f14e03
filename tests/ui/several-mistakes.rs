use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [4],
        hidden: Dense(0), Relux,
        Dropout(1.0),
        hidden: Dense(8 -> 4),
        out: Dense(two),
    }
}

fn main() {}

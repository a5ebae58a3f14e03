use static_nn::prelude::*;

network! {
    struct Features<f32> {
        input: [8],
        hidden: Dense(6), Relu,
    }

    struct Finetuned<f32> {
        input: [8],
        backbone: Frozen<Features>,
        head: Dense(2),
    }
}

fn main() {}

use static_nn::prelude::*;

network! {
    /// The network is declared with a syntax error; code that names it still compiles
    /// until the error is fixed, so only the error below is reported.
    pub struct Net<f32> {
        input: [4]
        out: Dense(2),
    }
}

fn takes(_: &Net) {}

fn main() {}

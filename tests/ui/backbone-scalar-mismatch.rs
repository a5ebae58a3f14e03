use static_nn::prelude::*;

network! {
    struct Backbone<f64> {
        input: [8],
        features: Dense(4), Relu,
    }

    struct Classifier<f32> {
        input: [8],
        backbone: Backbone,
        head: Dense(2),
    }
}

fn main() {}

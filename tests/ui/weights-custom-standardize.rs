// The custom-layer form of `Standardize` is a user type to the macro, so it cannot bake
// it; the built-in form `norm: Standardize` can.
use static_nn::prelude::*;

network! {
    #[weights("../../../../examples/digits_bake/digits.safetensors")]
    struct Net<f32> {
        input: [64],
        norm: Standardize<f32, 64> -> [64],
        hidden: Dense(64), Relu,
        out: Dense(10),
    }
}

fn main() {
    let _ = Net::new(0).forward(&SVector::zeros());
}

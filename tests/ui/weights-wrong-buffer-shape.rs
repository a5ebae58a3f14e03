// The digits file standardises 64 pixels; the declaration takes 32 inputs.
use static_nn::prelude::*;

network! {
    #[weights("../../../../examples/digits_bake/digits.safetensors")]
    struct Net<f32> {
        input: [32],
        norm: Standardize,
        hidden: Dense(64), Relu,
        out: Dense(10),
    }
}

static NET: Net = Net::BAKED;

fn main() {
    let _ = NET.forward(&SVector::zeros());
}

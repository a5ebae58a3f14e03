// The XOR file has no statistics for the `Standardize` layer the declaration adds.
//
// trybuild compiles this case in target/tests/trybuild/static-nn, so the fixture path
// climbs four levels to the repository root.
use static_nn::prelude::*;

network! {
    #[weights("../../../../tests/fixtures/baked/xor_f32.safetensors")]
    struct Net<f32> {
        input: [2],
        norm: Standardize,
        hidden: Dense(8), Relu,
        out: Dense(1),
    }
}

static NET: Net = Net::BAKED;

fn main() {
    let _ = NET.forward(&SVector::zeros());
}

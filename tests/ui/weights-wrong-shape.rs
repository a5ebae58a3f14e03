// The file's hidden layer has 8 outputs; the declaration states 4.
use static_nn::prelude::*;

network! {
    #[weights("../../../../tests/fixtures/baked/xor_f32.safetensors")]
    struct Net<f32> {
        input: [2],
        hidden: Dense(4), Relu,
        out: Dense(1),
    }
}

static NET: Net = Net::BAKED;

fn main() {
    let _ = NET.forward(&SVector::zeros());
}

// A valid file whose JSON header starts with 8 bytes of text that is not JSON.
use static_nn::prelude::*;

network! {
    #[weights("../../../../tests/fixtures/baked/corrupt_header.safetensors")]
    struct Net<f32> {
        input: [2],
        hidden: Dense(8), Relu,
        out: Dense(1),
    }
}

static NET: Net = Net::BAKED;

fn main() {
    let _ = NET.forward(&SVector::zeros());
}

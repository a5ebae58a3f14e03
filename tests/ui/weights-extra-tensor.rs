// The file contains `hidden` and `out`; the declaration has only `hidden`.
use static_nn::prelude::*;

network! {
    #[weights("../../../../tests/fixtures/baked/xor_f32.safetensors")]
    struct Net<f32> {
        input: [2],
        hidden: Dense(8), Relu,
    }
}

static NET: Net = Net::BAKED;

fn main() {
    let _ = NET.forward(&SVector::zeros());
}

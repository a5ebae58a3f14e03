// The file's layer is `hidden`; the declaration misspells it `hiden`.
use static_nn::prelude::*;

network! {
    #[weights("../../../../tests/fixtures/baked/xor_f32.safetensors")]
    struct Net<f32> {
        input: [2],
        hiden: Dense(8), Relu,
        out: Dense(1),
    }
}

static NET: Net = Net::BAKED;

fn main() {
    let _ = NET.forward(&SVector::zeros());
}

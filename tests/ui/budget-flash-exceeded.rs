// 2-8-1 in f32 has (2 * 8 + 8 + 8 * 1 + 1) * 4 = 132 bytes of parameters.
use static_nn::prelude::*;

network! {
    #[weights("../../../../tests/fixtures/baked/xor_f32.safetensors")]
    #[budget(flash = 128, ram = 64)]
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

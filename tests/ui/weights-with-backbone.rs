// The macro reads only the layers of the network it expands, so it cannot bake a nested
// network's tensors.
use static_nn::prelude::*;

network! {
    struct Features<f32> {
        input: [2],
        hidden: Dense(8), Relu,
    }

    #[weights("../../../../tests/fixtures/baked/xor_f32.safetensors")]
    struct Net<f32> {
        input: [2],
        backbone: Features,
        out: Dense(1),
    }
}

fn main() {
    let _ = Net::new(0).forward(&SVector::zeros());
}

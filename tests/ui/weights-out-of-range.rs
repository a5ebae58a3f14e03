// An F64 file with 1e300 in `hidden.weight`, beyond the range of the network's `f32`.
use static_nn::prelude::*;

network! {
    #[weights("../../../../tests/fixtures/baked/f64_out_of_range.safetensors")]
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

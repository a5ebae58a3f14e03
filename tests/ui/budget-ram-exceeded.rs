// Without `#[weights]` the parameters count towards RAM: 132 bytes of parameters and
// (8 + 8) * 4 = 64 bytes of activations.
use static_nn::prelude::*;

network! {
    #[budget(ram = 150)]
    struct Net<f32> {
        input: [2],
        hidden: Dense(8), Relu,
        out: Dense(1),
    }
}

fn main() {
    let _ = Net::new(0).forward(&SVector::zeros());
}

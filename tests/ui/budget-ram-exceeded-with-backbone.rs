// The backbone's sizes are only known to the compiler, so the budget is a compile-time
// assertion.
use static_nn::prelude::*;

network! {
    struct Features<f32> {
        input: [16],
        hidden: Dense(64), Relu,
    }

    #[budget(ram = 1024)]
    struct Net<f32> {
        input: [16],
        backbone: Features,
        out: Dense(1),
    }
}

fn main() {
    let _ = Net::new(0).forward(&SVector::zeros());
}

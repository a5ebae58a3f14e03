// The training figure includes the trace, whose size only the compiler computes, so the
// budget is a compile-time assertion.
use static_nn::prelude::*;

network! {
    #[budget(train_ram = 512)]
    struct Net<f32> {
        input: [2],
        hidden: Dense(8), Relu,
        out: Dense(1),
    }
}

fn main() {
    let _ = Net::new(0).forward(&SVector::zeros());
}

use static_nn::prelude::*;

network! {
    #[weights(xor_f32)]
    struct Net<f32> {
        input: [2],
        out: Dense(1),
    }
}

fn main() {
    let _ = Net::new(0).forward(&SVector::zeros());
}

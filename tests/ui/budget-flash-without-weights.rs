use static_nn::prelude::*;

network! {
    #[budget(flash = 4096)]
    struct Net<f32> {
        input: [2],
        out: Dense(1),
    }
}

fn main() {
    let _ = Net::new(0).forward(&SVector::zeros());
}

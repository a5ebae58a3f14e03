use static_nn::prelude::*;

network! {
    #[budget(stack = 4096, ram = "4 KiB")]
    struct Net<f32> {
        input: [2],
        out: Dense(1),
    }
}

fn main() {
    let _ = Net::new(0).forward(&SVector::zeros());
}

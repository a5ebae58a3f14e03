use static_nn::prelude::*;

network! {
    struct Narrow<f32> {
        input: [4],
        hidden: Dense(8), Relu,
        out: Dense(2),
    }

    struct Wide<f32> {
        input: [4],
        hidden: Dense(16), Relu,
        out: Dense(2),
    }
}

fn main() {
    let mut narrow = Narrow::new(1);
    let wide = Wide::new(1);
    narrow.hidden = wide.hidden;
}

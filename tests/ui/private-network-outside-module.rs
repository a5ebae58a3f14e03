mod nets {
    use static_nn::prelude::*;

    network! {
        /// Private to `nets`, like any struct declared without `pub`.
        struct Hidden<f32> {
            input: [2],
            out: Dense(1),
        }
    }
}

fn main() {
    let _ = nets::Hidden::new(1);
}

use static_nn::prelude::*;

network! {
    struct Small<f32> {
        input: [4],
        out: Dense(2),
    }

    struct Large<f32> {
        input: [4],
        hidden: Dense(16), Relu,
        out: Dense(2),
    }
}

fn main() {
    let small = Small::new(1);
    let mut large_grads = Large::zero_grads();
    let x = SVector::<f32, 4>::zeros();
    let (y, trace) = small.forward_train(&x, &mut Rng::seed_from_u64(2));
    let _ = small.backward_into(&trace, &y, &mut large_grads);
}

use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [4],
        #[frozen] hidden: Dense(8), Relu,
        out: Dense(2),
    }
}

fn main() {
    let net = Net::new(1);
    let x = SVector::<f32, 4>::zeros();
    let (y, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(1));
    let (grads, _) = net.backward(&trace, &y);
    let _ = grads.hidden;
}

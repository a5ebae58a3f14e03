// Writing a layer's share of shared gradients is unsafe: the caller promises that the
// threads holding the handle are distinct members of one team. Safe code can call neither
// `SharedGrads::new` nor the gradient-writing team methods.
use static_nn::core::team::{SharedGrads, Solo};
use static_nn::prelude::*;

network! {
    struct Net<f32> {
        input: [4],
        hidden: Dense(3),
    }
}

fn main() {
    let net = Net::new(1);
    let mut grads = Net::zero_grads();
    let x = SMatrix::<f32, 4, 2>::zeros();
    let (y, trace) = net.forward_train_team(&x, &mut Rng::seed_from_u64(1), &Solo);
    let shared = SharedGrads::new(&mut grads);
    net.accumulate_grads_team(&trace, &y, shared, &Solo);
}

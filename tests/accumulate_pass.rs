//! `Layer::accumulate_pass` and `accumulate_pass_team`, which `network!` overrides, give
//! the same bits as the training forward pass, the loss and `accumulate_grads` called one
//! after the other.
//!
//! The network draws random numbers before its first trainable layer (dropout), has a
//! frozen layer, a nested network and large layers that the team methods split.

use static_nn::core::team::{SPLIT_MIN_WEIGHTS, Serial, SharedGrads, Solo, Team};
use static_nn::core::{Layer, Tensors, bytemuck, train};
use static_nn::prelude::*;

network! {
    /// A small network to nest.
    struct Inner<f64> {
        input: [160],
        hidden: Dense(120), Relu,
    }

    /// Dropout before the first trainable layer, a frozen layer and a nested network.
    struct Mixed<f64> {
        input: [24],
        Dropout(0.3),
        first: Dense(160), Tanh,
        #[frozen] middle: Dense(160), Relu,
        inner: Inner,
        out: Dense(4),
    }

    /// Below `train::SET_GRADS_MIN_VALUES` gradient values, with dropout.
    struct Little<f64> {
        input: [24],
        first: Dense(16), Relu,
        Dropout(0.25),
        out: Dense(4),
    }

    /// No trainable parameters at all.
    struct Plain<f64> {
        input: [5],
        Dropout(0.5), Relu,
    }
}

const B: usize = 7;

fn inputs<const N: usize>(seed: u64) -> SMatrix<f64, N, B> {
    let mut rng = Rng::seed_from_u64(seed);
    SMatrix::from_fn(|_, _| rng.uniform(-1.0, 1.0))
}

fn targets<const N: usize>() -> SMatrix<f64, N, B> {
    SMatrix::from_fn(|row, column| if row == column % N { 1.0 } else { 0.0 })
}

fn bits<G: Tensors<f64>>(grads: &G) -> Vec<u64> {
    (0..G::COUNT)
        .flat_map(|i| grads.tensor(i).unwrap().iter().map(|v| v.to_bits()))
        .collect()
}

/// Returns gradients that are not zero, so that the pass must add to them.
fn started_grads() -> Box<MixedGrads> {
    let mut grads = Mixed::zero_grads_boxed();
    for i in 0..MixedGrads::COUNT {
        for (k, value) in grads.tensor_mut(i).unwrap().iter_mut().enumerate() {
            *value = (k % 7) as f64 * 0.25 - 0.5;
        }
    }
    grads
}

// Without a layer large enough to split, the team cases below would not test the split.
const _: () = assert!(160 * 160 >= SPLIT_MIN_WEIGHTS);
// The frozen layer has no gradients.
const _: () = assert!(MixedGrads::COUNT < <Mixed as Tensors<f64>>::COUNT);

#[test]
fn pass_matches_separate_calls() {
    let net = Mixed::new_boxed(3);
    let (x, t) = (inputs::<24>(5), targets::<4>());

    let mut rng = Rng::seed_from_u64(9);
    let mut expected = started_grads();
    let (y, trace) = net.forward_train(&x, &mut rng);
    let (loss, grad_out) = SoftmaxCrossEntropy.loss_and_grad(&y, &t);
    net.accumulate_grads(&trace, &grad_out, &mut expected);
    let after = rng.next_u64();

    let mut rng = Rng::seed_from_u64(9);
    let mut actual = started_grads();
    let (pass_loss, pass_y) = net.accumulate_pass(&x, &mut rng, &mut actual, |y| {
        SoftmaxCrossEntropy.loss_and_grad(y, &t)
    });

    assert_eq!(pass_loss.to_bits(), loss.to_bits());
    assert_eq!(pass_y, y);
    assert_eq!(
        rng.next_u64(),
        after,
        "the pass drew a different count of numbers"
    );
    assert_ne!(bits(&*actual), bits(&*started_grads()));
    assert_eq!(bits(&*actual), bits(&*expected));
}

/// `accumulate_pass_team` against the separate team calls, for one thread playing a team
/// of `team.size()` members.
fn team_case(team: &dyn Team<f64>) {
    let net = Mixed::new_boxed(4);
    let (x, t) = (inputs::<24>(6), targets::<4>());

    let mut rng = Rng::seed_from_u64(10);
    let mut expected = started_grads();
    let (y, trace) = net.forward_train_team(&x, &mut rng, team);
    let (loss, grad_out) = SoftmaxCrossEntropy.loss_and_grad(&y, &t);
    // SAFETY: one thread uses the handle, with a team of which it plays every member.
    unsafe {
        let shared = SharedGrads::new(&mut *expected);
        net.accumulate_grads_team(&trace, &grad_out, shared, team);
    }

    let mut rng_pass = Rng::seed_from_u64(10);
    let mut actual = started_grads();
    // SAFETY: as above.
    let (pass_loss, pass_y) = unsafe {
        let shared = SharedGrads::new(&mut *actual);
        net.accumulate_pass_team(&x, &mut rng_pass, shared, team, |y| {
            SoftmaxCrossEntropy.loss_and_grad(y, &t)
        })
    };

    let size = team.size();
    assert_eq!(pass_loss.to_bits(), loss.to_bits(), "{size} members: loss");
    assert_eq!(pass_y, y, "{size} members: outputs");
    assert_eq!(
        rng_pass.next_u64(),
        rng.next_u64(),
        "{size} members: generator"
    );
    assert_eq!(
        bits(&*actual),
        bits(&*expected),
        "{size} members: gradients"
    );
}

#[test]
fn team_pass_matches_separate_team_calls() {
    team_case(&Solo);
    for size in [2, 3] {
        team_case(&Serial {
            size,
            overwrite_grads: false,
        });
        team_case(&Serial {
            size,
            overwrite_grads: true,
        });
    }
}

/// Returns gradients whose every value is NaN, so that a pass that reads them shows it.
fn nan_grads() -> Box<MixedGrads> {
    let mut grads = Mixed::zero_grads_boxed();
    for i in 0..MixedGrads::COUNT {
        grads.tensor_mut(i).unwrap().fill(f64::NAN);
    }
    grads
}

/// Runs `accumulate_pass_team` from `grads` with a team of `size` members played by one
/// thread, and returns the gradients.
fn team_pass(size: usize, overwrite_grads: bool, mut grads: Box<MixedGrads>) -> Box<MixedGrads> {
    let net = Mixed::new_boxed(4);
    let (x, t) = (inputs::<24>(6), targets::<4>());
    let team = Serial {
        size,
        overwrite_grads,
    };
    let mut rng = Rng::seed_from_u64(10);
    // SAFETY: one thread uses the handle, with a team of which it plays every member.
    unsafe {
        let shared = SharedGrads::new(&mut *grads);
        net.accumulate_pass_team(&x, &mut rng, shared, &team, |y| {
            SoftmaxCrossEntropy.loss_and_grad(y, &t)
        });
    }
    grads
}

#[test]
fn overwriting_pass_matches_zeroed_pass() {
    // One member: what `fit` runs on one thread, against zeroing and `accumulate_pass`.
    let net = Mixed::new_boxed(4);
    let (x, t) = (inputs::<24>(6), targets::<4>());
    let mut zeroed = Mixed::zero_grads_boxed();
    let mut rng = Rng::seed_from_u64(10);
    net.accumulate_pass(&x, &mut rng, &mut zeroed, |y| {
        SoftmaxCrossEntropy.loss_and_grad(y, &t)
    });
    let overwritten = team_pass(1, true, nan_grads());
    assert_eq!(bits(&*overwritten), bits(&*zeroed), "1 member");

    // Several members split the large layer, and each sets its own columns.
    for size in [2, 3] {
        let zeroed = team_pass(size, false, Mixed::zero_grads_boxed());
        let overwritten = team_pass(size, true, nan_grads());
        assert_eq!(bits(&*overwritten), bits(&*zeroed), "{size} members");
    }
}

/// `train::compute_grads` from NaN gradients against zeroing them and `accumulate_pass`,
/// and against the team pass of one member that sets them, which `fit` ran before.
/// All three must give the same bits and draw as many random numbers.
fn check_compute_grads<N: Layer<f64, 24, 4>>(net: &N) {
    let (x, t) = (inputs::<24>(6), targets::<4>());
    let nan_grads = || {
        let mut grads: Box<N::Grads> = bytemuck::zeroed_box();
        for i in 0..<N::Grads as Tensors<f64>>::COUNT {
            grads.tensor_mut(i).unwrap().fill(f64::NAN);
        }
        grads
    };

    let mut zeroed: Box<N::Grads> = bytemuck::zeroed_box();
    let mut zeroed_rng = Rng::seed_from_u64(10);
    let (expected_loss, expected_y) = net.accumulate_pass(&x, &mut zeroed_rng, &mut zeroed, |y| {
        SoftmaxCrossEntropy.loss_and_grad(y, &t)
    });

    let mut grads = nan_grads();
    let mut rng = Rng::seed_from_u64(10);
    let (loss, y) = train::compute_grads(net, &x, &mut rng, &mut grads, |y| {
        SoftmaxCrossEntropy.loss_and_grad(y, &t)
    });
    assert_eq!(loss.to_bits(), expected_loss.to_bits());
    assert_eq!(y, expected_y);
    assert_eq!(bits(&*grads), bits(&*zeroed));
    let next = rng.next_u64();
    assert_eq!(next, zeroed_rng.next_u64());

    let mut team_grads = nan_grads();
    let mut team_rng = Rng::seed_from_u64(10);
    let team = Serial {
        size: 1,
        overwrite_grads: true,
    };
    // SAFETY: one thread uses the handle, with a team of one member.
    let (team_loss, team_y) = unsafe {
        net.accumulate_pass_team(
            &x,
            &mut team_rng,
            SharedGrads::new(&mut *team_grads),
            &team,
            |y| SoftmaxCrossEntropy.loss_and_grad(y, &t),
        )
    };
    assert_eq!(team_loss.to_bits(), loss.to_bits());
    assert_eq!(team_y, y);
    assert_eq!(bits(&*team_grads), bits(&*grads));
    assert_eq!(team_rng.next_u64(), next);
}

#[test]
fn compute_grads_matches_zeroed_pass() {
    // One network on each side of the size from which the layers set the gradients.
    const { assert!(LittleGrads::PARAMS < train::SET_GRADS_MIN_VALUES) };
    const { assert!(MixedGrads::PARAMS >= train::SET_GRADS_MIN_VALUES) };
    check_compute_grads(&*Little::new_boxed(4));
    check_compute_grads(&*Mixed::new_boxed(4));
}

#[test]
fn pass_without_parameters_calls_closure() {
    let net = Plain::new_boxed(1);
    let x = inputs::<5>(7);
    let mut calls = 0;
    let mut rng = Rng::seed_from_u64(2);
    let (count, y) = net.accumulate_pass(&x, &mut rng, &mut PlainGrads {}, |y| {
        calls += 1;
        (y.sum(), *y)
    });
    let (expected, _) = net.forward_train(&x, &mut Rng::seed_from_u64(2));
    assert_eq!(calls, 1);
    assert_eq!(y, expected);
    assert_eq!(count.to_bits(), expected.sum().to_bits());
}

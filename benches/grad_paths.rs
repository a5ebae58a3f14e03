//! The two ways in which `train::compute_grads` sets a network's gradients on one thread,
//! timed on networks of several sizes, to place `train::SET_GRADS_MIN_VALUES`.
//!
//! - `zeroing`: zero the gradients, then add the batch's gradients to them with
//!   `Layer::accumulate_pass`;
//! - `setting`: run the layers' team methods with a team of one thread that sets the
//!   gradients (`team::Serial` with `overwrite_grads`), which spares the zeroing but calls
//!   the layers through `dyn Team`.
//!
//! Each network is a one-hidden-layer perceptron with ReLU, trained on random inputs
//! against one-hot targets with the mean squared error, on batches of 1 and of 32
//! samples. Rounds alternate between the two ways. The program prints the median time
//! of a step of each way and their ratio (`zeroing / setting` above 1: setting is
//! faster). Before timing, it checks that both ways, and `compute_grads` itself, give
//! the same gradients.
//!
//! Run with `cargo bench --bench grad_paths` (about 20 seconds).

use std::hint::black_box;
use std::time::Instant;

use static_nn::core::bytemuck;
use static_nn::core::team::{Serial, SharedGrads};
use static_nn::core::train;
use static_nn::prelude::*;

macro_rules! perceptron {
    ($name:ident, $inputs:literal, $hidden:literal, $outputs:literal) => {
        network! {
            /// A one-hidden-layer perceptron.
            struct $name<f32> {
                input: [$inputs],
                hidden: Dense($hidden), Relu,
                out: Dense($outputs),
            }
        }
    };
}

perceptron!(P2x8x1, 2, 8, 1);
perceptron!(P64x32x10, 64, 32, 10);
perceptron!(P128x32x10, 128, 32, 10);
perceptron!(P64x64x10, 64, 64, 10);
perceptron!(P256x32x10, 256, 32, 10);
perceptron!(P128x64x10, 128, 64, 10);
perceptron!(P256x64x10, 256, 64, 10);
perceptron!(P784x32x10, 784, 32, 10);
perceptron!(P784x128x10, 784, 128, 10);

/// Runs one training step of `net` on `x` and `targets`, setting the gradients with
/// `setting` and zeroing them first otherwise, and returns the loss.
fn step<N, const I: usize, const O: usize, const B: usize>(
    setting: bool,
    net: &N,
    x: &SMatrix<f32, I, B>,
    targets: &SMatrix<f32, O, B>,
    rng: &mut Rng,
    grads: &mut N::Grads,
) -> f32
where
    N: Layer<f32, I, O>,
{
    let loss = MeanSquaredError;
    let output_grad = |y: &SMatrix<f32, O, B>| loss.loss_and_grad(y, targets);
    if setting {
        let team = Serial {
            size: 1,
            overwrite_grads: true,
        };
        // SAFETY: one thread uses the handle, with a team of one member.
        unsafe { net.accumulate_pass_team(x, rng, SharedGrads::new(grads), &team, output_grad) }.0
    } else {
        grads.fill_zero();
        net.accumulate_pass(x, rng, grads, output_grad).0
    }
}

/// How long to time each way: `rounds` rounds, each of about `work` input values times
/// samples. With 0 rounds the program only runs its checks.
#[derive(Clone, Copy)]
struct Timing {
    rounds: usize,
    work: usize,
}

/// Times both ways on `N` with batches of `B` and prints the medians and their ratio.
fn compare<N, const I: usize, const O: usize, const B: usize>(name: &str, timing: Timing)
where
    N: Layer<f32, I, O> + bytemuck::Zeroable,
{
    let mut rng = Rng::seed_from_u64(11);
    let mut net: Box<N> = bytemuck::zeroed_box();
    net.init(&mut rng);
    let mut x: Box<SMatrix<f32, I, B>> = bytemuck::zeroed_box();
    for value in x.iter_mut() {
        *value = rng.uniform(0.0, 1.0);
    }
    let mut targets: Box<SMatrix<f32, O, B>> = bytemuck::zeroed_box();
    for column in 0..B {
        targets[(rng.below(O as u64) as usize, column)] = 1.0;
    }

    // Both ways from stale gradients must give the same bits.
    let mut expected: Box<N::Grads> = bytemuck::zeroed_box();
    let mut actual: Box<N::Grads> = bytemuck::zeroed_box();
    for (setting, grads) in [(false, &mut expected), (true, &mut actual)] {
        for i in 0..<N::Grads as Tensors<f32>>::COUNT {
            grads.tensor_mut(i).expect("tensor exists").fill(f32::NAN);
        }
        step(
            setting,
            &*net,
            &*x,
            &*targets,
            &mut Rng::seed_from_u64(3),
            grads,
        );
    }
    // The library's `compute_grads` takes one of the two ways, so it must give the same
    // bits too: the ways written out here cannot drift from it unnoticed.
    let mut library: Box<N::Grads> = bytemuck::zeroed_box();
    let loss = MeanSquaredError;
    train::compute_grads(&*net, &*x, &mut Rng::seed_from_u64(3), &mut *library, |y| {
        loss.loss_and_grad(y, &*targets)
    });
    for i in 0..<N::Grads as Tensors<f32>>::COUNT {
        let same = |other: &N::Grads| {
            expected
                .tensor(i)
                .zip(other.tensor(i))
                .is_some_and(|(e, a)| e.iter().zip(a).all(|(e, a)| e.to_bits() == a.to_bits()))
        };
        assert!(
            same(&actual),
            "{name}, batch {B}: tensor {i} differs between the two ways"
        );
        assert!(
            same(&library),
            "{name}, batch {B}: tensor {i} differs from compute_grads"
        );
    }
    if timing.rounds == 0 {
        return;
    }

    let mut grads: Box<N::Grads> = bytemuck::zeroed_box();
    let steps = (timing.work / (I * B)).max(1);
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..timing.rounds {
        for (way, setting) in [false, true].into_iter().enumerate() {
            let started = Instant::now();
            for _ in 0..steps {
                black_box(step(setting, &*net, &*x, &*targets, &mut rng, &mut grads));
            }
            times[way].push(started.elapsed().as_secs_f64() / steps as f64 * 1e9);
        }
    }
    let [zeroing, setting] = times.map(|mut values| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    });
    let values = <N::Grads as Tensors<f32>>::PARAMS;
    println!(
        "{name} ({values} values), batch {B}: zeroing {zeroing:.0} ns, setting {setting:.0} ns, \
         zeroing / setting {:.2}",
        zeroing / setting
    );
}

/// Compares both ways on `N` with batches of 1 and of 32.
fn both_batches<N, const I: usize, const O: usize>(name: &str, timing: Timing)
where
    N: Layer<f32, I, O> + bytemuck::Zeroable,
{
    compare::<N, I, O, 1>(name, timing);
    compare::<N, I, O, 32>(name, timing);
}

fn main() {
    // `cargo test --benches` runs this binary without `--bench`, in a debug build: there
    // it only runs the checks. A few milliseconds per round and way otherwise.
    let timing = if std::env::args().any(|arg| arg == "--bench") {
        Timing {
            rounds: 9,
            work: 1_000_000,
        }
    } else {
        Timing { rounds: 0, work: 0 }
    };
    both_batches::<P2x8x1, 2, 1>("2-8-1", timing);
    both_batches::<P64x32x10, 64, 10>("64-32-10", timing);
    both_batches::<P128x32x10, 128, 10>("128-32-10", timing);
    both_batches::<P64x64x10, 64, 10>("64-64-10", timing);
    both_batches::<P256x32x10, 256, 10>("256-32-10", timing);
    both_batches::<P128x64x10, 128, 10>("128-64-10", timing);
    both_batches::<P256x64x10, 256, 10>("256-64-10", timing);
    both_batches::<P784x32x10, 784, 10>("784-32-10", timing);
    both_batches::<P784x128x10, 784, 10>("784-128-10", timing);
}

//! The layer split of `ParallelGrads`: large dense layers shared among threads by input
//! columns, every other layer run whole on every thread.
//!
//! The network has two layers that split (96 x 192 and 192 x 96 weights, at least
//! `SPLIT_MIN_WEIGHTS` each), the second of which needs the input gradient that the
//! threads sum, plus dropout, which every thread must draw alike.

use static_nn::core::bytemuck;
use static_nn::core::kernel;
use static_nn::core::layers::NoGrads;
use static_nn::core::optim::SingleThread;
use static_nn::core::team::Team;
use static_nn::core::team::{SPLIT_MIN_WEIGHTS, Serial, SharedGrads};
use static_nn::core::train::parallel::{LAYER_SPLIT_MAX_BATCH, ParallelGrads, Split};
use static_nn::core::{Layer, TensorInfo, Tensors};
use static_nn::prelude::*;

network! {
    struct Deep<f32> {
        input: [96],
        first: Dense(192), Relu,
        second: Dense(96), Tanh,
        Dropout(0.25),
        out: Dense(10),
    }
}

const B: usize = 24;

fn batch() -> (Box<SMatrix<f32, 96, B>>, Box<SMatrix<f32, 10, B>>) {
    let mut rng = Rng::seed_from_u64(31);
    let mut inputs: Box<SMatrix<f32, 96, B>> = bytemuck::zeroed_box();
    for value in inputs.iter_mut() {
        *value = rng.uniform(-1.0, 1.0);
    }
    let mut targets: Box<SMatrix<f32, 10, B>> = bytemuck::zeroed_box();
    for sample in 0..B {
        targets[(rng.below(10) as usize, sample)] = 1.0;
    }
    (inputs, targets)
}

/// Runs one step on the calling thread and returns the gradients, loss and outputs.
fn sequential(net: &Deep, seed: u64) -> (Box<DeepGrads>, f32, SMatrix<f32, 10, B>) {
    let (inputs, targets) = batch();
    let mut grads = Deep::zero_grads_boxed();
    let mut rng = Rng::seed_from_u64(seed);
    let (outputs, trace) = net.forward_train(&*inputs, &mut rng);
    let (loss, grad_out) = SoftmaxCrossEntropy.loss_and_grad(&outputs, &*targets);
    net.accumulate_grads(&trace, &grad_out, &mut grads);
    (grads, loss, outputs)
}

/// The gradients, loss and outputs of one step with the layer split on `threads`
/// threads, and the generator after the step.
fn layer_split(
    net: &Deep,
    threads: usize,
    seed: u64,
) -> (Box<DeepGrads>, f32, SMatrix<f32, 10, B>, Rng) {
    let (inputs, targets) = batch();
    let mut grads = Deep::zero_grads_boxed();
    let mut parallel = ParallelGrads::<f32, Deep, 96, 10>::with_split(threads, Split::Layers)
        .expect("threads start");
    let mut rng = Rng::seed_from_u64(seed);
    let (loss, outputs) = parallel.accumulate_grads(
        net,
        &inputs,
        &targets,
        &SoftmaxCrossEntropy,
        &mut rng,
        &mut grads,
    );
    (grads, loss, outputs, rng)
}

/// Returns the largest difference between two gradients, relative to the largest
/// magnitude.
fn relative_difference(a: &DeepGrads, b: &DeepGrads) -> f32 {
    let mut largest = 0.0f32;
    let mut difference = 0.0f32;
    for i in 0..<DeepGrads as Tensors<f32>>::COUNT {
        for (x, y) in a.tensor(i).unwrap().iter().zip(b.tensor(i).unwrap()) {
            largest = largest.max(x.abs());
            difference = difference.max((x - y).abs());
        }
    }
    difference / largest
}

fn bits(grads: &DeepGrads) -> Vec<u32> {
    (0..<DeepGrads as Tensors<f32>>::COUNT)
        .flat_map(|i| grads.tensor(i).unwrap().iter().map(|v| v.to_bits()))
        .collect()
}

#[test]
fn large_layers_split_where_the_kernel_runs() {
    let expected = if kernel::blocked::has_simd::<f32>() {
        2 * 96 * 192
    } else {
        0
    };
    const { assert!(96 * 192 >= SPLIT_MIN_WEIGHTS) };
    assert_eq!(<Deep as Layer<f32, 96, 10>>::split_params(2), expected);
    assert_eq!(<Deep as Layer<f32, 96, 10>>::split_params(1), 0);
    let parallel = ParallelGrads::<f32, Deep, 96, 10>::new(2).expect("threads start");
    let chosen = parallel.split_for::<LAYER_SPLIT_MAX_BATCH>();
    let expected_split = if expected > 0 && !cfg!(debug_assertions) {
        Split::Layers
    } else {
        Split::Batch
    };
    assert_eq!(chosen, expected_split);
    assert_eq!(
        parallel.split_for::<{ 2 * LAYER_SPLIT_MAX_BATCH }>(),
        Split::Batch
    );
}

#[test]
fn layer_split_matches_one_thread_with_dropout() {
    let net = Deep::new_boxed(4);
    let (one, one_loss, one_outputs) = sequential(&net, 77);
    for threads in [2, 3] {
        let (split, loss, outputs, _) = layer_split(&net, threads, 77);
        // Thread 0 draws the dropout masks from the caller's generator and the others
        // from copies. The masks are therefore those of one thread, and only the order of
        // the sums differs.
        let difference = relative_difference(&one, &split);
        assert!(
            difference < 1e-5,
            "{threads} threads: gradients differ by {difference} of their largest value"
        );
        assert!(
            (loss - one_loss).abs() < 1e-5 * one_loss,
            "{threads} threads: loss {loss}, one thread {one_loss}"
        );
        assert!(
            (outputs - one_outputs).amax() < 1e-4,
            "{threads} threads: outputs differ"
        );
    }
}

#[test]
fn repeated_step_gives_same_bits() {
    let net = Deep::new_boxed(8);
    for threads in [2, 3] {
        let (first, first_loss, _, first_rng) = layer_split(&net, threads, 5);
        let (second, second_loss, _, second_rng) = layer_split(&net, threads, 5);
        assert_eq!(first_loss.to_bits(), second_loss.to_bits());
        assert!(
            bits(&first) == bits(&second),
            "{threads} threads: two steps with the same seed gave different gradients"
        );
        assert_eq!(first_rng, second_rng);
    }
    // The caller's generator advances as on one thread.
    let mut one_rng = Rng::seed_from_u64(5);
    let (inputs, _) = batch();
    let _ = net.forward_train(&*inputs, &mut one_rng);
    assert_eq!(layer_split(&net, 2, 5).3, one_rng);
}

#[test]
fn layer_split_adds_to_existing_gradients() {
    let net = Deep::new_boxed(12);
    let (inputs, targets) = batch();
    let mut parallel =
        ParallelGrads::<f32, Deep, 96, 10>::with_split(2, Split::Layers).expect("threads start");
    let mut once = Deep::zero_grads_boxed();
    let mut twice = Deep::zero_grads_boxed();
    for grads in [&mut once, &mut twice] {
        let mut rng = Rng::seed_from_u64(3);
        parallel.accumulate_grads(
            &*net,
            &inputs,
            &targets,
            &SoftmaxCrossEntropy,
            &mut rng,
            grads,
        );
    }
    let mut rng = Rng::seed_from_u64(3);
    parallel.accumulate_grads(
        &*net,
        &inputs,
        &targets,
        &SoftmaxCrossEntropy,
        &mut rng,
        &mut twice,
    );
    // The kernels add each product to the running value, so the second step rounds
    // differently from doubling the first.
    let mut doubled = once.clone();
    for i in 0..<DeepGrads as Tensors<f32>>::COUNT {
        doubled
            .tensor_mut(i)
            .unwrap()
            .iter_mut()
            .for_each(|v| *v *= 2.0);
    }
    let difference = relative_difference(&doubled, &twice);
    assert!(
        difference < 1e-5,
        "two steps differ from twice one step by {difference} of the largest value"
    );
    assert!(
        bits(&once).iter().any(|&b| b != 0),
        "no gradient was written"
    );

    parallel.fill_zero(&mut twice);
    assert!(
        bits(&twice).iter().all(|&b| b == 0),
        "fill_zero left values"
    );
}

#[test]
fn update_after_layer_split_matches_single_thread() {
    let (grads, _, _, _) = layer_split(&Deep::new_boxed(6), 2, 9);
    let parallel =
        ParallelGrads::<f32, Deep, 96, 10>::with_split(2, Split::Layers).expect("threads start");
    let mut one = Deep::new_boxed(6);
    let mut two = Deep::new_boxed(6);
    let mut one_adam = Adam::new_boxed(AdamConfig::default()).expect("valid settings");
    let mut two_adam = Adam::new_boxed(AdamConfig::default()).expect("valid settings");
    let all = |_: usize| Some(1.0);
    for _ in 0..3 {
        one_adam
            .step_scaled_with(&mut *one, &*grads, &all, &SingleThread)
            .expect("matching tensors");
        two_adam
            .step_scaled_with(&mut *two, &*grads, &all, &parallel)
            .expect("matching tensors");
    }
    for i in 0..<Deep as Tensors<f32>>::COUNT {
        let (a, b) = (one.tensor(i).unwrap(), two.tensor(i).unwrap());
        assert!(
            a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "tensor {i} differs"
        );
    }
}

#[test]
fn serial_team_matches_threads() {
    let net = Deep::new_boxed(21);
    let (inputs, targets) = batch();
    for size in [2, 3] {
        let (threads, loss, outputs, _) = layer_split(&net, size, 13);

        let team = Serial {
            size,
            overwrite_grads: false,
        };
        let mut rng = Rng::seed_from_u64(13);
        let mut serial = Deep::zero_grads_boxed();
        let (serial_outputs, trace) = net.forward_train_team(&*inputs, &mut rng, &team);
        let (serial_loss, grad_out) = SoftmaxCrossEntropy.loss_and_grad(&serial_outputs, &*targets);
        // SAFETY: one thread uses the handle, with a team of which it plays every member.
        unsafe {
            let shared = SharedGrads::new(&mut *serial);
            net.accumulate_grads_team(&trace, &grad_out, shared, &team);
        }

        assert_eq!(
            serial_loss.to_bits(),
            loss.to_bits(),
            "{size} members: loss"
        );
        assert!(
            serial_outputs
                .iter()
                .zip(outputs.iter())
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{size} members: outputs differ"
        );
        assert!(
            bits(&serial) == bits(&threads),
            "{size} members: gradients differ from {size} threads"
        );
    }
}

/// Passes values through unchanged. Panics on any input above 999, and on the team's
/// thread 1 in the layer split.
#[derive(Clone, Debug, Default)]
pub struct PanicOnSecond;

// SAFETY: a unit struct.
unsafe impl bytemuck::Zeroable for PanicOnSecond {}

impl Tensors<f32> for PanicOnSecond {
    const COUNT: usize = 0;
    const PARAMS: usize = 0;

    fn tensor(&self, _: usize) -> Option<&[f32]> {
        None
    }

    fn tensor_mut(&mut self, _: usize) -> Option<&mut [f32]> {
        None
    }

    fn tensor_info(_: usize) -> Option<TensorInfo> {
        None
    }
}

impl Layer<f32, 96, 96> for PanicOnSecond {
    type Trace<const B: usize> = ();
    type Grads = NoGrads;
    const KIND: &'static str = "PanicOnSecond";

    fn forward<const B: usize>(&self, x: &SMatrix<f32, 96, B>) -> SMatrix<f32, 96, B> {
        *x
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<f32, 96, B>,
        _rng: &mut Rng,
    ) -> (SMatrix<f32, 96, B>, ()) {
        assert!(x.iter().all(|&v| v <= 999.0), "a large input, on purpose");
        (*x, ())
    }

    fn forward_train_team<const B: usize>(
        &self,
        x: &SMatrix<f32, 96, B>,
        rng: &mut Rng,
        team: &dyn Team<f32>,
    ) -> (SMatrix<f32, 96, B>, ()) {
        assert!(team.index() != 1, "thread 1 fails on purpose");
        self.forward_train(x, rng)
    }

    fn backward<const B: usize>(
        &self,
        _trace: &(),
        grad_out: &SMatrix<f32, 96, B>,
        _grads: &mut NoGrads,
    ) -> SMatrix<f32, 96, B> {
        *grad_out
    }

    fn init(&mut self, _rng: &mut Rng) {}
}

network! {
    struct Fragile<f32> {
        input: [96],
        fragile: PanicOnSecond -> [96],
        first: Dense(192), Relu,
        out: Dense(10),
    }
}

#[test]
fn thread_panic_ends_step() {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let net = Fragile::new_boxed(1);
        let (inputs, targets) = batch();
        let mut grads = Fragile::zero_grads_boxed();
        let mut parallel = ParallelGrads::<f32, Fragile, 96, 10>::with_split(2, Split::Layers)
            .expect("threads start");
        let mut step = || {
            let mut rng = Rng::seed_from_u64(1);
            parallel.accumulate_grads(
                &*net,
                &inputs,
                &targets,
                &SoftmaxCrossEntropy,
                &mut rng,
                &mut grads,
            );
        };
        // The first steps may run on the calling thread alone while `ParallelGrads` times
        // its ways of handing over work. Thread 1 runs within the first 24.
        let mut run = || std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut step));
        let first_panic = (0..40).find(|_| run().is_err());
        let later_panics = first_panic.is_some() && run().is_err();
        let _ = sender.send((first_panic.is_some(), later_panics));
    });
    let outcome = receiver.recv_timeout(std::time::Duration::from_secs(60));
    assert_eq!(
        outcome,
        Ok((true, true)),
        "a step must panic (and not hang) when a thread of the team panics, and so must \
         every later step"
    );
}

#[test]
fn compute_grads_overwrites_what_was_there() {
    let net = Deep::new_boxed(17);
    let (inputs, targets) = batch();
    for (split, threads) in [(Split::Layers, 2), (Split::Layers, 3), (Split::Batch, 2)] {
        let mut parallel =
            ParallelGrads::<f32, Deep, 96, 10>::with_split(threads, split).expect("threads start");
        let mut expected = Deep::zero_grads_boxed();
        let mut rng = Rng::seed_from_u64(2);
        parallel.accumulate_grads(
            &*net,
            &inputs,
            &targets,
            &SoftmaxCrossEntropy,
            &mut rng,
            &mut expected,
        );

        // Enough steps to run on the calling thread alone and on all threads, while
        // `ParallelGrads` times its ways of handing over work.
        for step in 0..30 {
            let mut grads = Deep::zero_grads_boxed();
            for i in 0..<DeepGrads as Tensors<f32>>::COUNT {
                grads.tensor_mut(i).unwrap().fill(7.0);
            }
            let mut rng = Rng::seed_from_u64(2);
            parallel.compute_grads(
                &*net,
                &inputs,
                &targets,
                &SoftmaxCrossEntropy,
                &mut rng,
                &mut grads,
            );
            assert!(
                bits(&grads) == bits(&expected),
                "{split:?} on {threads} threads, step {step}: gradients differ from zeroing first"
            );
        }
    }
}

#[test]
fn batch_split_rejects_after_panic() {
    let net = Fragile::new_boxed(1);
    let (mut inputs, targets) = batch();
    // The second half of the batch, the worker's sub-batch, makes the layer panic.
    inputs[(0, B - 1)] = 1000.0;
    let mut grads = Fragile::zero_grads_boxed();
    let mut parallel =
        ParallelGrads::<f32, Fragile, 96, 10>::with_split(2, Split::Batch).expect("threads start");
    let mut step = |inputs: &SMatrix<f32, 96, B>| {
        let mut rng = Rng::seed_from_u64(1);
        parallel.compute_grads(
            &*net,
            inputs,
            &targets,
            &SoftmaxCrossEntropy,
            &mut rng,
            &mut grads,
        );
    };
    let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| step(&inputs)));
    assert!(first.is_err(), "the step with a large input must panic");
    inputs[(0, B - 1)] = 0.0;
    let second = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| step(&inputs)));
    assert!(
        second.is_err(),
        "a step after a panic must panic instead of using the half-summed buffers"
    );
}

#[test]
fn empty_batch_sets_gradients_to_zero() {
    let net = Deep::new_boxed(3);
    for split in [Split::Layers, Split::Batch] {
        let mut parallel =
            ParallelGrads::<f32, Deep, 96, 10>::with_split(2, split).expect("threads start");
        let mut grads = Deep::zero_grads_boxed();
        for i in 0..<DeepGrads as Tensors<f32>>::COUNT {
            grads.tensor_mut(i).unwrap().fill(7.0);
        }
        let (loss, _) = parallel.compute_grads::<_, 0>(
            &*net,
            &SMatrix::zeros(),
            &SMatrix::zeros(),
            &SoftmaxCrossEntropy,
            &mut Rng::seed_from_u64(1),
            &mut grads,
        );
        assert_eq!(loss, 0.0);
        assert!(
            bits(&grads).iter().all(|&b| b == 0),
            "{split:?}: gradients of an empty batch must be zero"
        );
    }
}

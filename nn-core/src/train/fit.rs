//! The mini-batch training loop.

use std::boxed::Box;
use std::format;
use std::string::String;
use std::time::Instant;
use std::vec::Vec;

use indicatif::{ProgressBar, ProgressStyle};
use nalgebra::SMatrix;

use super::parallel::ParallelGrads;
use super::{EpochRecord, Evaluation, History, TrainConfig, TrainError, evaluate};
use crate::augment::Augment;
use crate::data::Dataset;
use crate::float::Float;
use crate::layer::Layer;
use crate::loss::Loss;
use crate::network::Network;
use crate::optim::{OptimError, Optimizer, SingleThread, UpdateRunner, clip_grad_norm};
use crate::rng::Rng;
use crate::team::{Serial, SharedGrads};
use crate::tensors::{Tensors, Trainable};

/// The gradient type of network `N`.
type GradsOf<T, N, const IN: usize, const OUT: usize> = <N as Layer<T, IN, OUT>>::Grads;

/// Trains `net` on `train` and returns the per-epoch history.
///
/// Each epoch shuffles the training set (seeded), runs the training forward pass on
/// batches of `B` samples, and lets `optimizer` apply the gradients. The last partial
/// batch of each epoch is skipped; shuffling puts different samples there each epoch.
/// After each epoch the network is evaluated on `validation`, if given, which also
/// drives early stopping. Gradients live on the heap, so large networks train on small
/// thread stacks. With [`TrainConfig::threads`] above 1, each batch's gradients and the
/// optimizer update are spread over that many threads.
///
/// # Errors
///
/// Stops with [`TrainError::NonFiniteLoss`] naming the epoch and batch when a loss becomes
/// NaN or infinite. Rejects a training set smaller than one batch, early stopping without
/// a validation set, layer rates ([`TrainConfig::layer_rates`]) with a name that
/// matches no trainable tensor, and a thread count of 0 ([`TrainError::Threads`], which
/// also reports worker threads that cannot be started). The network keeps the parameters
/// of the last finished step.
pub fn fit<T, N, O, L, A, const IN: usize, const OUT: usize, const B: usize>(
    net: &mut N,
    optimizer: &mut O,
    loss: &L,
    train: &Dataset<T, IN, OUT>,
    validation: Option<&Dataset<T, IN, OUT>>,
    config: &TrainConfig<B, A>,
) -> Result<History, TrainError>
where
    T: Float,
    A: Augment<T, IN>,
    N: Layer<T, IN, OUT> + Network<Scalar = T> + Sync,
    GradsOf<T, N, IN, OUT>: Send + Sync,
    O: Optimizer<T, N, GradsOf<T, N, IN, OUT>>,
    L: Loss<T, OUT> + Sync,
{
    if train.len() < B {
        return Err(TrainError::TooFewSamples {
            samples: train.len(),
            batch: B,
        });
    }
    if config.early_stopping.is_some() && validation.is_none() {
        return Err(TrainError::NoValidationSet);
    }
    let layer_factors = layer_factors::<T, N, B, A>(config).map_err(TrainError::Optimizer)?;
    let scale = |i: usize| match &layer_factors {
        Some(factors) => factors.get(i).copied().flatten(),
        None => Some(1.0),
    };
    let mut parallel = match config.threads {
        1 => None,
        threads => {
            let parallel = ParallelGrads::<T, N, IN, OUT>::new(threads);
            Some(parallel.map_err(TrainError::Threads)?)
        }
    };

    let mut rng = Rng::seed_from_u64(config.seed);
    // With several threads, dropout draws from its own generator, so shuffling and
    // augmentation take the same values from `rng` whatever the thread count.
    let mut dropout_rng = Rng::seed_from_u64(config.seed ^ PARALLEL_DROPOUT_STREAM);
    let mut grads: Box<GradsOf<T, N, IN, OUT>> = bytemuck::zeroed_box();
    let mut inputs: Box<SMatrix<T, IN, B>> = bytemuck::zeroed_box();
    let mut targets: Box<SMatrix<T, OUT, B>> = bytemuck::zeroed_box();
    let mut order: Vec<usize> = (0..train.len()).collect();
    let base_rate = optimizer.learning_rate();
    let mut history = History::default();
    let mut best: Option<(f64, usize, Box<N>)> = None;
    let batches = train.len() / B;

    for epoch in 1..=config.epochs {
        let started = Instant::now();
        let learning_rate = match &config.schedule {
            Some(schedule) => schedule.learning_rate(base_rate, epoch - 1),
            None => base_rate,
        };
        optimizer
            .set_learning_rate(learning_rate)
            .map_err(TrainError::Optimizer)?;
        rng.shuffle(&mut order);

        let bar = progress_bar(config, epoch, batches);
        let mut epoch_loss = 0.0;
        let mut correct = 0usize;
        let mut chunks = order.chunks_exact(B).enumerate().peekable();
        while let Some((batch_index, chunk)) = chunks.next() {
            if let Some((_, next)) = chunks.peek() {
                prefetch_samples(train, next);
            }
            gather(
                train,
                chunk,
                &config.augment,
                &mut rng,
                (&mut inputs, &mut targets),
            );
            let (batch_loss, outputs) = batch_grads(
                &*net,
                loss,
                &inputs,
                &targets,
                parallel
                    .as_mut()
                    .map(|parallel| (parallel, &mut dropout_rng)),
                &mut rng,
                &mut grads,
            );
            let batch_loss = batch_loss.as_f64();
            if !batch_loss.is_finite() {
                bar.finish_and_clear();
                return Err(TrainError::NonFiniteLoss {
                    epoch,
                    batch: batch_index + 1,
                    loss: batch_loss,
                });
            }

            if let Some(max_norm) = config.clip_grad_norm {
                clip_grad_norm(&mut *grads, max_norm).map_err(TrainError::Optimizer)?;
            }
            let runner: &dyn UpdateRunner<T> = match &parallel {
                Some(parallel) => parallel,
                None => &SingleThread,
            };
            optimizer
                .step_scaled_with(net, &grads, &scale, runner)
                .map_err(TrainError::Optimizer)?;

            epoch_loss += batch_loss;
            correct += count_correct(train, chunk, &outputs);
            if config.progress {
                bar.inc(1);
                bar.set_message(format_loss(epoch_loss / (batch_index + 1) as f64));
            }
        }
        bar.finish_and_clear();

        let evaluation = validation.map(|data| evaluate::<T, N, L, IN, OUT, B>(net, loss, data));
        let record = EpochRecord {
            epoch,
            learning_rate,
            train_loss: epoch_loss / batches as f64,
            train_accuracy: train
                .labels()
                .map(|_| correct as f64 / (batches * B) as f64),
            validation_loss: evaluation.map(|e| e.loss),
            validation_accuracy: evaluation.and_then(|e| e.accuracy),
            seconds: started.elapsed().as_secs_f64(),
        };
        if config.progress {
            // The bar is cleared, so this line cannot interleave with it; indicatif's own
            // `println` prints nothing when stderr is not a terminal.
            std::eprintln!("{}", describe(&record, config.epochs));
        }
        history.epochs.push(record);

        if let (Some(stopping), Some(Evaluation { loss: current, .. })) =
            (config.early_stopping, evaluation)
        {
            let improved = match &best {
                None => true,
                Some((best_loss, _, _)) => current < best_loss - stopping.min_delta,
            };
            if improved {
                let snapshot = if stopping.restore_best {
                    copy_params(net)
                } else {
                    bytemuck::zeroed_box()
                };
                best = Some((current, epoch, snapshot));
            } else if let Some((_, best_epoch, snapshot)) = &best
                && epoch - best_epoch >= stopping.patience
            {
                if stopping.restore_best {
                    restore_params(net, snapshot);
                    history.restored_epoch = Some(*best_epoch);
                }
                break;
            }
        }
    }
    Ok(history)
}

/// Returns the learning-rate scale of each trainable tensor of `N` under the configured
/// layer rates, or `None` without layer rates.
fn layer_factors<T, N, const B: usize, A>(
    config: &TrainConfig<B, A>,
) -> Result<Option<Vec<Option<f64>>>, OptimError>
where
    N: Trainable<T>,
{
    let Some(rates) = &config.layer_rates else {
        return Ok(None);
    };
    rates.check::<T, N>()?;
    Ok(Some(
        (0..N::TRAINABLE_COUNT)
            .map(|i| rates.scale::<T, N>(i))
            .collect(),
    ))
}

/// Mixed into the seed of the generator that dropout draws from on several threads.
const PARALLEL_DROPOUT_STREAM: u64 = 0x6a09_e667_f3bc_c908;

/// The number of gradient values from which [`compute_grads`] lets the layers set the
/// gradients in place instead of zeroing them first: 16,384, counted over all of a
/// network's gradient tensors (`Tensors::PARAMS` of its gradients, biases included).
///
/// Setting them spares a pass over the gradients, but runs the layers' team methods,
/// whose calls go through `dyn Team`. For small networks that costs more than the
/// zeroing it spares. `cargo bench --bench grad_paths` times both ways on
/// one-hidden-layer perceptrons. Ratios of zeroing to setting in one run on an AMD EPYC
/// (Zen 2), above 1 where setting is faster:
///
/// - 2-8-1 (33 values): 0.56 on one sample, 0.82 on batches of 32;
/// - from 64-32-10 (2,410 values) to 784-128-10 (101,770), batches of 32: 1.02 to 1.05;
/// - one sample, 64 or 128 hidden units, from 64-64-10 (4,810 values) on: 1.36 to 1.79;
/// - one sample, 32 hidden units, up to 784-32-10 (25,450 values): 0.90 to 0.92, most
///   likely because the small kernel's one-sample weight gradient of 32 rows is slower
///   set than added (`cargo bench --bench kernel_sweep -- one_sample_gradient`).
///
/// NOTE: a lower threshold, down to about 2,400 values, would speed up batches and
/// one-sample steps of wider layers but slow down one-sample steps of 32-unit layers.
/// Networks like 784-32-10 take the slower way on one sample already. Fixing the code
/// generation of that weight gradient would remove the trade-off.
pub const SET_GRADS_MIN_VALUES: usize = crate::team::SPLIT_MIN_WEIGHTS;

/// Sets `grads` to the gradients of one batch on the calling thread, as [`fit`] does on
/// one thread, and returns what `output_grad` returned first (usually the loss) and
/// the network's outputs.
///
/// `output_grad` receives the outputs and returns a value and the gradient of the loss
/// with respect to the outputs, as for [`Layer::accumulate_pass`]; usually it is
/// [`Loss::loss_and_grad`], which returns the mean loss. `rng` feeds the layers that draw
/// random numbers, such as dropout. The gradients get the values of zeroing them and
/// calling `accumulate_pass`, whatever they held before, so a training loop needs no
/// zeroing of its own.
///
/// From [`SET_GRADS_MIN_VALUES`] gradient values on, the step runs through the layers'
/// team methods with a team of one thread ([`Serial`]) that sets the gradients. A dense
/// layer on the blocked kernel then writes its weight gradient without reading it. For a
/// 784-128-10 network that spares a pass over 400 KB per step.
///
/// A training loop of its own, with one `Dense` layer as the network:
///
/// ```
/// use nn_core::bytemuck;
/// use nn_core::layers::{Dense, DenseGrads};
/// use nn_core::loss::{Loss, MeanSquaredError};
/// use nn_core::optim::{Optimizer, Sgd, SgdConfig};
/// use nn_core::train::compute_grads;
/// use nn_core::{Layer, Rng, SMatrix};
///
/// let mut rng = Rng::seed_from_u64(1);
/// let mut layer: Dense<f32, 3, 2> = bytemuck::Zeroable::zeroed();
/// layer.init(&mut rng);
/// let x = SMatrix::<f32, 3, 8>::from_fn(|row, col| (row + col) as f32 * 0.1);
/// let target = SMatrix::<f32, 2, 8>::zeros();
///
/// let mut grads: DenseGrads<f32, 3, 2> = bytemuck::Zeroable::zeroed();
/// let mut optimizer = Sgd::new(SgdConfig::default())?;
/// for _ in 0..10 {
///     let (loss, _outputs) = compute_grads(&layer, &x, &mut rng, &mut grads, |y| {
///         MeanSquaredError.loss_and_grad(y, &target)
///     });
///     assert!(loss.is_finite());
///     optimizer.step(&mut layer, &grads)?;
/// }
/// # Ok::<(), nn_core::optim::OptimError>(())
/// ```
pub fn compute_grads<T, N, R, F, const IN: usize, const OUT: usize, const B: usize>(
    net: &N,
    inputs: &SMatrix<T, IN, B>,
    rng: &mut Rng,
    grads: &mut N::Grads,
    output_grad: F,
) -> (R, SMatrix<T, OUT, B>)
where
    T: Float,
    N: Layer<T, IN, OUT>,
    F: FnOnce(&SMatrix<T, OUT, B>) -> (R, SMatrix<T, OUT, B>),
{
    if <N::Grads as Tensors<T>>::PARAMS < SET_GRADS_MIN_VALUES {
        grads.fill_zero();
        return net.accumulate_pass(inputs, rng, grads, output_grad);
    }
    let team = Serial {
        size: 1,
        overwrite_grads: true,
    };
    // SAFETY: one thread uses the handle, with a team of one member.
    unsafe { net.accumulate_pass_team(inputs, rng, SharedGrads::new(grads), &team, output_grad) }
}

/// Sets `grads` to the gradients of one batch, on the calling thread through
/// [`compute_grads`] or through `parallel`, and returns the mean loss and the network's
/// outputs. Dropout draws from `rng` on the calling thread, and through `parallel` from
/// the generator that comes with it.
fn batch_grads<T, N, L, const IN: usize, const OUT: usize, const B: usize>(
    net: &N,
    loss: &L,
    inputs: &SMatrix<T, IN, B>,
    targets: &SMatrix<T, OUT, B>,
    parallel: Option<(&mut ParallelGrads<T, N, IN, OUT>, &mut Rng)>,
    rng: &mut Rng,
    grads: &mut GradsOf<T, N, IN, OUT>,
) -> (T, SMatrix<T, OUT, B>)
where
    T: Float,
    N: Layer<T, IN, OUT> + Sync,
    GradsOf<T, N, IN, OUT>: Send + Sync,
    L: Loss<T, OUT> + Sync,
{
    if let Some((parallel, dropout_rng)) = parallel {
        return parallel.compute_grads(net, inputs, targets, loss, dropout_rng, grads);
    }
    compute_grads(net, inputs, rng, grads, |outputs| {
        loss.loss_and_grad(outputs, targets)
    })
}

/// Asks the CPU to start loading the samples at `indices` into its caches, so that
/// gathering them for the next step finds them there instead of waiting on memory.
fn prefetch_samples<T: Float, const IN: usize, const OUT: usize>(
    data: &Dataset<T, IN, OUT>,
    indices: &[usize],
) {
    for &index in indices {
        prefetch(data.inputs()[index].as_slice());
        prefetch(data.targets()[index].as_slice());
    }
}

/// Starts loading the cache lines of `values`, without waiting for them. A no-op
/// outside x86-64.
fn prefetch<T>(values: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        const LINE: usize = 64;
        // From the start of the first line, so that a slice that does not start on a
        // line also gets its last line.
        let skew = values.as_ptr() as usize % LINE;
        let start = values.as_ptr().cast::<i8>().wrapping_sub(skew);
        for offset in (0..skew + core::mem::size_of_val(values)).step_by(LINE) {
            // SAFETY: the address lies in a cache line that `values` overlaps. A prefetch
            // changes no value and cannot fault.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// Copies the samples at `indices` into the batch matrices `inputs` and `targets`, one
/// sample per column, and augments each input.
///
/// The matrices are allocated once per `fit` and overwritten here: building them anew
/// for every batch zeroed and moved 100 KB per step for MNIST.
fn gather<T: Float, A: Augment<T, IN>, const IN: usize, const OUT: usize, const B: usize>(
    data: &Dataset<T, IN, OUT>,
    indices: &[usize],
    augment: &A,
    rng: &mut Rng,
    (inputs, targets): (&mut SMatrix<T, IN, B>, &mut SMatrix<T, OUT, B>),
) {
    for (col, &index) in indices.iter().enumerate() {
        let mut sample = data.inputs()[index];
        augment.apply(&mut sample, rng);
        inputs.set_column(col, &sample);
        targets.set_column(col, &data.targets()[index]);
    }
}

fn count_correct<T: Float, const IN: usize, const OUT: usize, const B: usize>(
    data: &Dataset<T, IN, OUT>,
    indices: &[usize],
    outputs: &SMatrix<T, OUT, B>,
) -> usize {
    let Some(labels) = data.labels() else {
        return 0;
    };
    (0..B)
        .filter(|&col| outputs.column(col).imax() == labels[indices[col]])
        .count()
}

fn copy_params<T: Float, N: Tensors<T> + bytemuck::Zeroable>(net: &N) -> Box<N> {
    let mut copy: Box<N> = bytemuck::zeroed_box();
    restore_params(&mut *copy, net);
    copy
}

fn restore_params<T: Float, N: Tensors<T>>(net: &mut N, from: &N) {
    for i in 0..N::COUNT {
        if let (Some(target), Some(source)) = (net.tensor_mut(i), from.tensor(i)) {
            target.copy_from_slice(source);
        }
    }
}

fn progress_bar<const B: usize, A>(
    config: &TrainConfig<B, A>,
    epoch: usize,
    batches: usize,
) -> ProgressBar {
    if !config.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(batches as u64);
    let style =
        ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} batches, loss {msg}")
            .map(|style| style.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(format!("{epoch}/{}", config.epochs));
    bar
}

fn format_loss(loss: f64) -> String {
    format!("{loss:.4}")
}

fn describe(record: &EpochRecord, epochs: usize) -> String {
    let mut line = format!(
        "epoch {}/{epochs}: loss {:.4}",
        record.epoch, record.train_loss
    );
    if let Some(accuracy) = record.train_accuracy {
        line += &format!(", accuracy {:.2}%", accuracy * 100.0);
    }
    if let Some(loss) = record.validation_loss {
        line += &format!(", validation loss {loss:.4}");
    }
    if let Some(accuracy) = record.validation_accuracy {
        line += &format!(", validation accuracy {:.2}%", accuracy * 100.0);
    }
    line += &format!(" ({:.1} ms)", record.seconds * 1e3);
    line
}

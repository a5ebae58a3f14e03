//! End-to-end training on the real data sets in `data/`, with fixed seeds, asserting the
//! test accuracy each model must reach: at least 97% on the 8x8 digits and 90% on iris.

use static_nn::core::train::TrainError;
use static_nn::core::train::parallel::ParallelError;
use static_nn::prelude::*;

network! {
    struct DigitNet<f32> {
        input: [64],
        norm: Standardize<f32, 64> -> [64],
        hidden: Dense(64), Relu,
        Dropout(0.2),
        out: Dense(10),
    }
}

network! {
    struct IrisNet<f32> {
        input: [4],
        norm: Standardize<f32, 4> -> [4],
        hidden: Dense(16), Tanh,
        out: Dense(3),
    }
}

fn data_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn test_accuracy<N, const IN: usize, const OUT: usize>(net: &N, test: &Dataset<f32, IN, OUT>) -> f64
where
    N: Layer<f32, IN, OUT>,
{
    let labels = test.labels().expect("test set has labels");
    let mut confusion = ConfusionMatrix::<OUT>::default();
    for (x, &label) in test.inputs().iter().zip(labels) {
        confusion
            .add(label, argmax(&net.forward(x)))
            .expect("labels are in range");
    }
    confusion.accuracy()
}

#[test]
fn digits_reach_97_percent() {
    let train_all =
        Dataset::<f32, 64, 10>::read_csv_classification(data_path("digits_train.csv")).unwrap();
    let test =
        Dataset::<f32, 64, 10>::read_csv_classification(data_path("digits_test.csv")).unwrap();
    let (train, validation) = train_all
        .split_stratified(0.1, &mut Rng::seed_from_u64(2026))
        .unwrap();

    let mut net = DigitNet::new(2026);
    net.norm = Standardizer::fit(train.inputs()).unwrap().to_layer();
    let mut optimizer = Adam::new(AdamConfig {
        learning_rate: 2e-3,
        ..AdamConfig::default()
    })
    .unwrap();
    let config = TrainConfig::<32>::new(80)
        .seed(2026)
        .schedule(CosineAnnealing::new(80, 1e-5).unwrap())
        .early_stopping(EarlyStopping::new(15))
        .quiet();
    let history = fit(
        &mut net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        Some(&validation),
        &config,
    )
    .unwrap();

    let first = history.epochs.first().unwrap().train_loss;
    let last = history.last().unwrap().train_loss;
    assert!(
        last < first / 10.0,
        "training loss fell only from {first} to {last}"
    );
    let accuracy = test_accuracy(&net, &test);
    assert!(
        accuracy >= 0.97,
        "digits test accuracy {accuracy:.4} is below 0.97"
    );
}

#[test]
fn iris_reaches_90_percent() {
    let train = Dataset::<f32, 4, 3>::read_csv_classification(data_path("iris_train.csv")).unwrap();
    let test = Dataset::<f32, 4, 3>::read_csv_classification(data_path("iris_test.csv")).unwrap();

    let mut net = IrisNet::new(7);
    net.norm = Standardizer::fit(train.inputs()).unwrap().to_layer();
    let mut optimizer = Adam::new(AdamConfig {
        learning_rate: 1e-2,
        ..AdamConfig::default()
    })
    .unwrap();
    let config = TrainConfig::<16>::new(80).seed(7).quiet();
    fit(
        &mut net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        None,
        &config,
    )
    .unwrap();

    let accuracy = test_accuracy(&net, &test);
    assert!(
        accuracy >= 0.90,
        "iris test accuracy {accuracy:.4} is below 0.90"
    );
}

#[test]
fn same_seed_trains_bit_identical_weights() {
    let train = Dataset::<f32, 4, 3>::read_csv_classification(data_path("iris_train.csv")).unwrap();
    let run = || {
        let mut net = IrisNet::new(3);
        let mut optimizer = Adam::new(AdamConfig::default()).unwrap();
        let config = TrainConfig::<16>::new(5).seed(3).quiet();
        fit(
            &mut net,
            &mut optimizer,
            &SoftmaxCrossEntropy,
            &train,
            None,
            &config,
        )
        .unwrap();
        net
    };
    let (a, b) = (run(), run());
    for i in 0..<IrisNet as Tensors<f32>>::COUNT {
        let bits = |net: &IrisNet| {
            net.tensor(i)
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            bits(&a),
            bits(&b),
            "tensor {i} differs between two runs with the same seed"
        );
    }
}

#[test]
fn non_finite_loss_names_epoch_and_batch() {
    let train = Dataset::<f32, 4, 3>::read_csv_classification(data_path("iris_train.csv")).unwrap();
    let mut net = IrisNet::new(1);
    net.hidden.weight[(0, 0)] = f32::NAN;
    let mut optimizer = Sgd::new(SgdConfig::default()).unwrap();
    let config = TrainConfig::<16>::new(3).quiet();
    let error = fit(
        &mut net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        None,
        &config,
    )
    .unwrap_err();
    assert!(
        matches!(
            error,
            static_nn::core::train::TrainError::NonFiniteLoss {
                epoch: 1,
                batch: 1,
                ..
            }
        ),
        "unexpected error {error:?}"
    );
    assert!(
        error.to_string().contains("epoch 1, batch 1"),
        "message: {error}"
    );
}

network! {
    /// A digits network whose hidden weight (320 x 64 = 20,480 values) is large enough
    /// for the optimizer to update it on several threads.
    struct WideDigitNet<f32> {
        input: [64],
        norm: Standardize<f32, 64> -> [64],
        hidden: Dense(320), Relu,
        Dropout(0.2),
        out: Dense(10),
    }
}

network! {
    struct WideDigitNetNoDropout<f32> {
        input: [64],
        norm: Standardize<f32, 64> -> [64],
        hidden: Dense(320), Relu,
        out: Dense(10),
    }
}

/// Returns the first 640 training digits, 20 batches of 32.
fn digits_subset() -> Dataset<f32, 64, 10> {
    let all =
        Dataset::<f32, 64, 10>::read_csv_classification(data_path("digits_train.csv")).unwrap();
    let indices: Vec<usize> = (0..640).collect();
    all.select(&indices).unwrap()
}

/// Returns a `Standardize` layer that maps pixel values 0 to 16 to about -1 to 1.
///
/// Statistics fitted per pixel would divide by standard deviations near 0 at the border,
/// where the augmentation of the tests below moves or adds ink, and blow those inputs up.
fn pixel_scaling() -> Standardize<f32, 64> {
    Standardize::new(SVector::repeat(8.0), SVector::repeat(8.0))
}

/// Returns the bits of every parameter of `net`.
fn parameter_bits<N: Tensors<f32>>(net: &N) -> Vec<u32> {
    (0..N::COUNT)
        .flat_map(|i| net.tensor(i).unwrap().iter().map(|v| v.to_bits()))
        .collect()
}

/// Trains `WideDigitNet` for 3 epochs on `threads` threads with dropout, augmentation and
/// AdamW, and returns the parameters and the training losses.
fn train_wide(train: &Dataset<f32, 64, 10>, threads: usize) -> (Box<WideDigitNet>, Vec<f64>) {
    let mut net = WideDigitNet::new_boxed(5);
    net.norm = pixel_scaling();
    let mut optimizer = AdamW::new(AdamWConfig::default()).unwrap();
    let augment = (Shift::<8, 8>::new(1).unwrap(), Noise::new(0.3).unwrap());
    let config = TrainConfig::<32>::new(3)
        .seed(5)
        .threads(threads)
        .quiet()
        .augment(augment);
    let history = fit(
        &mut *net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        train,
        None,
        &config,
    )
    .unwrap();
    let losses = history.epochs.iter().map(|e| e.train_loss).collect();
    (net, losses)
}

#[test]
fn threads_train_bit_identical_with_same_seed() {
    let train = digits_subset();
    for threads in [2, 3] {
        let (first_net, first_losses) = train_wide(&train, threads);
        let (second_net, second_losses) = train_wide(&train, threads);
        let bits = |losses: &[f64]| losses.iter().map(|l| l.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&first_losses),
            bits(&second_losses),
            "{threads} threads: training losses differ between two runs with the same seed"
        );
        assert!(
            parameter_bits(&*first_net) == parameter_bits(&*second_net),
            "{threads} threads: parameters differ between two runs with the same seed"
        );
        let (first, last) = (first_losses[0], first_losses[2]);
        assert!(
            last < first,
            "{threads} threads: training loss rose from {first} to {last}"
        );
    }
}

#[test]
fn two_threads_follow_one_thread_without_dropout() {
    // Without dropout, one and two threads draw the same shuffles and augmentations from
    // the run's generator and compute the same gradients up to the order of the sums. So
    // three epochs end with nearly the same losses and weights.
    let train = digits_subset();
    let run = |threads: usize| {
        let mut net = WideDigitNetNoDropout::new_boxed(9);
        net.norm = pixel_scaling();
        let mut optimizer = Adam::new(AdamConfig::default()).unwrap();
        let augment = (Shift::<8, 8>::new(1).unwrap(), Noise::new(0.3).unwrap());
        let config = TrainConfig::<32>::new(3)
            .seed(9)
            .threads(threads)
            .quiet()
            .augment(augment);
        let history = fit(
            &mut *net,
            &mut optimizer,
            &SoftmaxCrossEntropy,
            &train,
            None,
            &config,
        )
        .unwrap();
        let losses: Vec<f64> = history.epochs.iter().map(|e| e.train_loss).collect();
        (net, losses)
    };
    let (one_net, one_losses) = run(1);
    let (two_net, two_losses) = run(2);
    for (epoch, (one, two)) in one_losses.iter().zip(&two_losses).enumerate() {
        assert!(
            (one - two).abs() <= 1e-6 * one,
            "epoch {}: training loss {two} on 2 threads, {one} on 1",
            epoch + 1
        );
    }
    let mut largest = 0.0f32;
    for i in 0..<WideDigitNetNoDropout as Tensors<f32>>::COUNT {
        let pairs = one_net
            .tensor(i)
            .unwrap()
            .iter()
            .zip(two_net.tensor(i).unwrap());
        for (a, b) in pairs {
            largest = largest.max((a - b).abs());
        }
    }
    assert!(
        largest < 1e-6,
        "a parameter differs by {largest} between 1 and 2 threads"
    );
}

#[test]
fn zero_threads_is_an_error() {
    let train = digits_subset();
    let mut net = WideDigitNetNoDropout::new_boxed(2);
    let before = parameter_bits(&*net);
    let mut optimizer = Adam::new(AdamConfig::default()).unwrap();
    let config = TrainConfig::<32>::new(1).threads(0).quiet();
    let error = fit(
        &mut *net,
        &mut optimizer,
        &SoftmaxCrossEntropy,
        &train,
        None,
        &config,
    )
    .unwrap_err();
    assert_eq!(error, TrainError::Threads(ParallelError::NoThreads));
    assert_eq!(
        error.to_string(),
        "invalid thread count 0: training needs at least 1 thread; set `TrainConfig::threads` to 1 or more"
    );
    assert!(
        parameter_bits(&*net) == before,
        "a rejected configuration changed the parameters"
    );
}

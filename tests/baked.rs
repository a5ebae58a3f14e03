//! Weights baked in at compile time with `#[weights("file")]`.
//!
//! The fixtures in `tests/fixtures/baked/` come from `fixtures_are_current` below: a 2-8-1
//! XOR network trained here with Adam (`train_xor`), saved with `weights::save` as F32
//! and with `weights::save_as` as F64, F16 and BF16, plus four broken files for the
//! compile-error cases in `tests/ui/` (an I32 tensor, a file cut short, a header that is
//! not JSON and an F64 value beyond the `f32` range). That test trains again and compares
//! every byte, so the committed files cannot go stale silently. Training uses only
//! IEEE-754 arithmetic, square roots and the pure-Rust `libm`, so the bytes are the same
//! on every x86-64 machine in a build without FMA. Where multiply-adds are fused
//! (AArch64, or `-C target-cpu` with FMA), training rounds differently, and the three
//! tests that retrain are ignored there. To rewrite the files after a deliberate change,
//! run `UPDATE_BAKED_FIXTURES=1 cargo test --test baked`.
//!
//! The other tests check that each baked network holds exactly the values that
//! `weights::load` reads from the same file at run time, so the two compute bit-identical
//! outputs.
//!
//! The digits tests bake `examples/digits_bake/digits.safetensors`, which
//! `cargo run --release --example digits -- --save` trains and writes together with its
//! test-set predictions (`predictions.txt` next to it). The file carries the network's
//! `Standardize` statistics as buffers, so the baked network takes raw pixels. The tests
//! check the baked network against the same file loaded at run time, against the saved
//! predictions and against the accuracy of 97% or more that training reached, so a stale
//! or wrong committed file fails.

use std::fs;
use std::path::{Path, PathBuf};

use static_nn::core::bytemuck::Zeroable;
use static_nn::core::weights::{self, Dtype};
use static_nn::prelude::*;

network! {
    /// The network the fixtures come from, with the F32 file baked in.
    #[weights("tests/fixtures/baked/xor_f32.safetensors")]
    pub struct XorNet<f32> {
        input: [2],
        hidden: Dense(8), Relu,
        out: Dense(1),
    }

    /// The F64 file in an `f32` network: each value rounded to nearest.
    #[weights("tests/fixtures/baked/xor_f64.safetensors")]
    pub struct XorFromF64<f32> {
        input: [2],
        hidden: Dense(8), Relu,
        out: Dense(1),
    }

    /// The F16 file, converted exactly.
    #[weights("tests/fixtures/baked/xor_f16.safetensors")]
    pub struct XorFromF16<f32> {
        input: [2],
        hidden: Dense(8), Relu,
        out: Dense(1),
    }

    /// The BF16 file, converted exactly.
    #[weights("tests/fixtures/baked/xor_bf16.safetensors")]
    pub struct XorFromBf16<f32> {
        input: [2],
        hidden: Dense(8), Relu,
        out: Dense(1),
    }

    /// The F32 file in an `f64` network, converted exactly.
    #[weights("tests/fixtures/baked/xor_f32.safetensors")]
    pub struct Xor64<f64> {
        input: [2],
        hidden: Dense(8), Relu,
        out: Dense(1),
    }

    /// A frozen layer keeps its tensor names, so it bakes like any other.
    #[weights("tests/fixtures/baked/xor_f32.safetensors")]
    pub struct XorFrozen<f32> {
        input: [2],
        #[frozen] hidden: Dense(8), Relu,
        out: Dense(1),
    }
}

network! {
    /// The network of `examples/digits.rs`, with the committed weights and statistics.
    #[weights("examples/digits_bake/digits.safetensors")]
    pub struct DigitNet<f32> {
        input: [8, 8],
        norm: Standardize,
        hidden: Dense(64), Relu,
        Dropout(0.2),
        out: Dense(10),
    }

    /// The same file in an `f64` network, converted exactly.
    #[weights("examples/digits_bake/digits.safetensors")]
    pub struct DigitNet64<f64> {
        input: [64],
        norm: Standardize -> [64],
        hidden: Dense(64), Relu,
        out: Dense(10),
    }
}

/// The baked network as firmware keeps it: a `static`, in read-only memory.
static NET: XorNet = XorNet::BAKED;

/// The baked digits network in a `static`.
static DIGITS: DigitNet = DigitNet::BAKED;

/// The absolute path of a fixture.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/baked")
        .join(name)
}

/// Returns the four XOR points, one per column, and their targets.
fn xor_data() -> (SMatrix<f32, 2, 4>, SMatrix<f32, 1, 4>) {
    let inputs = SMatrix::<f32, 2, 4>::from_column_slice(&[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0]);
    let targets = SMatrix::<f32, 1, 4>::new(0.0, 1.0, 1.0, 0.0);
    (inputs, targets)
}

/// Trains the fixture network: 300 full-batch Adam steps on mean squared error.
fn train_xor() -> XorNet {
    let (inputs, targets) = xor_data();
    let mut net = XorNet::new(3);
    let config = AdamConfig {
        learning_rate: 0.05,
        ..AdamConfig::default()
    };
    let mut adam = Adam::<XorNetGrads>::new(config).expect("valid Adam settings");
    let mut rng = Rng::seed_from_u64(3);
    for _ in 0..300 {
        let (output, trace) = net.forward_train(&inputs, &mut rng);
        let (_, grad_out) = MeanSquaredError.loss_and_grad(&output, &targets);
        let (grads, _) = net.backward(&trace, &grad_out);
        adam.step(&mut net, &grads)
            .expect("the gradients fit the network");
    }
    net
}

/// Builds a safetensors file from `(name, dtype, shape, data)` entries, in that order.
fn build_file(tensors: &[(&str, &str, &[usize], Vec<u8>)]) -> Vec<u8> {
    let mut entries = Vec::new();
    let mut offset = 0;
    for (name, dtype, shape, data) in tensors {
        let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
        entries.push(format!(
            "\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{offset},{}]}}",
            dims.join(","),
            offset + data.len()
        ));
        offset += data.len();
    }
    let mut header = format!("{{{}}}", entries.join(","));
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend(header.as_bytes());
    for (_, _, _, data) in tensors {
        file.extend(data);
    }
    file
}

/// The fixture with an I32 `hidden.weight`, which baking must reject.
fn integer_file() -> Vec<u8> {
    let integers: Vec<u8> = (0..16i32).flat_map(i32::to_le_bytes).collect();
    let zeros = |count: usize| vec![0u8; count * 4];
    build_file(&[
        ("hidden.weight", "I32", &[8, 2], integers),
        ("hidden.bias", "F32", &[8], zeros(8)),
        ("out.weight", "F32", &[1, 8], zeros(8)),
        ("out.bias", "F32", &[1], zeros(1)),
    ])
}

/// The fixture with an F64 `hidden.weight` whose first value is beyond the `f32` range,
/// which baking into an `f32` network must reject.
fn out_of_range_file() -> Vec<u8> {
    let mut weight = vec![0.0f64; 16];
    weight[0] = 1e300;
    let encode = |values: &[f64]| values.iter().flat_map(|v| v.to_le_bytes()).collect();
    build_file(&[
        ("hidden.weight", "F64", &[8, 2], encode(&weight)),
        ("hidden.bias", "F64", &[8], encode(&[0.0; 8])),
        ("out.weight", "F64", &[1, 8], encode(&[0.0; 8])),
        ("out.bias", "F64", &[1], encode(&[0.0])),
    ])
}

/// Returns the F32 fixture with its header's first 8 bytes replaced by text that is not
/// JSON; the header length field stays valid.
fn corrupt_header_file(f32_file: &[u8]) -> Vec<u8> {
    let mut file = f32_file.to_vec();
    file[8..16].copy_from_slice(b"garbage!");
    file
}

/// Returns every fixture's name and expected bytes.
fn expected_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let net = train_xor();
    let bytes = |dtype| weights::to_bytes_as(&net, dtype).expect("encode the network");
    let f32_file = bytes(Dtype::F32);
    let truncated = f32_file[..40].to_vec();
    let corrupt_header = corrupt_header_file(&f32_file);
    vec![
        ("xor_f32.safetensors", f32_file),
        ("xor_f64.safetensors", bytes(Dtype::F64)),
        ("xor_f16.safetensors", bytes(Dtype::F16)),
        ("xor_bf16.safetensors", bytes(Dtype::BF16)),
        ("i32_weight.safetensors", integer_file()),
        ("truncated.safetensors", truncated),
        ("corrupt_header.safetensors", corrupt_header),
        ("f64_out_of_range.safetensors", out_of_range_file()),
    ]
}

#[test]
#[cfg_attr(
    any(not(target_arch = "x86_64"), target_feature = "fma"),
    ignore = "the fixtures were trained on x86-64 without FMA; fused multiply-adds round training differently"
)]
fn fixtures_are_current() {
    let update = std::env::var_os("UPDATE_BAKED_FIXTURES").is_some();
    for (name, expected) in expected_fixtures() {
        let path = fixture(name);
        if update {
            fs::write(&path, &expected).expect("write the fixture");
            continue;
        }
        let committed = fs::read(&path).expect("read the fixture");
        assert!(
            committed == expected,
            "{} differs from what the test writes now ({} bytes committed, {} expected); if the change is deliberate, run `UPDATE_BAKED_FIXTURES=1 cargo test --test baked`",
            path.display(),
            committed.len(),
            expected.len()
        );
    }
}

#[test]
#[cfg_attr(
    any(not(target_arch = "x86_64"), target_feature = "fma"),
    ignore = "the fixtures were trained on x86-64 without FMA; fused multiply-adds round training differently"
)]
fn save_writes_fixture_bytes() {
    // `weights::save` writes the bytes of `to_bytes` through a temporary file, so a file
    // saved now must equal the committed F32 fixture.
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("baked-xor_f32.safetensors");
    weights::save(&train_xor(), &path).expect("save the network");
    let saved = fs::read(&path).expect("read the saved file");
    let committed = fs::read(fixture("xor_f32.safetensors")).expect("read the fixture");
    assert_eq!(saved, committed);
}

#[test]
fn saved_file_is_f32_weights() {
    let bytes = fs::read(fixture("xor_f32.safetensors")).expect("read the fixture");
    // The runtime format the macro reads: an 8-byte header length, then JSON.
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).expect("UTF-8 header");
    assert!(header.contains("\"hidden.weight\":{\"dtype\":\"F32\",\"shape\":[8,2]"));
    assert_eq!(bytes.len(), 8 + header_len + XorNet::PARAM_BYTES);
}

/// Loads a fixture at run time into a zeroed network of type `N`.
fn load<N: Tensors<T> + Zeroable, T: Float>(name: &str) -> N {
    let mut net = N::zeroed();
    weights::load(&mut net, fixture(name)).expect("load the fixture");
    net
}

/// Asserts that every tensor and buffer of `baked` has the bits of the same one of
/// `loaded`.
fn assert_same_tensors<N: Tensors<T>, T: Float>(baked: &N, loaded: &N) {
    let tensors = (0..N::COUNT).map(|i| {
        let name = N::tensor_info(i).expect("tensor info").name;
        (name, baked.tensor(i), loaded.tensor(i))
    });
    let buffers = (0..N::BUFFERS).map(|i| {
        let name = N::buffer_info(i).expect("buffer info").name;
        (name, baked.buffer(i), loaded.buffer(i))
    });
    for (name, baked, loaded) in tensors.chain(buffers) {
        assert!(baked.is_some(), "tensor {name} is missing");
        let pairs = baked.unwrap_or(&[]).iter().zip(loaded.unwrap_or(&[]));
        for (k, (b, l)) in pairs.enumerate() {
            assert_eq!(
                b.as_f64().to_bits(),
                l.as_f64().to_bits(),
                "{name}[{k}]: baked {b:?}, loaded {l:?}"
            );
        }
    }
}

/// Returns a grid of 121 inputs over [-1, 2]^2, one per column.
fn grid() -> Vec<[f64; 2]> {
    let steps = 11;
    let coordinate = |i: usize| -1.0 + 3.0 * i as f64 / (steps - 1) as f64;
    (0..steps * steps)
        .map(|k| [coordinate(k / steps), coordinate(k % steps)])
        .collect()
}

#[test]
fn static_matches_runtime_load() {
    let loaded: XorNet = load("xor_f32.safetensors");
    assert_same_tensors(&NET, &loaded);
    for [a, b] in grid() {
        let x = SVector::<f32, 2>::new(a as f32, b as f32);
        let (baked, runtime) = (NET.forward(&x)[0], loaded.forward(&x)[0]);
        assert_eq!(
            baked.to_bits(),
            runtime.to_bits(),
            "at ({a}, {b}): baked {baked}, loaded {runtime}"
        );
    }
}

#[test]
#[cfg_attr(
    any(not(target_arch = "x86_64"), target_feature = "fma"),
    ignore = "the fixtures were trained on x86-64 without FMA; fused multiply-adds round training differently"
)]
fn static_holds_trained_weights() {
    let (inputs, targets) = xor_data();
    let output = NET.forward_batch(&inputs);
    for (k, (y, t)) in output.iter().zip(targets.iter()).enumerate() {
        assert!((y - t).abs() < 0.2, "XOR point {k}: output {y}, target {t}");
    }
    assert_eq!(NET.hidden, train_xor().hidden);
}

#[test]
fn converted_dtypes_match_runtime_load() {
    assert_same_tensors(
        &XorFromF64::BAKED,
        &load::<XorFromF64, f32>("xor_f64.safetensors"),
    );
    assert_same_tensors(
        &XorFromF16::BAKED,
        &load::<XorFromF16, f32>("xor_f16.safetensors"),
    );
    assert_same_tensors(
        &XorFromBf16::BAKED,
        &load::<XorFromBf16, f32>("xor_bf16.safetensors"),
    );
    assert_same_tensors(&Xor64::BAKED, &load::<Xor64, f64>("xor_f32.safetensors"));
}

#[test]
fn half_precision_is_close_to_f32() {
    // F16 keeps 11 significant bits: every weight within a relative 2^-11 of the F32 one,
    // or within half the spacing 2^-24 of F16's subnormal numbers.
    let (half, full) = (XorFromF16::BAKED, &NET);
    for i in 0..<XorNet as Tensors<f32>>::COUNT {
        let pairs = half
            .tensor(i)
            .unwrap_or(&[])
            .iter()
            .zip(full.tensor(i).unwrap_or(&[]));
        for (h, f) in pairs {
            let bound = (f.abs() * 2f32.powi(-11)).max(2f32.powi(-25));
            assert!((h - f).abs() <= bound, "{h} vs {f}");
        }
    }
    assert_ne!(XorFromF16::BAKED.hidden, NET.hidden);
}

#[test]
fn f64_network_outputs_match_runtime() {
    let loaded: Xor64 = load("xor_f32.safetensors");
    for [a, b] in grid() {
        let x = SVector::<f64, 2>::new(a, b);
        let (baked, runtime) = (Xor64::BAKED.forward(&x)[0], loaded.forward(&x)[0]);
        assert_eq!(baked.to_bits(), runtime.to_bits(), "at ({a}, {b})");
    }
}

#[test]
fn frozen_layer_is_baked() {
    let loaded: XorFrozen = load("xor_f32.safetensors");
    assert_same_tensors(&XorFrozen::BAKED, &loaded);
    assert_eq!(XorFrozen::BAKED.hidden.weight, NET.hidden.weight);
}

/// `#[weights]` and `#[budget]` where the expansion must name everything by absolute
/// paths: no prelude, prelude names shadowed, and unsafe code forbidden.
mod hygiene {
    #![no_implicit_prelude]
    #![forbid(unsafe_code)]
    #![allow(dead_code)]

    struct Option;
    struct Result;
    struct Vec;

    ::static_nn::network! {
        /// A baked network within its budgets, which the macro checks itself.
        #[weights("tests/fixtures/baked/xor_f32.safetensors")]
        #[budget(flash = 132, ram = 64, train_ram = 4096)]
        pub struct Shadowed<f32> {
            input: [2],
            hidden: Dense(8), Relu,
            out: Dense(1),
        }

        /// A backbone, whose figures only the compiler computes.
        pub struct Features<f32> {
            input: [2],
            hidden: Dense(8), Relu,
        }

        /// Budgets checked by compile-time assertions.
        #[budget(ram = 4096, train_ram = 4096)]
        pub struct WithFeatures<f32> {
            input: [2],
            backbone: Features,
            out: Dense(1),
        }
    }

    pub static NET: Shadowed = Shadowed::BAKED;
}

#[test]
fn baked_without_prelude_matches() {
    assert_eq!(hygiene::NET.hidden, NET.hidden);
    assert_eq!(hygiene::NET.out, NET.out);
    // The backbone's ReLU pair (8 + 8 values) is the widest.
    assert_eq!(hygiene::Features::FORWARD_BYTES, (8 + 8) * 4);
    assert_eq!(
        hygiene::WithFeatures::FORWARD_BYTES,
        hygiene::Features::FORWARD_BYTES
    );
}

/// Returns the absolute path of a file of the digits example.
fn digits_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/digits_bake")
        .join(name)
}

/// Reads the digits test set: raw pixels from 0 to 16 and labels.
fn digits_test_set() -> Dataset<f32, 64, 10> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits_test.csv");
    Dataset::read_csv_classification(path).expect("read the digits test set")
}

/// Reads the `(label, prediction)` pairs of `examples/digits_bake/predictions.txt`, whose
/// lines are `sample <index> label <label> prediction <class>` after `#` comments.
fn saved_predictions() -> Vec<(usize, usize)> {
    let path = digits_file("predictions.txt");
    let text = fs::read_to_string(&path).expect("read the saved predictions");
    let mut pairs = Vec::new();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let ["sample", index, "label", label, "prediction", predicted] = fields[..] else {
            panic!("{}: unexpected line `{line}`", path.display());
        };
        assert_eq!(index.parse::<usize>().ok(), Some(pairs.len()), "{line}");
        let class = |text: &str| text.parse::<usize>().expect("a class number");
        pairs.push((class(label), class(predicted)));
    }
    pairs
}

/// Loads the committed digits file at run time.
fn loaded_digits() -> DigitNet {
    let mut net = DigitNet::new(0);
    weights::load(&mut net, digits_file("digits.safetensors")).expect("load the digits file");
    net
}

#[test]
fn digits_statistics_are_baked() {
    let loaded = loaded_digits();
    assert_same_tensors(&DIGITS, &loaded);
    assert_eq!(<DigitNet as Tensors<f32>>::BUFFERS, 2);
    for i in 0..2 {
        let name = DigitNet::buffer_info(i).expect("buffer info").name;
        assert_eq!(DIGITS.buffer(i), loaded.buffer(i), "buffer {name}");
    }
    // The statistics are those of raw pixels (0 to 16), not the identity of a zeroed layer.
    assert!(DIGITS.norm.mean.iter().any(|&mean| mean > 1.0));
    assert!(DIGITS.norm.std.iter().any(|&std| std > 1.0));
    assert_eq!(DIGITS.norm, loaded.norm);
}

#[test]
fn digits_baked_matches_runtime_on_test_set() {
    let test = digits_test_set();
    let loaded = loaded_digits();
    for (i, x) in test.inputs().iter().enumerate() {
        let (baked, runtime) = (DIGITS.forward(x), loaded.forward(x));
        for k in 0..10 {
            assert_eq!(
                baked[k].to_bits(),
                runtime[k].to_bits(),
                "test image {i}, output {k}: baked {}, loaded {}",
                baked[k],
                runtime[k]
            );
        }
    }
}

#[test]
fn digits_baked_reproduces_saved_predictions() {
    let test = digits_test_set();
    let labels = test.labels().expect("a classification set");
    let saved = saved_predictions();
    assert_eq!(
        saved.len(),
        test.len(),
        "one saved prediction per test image"
    );

    let mut correct = 0;
    for (i, (x, &label)) in test.inputs().iter().zip(labels).enumerate() {
        let predicted = argmax(&DIGITS.forward(x));
        assert_eq!(saved[i].0, label, "test image {i}: saved label");
        assert_eq!(saved[i].1, predicted, "test image {i}: saved prediction");
        correct += usize::from(predicted == label);
    }
    let accuracy = correct as f64 / test.len() as f64;
    assert!(
        accuracy >= 0.97,
        "the baked network classifies {correct} of {} test images correctly ({:.2}%), below the 97% training reached",
        test.len(),
        accuracy * 100.0
    );
}

#[test]
fn digits_f64_bake_converts_exactly() {
    let mut loaded = DigitNet64::new(0);
    weights::load(&mut loaded, digits_file("digits.safetensors")).expect("load as f64");
    assert_same_tensors(&DigitNet64::BAKED, &loaded);
    for k in 0..64 {
        assert_eq!(
            DigitNet64::BAKED.norm.mean[k],
            f64::from(DIGITS.norm.mean[k])
        );
    }
    let test = digits_test_set();
    for (i, x) in test.inputs().iter().take(50).enumerate() {
        let x64 = x.map(f64::from);
        let (baked, runtime) = (DigitNet64::BAKED.forward(&x64), loaded.forward(&x64));
        assert_eq!(baked, runtime, "test image {i}");
    }
}

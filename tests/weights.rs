//! Saving and loading weights as safetensors files.
//!
//! Round trips through `save` and `load` must be bit-identical, buffers (the statistics of
//! `Standardize` layers) included. Files that do not fit a network must be rejected with
//! every mismatch listed and the network left unchanged.
//! Truncated and corrupted files must give errors, never panics. Files made by PyTorch
//! (`tests/fixtures/weights/`, written by `tests/reference/make_weights_fixtures.py`)
//! must load into the equivalent networks and reproduce PyTorch's forward pass.
//!
//! Malformed files are built byte by byte with `build_file` below, independently of the
//! crate under test.

use std::fs;
use std::path::{Path, PathBuf};

use static_nn::core::bytemuck;
use static_nn::core::weights::{self, Dtype, Mismatch, Origin, WeightsError};
use static_nn::prelude::*;

mod reference {
    include!("fixtures/weights/reference.rs");
}

network! {
    /// The fixture model: 4-8-3 with ReLU, PyTorch's `hidden`/`out` `nn.Linear` pair.
    pub struct Mlp<f32> {
        input: [4],
        hidden: Dense(8), Relu,
        out: Dense(3),
    }

    /// The same layer names as `Mlp` with a wider hidden layer.
    pub struct MlpWide<f32> {
        input: [4],
        hidden: Dense(16), Relu,
        out: Dense(3),
    }

    /// `Mlp` in double precision.
    pub struct Mlp64<f64> {
        input: [4],
        hidden: Dense(8), Relu,
        out: Dense(3),
    }

    /// The backbone of the nested fixture model.
    pub struct Backbone<f32> {
        input: [4],
        features: Dense(6), Tanh,
    }

    /// A head on a backbone: tensor names `backbone.features.weight` and so on.
    pub struct Nested<f32> {
        input: [4],
        backbone: Backbone,
        head: Dense(2),
    }

    /// `Backbone` in double precision.
    pub struct Backbone64<f64> {
        input: [4],
        features: Dense(6), Tanh,
        Dropout(0.1),
    }

    /// `Nested` in double precision, with another hidden layer in the head.
    pub struct Nested64<f64> {
        input: [4],
        backbone: Backbone64,
        neck: Dense(5), Relu,
        head: Dense(2),
    }

    /// `Mlp` behind a `Standardize` layer: the buffers `norm.mean` and `norm.std`.
    pub struct Normalized<f32> {
        input: [4],
        norm: Standardize,
        hidden: Dense(8), Relu,
        out: Dense(3),
    }

    /// `Normalized` declared with the custom-layer form of `Standardize`.
    pub struct NormalizedCustom<f32> {
        input: [4],
        norm: Standardize<f32, 4> -> [4],
        hidden: Dense(8), Relu,
        out: Dense(3),
    }

    /// `Normalized64` as a backbone (the buffers `backbone.norm.mean` and
    /// `backbone.norm.std`), then a built-in `Standardize` whose width only the compiler
    /// computes, then a frozen one in the custom-layer form.
    pub struct NormalizedBackbone<f64> {
        input: [3],
        backbone: Normalized64,
        after: Standardize,
        #[frozen] frozen_norm: Standardize<f64, 2> -> [2],
        head: Dense(1),
    }

    /// A backbone for `NormalizedBackbone`.
    pub struct Normalized64<f64> {
        input: [3],
        norm: Standardize,
        features: Dense(2), Tanh,
    }
}

/// Creates a fresh directory for one test under Cargo's temporary directory for integration tests.
fn scratch_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("weights")
        .join(test);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// Copies the raw bytes of every tensor and buffer of `net`, to compare networks bit for
/// bit.
fn snapshot<T: Float, N: Tensors<T>>(net: &N) -> Vec<Vec<u8>> {
    let tensors = (0..N::COUNT).map(|i| Tensors::tensor(net, i).unwrap());
    let buffers = (0..N::BUFFERS).map(|i| Tensors::buffer(net, i).unwrap());
    tensors
        .chain(buffers)
        .map(|values| bytemuck::cast_slice::<T, u8>(values).to_vec())
        .collect()
}

/// One tensor of a hand-built safetensors file.
#[derive(Clone)]
struct RawTensor {
    name: String,
    dtype: &'static str,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl RawTensor {
    fn f32(name: &str, shape: &[usize], values: impl IntoIterator<Item = f32>) -> Self {
        Self {
            name: name.to_owned(),
            dtype: "F32",
            shape: shape.to_vec(),
            data: values.into_iter().flat_map(f32::to_le_bytes).collect(),
        }
    }
}

/// Builds a safetensors file: an 8-byte little-endian header length, a JSON header padded
/// with spaces to a multiple of 8 bytes, then the tensors' bytes back to back in order.
fn build_file(tensors: &[RawTensor]) -> Vec<u8> {
    let mut entries = Vec::new();
    let mut offset = 0;
    for tensor in tensors {
        let shape: Vec<String> = tensor.shape.iter().map(usize::to_string).collect();
        entries.push(format!(
            r#""{}":{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}}"#,
            tensor.name,
            tensor.dtype,
            shape.join(","),
            offset,
            offset + tensor.data.len()
        ));
        offset += tensor.data.len();
    }
    let mut header = format!("{{{}}}", entries.join(",")).into_bytes();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }

    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend(header);
    for tensor in tensors {
        file.extend(&tensor.data);
    }
    file
}

/// Writes the tensors of `net` row-major by hand, in `Mlp`'s naming.
fn mlp_tensors(net: &Mlp) -> Vec<RawTensor> {
    let hidden = &net.hidden.weight;
    let out = &net.out.weight;
    vec![
        RawTensor::f32(
            "hidden.weight",
            &[8, 4],
            (0..8).flat_map(|r| (0..4).map(move |c| hidden[(r, c)])),
        ),
        RawTensor::f32("hidden.bias", &[8], net.hidden.bias.iter().copied()),
        RawTensor::f32(
            "out.weight",
            &[3, 8],
            (0..3).flat_map(|r| (0..8).map(move |c| out[(r, c)])),
        ),
        RawTensor::f32("out.bias", &[3], net.out.bias.iter().copied()),
    ]
}

/// Loads `bytes` into a fresh `Mlp`, checks that the network is unchanged and returns the
/// list of mismatches.
fn mlp_mismatches(bytes: &[u8]) -> Vec<Mismatch> {
    let mut net = Mlp::new(5);
    let before = snapshot(&net);
    let error = weights::load_bytes(&mut net, bytes).expect_err("the file must not load");
    assert_eq!(snapshot(&net), before, "a failed load changed the network");
    match error {
        WeightsError::Mismatch { mismatches, .. } => mismatches,
        other => panic!("expected a mismatch error, got: {other}"),
    }
}

fn shape(dims: &[usize]) -> Vec<usize> {
    dims.to_vec()
}

#[test]
fn f32_round_trip_is_bit_identical() {
    let dir = scratch_dir("f32_round_trip");
    let path = dir.join("mlp.safetensors");
    let net = Mlp::new(1);
    weights::save(&net, &path).unwrap();

    let mut loaded = Mlp::new(2);
    assert_ne!(snapshot(&loaded), snapshot(&net));
    weights::load(&mut loaded, &path).unwrap();
    assert_eq!(snapshot(&loaded), snapshot(&net));

    let x = SVector::<f32, 4>::new(0.5, -1.0, 2.0, 0.25);
    assert_eq!(loaded.forward(&x), net.forward(&x));
}

#[test]
fn f64_nested_round_trip_is_bit_identical() {
    let dir = scratch_dir("f64_nested_round_trip");
    let path = dir.join("nested.safetensors");
    let net = Nested64::new(3);
    weights::save(&net, &path).unwrap();

    let mut loaded = Nested64::new(4);
    assert_ne!(snapshot(&loaded), snapshot(&net));
    weights::load(&mut loaded, &path).unwrap();
    assert_eq!(snapshot(&loaded), snapshot(&net));

    let bytes = fs::read(&path).unwrap();
    let header = String::from_utf8_lossy(&bytes);
    for entry in [
        r#""backbone.features.weight":{"dtype":"F64","shape":[6,4]"#,
        r#""backbone.features.bias":{"dtype":"F64","shape":[6]"#,
        r#""neck.weight":{"dtype":"F64","shape":[5,6]"#,
        r#""head.weight":{"dtype":"F64","shape":[2,5]"#,
        r#""head.bias":{"dtype":"F64","shape":[2]"#,
    ] {
        assert!(header.contains(entry), "header lacks {entry}");
    }
}

#[test]
fn saved_file_is_row_major_with_metadata() {
    let net = Mlp::new(6);
    let bytes = weights::to_bytes(&net).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();

    // safetensors orders tensors of one dtype by name: hidden.bias (32 bytes) first, then
    // hidden.weight.
    assert!(
        header.contains(r#""hidden.weight":{"dtype":"F32","shape":[8,4],"data_offsets":[32,160]}"#),
        "{header}"
    );
    assert!(header.contains(r#""format":"pt""#), "{header}");
    assert!(
        header.contains(r#""static_nn.network":"weights::Mlp""#),
        "{header}"
    );

    let data = &bytes[8 + header_len..];
    for row in 0..8 {
        for col in 0..4 {
            let at = 32 + 4 * (row * 4 + col);
            let stored = f32::from_le_bytes(data[at..at + 4].try_into().unwrap());
            assert_eq!(
                stored,
                net.hidden.weight[(row, col)],
                "hidden.weight[{row}, {col}]"
            );
        }
    }
}

#[test]
fn hand_built_row_major_file_loads_transposed() {
    // hidden.weight[r][c] = 10 r + c, so every position is distinguishable.
    let mut tensors = mlp_tensors(&Mlp::new(0));
    tensors[0] = RawTensor::f32(
        "hidden.weight",
        &[8, 4],
        (0..8).flat_map(|r| (0..4).map(move |c| (10 * r + c) as f32)),
    );
    let mut net = Mlp::new(1);
    weights::load_bytes(&mut net, &build_file(&tensors)).unwrap();
    for r in 0..8 {
        for c in 0..4 {
            assert_eq!(net.hidden.weight[(r, c)], (10 * r + c) as f32, "[{r}, {c}]");
        }
    }
}

#[test]
fn different_architecture_lists_every_mismatch() {
    let dir = scratch_dir("different_architecture");
    let path = dir.join("mlp.safetensors");
    weights::save(&Mlp::new(1), &path).unwrap();

    let mut wide = MlpWide::new(2);
    let before = snapshot(&wide);
    let error = weights::load(&mut wide, &path).unwrap_err();
    assert_eq!(snapshot(&wide), before, "a failed load changed the network");

    let message = error.to_string();
    let WeightsError::Mismatch {
        origin,
        saved_from,
        mismatches,
        ..
    } = error
    else {
        panic!("expected a mismatch error, got: {message}");
    };
    assert_eq!(origin, Origin::File(path.clone()));
    assert_eq!(saved_from.as_deref(), Some("weights::Mlp"));
    assert_eq!(
        mismatches,
        [
            Mismatch::Shape {
                name: "hidden.weight".into(),
                expected: shape(&[16, 4]),
                found: shape(&[8, 4]),
            },
            Mismatch::Shape {
                name: "hidden.bias".into(),
                expected: shape(&[16]),
                found: shape(&[8]),
            },
            Mismatch::Shape {
                name: "out.weight".into(),
                expected: shape(&[3, 16]),
                found: shape(&[3, 8]),
            },
        ]
    );

    let file = path.display();
    for line in [
        format!("tensor `hidden.weight` in {file} has shape [8, 4], expected [16, 4]"),
        format!("tensor `hidden.bias` in {file} has shape [8], expected [16]"),
        format!("tensor `out.weight` in {file} has shape [3, 8], expected [3, 16]"),
        "3 mismatches".to_owned(),
        "nothing was loaded".to_owned(),
        "the file was saved from `weights::Mlp`, a different architecture".to_owned(),
    ] {
        assert!(
            message.contains(&line),
            "message lacks {line:?}:\n{message}"
        );
    }
}

#[test]
fn missing_tensor_is_listed() {
    let mut tensors = mlp_tensors(&Mlp::new(0));
    tensors.retain(|tensor| tensor.name != "out.bias");
    assert_eq!(
        mlp_mismatches(&build_file(&tensors)),
        [Mismatch::Missing {
            name: "out.bias".into(),
            expected: shape(&[3]),
            buffer: false,
        }]
    );
}

#[test]
fn extra_tensor_is_listed() {
    let mut tensors = mlp_tensors(&Mlp::new(0));
    tensors.push(RawTensor::f32(
        "extra.weight",
        &[2, 2],
        [1.0, 2.0, 3.0, 4.0],
    ));
    let mismatches = mlp_mismatches(&build_file(&tensors));
    assert_eq!(
        mismatches,
        [Mismatch::Unexpected {
            name: "extra.weight".into(),
            found: shape(&[2, 2]),
            dtype: "F32".into(),
            similar: None,
        }]
    );
}

#[test]
fn misnamed_tensors_suggest_the_expected_name() {
    // `nn.DataParallel` saves keys with a `module.` prefix.
    let mut tensors = mlp_tensors(&Mlp::new(0));
    tensors[0].name = "module.hidden.weight".into();
    tensors[3].name = "out.b".into();
    let bytes = build_file(&tensors);
    let mismatches = mlp_mismatches(&bytes);
    assert_eq!(
        mismatches,
        [
            Mismatch::Missing {
                name: "hidden.weight".into(),
                expected: shape(&[8, 4]),
                buffer: false,
            },
            Mismatch::Missing {
                name: "out.bias".into(),
                expected: shape(&[3]),
                buffer: false,
            },
            Mismatch::Unexpected {
                name: "module.hidden.weight".into(),
                found: shape(&[8, 4]),
                dtype: "F32".into(),
                similar: Some("hidden.weight".into()),
            },
            Mismatch::Unexpected {
                name: "out.b".into(),
                found: shape(&[3]),
                dtype: "F32".into(),
                similar: Some("out.bias".into()),
            },
        ]
    );

    let message = weights::load_bytes(&mut Mlp::new(0), &bytes)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("tensor `module.hidden.weight` in the byte buffer (shape [8, 4], F32) is not a tensor of the network; the network lacks `hidden.weight` of the same shape"),
        "{message}"
    );
    assert!(
        message.contains("tensor `hidden.weight` (shape [8, 4]) is missing from the byte buffer"),
        "{message}"
    );
}

#[test]
fn wrong_shape_is_listed() {
    let mut tensors = mlp_tensors(&Mlp::new(0));
    // The right number of values in the transposed shape is still wrong.
    tensors[2].shape = vec![8, 3];
    assert_eq!(
        mlp_mismatches(&build_file(&tensors)),
        [Mismatch::Shape {
            name: "out.weight".into(),
            expected: shape(&[3, 8]),
            found: shape(&[8, 3]),
        }]
    );
}

#[test]
fn wrong_dtype_is_listed() {
    let mut tensors = mlp_tensors(&Mlp::new(0));
    tensors[1].dtype = "I32";
    tensors[3] = RawTensor {
        name: "out.bias".into(),
        dtype: "U8",
        shape: vec![3],
        data: vec![1, 2, 3],
    };
    let bytes = build_file(&tensors);
    assert_eq!(
        mlp_mismatches(&bytes),
        [
            Mismatch::Dtype {
                name: "hidden.bias".into(),
                found: "I32".into(),
                expected_shape: shape(&[8]),
                found_shape: shape(&[8]),
            },
            Mismatch::Dtype {
                name: "out.bias".into(),
                found: "U8".into(),
                expected_shape: shape(&[3]),
                found_shape: shape(&[3]),
            },
        ]
    );
    let message = weights::load_bytes(&mut Mlp::new(0), &bytes)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("tensor `hidden.bias` in the byte buffer has dtype I32 and shape [8], expected F32, F64, F16 or BF16 and shape [8]"),
        "{message}"
    );
}

#[test]
fn f64_file_loads_into_f32_network() {
    let source = Mlp64::new(8);
    let bytes = weights::to_bytes(&source).unwrap();
    let mut net = Mlp::new(9);
    weights::load_bytes(&mut net, &bytes).unwrap();
    for r in 0..3 {
        for c in 0..8 {
            assert_eq!(net.out.weight[(r, c)], source.out.weight[(r, c)] as f32);
        }
    }
}

#[test]
fn f64_value_beyond_f32_range_is_rejected() {
    let mut source = Mlp64::new(8);
    source.out.bias[1] = 1e300;
    let mismatches = mlp_mismatches(&weights::to_bytes(&source).unwrap());
    assert_eq!(
        mismatches,
        [Mismatch::OutOfRange {
            name: "out.bias".into(),
            value: 1e300,
            scalar: "f32",
        }]
    );
}

#[test]
fn f32_saved_as_f64_round_trips_exactly() {
    let net = Mlp::new(10);
    let bytes = weights::to_bytes_as(&net, Dtype::F64).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains(r#""dtype":"F64""#));
    let mut loaded = Mlp::new(11);
    weights::load_bytes(&mut loaded, &bytes).unwrap();
    assert_eq!(snapshot(&loaded), snapshot(&net));
}

#[test]
fn half_precision_saves_round_to_nearest() {
    // Rounding to nearest errs by at most the unit roundoff relative to the value, 2^-11
    // for F16 (11 significant bits) and 2^-8 for BF16 (8 significant bits), or by half the
    // subnormal spacing for values below the normal range: 2^-25 for F16, 2^-134 for BF16.
    let net = Mlp::new(12);
    let cases = [
        (Dtype::F16, 2f32.powi(-11), 2f32.powi(-25)),
        (Dtype::BF16, 2f32.powi(-8), 2f32.powi(-134)),
    ];
    for (dtype, unit_roundoff, subnormal_error) in cases {
        let bytes = weights::to_bytes_as(&net, dtype).unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains(&format!(r#""dtype":"{dtype}""#)));
        let mut loaded = Mlp::new(13);
        weights::load_bytes(&mut loaded, &bytes).unwrap();

        let mut rounded = 0;
        for i in 0..<Mlp as Tensors<f32>>::COUNT {
            let original = Tensors::tensor(&net, i).unwrap();
            for (k, &value) in Tensors::tensor(&loaded, i).unwrap().iter().enumerate() {
                let error = (value - original[k]).abs();
                assert!(
                    error <= (unit_roundoff * original[k].abs()).max(subnormal_error),
                    "{dtype} tensor {i}[{k}]"
                );
                rounded += usize::from(value != original[k]);
            }
        }
        assert!(rounded > 0, "{dtype} rounded no value");
        // Values already in the dtype are stored exactly: saving again changes nothing.
        assert_eq!(weights::to_bytes_as(&loaded, dtype).unwrap(), bytes);
    }
}

#[test]
fn f16_overflow_keeps_old_file() {
    let dir = scratch_dir("f16_overflow");
    let path = dir.join("mlp.safetensors");
    weights::save(&Mlp::new(1), &path).unwrap();
    let old = fs::read(&path).unwrap();

    let mut net = Mlp::new(2);
    net.hidden.weight[(3, 1)] = 1e5;
    let error = weights::save_as(&net, &path, Dtype::F16).unwrap_err();
    assert!(
        matches!(&error, WeightsError::OutOfRange { name, dtype: Dtype::F16, .. } if name == "hidden.weight"),
        "{error}"
    );
    assert!(error.to_string().contains("overflows F16"), "{error}");
    assert_eq!(fs::read(&path).unwrap(), old);
}

#[test]
fn save_replaces_the_file_and_leaves_no_temporary() {
    let dir = scratch_dir("save_replaces");
    let path = dir.join("mlp.safetensors");
    weights::save(&Mlp::new(1), &path).unwrap();
    let second = Mlp::new(2);
    weights::save(&second, &path).unwrap();

    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["mlp.safetensors"]);
    assert_eq!(
        fs::read(&path).unwrap(),
        weights::to_bytes(&second).unwrap()
    );
}

#[test]
fn save_into_missing_directory_names_the_path() {
    let dir = scratch_dir("missing_directory");
    let path = dir.join("no-such-dir").join("mlp.safetensors");
    let error = weights::save(&Mlp::new(1), &path).unwrap_err();
    assert!(
        matches!(
            &error,
            WeightsError::Io {
                action: "write",
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    let missing = dir.join("no-such-dir");
    assert!(
        error.to_string().ends_with(&format!(
            "; the directory {} does not exist, create it first",
            missing.display()
        )),
        "{error}"
    );
}

#[test]
fn missing_file_names_the_path() {
    let dir = scratch_dir("missing_file");
    let path = dir.join("absent.safetensors");
    let mut net = Mlp::new(1);
    let before = snapshot(&net);
    let error = weights::load(&mut net, &path).unwrap_err();
    assert!(
        matches!(&error, WeightsError::Io { action: "read", .. }),
        "{error}"
    );
    assert!(error.to_string().contains("absent.safetensors"), "{error}");
    assert_eq!(snapshot(&net), before);
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = weights::to_bytes(&Mlp::new(1)).unwrap();
    let mut net = Mlp::new(2);
    let before = snapshot(&net);
    for len in 0..bytes.len() {
        let result = weights::load_bytes(&mut net, &bytes[..len]);
        assert!(
            matches!(result, Err(WeightsError::Format { .. })),
            "length {len}: {result:?}"
        );
        assert_eq!(snapshot(&net), before, "length {len} changed the network");
    }
    weights::load_bytes(&mut net, &bytes).unwrap();
}

#[test]
fn truncated_file_error_names_the_file() {
    let dir = scratch_dir("truncated_file");
    let path = dir.join("cut.safetensors");
    let bytes = weights::to_bytes(&Mlp::new(1)).unwrap();
    for len in [0, 5, 8, 40, bytes.len() - 1] {
        fs::write(&path, &bytes[..len]).unwrap();
        let error = weights::load(&mut Mlp::new(2), &path).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "{} is not a valid safetensors file",
                path.display()
            )),
            "length {len}: {message}"
        );
        assert!(message.contains("truncated"), "length {len}: {message}");
    }
}

#[test]
fn flipped_header_bytes_are_errors() {
    let bytes = weights::to_bytes(&Mlp::new(1)).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + header_len]).unwrap();

    // Flip bytes of the length field and of the tensor entries. The metadata values and
    // the padding are skipped: a flipped letter in them can leave a valid file.
    let metadata_start = header.find(r#""__metadata__""#).unwrap();
    let metadata_end = metadata_start + header[metadata_start..].find('}').unwrap() + 1;
    let content_end = header.trim_end().len();
    let positions: Vec<usize> = (0..8)
        .chain(
            (0..content_end)
                .filter(|&i| i < metadata_start || i >= metadata_end)
                .map(|i| 8 + i),
        )
        .collect();

    let mut rng = Rng::seed_from_u64(7);
    let mut net = Mlp::new(2);
    let before = snapshot(&net);
    for _ in 0..3000 {
        let position = positions[rng.below(positions.len() as u64) as usize];
        let mask = 1 + rng.below(255) as u8;
        let mut corrupt = bytes.clone();
        corrupt[position] ^= mask;
        let result = weights::load_bytes(&mut net, &corrupt);
        assert!(
            result.is_err(),
            "flipping byte {position} with {mask:#04x} loaded: {}",
            String::from_utf8_lossy(&corrupt[8..8 + header_len])
        );
        assert_eq!(snapshot(&net), before);
    }
}

#[test]
fn flipped_bytes_anywhere_never_panic() {
    let bytes = weights::to_bytes(&Nested::new(1)).unwrap();
    let mut rng = Rng::seed_from_u64(8);
    let mut failures = 0;
    for _ in 0..3000 {
        let mut corrupt = bytes.clone();
        for _ in 0..1 + rng.below(3) {
            let position = rng.below(bytes.len() as u64) as usize;
            corrupt[position] ^= 1 + rng.below(255) as u8;
        }
        let mut net = Nested::new(2);
        let before = snapshot(&net);
        if weights::load_bytes(&mut net, &corrupt).is_err() {
            failures += 1;
            assert_eq!(snapshot(&net), before);
        }
    }
    // Flips in the tensor data leave a valid file, flips in the header mostly do not.
    assert!(failures > 0, "no corruption was detected");
    assert!(
        failures < 3000,
        "every flip failed, so none hit the tensor data"
    );
}

#[test]
fn missized_tensor_data_is_named() {
    // `out.bias` has shape [3] (12 bytes of F32) but its offsets cover 16 bytes.
    let mut tensors = mlp_tensors(&Mlp::new(1));
    let last = tensors.last_mut().expect("four tensors");
    last.data.extend(0f32.to_le_bytes());
    let file = build_file(&tensors);

    let mut net = Mlp::new(1);
    let before = snapshot(&net);
    let error = weights::load_bytes(&mut net, &file).unwrap_err();
    assert!(matches!(error, WeightsError::Format { .. }), "{error}");
    assert!(
        error.to_string().contains(
            "the data offsets of tensor `out.bias` cover 16 bytes, but its shape and dtype need 12"
        ),
        "{error}"
    );
    assert_eq!(snapshot(&net), before, "a failed load changed the network");
}

#[test]
fn forged_huge_offsets_are_errors() {
    // A U8 tensor has at most 2^61 - 1 elements, because its bit count must fit in 64
    // bits. Eight such tensors end at offset 2^64 - 8, and adding the 8-byte length field
    // overflows inside safetensors 0.8 unless the loader rejects the offsets first.
    let size = (1usize << 61) - 1;
    let tensors: Vec<RawTensor> = (0..8)
        .map(|k| RawTensor {
            name: format!("t{k}"),
            dtype: "U8",
            shape: vec![size],
            data: Vec::new(),
        })
        .collect();
    let mut file = build_file(&tensors);
    // `build_file` wrote offsets from the empty data; write the forged ones instead.
    let header_len = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let mut header = String::from_utf8(file[8..8 + header_len].to_vec()).unwrap();
    for k in 0..8 {
        header = header.replacen(
            &format!(r#""t{k}":{{"dtype":"U8","shape":[{size}],"data_offsets":[0,0]}}"#),
            &format!(
                r#""t{k}":{{"dtype":"U8","shape":[{size}],"data_offsets":[{},{}]}}"#,
                k * size,
                (k + 1) * size
            ),
            1,
        );
    }
    assert!(
        header.contains(&format!("[{},{}]", 7 * size, 8 * size)),
        "{header}"
    );
    let mut header = header.trim_end().as_bytes().to_vec();
    header.resize(header.len().next_multiple_of(8), b' ');
    file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend(&header);

    let error = weights::load_bytes(&mut Mlp::new(1), &file).unwrap_err();
    assert!(matches!(error, WeightsError::Format { .. }), "{error}");
    assert!(
        error.to_string().contains("beyond the end of the file"),
        "{error}"
    );
}

#[test]
fn empty_buffer_error_names_the_buffer() {
    let error = weights::load_bytes(&mut Mlp::new(1), &[]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the byte buffer is not a valid safetensors file: it is 0 bytes long, shorter than the 8-byte header length; the file is empty, truncated or not a safetensors file"
    );
}

/// Returns `Normalized::new(seed)` with statistics that differ per seed and feature, and a
/// zero standard deviation for the last feature (which divides by 1).
fn normalized(seed: u64) -> Normalized {
    let mut net = Normalized::new(seed);
    let offset = seed as f32;
    net.norm = Standardize::from_arrays(
        [offset + 0.5, -1.25, 3.0, offset],
        [2.0, 0.75 + offset, 16.0, 0.0],
    );
    net
}

#[test]
fn standardize_statistics_are_buffers() {
    assert_eq!(<Normalized as Tensors<f32>>::COUNT, 4);
    assert_eq!(Normalized::PARAMS, <Mlp as Tensors<f32>>::PARAMS);
    assert_eq!(<Normalized as Tensors<f32>>::BUFFERS, 2);
    assert_eq!(<Normalized as Tensors<f32>>::BUFFER_VALUES, 8);
    let names: Vec<String> = (0..2)
        .map(|i| Normalized::buffer_info(i).unwrap().name.to_string())
        .collect();
    assert_eq!(names, ["norm.mean", "norm.std"]);
    assert_eq!(
        Normalized::buffer_info(1).unwrap().shape,
        static_nn::core::Shape::vector(4)
    );
    assert!(Normalized::buffer_info(2).is_none());

    let mut net = normalized(1);
    assert_eq!(net.buffer(0), Some(net.norm.mean.as_slice()));
    net.buffer_mut(1).unwrap()[2] = 5.0;
    assert_eq!(net.norm.std[2], 5.0);
    assert!(net.buffer(2).is_none());

    // Gradients have no buffers, and the parameter indices they share are unchanged.
    assert_eq!(<NormalizedGrads as Tensors<f32>>::BUFFERS, 0);
    assert_eq!(<NormalizedGrads as Tensors<f32>>::COUNT, 4);
    for i in 0..4 {
        assert_eq!(Normalized::tensor_info(i), Mlp::tensor_info(i));
    }
}

#[test]
fn nested_and_frozen_buffers_are_prefixed() {
    let names: Vec<String> = (0..<NormalizedBackbone as Tensors<f64>>::BUFFERS)
        .map(|i| NormalizedBackbone::buffer_info(i).unwrap().name.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "backbone.norm.mean",
            "backbone.norm.std",
            "after.mean",
            "after.std",
            "frozen_norm.mean",
            "frozen_norm.std",
        ]
    );
    assert_eq!(
        <NormalizedBackbone as Tensors<f64>>::BUFFER_VALUES,
        2 * 3 + 2 * 2 + 2 * 2
    );

    let mut net = NormalizedBackbone::new(1);
    net.backbone.norm = Standardize::from_arrays([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]);
    net.after = Standardize::from_arrays([-1.0, -2.0], [0.5, 0.25]);
    net.frozen_norm = Frozen(Standardize::from_arrays([7.0, 8.0], [9.0, 10.0]));
    assert_eq!(net.buffer(1), Some(&[4.0, 5.0, 6.0][..]));
    assert_eq!(net.buffer(3), Some(&[0.5, 0.25][..]));
    assert_eq!(net.buffer(4), Some(&[7.0, 8.0][..]));
    net.buffer_mut(5).unwrap()[1] = 11.0;
    assert_eq!(net.frozen_norm.std[1], 11.0);
    assert!(net.buffer(6).is_none());
}

#[test]
fn buffers_round_trip_bit_identically() {
    let dir = scratch_dir("buffers_round_trip");
    let path = dir.join("normalized.safetensors");
    let net = normalized(1);
    weights::save(&net, &path).unwrap();

    let mut loaded = normalized(2);
    assert_ne!(loaded.norm, net.norm);
    weights::load(&mut loaded, &path).unwrap();
    assert_eq!(snapshot(&loaded), snapshot(&net));
    assert_eq!(loaded.norm, net.norm);

    let x = SVector::<f32, 4>::new(3.0, -1.0, 20.0, 0.25);
    assert_eq!(loaded.forward(&x), net.forward(&x));

    let bytes = fs::read(&path).unwrap();
    let header = String::from_utf8_lossy(&bytes);
    for entry in [
        r#""norm.mean":{"dtype":"F32","shape":[4]"#,
        r#""norm.std":{"dtype":"F32","shape":[4]"#,
    ] {
        assert!(header.contains(entry), "header lacks {entry}");
    }
}

#[test]
fn nested_buffers_round_trip_as_f64() {
    let mut net = NormalizedBackbone::new(3);
    net.backbone.norm = Standardize::from_arrays([0.1, 0.2, 0.3], [1.5, 2.5, 0.0]);
    net.after = Standardize::from_arrays([0.4, -0.4], [2.0, 3.0]);
    net.frozen_norm = Frozen(Standardize::from_arrays([-0.7, 0.9], [0.3, 1e-3]));
    let bytes = weights::to_bytes(&net).unwrap();
    assert!(
        String::from_utf8_lossy(&bytes)
            .contains(r#""backbone.norm.std":{"dtype":"F64","shape":[3]"#)
    );

    let mut loaded = NormalizedBackbone::new(4);
    weights::load_bytes(&mut loaded, &bytes).unwrap();
    assert_eq!(snapshot(&loaded), snapshot(&net));
}

#[test]
fn custom_form_saves_the_same_file() {
    let net = normalized(5);
    let mut custom = NormalizedCustom::new(6);
    weights::load_bytes(&mut custom, &weights::to_bytes(&net).unwrap()).unwrap();
    assert_eq!(custom.norm, net.norm);
    assert_eq!(custom.hidden, net.hidden);
    // Only the type name in the metadata differs, and with it the header's padding.
    let tensors_and_data = |bytes: Vec<u8>| {
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header = String::from_utf8(bytes[8..8 + header_len].to_vec()).unwrap();
        let tensors = header[header.find("},").unwrap()..].trim_end().to_owned();
        (tensors, bytes[8 + header_len..].to_vec())
    };
    assert_eq!(
        tensors_and_data(weights::to_bytes(&custom).unwrap()),
        tensors_and_data(weights::to_bytes(&net).unwrap())
    );
}

#[test]
fn file_without_buffers_fails_naming_them() {
    let dir = scratch_dir("file_without_buffers");
    let path = dir.join("mlp.safetensors");
    let mlp = Mlp::new(1);
    weights::save(&mlp, &path).unwrap();

    let mut net = normalized(2);
    let before = snapshot(&net);
    let error = weights::load(&mut net, &path).unwrap_err();
    assert_eq!(snapshot(&net), before, "a failed load changed the network");

    let message = error.to_string();
    let WeightsError::Mismatch { mismatches, .. } = error else {
        panic!("expected a mismatch error, got: {message}");
    };
    assert_eq!(
        mismatches,
        [
            Mismatch::Missing {
                name: "norm.mean".into(),
                expected: shape(&[4]),
                buffer: true,
            },
            Mismatch::Missing {
                name: "norm.std".into(),
                expected: shape(&[4]),
                buffer: true,
            },
        ]
    );
    let file = path.display();
    for line in [
        format!("buffer `norm.mean` (shape [4]) is missing from {file}"),
        format!("buffer `norm.std` (shape [4]) is missing from {file}"),
        "the file lacks the network's buffers".to_owned(),
    ] {
        assert!(
            message.contains(&line),
            "message lacks {line:?}:\n{message}"
        );
    }
    assert!(
        !message.contains("different architecture"),
        "the hint must name the buffers:\n{message}"
    );
}

#[test]
fn one_missing_buffer_is_listed_alone() {
    let mut tensors = mlp_tensors(&Mlp::new(0));
    tensors.push(RawTensor::f32("norm.std", &[4], [1.0, 2.0, 3.0, 4.0]));
    let mut net = normalized(1);
    let before = snapshot(&net);
    let error = weights::load_bytes(&mut net, &build_file(&tensors)).unwrap_err();
    assert_eq!(snapshot(&net), before);
    let WeightsError::Mismatch { mismatches, .. } = error else {
        panic!("expected a mismatch error, got: {error}");
    };
    assert_eq!(
        mismatches,
        [Mismatch::Missing {
            name: "norm.mean".into(),
            expected: shape(&[4]),
            buffer: true,
        }]
    );
}

#[test]
fn misshaped_buffer_lists_both_shapes() {
    let mut tensors = mlp_tensors(&Mlp::new(0));
    tensors.push(RawTensor::f32("norm.mean", &[4], [0.0; 4]));
    tensors.push(RawTensor::f32("norm.std", &[5], [1.0; 5]));
    let bytes = build_file(&tensors);
    let mut net = normalized(1);
    let before = snapshot(&net);
    let error = weights::load_bytes(&mut net, &bytes).unwrap_err();
    assert_eq!(snapshot(&net), before);

    let message = error.to_string();
    let WeightsError::Mismatch { mismatches, .. } = error else {
        panic!("expected a mismatch error, got: {message}");
    };
    assert_eq!(
        mismatches,
        [Mismatch::Shape {
            name: "norm.std".into(),
            expected: shape(&[4]),
            found: shape(&[5]),
        }]
    );
    assert!(
        message.contains("tensor `norm.std` in the byte buffer has shape [5], expected [4]"),
        "{message}"
    );
}

#[test]
fn extra_buffers_are_listed() {
    let bytes = weights::to_bytes(&normalized(1)).unwrap();
    let mismatches = mlp_mismatches(&bytes);
    assert_eq!(
        mismatches,
        [
            Mismatch::Unexpected {
                name: "norm.mean".into(),
                found: shape(&[4]),
                dtype: "F32".into(),
                similar: None,
            },
            Mismatch::Unexpected {
                name: "norm.std".into(),
                found: shape(&[4]),
                dtype: "F32".into(),
                similar: None,
            },
        ]
    );
}

#[test]
fn half_precision_buffers_round_to_nearest() {
    let mut net = normalized(1);
    net.norm.mean[1] = 1.0 + 2f32.powi(-12);
    let bytes = weights::to_bytes_as(&net, Dtype::F16).unwrap();
    let mut loaded = normalized(2);
    weights::load_bytes(&mut loaded, &bytes).unwrap();
    assert_eq!(loaded.norm.mean[1], 1.0);
    assert_eq!(loaded.norm.std, net.norm.std);
}

#[test]
fn training_and_init_leave_buffers_alone() {
    let mut net = normalized(1);
    let statistics = net.norm;
    let mut optimizer = Adam::<NormalizedGrads>::new(AdamConfig::default()).unwrap();
    let x = SMatrix::<f32, 4, 2>::from_column_slice(&[1.0, 2.0, 3.0, 4.0, -1.0, 0.5, 8.0, 2.0]);
    let (output, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(1));
    let (grads, _) = net.backward(&trace, &output);
    let before = net.hidden.clone();
    optimizer.step(&mut net, &grads).unwrap();
    assert_ne!(net.hidden, before, "the step changed nothing");
    assert_eq!(net.norm, statistics);

    Network::init(&mut net, &mut Rng::seed_from_u64(2));
    assert_eq!(net.norm, statistics);
    let error = net.reinit("norm", &mut Rng::seed_from_u64(3)).unwrap_err();
    assert_eq!(error.valid_names(), ["hidden", "out"]);
    assert_eq!(net.norm, statistics);
}

/// A hand-written `Tensors` whose buffer list is inconsistent in the way `FAULT` picks: 0
/// names its buffer like its tensor, 1 declares a buffer without info.
struct FaultyBuffers<const FAULT: u8> {
    values: [f32; 2],
    statistics: [f32; 2],
}

impl<const FAULT: u8> Tensors<f32> for FaultyBuffers<FAULT> {
    const COUNT: usize = 1;
    const PARAMS: usize = 2;
    const BUFFERS: usize = 1;
    const BUFFER_VALUES: usize = 2;

    fn tensor(&self, i: usize) -> Option<&[f32]> {
        (i == 0).then_some(&self.values[..])
    }

    fn tensor_mut(&mut self, i: usize) -> Option<&mut [f32]> {
        (i == 0).then_some(&mut self.values[..])
    }

    fn tensor_info(i: usize) -> Option<static_nn::core::TensorInfo> {
        (i == 0).then(|| static_nn::core::TensorInfo {
            name: static_nn::core::TensorName::new("weight"),
            shape: static_nn::core::Shape::vector(2),
            column_major: false,
        })
    }

    fn buffer(&self, i: usize) -> Option<&[f32]> {
        (i == 0).then_some(&self.statistics[..])
    }

    fn buffer_mut(&mut self, i: usize) -> Option<&mut [f32]> {
        (i == 0).then_some(&mut self.statistics[..])
    }

    fn buffer_info(i: usize) -> Option<static_nn::core::TensorInfo> {
        if FAULT == 1 {
            return None;
        }
        Self::tensor_info(i)
    }
}

#[test]
fn inconsistent_buffers_are_invalid_networks() {
    let duplicate = FaultyBuffers::<0> {
        values: [1.0, 2.0],
        statistics: [3.0, 4.0],
    };
    let error = weights::to_bytes(&duplicate).unwrap_err();
    assert!(
        matches!(&error, WeightsError::InvalidNetwork { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("two tensors are named `weight`"),
        "{error}"
    );

    let without_info = FaultyBuffers::<1> {
        values: [1.0, 2.0],
        statistics: [3.0, 4.0],
    };
    let error = weights::to_bytes(&without_info).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`buffer_info(0)` is `None` but `BUFFERS` is 1"),
        "{error}"
    );
}

/// The fixture file `name` under `tests/fixtures/weights/`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/weights")
        .join(name)
}

fn input(i: usize) -> SVector<f32, 4> {
    SVector::from(reference::INPUTS[i])
}

#[test]
fn pytorch_f32_mlp_matches_python_forward() {
    let mut net = Mlp::new(0);
    weights::load(&mut net, fixture("mlp_f32.safetensors")).unwrap();
    for (i, expected) in reference::MLP_F32_OUTPUTS.iter().enumerate() {
        let output = net.forward(&input(i));
        for j in 0..3 {
            let error = (f64::from(output[j]) - expected[j]).abs();
            assert!(
                error <= 1e-6,
                "input {i} output {j}: {} vs {}",
                output[j],
                expected[j]
            );
        }
    }
}

#[test]
fn pytorch_nested_matches_python_forward() {
    let mut net = Nested::new(0);
    weights::load(&mut net, fixture("nested_f32.safetensors")).unwrap();
    for (i, expected) in reference::NESTED_F32_OUTPUTS.iter().enumerate() {
        let output = net.forward(&input(i));
        for j in 0..2 {
            let error = (f64::from(output[j]) - expected[j]).abs();
            assert!(
                error <= 1e-6,
                "input {i} output {j}: {} vs {}",
                output[j],
                expected[j]
            );
        }
    }
}

/// First-order bound on how far the outputs of `net` move when every weight and bias is
/// rounded with relative error at most `unit_roundoff`.
///
/// With `z = W1 x + b1`, `h = relu(z)` and `y = W2 h + b2`, rounding changes `z_j` by at
/// most `u a_j` with `a_j = sum_k |W1_jk x_k| + |b1_j|`, and relu passes at most that on
/// to `h_j`. So `y_i` moves by at most
/// `u (sum_j |W2_ij| (|h_j| + (1 + u) a_j) + |b2_i|)`.
fn rounding_bound(net: &Mlp, x: &SVector<f32, 4>, unit_roundoff: f64) -> [f64; 3] {
    let (w1, b1) = (&net.hidden.weight, &net.hidden.bias);
    let (w2, b2) = (&net.out.weight, &net.out.bias);
    let mut bound = [0.0; 3];
    for (i, slot) in bound.iter_mut().enumerate() {
        let mut sum = f64::from(b2[i].abs());
        for j in 0..8 {
            let pre = (0..4).map(|k| f64::from(w1[(j, k)] * x[k])).sum::<f64>() + f64::from(b1[j]);
            let spread = (0..4)
                .map(|k| f64::from((w1[(j, k)] * x[k]).abs()))
                .sum::<f64>()
                + f64::from(b1[j].abs());
            sum += f64::from(w2[(i, j)].abs()) * (pre.max(0.0) + (1.0 + unit_roundoff) * spread);
        }
        *slot = unit_roundoff * sum;
    }
    bound
}

/// Loads the F16 and BF16 copies of the fixture and checks their outputs twice.
///
/// Each copy must reproduce the Python forward pass of its own stored values to 1e-6,
/// which shows that decoding is exact. Each must also stay within `rounding_bound` of
/// the F32 weights' outputs. That bound is the accuracy that 11 (F16) or 8 (BF16)
/// significant bits allow, with unit roundoff 2^-11 or 2^-8.
#[test]
fn pytorch_half_precision_files_match_within_rounding() {
    let mut full = Mlp::new(0);
    weights::load(&mut full, fixture("mlp_f32.safetensors")).unwrap();
    let cases = [
        (
            "mlp_f16.safetensors",
            &reference::MLP_F16_OUTPUTS,
            2f64.powi(-11),
        ),
        (
            "mlp_bf16.safetensors",
            &reference::MLP_BF16_OUTPUTS,
            2f64.powi(-8),
        ),
    ];
    for (file, expected_outputs, unit_roundoff) in cases {
        let mut net = Mlp::new(0);
        weights::load(&mut net, fixture(file)).unwrap();
        for (i, expected) in expected_outputs.iter().enumerate() {
            let x = input(i);
            let output = net.forward(&x);
            let reference = full.forward(&x);
            let bound = rounding_bound(&full, &x, unit_roundoff);
            for j in 0..3 {
                let value = f64::from(output[j]);
                let exact_error = (value - expected[j]).abs();
                assert!(
                    exact_error <= 1e-6,
                    "{file} input {i} output {j}: {value} vs {}",
                    expected[j]
                );
                // 1e-6 covers the f32 arithmetic of the two forward passes.
                let rounding_error = (value - f64::from(reference[j])).abs();
                assert!(
                    rounding_error <= bound[j] + 1e-6,
                    "{file} input {i} output {j}: moved {rounding_error:e}, bound {:e}",
                    bound[j]
                );
            }
        }
    }
}

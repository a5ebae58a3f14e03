//! The memory figures every generated network has as associated consts (`PARAM_BYTES`,
//! `GRAD_BYTES`, `TRACE_BYTES`, `FORWARD_BYTES`, `TRAIN_BYTES`), checked against
//! `size_of` of the generated types and against the layer widths, for networks of
//! built-in layers, with a frozen layer, with a nested network (trainable and frozen),
//! with a custom layer and with the built-in `Standardize`, whose statistics count as
//! parameter bytes but have no gradients.

use std::mem::size_of;

use static_nn::prelude::*;

network! {
    /// Built-in layers only, so the macro computes every figure but the trace itself.
    struct Plain<f32> {
        input: [3],
        hidden: Dense(8), Relu,
        Dropout(0.5),
        out: Dense(2), Softmax,
    }

    /// A frozen layer has parameters but no gradients.
    struct WithFrozen<f64> {
        input: [5],
        first: Dense(6), Tanh,
        #[frozen] middle: Dense(7), Tanh,
        out: Dense(3),
    }
}

network! {
    /// A backbone whose widest pair of activations (12 + 40) is wider than any pair of the
    /// networks that nest it.
    struct Features<f32> {
        input: [12],
        wide: Dense(40), Relu,
        narrow: Dense(4), Relu,
    }

    /// A trainable backbone with a head.
    struct WithBackbone<f32> {
        input: [12],
        backbone: Features,
        head: Dense(2),
    }

    /// The same backbone frozen.
    struct WithFrozenBackbone<f32> {
        input: [12],
        #[frozen] backbone: Features,
        head: Dense(2),
    }

    /// A custom layer (standardisation statistics, not trained) before a dense layer.
    struct WithCustom<f32> {
        input: [4],
        norm: Standardize<f32, 4> -> [4],
        out: Dense(3),
    }

    /// The built-in `Standardize`, whose statistics are buffers, so the gradients and the
    /// trace have no room for them.
    struct WithStandardize<f64> {
        input: [6],
        norm: Standardize,
        out: Dense(2),
    }
}

/// Checks that a figure of `bytes` is the size of `S`, a struct that contains a `Dense`
/// layer or gradient. On x86-64 each `Dense` starts on a 64-byte line, so the struct may
/// also contain padding: less than 64 bytes after each of its `parts` (the layers with values,
/// nested ones included, and one more for each nested network's own end).
fn assert_holds<S>(bytes: usize, parts: usize) {
    let size = size_of::<S>();
    let name = std::any::type_name::<S>();
    if cfg!(target_arch = "x86_64") {
        assert_eq!(size % 64, 0, "{name} takes {size} bytes");
        assert!(
            size >= bytes && size - bytes < 64 * parts,
            "{name} takes {size} bytes for {bytes} bytes of values"
        );
    } else {
        assert_eq!(size, bytes, "{name}");
    }
}

/// Returns the largest `(inputs + outputs) * scalar` over consecutive widths.
fn widest_pair(widths: &[usize], scalar: usize) -> usize {
    widths
        .windows(2)
        .map(|pair| (pair[0] + pair[1]) * scalar)
        .max()
        .unwrap_or(0)
}

#[test]
fn plain_params_match_struct_size() {
    assert_holds::<Plain>(Plain::PARAM_BYTES, 2);
    assert_eq!(Plain::PARAM_BYTES, Plain::PARAMS * size_of::<f32>());
    assert_eq!(Plain::PARAM_BYTES, ((3 * 8 + 8) + (8 * 2 + 2)) * 4);
}

#[test]
fn plain_grads_match_struct_size() {
    assert_holds::<PlainGrads>(Plain::GRAD_BYTES, 2);
    assert_eq!(Plain::GRAD_BYTES, Plain::PARAM_BYTES);
}

#[test]
fn plain_trace_matches_struct_size() {
    assert_eq!(Plain::TRACE_BYTES, size_of::<PlainTrace<1>>());
    // Every built-in layer records one column per sample.
    assert_eq!(4 * Plain::TRACE_BYTES, size_of::<PlainTrace<4>>());
    assert_ne!(Plain::TRACE_BYTES, 0);
}

#[test]
fn plain_forward_is_widest_pair() {
    // input 3, Dense 8, Relu 8, Dropout 8, Dense 2, Softmax 2.
    assert_eq!(Plain::FORWARD_BYTES, widest_pair(&[3, 8, 8, 8, 2, 2], 4));
    assert_eq!(Plain::FORWARD_BYTES, 64);
}

#[test]
fn train_bytes_adds_adam_state() {
    assert_eq!(
        Plain::TRAIN_BYTES,
        Plain::PARAM_BYTES + 3 * Plain::GRAD_BYTES + Plain::TRACE_BYTES + Plain::FORWARD_BYTES
    );
    // Adam keeps two buffers shaped like the gradients, plus a few settings.
    let adam = size_of::<Adam<PlainGrads>>();
    assert!(adam >= 2 * Plain::GRAD_BYTES, "Adam takes {adam} bytes");
    assert!(
        adam <= 2 * size_of::<PlainGrads>() + 128,
        "Adam takes {adam} bytes"
    );
}

#[test]
fn frozen_layer_has_params_not_grads() {
    let scalar = size_of::<f64>();
    let first = 5 * 6 + 6;
    let middle = 6 * 7 + 7;
    let out = 7 * 3 + 3;
    assert_holds::<WithFrozen>(WithFrozen::PARAM_BYTES, 3);
    assert_eq!(WithFrozen::PARAM_BYTES, (first + middle + out) * scalar);
    assert_holds::<WithFrozenGrads>(WithFrozen::GRAD_BYTES, 2);
    assert_eq!(WithFrozen::GRAD_BYTES, (first + out) * scalar);
    assert_eq!(WithFrozen::TRACE_BYTES, size_of::<WithFrozenTrace<1>>());
    assert_eq!(
        WithFrozen::FORWARD_BYTES,
        widest_pair(&[5, 6, 6, 7, 7, 3], scalar)
    );
}

#[test]
fn backbone_figures_match_struct_sizes() {
    assert_holds::<WithBackbone>(WithBackbone::PARAM_BYTES, 4);
    assert_eq!(
        WithBackbone::PARAM_BYTES,
        Features::PARAM_BYTES + (4 * 2 + 2) * 4
    );
    assert_holds::<WithBackboneGrads>(WithBackbone::GRAD_BYTES, 4);
    assert_eq!(WithBackbone::GRAD_BYTES, WithBackbone::PARAM_BYTES);
    assert_eq!(WithBackbone::TRACE_BYTES, size_of::<WithBackboneTrace<1>>());
    assert_eq!(
        WithBackbone::TRACE_BYTES,
        Features::TRACE_BYTES + 4 * size_of::<f32>()
    );
}

#[test]
fn backbone_forward_uses_its_own_figure() {
    assert_eq!(Features::FORWARD_BYTES, widest_pair(&[12, 40, 40, 4, 4], 4));
    // The outer network's own pairs are 12 + 4 and 4 + 2; the backbone's 12 + 40 wins.
    assert_eq!(WithBackbone::FORWARD_BYTES, Features::FORWARD_BYTES);
    assert!(WithBackbone::FORWARD_BYTES > widest_pair(&[12, 4, 2], 4));
}

#[test]
fn frozen_backbone_has_no_grads() {
    assert_holds::<WithFrozenBackbone>(WithFrozenBackbone::PARAM_BYTES, 4);
    assert_eq!(WithFrozenBackbone::PARAM_BYTES, WithBackbone::PARAM_BYTES);
    assert_holds::<WithFrozenBackboneGrads>(WithFrozenBackbone::GRAD_BYTES, 1);
    assert_eq!(WithFrozenBackbone::GRAD_BYTES, (4 * 2 + 2) * 4);
    assert_eq!(
        WithFrozenBackbone::TRACE_BYTES,
        size_of::<WithFrozenBackboneTrace<1>>()
    );
}

#[test]
fn custom_layer_counts_its_size() {
    assert_holds::<WithCustom>(WithCustom::PARAM_BYTES, 2);
    assert_eq!(
        WithCustom::PARAM_BYTES,
        size_of::<Standardize<f32, 4>>() + (4 * 3 + 3) * 4
    );
    assert_holds::<WithCustomGrads>(WithCustom::GRAD_BYTES, 2);
    assert_eq!(WithCustom::TRACE_BYTES, size_of::<WithCustomTrace<1>>());
    assert_eq!(WithCustom::FORWARD_BYTES, widest_pair(&[4, 4, 3], 4));
}

#[test]
fn standardize_counts_statistics_not_grads() {
    let scalar = size_of::<f64>();
    let statistics = 2 * 6;
    let out = 6 * 2 + 2;
    assert_holds::<WithStandardize>(WithStandardize::PARAM_BYTES, 2);
    assert_eq!(WithStandardize::PARAM_BYTES, (statistics + out) * scalar);
    assert_eq!(
        WithStandardize::PARAM_BYTES,
        (WithStandardize::PARAMS + <WithStandardize as Tensors<f64>>::BUFFER_VALUES) * scalar
    );
    assert_holds::<WithStandardizeGrads>(WithStandardize::GRAD_BYTES, 1);
    assert_eq!(WithStandardize::GRAD_BYTES, out * scalar);
    assert_eq!(
        WithStandardize::TRACE_BYTES,
        size_of::<WithStandardizeTrace<1>>()
    );
    assert_eq!(
        WithStandardize::FORWARD_BYTES,
        widest_pair(&[6, 6, 2], scalar)
    );
}

network! {
    /// Two values of statistics and two of the dense layer: on x86-64 the dense layer
    /// fills a line with padding, and the statistics another.
    struct Padded<f32> {
        input: [1],
        norm: Standardize,
        out: Dense(1),
    }
}

#[test]
fn padding_stays_out_of_figures() {
    assert_eq!(Padded::PARAM_BYTES, (2 + 2) * 4);
    assert_holds::<Padded>(Padded::PARAM_BYTES, 2);
    assert_eq!(Padded::GRAD_BYTES, 2 * 4);
    assert_holds::<PaddedGrads>(Padded::GRAD_BYTES, 1);
}

/// The figures are constants, so they size arrays and feed `const` assertions.
#[test]
fn figures_are_constants() {
    const BUFFER: [u8; Plain::FORWARD_BYTES] = [0; Plain::FORWARD_BYTES];
    const _: () = assert!(WithBackbone::TRAIN_BYTES > WithBackbone::PARAM_BYTES);
    assert_eq!(BUFFER.len(), 64);
}

/// A custom layer and a nested network in a module without the prelude: the expansion's
/// checks and figures must name everything by absolute paths.
mod no_prelude {
    #![no_implicit_prelude]

    ::static_nn::network! {
        /// A custom layer before a dense one.
        pub struct Normalised<f32> {
            input: [4],
            norm: ::static_nn::prelude::Standardize<f32, 4> -> [4],
            out: Dense(3),
        }

        /// The network above as a backbone.
        pub struct Nested<f32> {
            input: [4],
            backbone: Normalised,
            head: Dense(2),
        }
    }
}

#[test]
fn figures_without_prelude() {
    use no_prelude::{Nested, NestedGrads, Normalised};

    assert_holds::<Normalised>(Normalised::PARAM_BYTES, 2);
    assert_holds::<Nested>(Nested::PARAM_BYTES, 4);
    assert_holds::<NestedGrads>(Nested::GRAD_BYTES, 4);
    assert_eq!(Nested::FORWARD_BYTES, widest_pair(&[4, 4, 3], 4));
}

#[cfg(target_arch = "x86_64")]
network! {
    /// Large enough that glibc's allocator may serve it from `mmap`, 16 bytes past a page.
    struct Wide<f32> {
        input: [784],
        hidden: Dense(128), Relu,
        out: Dense(10),
    }
}

/// On x86-64 every `Dense` weight and gradient starts on a 64-byte line, wherever the
/// allocator would put a block of 4-byte floats, so vector loads of the first column do
/// not straddle two lines.
#[cfg(target_arch = "x86_64")]
#[test]
fn dense_layers_start_on_a_cache_line() {
    let net = Wide::new_boxed(7);
    let grads = Wide::zero_grads_boxed();
    let buffers = [
        ("net.hidden.weight", net.hidden.weight.as_ptr()),
        ("net.out.weight", net.out.weight.as_ptr()),
        ("grads.hidden.weight", grads.hidden.weight.as_ptr()),
        ("grads.out.weight", grads.out.weight.as_ptr()),
    ];
    for (name, start) in buffers {
        assert_eq!(start as usize % 64, 0, "{name} starts at {start:?}");
    }
    assert_eq!(std::mem::align_of::<Dense<f64, 3, 1>>(), 64);
    assert_eq!(
        std::mem::align_of::<static_nn::core::DenseGrads<f64, 3, 1>>(),
        64
    );
}

//! Hygiene of `network!`. The tests declare networks at module and function scope, in a
//! `#![no_implicit_prelude]` module and next to user items that shadow prelude and
//! primitive names. They check that visibility, attributes and doc comments pass
//! through, and cover `f64` scalars, a nested network, custom layers and the built-in
//! `Standardize`.
//!
//! `#![deny(warnings)]` turns every lint the expansion triggers into a build failure:
//! missing docs on the public networks below (so their doc comments must reach the
//! generated items), unused code, and naming lints. Each test also runs the network and
//! compares its output with the same computation written out by hand.
#![deny(warnings)]

use static_nn::core::Shape;
use static_nn::prelude::*;

/// Computes the output of a `Dense` layer element by element, as a reference.
fn dense_by_hand<T: Float, const IN: usize, const OUT: usize>(
    layer: &Dense<T, IN, OUT>,
    x: &SVector<T, IN>,
) -> SVector<T, OUT> {
    SVector::<T, OUT>::from_fn(|row, _| {
        let mut sum = layer.bias[row];
        for col in 0..IN {
            sum += layer.weight[(row, col)] * x[col];
        }
        sum
    })
}

fn relu_by_hand<T: Float, const N: usize>(x: SVector<T, N>) -> SVector<T, N> {
    x.map(|value| if value > T::zero() { value } else { T::zero() })
}

fn assert_close<const N: usize>(actual: &SVector<f64, N>, expected: &SVector<f64, N>) {
    for i in 0..N {
        let error = (actual[i] - expected[i]).abs();
        assert!(
            error <= 1e-12,
            "output {i}: got {}, expected {}",
            actual[i],
            expected[i]
        );
    }
}

fn assert_close_f32<const N: usize>(actual: &SVector<f32, N>, expected: &SVector<f32, N>) {
    for i in 0..N {
        let error = (actual[i] - expected[i]).abs();
        assert!(
            error <= 1e-5,
            "output {i}: got {}, expected {}",
            actual[i],
            expected[i]
        );
    }
}

/// The macro inside a function: the generated items are local to it.
#[test]
fn network_inside_function() {
    network! {
        struct Local<f32> {
            input: [2],
            hidden: Dense(3), Relu,
            out: Dense(1),
        }
    }

    let net = Local::new(7);
    let x = SVector::<f32, 2>::new(0.5, -1.5);
    let expected = dense_by_hand(&net.out, &relu_by_hand(dense_by_hand(&net.hidden, &x)));
    assert_close_f32(&net.forward(&x), &expected);
    assert_eq!(Local::PARAMS, 2 * 3 + 3 + 3 + 1);
}

/// An inline module without the prelude: the expansion must name everything by absolute
/// paths, including the derives it adds and the ones the declaration requests.
mod no_prelude {
    #![no_implicit_prelude]

    ::static_nn::network! {
        /// A network declared without the prelude in scope.
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        pub struct Bare<f64> {
            input: [2],
            hidden: Dense(4), Tanh,
            Dropout(0.25),
            out: Dense(2), Softmax,
        }

        /// A built-in `Standardize` without the prelude, whose buffers are listed by
        /// absolute paths too.
        pub struct BareStandardized<f64> {
            input: [2],
            norm: Standardize,
            out: Dense(1),
        }
    }
}

#[test]
fn network_without_implicit_prelude() {
    let net = no_prelude::Bare::new(3);
    let x = SVector::<f64, 2>::new(0.25, 0.75);
    let y = net.forward(&x);

    let hidden = dense_by_hand(&net.hidden, &x).map(f64::tanh);
    let logits = dense_by_hand(&net.out, &hidden);
    let exp = logits.map(|v| (v - logits.max()).exp());
    assert_close(&y, &(exp / exp.sum()));

    // Training mode runs dropout, so the trace type and `forward_train` work too.
    let (train_y, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(1));
    assert!(
        (train_y.sum() - 1.0).abs() < 1e-12,
        "softmax sums to {}",
        train_y.sum()
    );
    let (grads, grad_input) = net.backward(&trace, &SVector::<f64, 2>::new(1.0, -1.0));
    assert!(grad_input.iter().all(|value| value.is_finite()));
    assert_eq!(<no_prelude::BareGrads as Tensors<f64>>::COUNT, 4);
    assert_eq!(grads.clone().hidden.bias.len(), 4);
}

/// User items named like prelude items, like the primitives the expansion uses, and like
/// the crate itself.
#[allow(dead_code, non_camel_case_types)]
mod shadowed {
    // A module named like the crate: the expansion must use `::static_nn`, not
    // `static_nn`, which would resolve here. The macro is named by the absolute path for
    // the same reason.
    mod static_nn {}

    struct Result;
    struct Ok;
    struct Err;
    struct Option;
    struct Some;
    struct None;
    struct Vec;
    struct Box;
    struct String;
    struct Clone;
    struct Debug;
    struct Default;
    struct usize;
    struct u64;
    struct str;
    struct bool;
    struct Layer;
    struct Tensors;
    struct Network;
    struct Dense;
    struct Relu;
    struct Rng;
    struct SMatrix;
    struct SVector;
    struct Standardize;
    struct Shape;
    struct TensorInfo;

    ::static_nn::network! {
        /// A network declared among items that shadow every name the expansion uses.
        pub struct Shadowed<f32> {
            input: [3],
            hidden: Dense(4), Relu,
            gain: super::Gain<f32, 4> -> [4],
            out: Dense(2),
        }

        /// A built-in `Standardize` next to a user struct named `Standardize`.
        pub struct Standardized<f32> {
            input: [3],
            norm: Standardize -> [3],
            out: Dense(2),
        }
    }
}

#[test]
fn network_next_to_shadowing_items() {
    let net = shadowed::Shadowed::new(11);
    let x = SVector::<f32, 3>::new(1.0, -2.0, 0.5);
    let hidden = relu_by_hand(dense_by_hand(&net.hidden, &x));
    let expected = dense_by_hand(&net.out, &hidden.component_mul(&net.gain.gain));
    assert_close_f32(&net.forward(&x), &expected);

    let info = <shadowed::Shadowed as Tensors<f32>>::tensor_info(3);
    assert_eq!(
        info.map(|info| info.name.as_str().to_owned()).as_deref(),
        Some("out.weight")
    );
}

/// Computes `(x - mean) / std` element by element, dividing by 1 where `std` is 0.
fn standardize_by_hand<T: Float, const N: usize>(
    layer: &Standardize<T, N>,
    x: &SVector<T, N>,
) -> SVector<T, N> {
    SVector::<T, N>::from_fn(|row, _| {
        let std = layer.std[row];
        let divisor = if std == T::zero() { T::one() } else { std };
        (x[row] - layer.mean[row]) / divisor
    })
}

#[test]
fn standardize_next_to_shadowing_items() {
    let mut net = shadowed::Standardized::new(2);
    net.norm = Standardize::from_arrays([1.0, -2.0, 0.5], [2.0, 0.0, 4.0]);
    let x = SVector::<f32, 3>::new(3.0, 1.0, -1.5);
    let expected = dense_by_hand(&net.out, &standardize_by_hand(&net.norm, &x));
    assert_close_f32(&net.forward(&x), &expected);

    let names: Vec<String> = (0..<shadowed::Standardized as Tensors<f32>>::BUFFERS)
        .map(|i| {
            shadowed::Standardized::buffer_info(i)
                .unwrap()
                .name
                .to_string()
        })
        .collect();
    assert_eq!(names, ["norm.mean", "norm.std"]);
    assert_eq!(net.buffer(1), Some(&[2.0, 0.0, 4.0][..]));
}

#[test]
fn standardize_without_implicit_prelude() {
    let mut net = no_prelude::BareStandardized::new(4);
    net.norm = Standardize::from_arrays([0.5, -0.25], [0.125, 3.0]);
    let x = SVector::<f64, 2>::new(1.0, 2.0);
    let expected = dense_by_hand(&net.out, &standardize_by_hand(&net.norm, &x));
    assert_close(&net.forward(&x), &expected);
    assert_eq!(
        <no_prelude::BareStandardized as Tensors<f64>>::BUFFER_VALUES,
        4
    );
    assert_eq!(
        <no_prelude::BareStandardizedGrads as Tensors<f64>>::COUNT,
        2
    );
}

/// A module where `f32` names a user type: the declaration's `<f32>` must still mean the
/// primitive, which the expansion names as `::static_nn::__private::f32`.
#[allow(dead_code, non_camel_case_types)]
mod user_f32 {
    pub struct f32;

    ::static_nn::network! {
        /// A network whose scalar token `f32` is shadowed by a user struct.
        pub struct Primitive<f32> {
            input: [2],
            out: Dense(2),
        }
    }
}

#[test]
fn scalar_is_the_primitive_when_f32_is_shadowed() {
    let net = user_f32::Primitive::new(5);
    let x = SVector::<f32, 2>::new(3.0, -1.0);
    let y: SVector<f32, 2> = net.forward(&x);
    assert_close_f32(&y, &dense_by_hand(&net.out, &x));
    assert_eq!(user_f32::Primitive::summary().scalar, "f32");
}

/// A module that forbids unsafe code: the expansion's `unsafe impl Zeroable` is generated
/// code, which the `unsafe_code` lint does not report.
#[forbid(unsafe_code)]
mod forbids_unsafe {
    ::static_nn::network! {
        /// A network declared where unsafe code is forbidden.
        pub struct Safe<f32> {
            input: [2],
            out: Dense(2),
        }
    }
}

#[test]
fn network_where_unsafe_code_is_forbidden() {
    let net = forbids_unsafe::Safe::new(12);
    let x = SVector::<f32, 2>::new(-1.0, 4.0);
    assert_close_f32(&net.forward(&x), &dense_by_hand(&net.out, &x));
}

/// Visibility passes through to the network and its gradient and trace types.
mod visibility {
    ::static_nn::network! {
        /// A public network.
        pub struct Public<f32> {
            input: [2],
            out: Dense(1),
        }

        /// A network visible in the crate.
        pub(crate) struct CrateWide<f32> {
            input: [2],
            out: Dense(1),
        }

        /// A private network, used only inside this module.
        struct Private<f32> {
            input: [2],
            out: Dense(3),
        }
    }

    /// Runs the private network, which code outside this module cannot name.
    pub fn private_output(x: &::static_nn::prelude::SVector<f32, 2>) -> [f32; 3] {
        let y = Private::new(2).forward(x);
        [y[0], y[1], y[2]]
    }

    /// Returns the private network's output layer, for the reference computation.
    pub fn private_out_layer() -> ::static_nn::prelude::Dense<f32, 2, 3> {
        Private::new(2).out
    }
}

#[test]
fn visibility_passes_through() {
    let x = SVector::<f32, 2>::new(0.5, 0.25);

    let public = visibility::Public::new(1);
    let grads: visibility::PublicGrads = visibility::Public::zero_grads();
    assert_eq!(grads.out.weight.len(), 2);
    assert_close_f32(&public.forward(&x), &dense_by_hand(&public.out, &x));

    let crate_wide = visibility::CrateWide::new(1);
    let (_, trace): (_, visibility::CrateWideTrace<1>) =
        crate_wide.forward_train(&x, &mut Rng::seed_from_u64(0));
    assert_eq!(trace.out, x);

    let expected = dense_by_hand(&visibility::private_out_layer(), &x);
    let actual = visibility::private_output(&x);
    assert_close_f32(&SVector::<f32, 3>::from(actual), &expected);
}

network! {
    /// Attributes and doc comments on the network and its layers pass through.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Attributed<f32> {
        input: [3],
        /// The hidden layer.
        hidden: Dense(4), Relu,
        /// The output layer.
        out: Dense(2),
    }
}

#[test]
fn attributes_pass_through() {
    let net = Attributed::new(9);
    let copy = net.clone();
    assert_eq!(copy, net);
    assert_ne!(
        Attributed::new(10),
        net,
        "different seeds give different weights"
    );

    let debug = format!("{net:?}");
    assert!(debug.starts_with("Attributed {"), "Debug output: {debug}");
    assert!(debug.contains("hidden"), "Debug output: {debug}");
}

network! {
    /// Left out by `#[cfg]`: an impl left behind would name a missing type and fail to build.
    #[cfg(any())]
    pub struct ConfiguredOut<f32> {
        input: [2],
        out: Dense(2),
    }
}

network! {
    /// Kept by `#[cfg]`.
    #[cfg(all())]
    pub struct ConfiguredIn<f32> {
        input: [2],
        out: Dense(2),
    }
}

#[test]
fn cfg_applies_to_every_generated_item() {
    let net = ConfiguredIn::new(4);
    let x = SVector::<f32, 2>::new(1.0, 2.0);
    assert_close_f32(&net.forward(&x), &dense_by_hand(&net.out, &x));
}

network! {
    /// A double-precision network with every parameter-free activation.
    pub struct Wide64<f64> {
        input: [3],
        a: Dense(5), LeakyRelu(0.1),
        b: Dense(5 -> 4), Elu(0.5),
        c: Dense(3), Gelu, Sigmoid, Identity,
        out: Dense(2) -> [2],
    }
}

#[test]
fn f64_network_matches_hand_computation() {
    let mut net = Wide64::new(21);
    let x = SVector::<f64, 3>::new(0.3, -0.2, 0.5);

    let a = dense_by_hand(&net.a, &x).map(|v| if v > 0.0 { v } else { 0.1 * v });
    let b = dense_by_hand(&net.b, &a).map(|v| if v > 0.0 { v } else { 0.5 * v.exp_m1() });
    let c = dense_by_hand(&net.c, &b);
    let gelu = c.map(|v| 0.5 * v * (1.0 + erf_series(v / std::f64::consts::SQRT_2)));
    let sigmoid = gelu.map(|v| 1.0 / (1.0 + (-v).exp()));
    let expected = dense_by_hand(&net.out, &sigmoid);
    for i in 0..2 {
        let error = (net.forward(&x)[i] - expected[i]).abs();
        assert!(error < 1e-9, "output {i} differs by {error}");
    }

    let report = net.gradient_check(&x);
    assert!(report.max_error < 1e-6, "gradient check: {report:?}");
    assert_eq!(Wide64::summary().scalar, "f64");
}

/// The error function by its Maclaurin series, accurate to about 1e-15 for |x| < 3,
/// so the reference does not depend on the library's own `erf`.
fn erf_series(x: f64) -> f64 {
    assert!(
        x.abs() < 3.0,
        "series reference used outside its range: {x}"
    );
    let mut term = x;
    let mut sum = x;
    for n in 1..200 {
        let n = n as f64;
        term *= -x * x / n;
        sum += term / (2.0 * n + 1.0);
    }
    sum * 2.0 / std::f64::consts::PI.sqrt()
}

network! {
    /// A backbone whose output feeds the head below.
    pub struct Backbone<f32> {
        input: [4],
        features: Dense(3), Relu,
    }

    /// A head on top of a nested network.
    pub struct WithBackbone<f32> {
        input: [4],
        backbone: Backbone,
        head: Dense(3 -> 2),
    }
}

#[test]
fn nested_network_is_a_layer() {
    let net = WithBackbone::new(13);
    let x = SVector::<f32, 4>::new(0.1, 0.2, -0.3, 0.4);
    let features = relu_by_hand(dense_by_hand(&net.backbone.features, &x));
    assert_close_f32(&net.forward(&x), &dense_by_hand(&net.head, &features));

    assert_eq!(WithBackbone::OUTPUT, 2);
    assert_eq!(WithBackbone::PARAMS, Backbone::PARAMS + 3 * 2 + 2);
    let first = <WithBackbone as Tensors<f32>>::tensor_info(0);
    assert_eq!(
        first.map(|info| info.name.as_str().to_owned()).as_deref(),
        Some("backbone.features.weight")
    );
}

/// Multiplies each value by its own learnable gain: a custom layer with parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Gain<T: Float, const N: usize> {
    /// One factor per value.
    pub gain: SVector<T, N>,
}

// SAFETY: a vector of floats, for which all-zero bytes are 0.0.
unsafe impl<T: Float, const N: usize> static_nn::core::bytemuck::Zeroable for Gain<T, N> {}

impl<T: Float, const N: usize> Tensors<T> for Gain<T, N> {
    const COUNT: usize = 1;
    const PARAMS: usize = N;

    fn tensor(&self, i: usize) -> Option<&[T]> {
        (i == 0).then(|| self.gain.as_slice())
    }

    fn tensor_mut(&mut self, i: usize) -> Option<&mut [T]> {
        (i == 0).then(|| self.gain.as_mut_slice())
    }

    fn tensor_info(i: usize) -> Option<static_nn::core::TensorInfo> {
        (i == 0).then(|| static_nn::core::TensorInfo {
            name: static_nn::core::TensorName::new("gain"),
            shape: Shape::vector(N),
            column_major: false,
        })
    }
}

impl<T: Float, const N: usize> Layer<T, N, N> for Gain<T, N> {
    type Trace<const B: usize> = SMatrix<T, N, B>;
    type Grads = Gain<T, N>;
    const KIND: &'static str = "Gain";

    fn forward<const B: usize>(&self, x: &SMatrix<T, N, B>) -> SMatrix<T, N, B> {
        SMatrix::<T, N, B>::from_fn(|row, col| x[(row, col)] * self.gain[row])
    }

    fn forward_train<const B: usize>(
        &self,
        x: &SMatrix<T, N, B>,
        _rng: &mut Rng,
    ) -> (SMatrix<T, N, B>, SMatrix<T, N, B>) {
        (Layer::<T, N, N>::forward(self, x), *x)
    }

    fn backward<const B: usize>(
        &self,
        trace: &SMatrix<T, N, B>,
        grad_out: &SMatrix<T, N, B>,
        grads: &mut Gain<T, N>,
    ) -> SMatrix<T, N, B> {
        for row in 0..N {
            for col in 0..B {
                grads.gain[row] += grad_out[(row, col)] * trace[(row, col)];
            }
        }
        SMatrix::<T, N, B>::from_fn(|row, col| grad_out[(row, col)] * self.gain[row])
    }

    fn init(&mut self, rng: &mut Rng) {
        for value in self.gain.iter_mut() {
            *value = rng.uniform(T::from_f64_lossy(0.5), T::from_f64_lossy(1.5));
        }
    }
}

network! {
    /// A network with a custom layer between two dense layers.
    pub struct WithCustom<f64> {
        input: [3],
        hidden: Dense(4),
        gain: Gain<f64, 4> -> [4],
        Tanh,
        out: Dense(2),
    }
}

#[test]
fn custom_layer_runs_and_trains() {
    let mut net = WithCustom::new(17);
    let x = SVector::<f64, 3>::new(0.4, -0.1, 0.9);
    let hidden = dense_by_hand(&net.hidden, &x);
    let gained = hidden.component_mul(&net.gain.gain).map(f64::tanh);
    assert_close(&net.forward(&x), &dense_by_hand(&net.out, &gained));

    let names: Vec<_> = (0..<WithCustom as Tensors<f64>>::COUNT)
        .filter_map(<WithCustom as Tensors<f64>>::tensor_info)
        .map(|info| info.name.as_str().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "hidden.weight",
            "hidden.bias",
            "gain.gain",
            "out.weight",
            "out.bias"
        ]
    );

    let report = net.gradient_check(&x);
    assert!(report.max_error < 1e-6, "gradient check: {report:?}");
}

network! {
    /// Layer names that collide with the generated code's own names: `rng` is the
    /// training pass's random number generator, `grads` and `trace` are parameters of
    /// `backward`, and `layer_2` is the generated field name of the unnamed `Relu`.
    pub struct CollidingNames<f32> {
        input: [2],
        rng: Dense(3), Relu,
        Dropout(0.5),
        grads: Dense(3),
        trace: Dense(3),
        layer_2: Dense(2),
    }
}

#[test]
fn layer_names_do_not_capture_generated_names() {
    let net = CollidingNames::new(8);
    let x = SVector::<f32, 2>::new(1.0, 0.5);
    let after_rng = relu_by_hand(dense_by_hand(&net.rng, &x));
    let expected = dense_by_hand(
        &net.layer_2,
        &dense_by_hand(&net.trace, &dense_by_hand(&net.grads, &after_rng)),
    );
    assert_close_f32(&net.forward(&x), &expected);

    // Dropout draws from the generator passed to `forward_train` (nothing before it
    // draws), so its mask equals that of a lone dropout layer given the same seed.
    let (_, trace) = net.forward_train(&x, &mut Rng::seed_from_u64(3));
    let (_, lone_mask) = Layer::<f32, 3, 3>::forward_train(
        &Dropout::new(0.5f32),
        &after_rng,
        &mut Rng::seed_from_u64(3),
    );
    assert_eq!(trace.layer_3, lone_mask);

    // The unnamed `Relu` got `layer_2_`, because the user took `layer_2`.
    assert_eq!(trace.layer_2_.input, dense_by_hand(&net.rng, &x));
}

/// A custom layer type named `B`, like the batch-size parameter of the generated code,
/// in scope of the declaration.
mod type_named_b {
    use static_nn::prelude::*;

    /// The custom layer under a one-letter name.
    pub type B = super::Gain<f64, 2>;

    network! {
        /// A network whose custom layer type is called `B`.
        pub struct WithTypeNamedB<f64> {
            input: [2],
            scale: B -> [2],
        }
    }
}

#[test]
fn custom_layer_type_named_b() {
    let net = type_named_b::WithTypeNamedB::new(6);
    let x = SVector::<f64, 2>::new(2.0, -3.0);
    assert_close(&net.forward(&x), &x.component_mul(&net.scale.gain));

    let batch = SMatrix::<f64, 2, 3>::from_fn(|row, col| (row + 2 * col) as f64);
    let y = net.forward_batch(&batch);
    for col in 0..3 {
        let column = batch.column(col).into_owned();
        assert_close(&y.column(col).into_owned(), &net.forward(&column));
    }
}

/// The hand-written expansion in `examples/expanded.rs`; its `main` is unused here.
#[allow(dead_code)]
#[path = "../examples/expanded.rs"]
mod expanded_example;

#[test]
fn expanded_example_matches_macro() {
    assert_eq!(expanded_example::compare_with_macro(), Ok(()));
}

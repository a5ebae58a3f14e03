//! What `network!` writes, for reviewers.
//!
//! The declaration below is followed by module `by_hand`, a hand-formatted copy of the
//! macro's output for it, renamed to `HandIrisNet`. The copy differs from the real
//! output in four ways:
//!
//! - it imports public paths such as `static_nn::core::Dense`, where the macro writes
//!   absolute paths into the facade's hidden module (`::static_nn::__private::Dense`);
//!   `NetworkMemory`, which has no public path, comes from that module;
//! - it shortens the gradient types in the gradients' `Tensors` impl with one alias;
//! - it keeps the name strings `"IrisNet"`, so that both summaries compare equal;
//! - it leaves out the `Layer` methods for threads that share a training step
//!   (`split_params` and the methods whose names end in `_team`), which follow the
//!   same pattern through the layers' team methods.
//!
//! Everything else is the expansion as `nn-macros/src/expand.rs` writes it, reformatted.
//!
//! `main` checks that both networks compute the same outputs, traces, gradients and
//! summaries from the same seed, and `tests/hygiene.rs` runs that check under
//! `cargo test`, so a change to the expansion that alters behaviour fails until this
//! copy is updated.
//!
//! Run it with `cargo run --example expanded`.

use static_nn::prelude::*;

network! {
    /// Classifies iris flowers from four measurements.
    #[derive(Clone, Debug)]
    pub struct IrisNet<f32> {
        input: [4],
        hidden: Dense(8), Relu,
        Dropout(0.25),
        out: Dense(3),
    }
}

/// The expansion of the declaration above, with `IrisNet` renamed to `HandIrisNet`.
pub mod by_hand {
    use static_nn::core::bytemuck::Zeroable;
    use static_nn::core::tensors::UnknownLayer;
    use static_nn::core::{
        Dense, Dropout, Float, GradCheck, Init, Layer, Network, NoGrads, Relu, Rng, SMatrix,
        SVector, Summary, SummaryRow, TensorInfo, Tensors, gradient_check,
    };
    // The one item of the facade's hidden module that has no public path.
    use static_nn::__private::NetworkMemory;

    // The network struct: one public field per layer with parameters. The declaration's
    // attributes and doc comments come first.

    /// Classifies iris flowers from four measurements.
    #[derive(Clone, Debug)]
    pub struct HandIrisNet {
        /// The layer `hidden`.
        pub hidden: Dense<f32, 4, 8>,
        /// The layer `out`.
        pub out: Dense<f32, 8, 3>,
    }

    // The gradients: the same fields, each the `Grads` of its layer at its position
    // (`DenseGrads<f32, 4, 8>` here). A layer declared `#[frozen]` would be a field of type
    // `Frozen<Dense<f32, 4, 8>>` above and would have no field here.

    /// The parameter gradients of [`HandIrisNet`], one field per layer with parameters that is not frozen.
    #[derive(Clone, Debug)]
    pub struct HandIrisNetGrads {
        /// The gradient of layer `hidden`'s parameters.
        pub hidden: <Dense<f32, 4, 8> as Layer<f32, 4, 8>>::Grads,
        /// The gradient of layer `out`'s parameters.
        pub out: <Dense<f32, 8, 3> as Layer<f32, 8, 3>>::Grads,
    }

    // The trace: what each layer recorded in the training pass. Unnamed layers get the
    // field `layer_<index>`, counting the input as entry 0. The batch size is written
    // `{ B }` wherever it is used, so a user type named `B` cannot capture it.

    /// The record of the training forward pass of [`HandIrisNet`] for a batch of `B` samples,
    /// which `backward` reads.
    #[derive(Clone, Debug)]
    pub struct HandIrisNetTrace<const B: usize> {
        /// The record of this layer.
        pub hidden: <Dense<f32, 4, 8> as Layer<f32, 4, 8>>::Trace<{ B }>,
        /// The record of this layer.
        pub layer_2: <Relu as Layer<f32, 8, 8>>::Trace<{ B }>,
        /// The record of this layer.
        pub layer_3: <Dropout<f32> as Layer<f32, 8, 8>>::Trace<{ B }>,
        /// The record of this layer.
        pub out: <Dense<f32, 8, 3> as Layer<f32, 8, 3>>::Trace<{ B }>,
    }

    // SAFETY: every field is a `Dense` (matrices of floats, for which all-zero bytes
    // are 0.0) or a user layer, which the `where` clause requires to be `Zeroable`.
    unsafe impl Zeroable for HandIrisNet {}

    // SAFETY: every field is the `Grads` of a `Layer`, which that trait requires to be
    // `Zeroable`.
    unsafe impl Zeroable for HandIrisNetGrads {}

    // The inherent API delegates to the trait impls below. This network has no custom
    // layer and no nested network. A network with one also gets a `where` clause on this
    // impl, on the impls below and on the gradient and trace structs, and one `const _`
    // check per such layer.

    #[allow(dead_code)]
    impl HandIrisNet {
        /// The number of input values per sample.
        pub const INPUT: usize = 4;
        /// The number of output values per sample.
        pub const OUTPUT: usize = 3;
        /// The number of scalar parameters.
        pub const PARAMS: usize = <Self as Tensors<f32>>::PARAMS;
        /// The number of scalar parameters that training updates: those of layers that
        /// are not frozen.
        pub const TRAINABLE_PARAMS: usize = <Self as Tensors<f32>>::TRAINABLE_PARAMS;

        // The memory figures. The macro computes a figure itself where it knows every size,
        // and writes a `const` expression otherwise: always for the trace, whose layout is
        // nn-core's business, and for sizes that depend on a nested network or a custom
        // layer (`size_of` of a custom layer, and a nested network's own figures).

        /// The bytes of the parameters and buffers (the statistics of `Standardize`
        /// layers): for built-in layers `PARAMS` plus `Tensors::BUFFER_VALUES`, times
        /// the scalar's size, and `size_of` of each custom layer. That is the size
        /// of the network struct, except on x86-64, where each `Dense` layer starts
        /// on a 64-byte cache line and the struct may hold padding. A `static` of a
        /// network with `#[weights]` keeps them in read-only memory (flash).
        pub const PARAM_BYTES: usize = 268;
        /// The bytes of the parameter gradients, counted as `PARAM_BYTES`: the size
        /// of the gradients struct (except for the padding on x86-64), which has no
        /// field for frozen layers.
        pub const GRAD_BYTES: usize = 268;
        /// The bytes of the training trace for one sample: the size of the trace
        /// struct for `B = 1`. Built-in layers record `B` columns, so a batch of `B`
        /// takes `B` times as much.
        pub const TRACE_BYTES: usize =
            (::core::mem::size_of::<<Dense<f32, 4, 8> as Layer<f32, 4, 8>>::Trace<1>>()
                + ::core::mem::size_of::<<Relu as Layer<f32, 8, 8>>::Trace<1>>()
                + ::core::mem::size_of::<<Dropout<f32> as Layer<f32, 8, 8>>::Trace<1>>()
                + ::core::mem::size_of::<<Dense<f32, 8, 3> as Layer<f32, 8, 3>>::Trace<1>>());
        /// An estimate of the stack the activations of `forward` take for one sample:
        /// the largest sum of one layer's input and output values, times the scalar's
        /// size (for a nested network, its own figure if that is larger). The
        /// compiler may keep more copies or fewer, so this is not a measurement.
        pub const FORWARD_BYTES: usize = 64;
        /// An estimate of the memory one training step on one sample with `Adam`
        /// needs: the parameters, their gradients, Adam's two moment buffers (each
        /// the size of the gradients), the trace and the activations of one layer:
        /// `PARAM_BYTES + 3 * GRAD_BYTES + TRACE_BYTES + FORWARD_BYTES`. Plain SGD
        /// without momentum needs two gradients' worth less.
        pub const TRAIN_BYTES: usize =
            Self::PARAM_BYTES + 3 * Self::GRAD_BYTES + Self::TRACE_BYTES + Self::FORWARD_BYTES;

        // A declaration with `#[weights("file")]` also gets `pub const BAKED: Self`, built
        // from one byte-string literal per tensor:
        // `Dense { weight: baked_matrix::<f32, 8, 4, 128>(b"..."), bias: ... }`.

        /// Creates the network with every layer initialised from `seed`.
        ///
        /// The network is built on the stack; for large networks use `new_boxed`.
        pub fn new(seed: u64) -> Self {
            let mut network = <Self as Zeroable>::zeroed();
            <Self as Network>::init(&mut network, &mut Rng::seed_from_u64(seed));
            network
        }

        /// Runs inference on one sample. Allocates nothing.
        #[inline]
        pub fn forward(&self, x: &SVector<f32, 4>) -> SVector<f32, 3> {
            <Self as Layer<f32, 4, 3>>::forward(self, x)
        }

        /// Runs inference on a batch with one sample per column.
        #[inline]
        pub fn forward_batch<const B: usize>(
            &self,
            x: &SMatrix<f32, 4, { B }>,
        ) -> SMatrix<f32, 3, { B }> {
            <Self as Layer<f32, 4, 3>>::forward(self, x)
        }

        /// Runs the training forward pass (dropout active, drawing from `rng`) on a batch
        /// and returns the output with the trace that `backward` needs. A single sample
        /// is the batch size 1 (`SVector`).
        pub fn forward_train<const B: usize>(
            &self,
            x: &SMatrix<f32, 4, { B }>,
            rng: &mut Rng,
        ) -> (SMatrix<f32, 3, { B }>, HandIrisNetTrace<{ B }>) {
            <Self as Layer<f32, 4, 3>>::forward_train(self, x, rng)
        }

        /// Returns the parameter gradients and the input gradient for `grad_out`, the
        /// gradient of the loss with respect to the output.
        ///
        /// The gradients are built on the stack; for large networks use
        /// `backward_into` with gradients from `zero_grads_boxed`.
        pub fn backward<const B: usize>(
            &self,
            trace: &HandIrisNetTrace<{ B }>,
            grad_out: &SMatrix<f32, 3, { B }>,
        ) -> (HandIrisNetGrads, SMatrix<f32, 4, { B }>) {
            let mut grads = <HandIrisNetGrads as Zeroable>::zeroed();
            let grad_input = self.backward_into(trace, grad_out, &mut grads);
            (grads, grad_input)
        }

        /// Adds the parameter gradients to `grads` in place and returns the input
        /// gradient.
        pub fn backward_into<const B: usize>(
            &self,
            trace: &HandIrisNetTrace<{ B }>,
            grad_out: &SMatrix<f32, 3, { B }>,
            grads: &mut HandIrisNetGrads,
        ) -> SMatrix<f32, 4, { B }> {
            <Self as Layer<f32, 4, 3>>::backward(self, trace, grad_out, grads)
        }

        /// Adds the parameter gradients to `grads` in place, skipping the input gradient.
        pub fn accumulate_grads<const B: usize>(
            &self,
            trace: &HandIrisNetTrace<{ B }>,
            grad_out: &SMatrix<f32, 3, { B }>,
            grads: &mut HandIrisNetGrads,
        ) {
            <Self as Layer<f32, 4, 3>>::accumulate_grads(self, trace, grad_out, grads)
        }

        /// Returns zero gradients, built on the stack.
        pub fn zero_grads() -> HandIrisNetGrads {
            <HandIrisNetGrads as Zeroable>::zeroed()
        }

        /// Returns the table of layers, output shapes and parameter counts; print it
        /// with `{}`.
        pub fn summary() -> Summary {
            <Self as Network>::summary()
        }

        /// Compares the backward pass with central finite differences at `x` and
        /// returns the worst error (see `static_nn::core::gradient_check`).
        pub fn gradient_check(&mut self, x: &SVector<f32, 4>) -> GradCheck {
            self.gradient_check_batch(x)
        }

        /// Re-initialises the layer named `layer` with its declared initialiser, drawing
        /// from `rng`; every other tensor keeps its value.
        ///
        /// `layer` names a layer with parameters, such as `out`. A nested network is
        /// re-initialised as a whole; for one of its layers, call its own `reinit`
        /// (`net.backbone.reinit("hidden", rng)`). A layer declared `#[frozen]` is
        /// re-initialised too when named.
        ///
        /// # Errors
        ///
        /// `UnknownLayer`, whose message lists the valid names, when the network has no
        /// such layer. Nothing changes then.
        pub fn reinit(&mut self, layer: &str, rng: &mut Rng) -> Result<(), UnknownLayer> {
            // A frozen layer is initialised through its declared type:
            // `self.hidden.0.init_with(...)`.
            if layer == "hidden" {
                self.hidden.init_with(Init::HeUniform, rng);
                return Result::Ok(());
            }
            if layer == "out" {
                self.out.init_with(Init::GlorotUniform, rng);
                return Result::Ok(());
            }
            Result::Err(UnknownLayer::new(layer, &["hidden", "out"]))
        }

        /// Like `gradient_check`, for a batch.
        pub fn gradient_check_batch<const B: usize>(
            &mut self,
            x: &SMatrix<f32, 4, { B }>,
        ) -> GradCheck {
            let step = <f32 as Float>::GRAD_CHECK_STEP;
            gradient_check::<f32, Self, 4, 3, { B }>(self, x, step)
        }
    }

    // The network is itself a `Layer`, which is how it nests in another network. Each
    // step names the layer's `Layer` impl at its position, so shapes are checked by the
    // compiler; parameter-free layers are constants.

    #[automatically_derived]
    impl Layer<f32, 4, 3> for HandIrisNet {
        type Trace<const B: usize> = HandIrisNetTrace<{ B }>;
        type Grads = HandIrisNetGrads;
        const KIND: &'static str = "IrisNet";

        #[inline]
        fn forward<const B: usize>(&self, __x0: &SMatrix<f32, 4, { B }>) -> SMatrix<f32, 3, { B }> {
            let __x1 = <Dense<f32, 4, 8> as Layer<f32, 4, 8>>::forward(&self.hidden, __x0);
            let __x2 = <Relu as Layer<f32, 8, 8>>::forward(&Relu, &__x1);
            let __x3 = <Dropout<f32> as Layer<f32, 8, 8>>::forward(&Dropout::new(0.25f32), &__x2);
            <Dense<f32, 8, 3> as Layer<f32, 8, 3>>::forward(&self.out, &__x3)
        }

        fn forward_train<const B: usize>(
            &self,
            __x0: &SMatrix<f32, 4, { B }>,
            rng: &mut Rng,
        ) -> (SMatrix<f32, 3, { B }>, HandIrisNetTrace<{ B }>) {
            let (__x1, __trace_hidden) =
                <Dense<f32, 4, 8> as Layer<f32, 4, 8>>::forward_train(&self.hidden, __x0, rng);
            let (__x2, __trace_layer_2) =
                <Relu as Layer<f32, 8, 8>>::forward_train(&Relu, &__x1, rng);
            let (__x3, __trace_layer_3) = <Dropout<f32> as Layer<f32, 8, 8>>::forward_train(
                &Dropout::new(0.25f32),
                &__x2,
                rng,
            );
            let (__x4, __trace_out) =
                <Dense<f32, 8, 3> as Layer<f32, 8, 3>>::forward_train(&self.out, &__x3, rng);
            (
                __x4,
                HandIrisNetTrace {
                    hidden: __trace_hidden,
                    layer_2: __trace_layer_2,
                    layer_3: __trace_layer_3,
                    out: __trace_out,
                },
            )
        }

        fn backward<const B: usize>(
            &self,
            trace: &HandIrisNetTrace<{ B }>,
            grad_out: &SMatrix<f32, 3, { B }>,
            grads: &mut HandIrisNetGrads,
        ) -> SMatrix<f32, 4, { B }> {
            let __g3 = <Dense<f32, 8, 3> as Layer<f32, 8, 3>>::backward(
                &self.out,
                &trace.out,
                grad_out,
                &mut grads.out,
            );
            let __g2 = <Dropout<f32> as Layer<f32, 8, 8>>::backward(
                &Dropout::new(0.25f32),
                &trace.layer_3,
                &__g3,
                &mut NoGrads,
            );
            let __g1 =
                <Relu as Layer<f32, 8, 8>>::backward(&Relu, &trace.layer_2, &__g2, &mut NoGrads);
            <Dense<f32, 4, 8> as Layer<f32, 4, 8>>::backward(
                &self.hidden,
                &trace.hidden,
                &__g1,
                &mut grads.hidden,
            )
        }

        // Like `backward`, but the first layer with parameters only accumulates its
        // gradients, and layers before it are skipped.
        fn accumulate_grads<const B: usize>(
            &self,
            trace: &HandIrisNetTrace<{ B }>,
            grad_out: &SMatrix<f32, 3, { B }>,
            grads: &mut HandIrisNetGrads,
        ) {
            let __g3 = <Dense<f32, 8, 3> as Layer<f32, 8, 3>>::backward(
                &self.out,
                &trace.out,
                grad_out,
                &mut grads.out,
            );
            let __g2 = <Dropout<f32> as Layer<f32, 8, 8>>::backward(
                &Dropout::new(0.25f32),
                &trace.layer_3,
                &__g3,
                &mut NoGrads,
            );
            let __g1 =
                <Relu as Layer<f32, 8, 8>>::backward(&Relu, &trace.layer_2, &__g2, &mut NoGrads);
            <Dense<f32, 4, 8> as Layer<f32, 4, 8>>::accumulate_grads(
                &self.hidden,
                &trace.hidden,
                &__g1,
                &mut grads.hidden,
            );
        }

        fn backward_input<const B: usize>(
            &self,
            trace: &HandIrisNetTrace<{ B }>,
            grad_out: &SMatrix<f32, 3, { B }>,
        ) -> SMatrix<f32, 4, { B }> {
            let __g3 = <Dense<f32, 8, 3> as Layer<f32, 8, 3>>::backward_input(
                &self.out, &trace.out, grad_out,
            );
            let __g2 = <Dropout<f32> as Layer<f32, 8, 8>>::backward_input(
                &Dropout::new(0.25f32),
                &trace.layer_3,
                &__g3,
            );
            let __g1 = <Relu as Layer<f32, 8, 8>>::backward_input(&Relu, &trace.layer_2, &__g2);
            <Dense<f32, 4, 8> as Layer<f32, 4, 8>>::backward_input(
                &self.hidden,
                &trace.hidden,
                &__g1,
            )
        }

        fn init(&mut self, rng: &mut Rng) {
            <Self as Network>::init(self, rng)
        }

        // `forward_train`, the caller's gradient of the outputs and `accumulate_grads` in
        // one body. Each layer's output and trace stay where the layer returned them, and
        // a layer whose trace is its input (`Dense`, `Relu`) records none: its input is
        // used.
        fn accumulate_pass<__R, __F, const B: usize>(
            &self,
            __x0: &SMatrix<f32, 4, { B }>,
            rng: &mut Rng,
            grads: &mut HandIrisNetGrads,
            output_grad: __F,
        ) -> (__R, SMatrix<f32, 3, { B }>)
        where
            __F: FnOnce(&SMatrix<f32, 3, { B }>) -> (__R, SMatrix<f32, 3, { B }>),
        {
            let __traced_hidden;
            let __untraced_hidden;
            let (__x1, __trace_hidden) =
                match <Dense<f32, 4, 8> as Layer<f32, 4, 8>>::input_trace(__x0) {
                    Option::Some(__input) => {
                        __untraced_hidden =
                            <Dense<f32, 4, 8> as Layer<f32, 4, 8>>::forward_train_untraced(
                                &self.hidden,
                                __x0,
                                rng,
                            );
                        (&__untraced_hidden, __input)
                    }
                    Option::None => {
                        __traced_hidden = <Dense<f32, 4, 8> as Layer<f32, 4, 8>>::forward_train(
                            &self.hidden,
                            __x0,
                            rng,
                        );
                        (&__traced_hidden.0, &__traced_hidden.1)
                    }
                };
            let __traced_layer_2;
            let __untraced_layer_2;
            let (__x2, __trace_layer_2) = match <Relu as Layer<f32, 8, 8>>::input_trace(__x1) {
                Option::Some(__input) => {
                    __untraced_layer_2 =
                        <Relu as Layer<f32, 8, 8>>::forward_train_untraced(&Relu, __x1, rng);
                    (&__untraced_layer_2, __input)
                }
                Option::None => {
                    __traced_layer_2 = <Relu as Layer<f32, 8, 8>>::forward_train(&Relu, __x1, rng);
                    (&__traced_layer_2.0, &__traced_layer_2.1)
                }
            };
            let __traced_layer_3;
            let __untraced_layer_3;
            let (__x3, __trace_layer_3) =
                match <Dropout<f32> as Layer<f32, 8, 8>>::input_trace(__x2) {
                    Option::Some(__input) => {
                        __untraced_layer_3 =
                            <Dropout<f32> as Layer<f32, 8, 8>>::forward_train_untraced(
                                &Dropout::new(0.25f32),
                                __x2,
                                rng,
                            );
                        (&__untraced_layer_3, __input)
                    }
                    Option::None => {
                        __traced_layer_3 = <Dropout<f32> as Layer<f32, 8, 8>>::forward_train(
                            &Dropout::new(0.25f32),
                            __x2,
                            rng,
                        );
                        (&__traced_layer_3.0, &__traced_layer_3.1)
                    }
                };
            let __traced_out;
            let __untraced_out;
            let (__x4, __trace_out) =
                match <Dense<f32, 8, 3> as Layer<f32, 8, 3>>::input_trace(__x3) {
                    Option::Some(__input) => {
                        __untraced_out =
                            <Dense<f32, 8, 3> as Layer<f32, 8, 3>>::forward_train_untraced(
                                &self.out, __x3, rng,
                            );
                        (&__untraced_out, __input)
                    }
                    Option::None => {
                        __traced_out = <Dense<f32, 8, 3> as Layer<f32, 8, 3>>::forward_train(
                            &self.out, __x3, rng,
                        );
                        (&__traced_out.0, &__traced_out.1)
                    }
                };
            let (__result, __grad_out) = output_grad(__x4);
            let grad_out = &__grad_out;
            let __g3 = <Dense<f32, 8, 3> as Layer<f32, 8, 3>>::backward(
                &self.out,
                __trace_out,
                grad_out,
                &mut grads.out,
            );
            let __g2 = <Dropout<f32> as Layer<f32, 8, 8>>::backward(
                &Dropout::new(0.25f32),
                __trace_layer_3,
                &__g3,
                &mut NoGrads,
            );
            let __g1 =
                <Relu as Layer<f32, 8, 8>>::backward(&Relu, __trace_layer_2, &__g2, &mut NoGrads);
            <Dense<f32, 4, 8> as Layer<f32, 4, 8>>::accumulate_grads(
                &self.hidden,
                __trace_hidden,
                &__g1,
                &mut grads.hidden,
            );
            (__result, *__x4)
        }
    }

    // `Tensors` walks the layers' tensors in declaration order: tensor `i` belongs to the
    // first layer whose count exceeds what is left of `i`. The gradients get the same
    // impl over their own fields. The network's trainable view (`trainable_index`) skips
    // the tensors of frozen layers, whose `TRAINABLE_COUNT` is 0, so trainable tensor `i`
    // of the network and tensor `i` of the gradients are the same parameter.

    #[automatically_derived]
    impl Tensors<f32> for HandIrisNet {
        const COUNT: usize =
            <Dense<f32, 4, 8> as Tensors<f32>>::COUNT + <Dense<f32, 8, 3> as Tensors<f32>>::COUNT;
        const PARAMS: usize =
            <Dense<f32, 4, 8> as Tensors<f32>>::PARAMS + <Dense<f32, 8, 3> as Tensors<f32>>::PARAMS;

        fn tensor(&self, i: usize) -> Option<&[f32]> {
            if i < <Dense<f32, 4, 8> as Tensors<f32>>::COUNT {
                return Tensors::<f32>::tensor(&self.hidden, i);
            }
            let i = i - <Dense<f32, 4, 8> as Tensors<f32>>::COUNT;
            if i < <Dense<f32, 8, 3> as Tensors<f32>>::COUNT {
                return Tensors::<f32>::tensor(&self.out, i);
            }
            Option::None
        }

        fn tensor_mut(&mut self, i: usize) -> Option<&mut [f32]> {
            if i < <Dense<f32, 4, 8> as Tensors<f32>>::COUNT {
                return Tensors::<f32>::tensor_mut(&mut self.hidden, i);
            }
            let i = i - <Dense<f32, 4, 8> as Tensors<f32>>::COUNT;
            if i < <Dense<f32, 8, 3> as Tensors<f32>>::COUNT {
                return Tensors::<f32>::tensor_mut(&mut self.out, i);
            }
            Option::None
        }

        fn tensor_info(i: usize) -> Option<TensorInfo> {
            if i < <Dense<f32, 4, 8> as Tensors<f32>>::COUNT {
                return <Dense<f32, 4, 8> as Tensors<f32>>::tensor_info(i)
                    .map(|info| info.prefixed("hidden"));
            }
            let i = i - <Dense<f32, 4, 8> as Tensors<f32>>::COUNT;
            if i < <Dense<f32, 8, 3> as Tensors<f32>>::COUNT {
                return <Dense<f32, 8, 3> as Tensors<f32>>::tensor_info(i)
                    .map(|info| info.prefixed("out"));
            }
            Option::None
        }

        const TRAINABLE_COUNT: usize = <Dense<f32, 4, 8> as Tensors<f32>>::TRAINABLE_COUNT
            + <Dense<f32, 8, 3> as Tensors<f32>>::TRAINABLE_COUNT;
        const TRAINABLE_PARAMS: usize = <Dense<f32, 4, 8> as Tensors<f32>>::TRAINABLE_PARAMS
            + <Dense<f32, 8, 3> as Tensors<f32>>::TRAINABLE_PARAMS;

        fn trainable_index(i: usize) -> Option<usize> {
            if i < <Dense<f32, 4, 8> as Tensors<f32>>::TRAINABLE_COUNT {
                return <Dense<f32, 4, 8> as Tensors<f32>>::trainable_index(i);
            }
            let i = i - <Dense<f32, 4, 8> as Tensors<f32>>::TRAINABLE_COUNT;
            if i < <Dense<f32, 8, 3> as Tensors<f32>>::TRAINABLE_COUNT {
                // The tensors of the layers before this one come first among all tensors.
                return <Dense<f32, 8, 3> as Tensors<f32>>::trainable_index(i)
                    .map(|index| index + <Dense<f32, 4, 8> as Tensors<f32>>::COUNT);
            }
            Option::None
        }
    }

    /// `<Dense<f32, IN, OUT> as Layer<f32, IN, OUT>>::Grads`, as the macro writes the
    /// gradient types in full; this alias only shortens the copy.
    type GradsOf<const IN: usize, const OUT: usize> =
        <Dense<f32, IN, OUT> as Layer<f32, IN, OUT>>::Grads;

    #[automatically_derived]
    impl Tensors<f32> for HandIrisNetGrads {
        const COUNT: usize =
            <GradsOf<4, 8> as Tensors<f32>>::COUNT + <GradsOf<8, 3> as Tensors<f32>>::COUNT;
        const PARAMS: usize =
            <GradsOf<4, 8> as Tensors<f32>>::PARAMS + <GradsOf<8, 3> as Tensors<f32>>::PARAMS;

        fn tensor(&self, i: usize) -> Option<&[f32]> {
            if i < <GradsOf<4, 8> as Tensors<f32>>::COUNT {
                return Tensors::<f32>::tensor(&self.hidden, i);
            }
            let i = i - <GradsOf<4, 8> as Tensors<f32>>::COUNT;
            if i < <GradsOf<8, 3> as Tensors<f32>>::COUNT {
                return Tensors::<f32>::tensor(&self.out, i);
            }
            Option::None
        }

        fn tensor_mut(&mut self, i: usize) -> Option<&mut [f32]> {
            if i < <GradsOf<4, 8> as Tensors<f32>>::COUNT {
                return Tensors::<f32>::tensor_mut(&mut self.hidden, i);
            }
            let i = i - <GradsOf<4, 8> as Tensors<f32>>::COUNT;
            if i < <GradsOf<8, 3> as Tensors<f32>>::COUNT {
                return Tensors::<f32>::tensor_mut(&mut self.out, i);
            }
            Option::None
        }

        fn tensor_info(i: usize) -> Option<TensorInfo> {
            if i < <GradsOf<4, 8> as Tensors<f32>>::COUNT {
                return <GradsOf<4, 8> as Tensors<f32>>::tensor_info(i)
                    .map(|info| info.prefixed("hidden"));
            }
            let i = i - <GradsOf<4, 8> as Tensors<f32>>::COUNT;
            if i < <GradsOf<8, 3> as Tensors<f32>>::COUNT {
                return <GradsOf<8, 3> as Tensors<f32>>::tensor_info(i)
                    .map(|info| info.prefixed("out"));
            }
            Option::None
        }
    }

    // A nesting network reads the memory figure through this trait, which its `where`
    // clause names, so that a layer that is not a network is reported once.

    #[automatically_derived]
    impl NetworkMemory for HandIrisNet {
        const PARAM_BYTES: usize = Self::PARAM_BYTES;
        const GRAD_BYTES: usize = Self::GRAD_BYTES;
        const FORWARD_BYTES: usize = Self::FORWARD_BYTES;
    }

    // `Network` contains the shape facts, the initialisers (He for a dense layer feeding a
    // ReLU-family activation, skipping dropout, Glorot otherwise) and the summary table.
    // `init` skips frozen layers, and their summary rows read `frozen Dense`.

    #[automatically_derived]
    impl Network for HandIrisNet {
        type Scalar = f32;
        type Grads = HandIrisNetGrads;
        const INPUT: usize = 4;
        const OUTPUT: usize = 3;

        fn init(&mut self, rng: &mut Rng) {
            self.hidden.init_with(Init::HeUniform, rng);
            self.out.init_with(Init::GlorotUniform, rng);
        }

        fn summary() -> Summary {
            Summary {
                name: "IrisNet",
                scalar: "f32",
                input: 4,
                rows: const {
                    &[
                        SummaryRow {
                            name: "hidden",
                            kind: <Dense<f32, 4, 8> as Layer<f32, 4, 8>>::KIND,
                            output: 8,
                            params: <Dense<f32, 4, 8> as Tensors<f32>>::PARAMS,
                        },
                        SummaryRow {
                            name: "",
                            kind: <Relu as Layer<f32, 8, 8>>::KIND,
                            output: 8,
                            params: 0,
                        },
                        SummaryRow {
                            name: "",
                            kind: <Dropout<f32> as Layer<f32, 8, 8>>::KIND,
                            output: 8,
                            params: 0,
                        },
                        SummaryRow {
                            name: "out",
                            kind: <Dense<f32, 8, 3> as Layer<f32, 8, 3>>::KIND,
                            output: 3,
                            params: <Dense<f32, 8, 3> as Tensors<f32>>::PARAMS,
                        },
                    ]
                },
            }
        }
    }
}

/// Checks that the generated `IrisNet` and the hand-written copy agree: weights from the
/// same seed, inference, the training pass with dropout, gradients, tensor names and the
/// summary. Returns the first difference found.
pub fn compare_with_macro() -> Result<(), String> {
    use by_hand::HandIrisNet;

    let generated = IrisNet::new(42);
    let copy = HandIrisNet::new(42);
    let x = SMatrix::<f32, 4, 5>::from_fn(|row, col| (row as f32 - 1.5) * 0.4 + col as f32 * 0.1);

    same(
        "inference output",
        &generated.forward_batch(&x),
        &copy.forward_batch(&x),
    )?;

    let (generated_y, generated_trace) = generated.forward_train(&x, &mut Rng::seed_from_u64(7));
    let (copy_y, copy_trace) = copy.forward_train(&x, &mut Rng::seed_from_u64(7));
    same("training output", &generated_y, &copy_y)?;
    same(
        "dropout mask",
        &generated_trace.layer_3,
        &copy_trace.layer_3,
    )?;

    let (generated_grads, generated_dx) = generated.backward(&generated_trace, &generated_y);
    let (copy_grads, copy_dx) = copy.backward(&copy_trace, &copy_y);
    same("input gradient", &generated_dx, &copy_dx)?;

    // The whole pass, with the outputs as their own gradient.
    let mut generated_pass = IrisNet::zero_grads();
    let mut copy_pass = HandIrisNet::zero_grads();
    let echo = |y: &SMatrix<f32, 3, 5>| (y.sum(), *y);
    let generated_sum = Layer::accumulate_pass(
        &generated,
        &x,
        &mut Rng::seed_from_u64(7),
        &mut generated_pass,
        echo,
    );
    let copy_sum =
        Layer::accumulate_pass(&copy, &x, &mut Rng::seed_from_u64(7), &mut copy_pass, echo);
    same("pass loss and outputs", &generated_sum, &copy_sum)?;

    same(
        "tensor count",
        &<IrisNet as Tensors<f32>>::COUNT,
        &<HandIrisNet as Tensors<f32>>::COUNT,
    )?;
    for i in 0..<IrisNet as Tensors<f32>>::COUNT {
        let name = format!("tensor {i}");
        same(&name, &generated.tensor(i), &copy.tensor(i))?;
        same(&name, &generated_grads.tensor(i), &copy_grads.tensor(i))?;
        same(&name, &generated_pass.tensor(i), &copy_pass.tensor(i))?;
        same(
            &name,
            &IrisNet::tensor_info(i),
            &HandIrisNet::tensor_info(i),
        )?;
    }

    same(
        "trainable tensor count",
        &<IrisNet as Tensors<f32>>::TRAINABLE_COUNT,
        &<HandIrisNet as Tensors<f32>>::TRAINABLE_COUNT,
    )?;
    same(
        "trainable parameters",
        &IrisNet::TRAINABLE_PARAMS,
        &HandIrisNet::TRAINABLE_PARAMS,
    )?;
    for i in 0..=<IrisNet as Tensors<f32>>::TRAINABLE_COUNT {
        same(
            &format!("index of trainable tensor {i}"),
            &IrisNet::trainable_index(i),
            &HandIrisNet::trainable_index(i),
        )?;
    }

    let figures = [
        (
            "PARAM_BYTES",
            IrisNet::PARAM_BYTES,
            HandIrisNet::PARAM_BYTES,
        ),
        ("GRAD_BYTES", IrisNet::GRAD_BYTES, HandIrisNet::GRAD_BYTES),
        (
            "TRACE_BYTES",
            IrisNet::TRACE_BYTES,
            HandIrisNet::TRACE_BYTES,
        ),
        (
            "FORWARD_BYTES",
            IrisNet::FORWARD_BYTES,
            HandIrisNet::FORWARD_BYTES,
        ),
        (
            "TRAIN_BYTES",
            IrisNet::TRAIN_BYTES,
            HandIrisNet::TRAIN_BYTES,
        ),
    ];
    for (name, generated, copy) in figures {
        same(name, &generated, &copy)?;
    }

    for layer in ["hidden", "out", "missing"] {
        let (mut generated, mut copy) = (IrisNet::new(42), HandIrisNet::new(42));
        let generated_result = generated.reinit(layer, &mut Rng::seed_from_u64(3));
        let copy_result = copy.reinit(layer, &mut Rng::seed_from_u64(3));
        same(
            &format!("reinit(\"{layer}\")"),
            &generated_result,
            &copy_result,
        )?;
        for i in 0..<IrisNet as Tensors<f32>>::COUNT {
            let name = format!("tensor {i} after reinit(\"{layer}\")");
            same(&name, &generated.tensor(i), &copy.tensor(i))?;
        }
    }

    same("summary", &IrisNet::summary(), &HandIrisNet::summary())
}

/// Returns an error naming `what` if the two values differ.
fn same<T: PartialEq + std::fmt::Debug>(what: &str, generated: &T, copy: &T) -> Result<(), String> {
    if generated == copy {
        Ok(())
    } else {
        Err(format!(
            "{what} differs: the macro gives {generated:?}, the hand-written copy {copy:?}; update examples/expanded.rs to the current expansion"
        ))
    }
}

fn main() {
    println!("{}", IrisNet::summary());
    match compare_with_macro() {
        Ok(()) => println!("the hand-written expansion matches `network!`"),
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(1);
        }
    }
}

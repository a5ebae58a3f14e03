//! Expansion: writes the network struct, its gradients and trace types, and their impls.
//!
//! Every path is absolute (`::static_nn::__private::...`, `::core::...`), so the output
//! works in `#![no_implicit_prelude]` modules and next to user items named `Option` or
//! `f32`. The macro emits one call per layer and leaves loops over weights to nn-core;
//! it never writes code per weight.
//!
//! The macro cannot see whether a user layer (a custom type or a nested network) maps the
//! previous layer's output to the stated size, so the compiler checks it. Each such layer
//! gets one dedicated check spanned on the layer's tokens (see `expand_checks`), where
//! `Layer`'s `#[diagnostic::on_unimplemented]` message appears. Every item that relies on
//! the fit carries it as a `where` clause instead of assuming it, so a layer that does not
//! fit is reported once, by its check, and not again by each generated method.
//!
//! A layer declared `#[frozen]` becomes a field of type `Frozen<Type>`, which implements
//! `Layer` with `NoGrads` gradients. The gradients struct has no field for it, the
//! network's `Trainable` view skips its tensors, and `init` leaves it unchanged. The fit
//! checks and `where` clauses name the declared type, so their messages show the user's
//! layer and not the wrapper.
//!
//! The batch size is a const parameter `B`, and every use of it is written `{ B }`: a
//! bare `B` in a generic argument would name a user type `B` in scope instead.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::bake::{self, Baked};
use crate::memory::Figures;
use crate::validate::{Activation, Kind, LayerModel, Model, Scalar, Size};

/// Everything the per-layer snippets need.
struct Context<'a> {
    model: &'a Model,
    scalar: TokenStream,
    private: TokenStream,
    grads: Ident,
    trace: Ident,
    output: Size,
    /// The `where` clause of every item that needs user layers to fit, or nothing.
    where_clause: TokenStream,
    /// The declaration's `#[cfg]` attributes, repeated on every generated item.
    cfgs: TokenStream,
    /// Items of the inherent impl written by other modules: the memory figures and
    /// `BAKED`.
    extra_inherent: TokenStream,
}

/// Writes the network's items. `baked` contains the weights of a declaration with
/// `#[weights]`.
pub fn expand(model: &Model, figures: &Figures, baked: Option<&Baked>) -> TokenStream {
    let private = quote!(::static_nn::__private);
    let output = model
        .layers
        .last()
        .map(|layer| layer.output.clone())
        .unwrap_or(Size::Known(model.input));
    let mut context = Context {
        model,
        scalar: scalar_type(model.scalar, Span::call_site()),
        private,
        grads: format_ident!("{}Grads", model.name),
        trace: format_ident!("{}Trace", model.name),
        output,
        where_clause: TokenStream::new(),
        cfgs: cfg_attrs(model),
        extra_inherent: figures.consts(model),
    };
    context.where_clause = where_clause(&context);
    let mut tracking = TokenStream::new();
    if let Some(baked) = baked {
        let items = bake::expand(model, baked, &context.scalar);
        context.extra_inherent.extend(items.constant);
        if !items.tracking.is_empty() {
            let (cfgs, file) = (&context.cfgs, items.tracking);
            tracking = quote!(#cfgs #file);
        }
    }

    let types = expand_types(&context);
    let checks = expand_checks(&context);
    let inherent = expand_inherent(&context);
    let layer = expand_layer_impl(&context);
    let tensors = expand_tensors(&context);
    let network = expand_network_impl(&context);
    quote! {
        #types
        #checks
        #inherent
        #layer
        #tensors
        #network
        #tracking
    }
}

/// The declaration's `#[cfg(...)]` attributes. Each generated item repeats them, so a
/// network that is configured out leaves no impls behind.
fn cfg_attrs(model: &Model) -> TokenStream {
    let cfgs = model
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"));
    quote!(#(#cfgs)*)
}

/// The primitive scalar type through the facade, so a user type named `f32` cannot
/// shadow it.
pub fn scalar_type(scalar: Scalar, span: Span) -> TokenStream {
    match scalar {
        Scalar::F32 => quote_spanned!(span=> ::static_nn::__private::f32),
        Scalar::F64 => quote_spanned!(span=> ::static_nn::__private::f64),
    }
}

impl Context<'_> {
    /// Returns the type of the layer's field: its declared type, wrapped in `Frozen` when
    /// the layer is frozen. A `Dense` with a stated input takes that many inputs.
    fn layer_type(&self, layer: &LayerModel) -> TokenStream {
        let ty = self.declared_type(layer);
        if layer.frozen {
            let p = &self.private;
            quote!(#p::Frozen<#ty>)
        } else {
            ty
        }
    }

    /// Returns the layer's type as declared, without the `Frozen` wrapper.
    fn declared_type(&self, layer: &LayerModel) -> TokenStream {
        layer_type_spanned(layer, self.model.scalar, Span::call_site())
    }

    /// `<Type as Layer<T, IN, OUT>>` for the layer's position: `IN` is what the previous
    /// layer produces and `OUT` what this layer must produce.
    fn layer_trait(&self, layer: &LayerModel) -> TokenStream {
        let p = &self.private;
        let t = &self.scalar;
        let ty = self.layer_type(layer);
        let (input, output) = (&layer.input, &layer.output);
        quote!(<#ty as #p::Layer<#t, #input, #output>>)
    }

    /// `<Type as Layer<T, IN, OUT>>` for the declared type, without the `Frozen` wrapper.
    fn declared_layer_trait(&self, layer: &LayerModel) -> TokenStream {
        let p = &self.private;
        let t = &self.scalar;
        let ty = self.declared_type(layer);
        let (input, output) = (&layer.input, &layer.output);
        quote!(<#ty as #p::Layer<#t, #input, #output>>)
    }

    /// `<Type as Layer<T, IN, OUT>>` with the sizes of the declared type itself, which
    /// always holds for built-in layers.
    fn own_layer_trait(&self, layer: &LayerModel) -> TokenStream {
        let p = &self.private;
        let t = &self.scalar;
        let ty = self.declared_type(layer);
        let input = type_input(layer);
        let output = &layer.output;
        quote!(<#ty as #p::Layer<#t, #input, #output>>)
    }

    /// An expression for the layer value: a field, or a constant for parameter-free layers.
    fn layer_value(&self, layer: &LayerModel) -> TokenStream {
        let p = &self.private;
        let field = &layer.field;
        let literal = |value: f64| match self.model.scalar {
            // `validate` checked that the value is finite as `f32`.
            Scalar::F32 => Literal::f32_suffixed(value as f32),
            Scalar::F64 => Literal::f64_suffixed(value),
        };
        match &layer.kind {
            Kind::Dense { .. } | Kind::Standardize | Kind::Custom(_) | Kind::Network(_) => {
                quote!(self.#field)
            }
            Kind::Activation(Activation::LeakyRelu(slope)) => {
                let slope = literal(*slope);
                quote!(#p::LeakyRelu::new(#slope))
            }
            Kind::Activation(Activation::Elu(alpha)) => {
                let alpha = literal(*alpha);
                quote!(#p::Elu::new(#alpha))
            }
            Kind::Activation(activation) => {
                let name = Ident::new(activation.type_name(), Span::call_site());
                quote!(#p::#name)
            }
            Kind::Dropout(rate) => {
                let rate = literal(*rate);
                quote!(#p::Dropout::new(#rate))
            }
        }
    }

    fn field_layers(&self) -> impl Iterator<Item = &LayerModel> {
        self.model
            .layers
            .iter()
            .filter(|layer| layer.kind.has_field())
    }

    /// Returns the layers with parameters, which `init` and `reinit` initialise: every
    /// layer with a field except `Standardize`, whose statistics are buffers.
    fn parameter_layers(&self) -> impl Iterator<Item = &LayerModel> {
        self.model
            .layers
            .iter()
            .filter(|layer| layer.has_parameters())
    }

    /// Returns the layers with a field in the gradients: those with parameters that are
    /// not frozen.
    fn grad_layers(&self) -> impl Iterator<Item = &LayerModel> {
        self.model.layers.iter().filter(|layer| layer.has_grads())
    }

    /// The layers that are user types: custom layers and nested networks.
    fn user_layers(&self) -> impl Iterator<Item = &LayerModel> {
        self.model
            .layers
            .iter()
            .filter(|layer| matches!(layer.kind, Kind::Custom(_) | Kind::Network(_)))
    }

    fn input(&self) -> Literal {
        Literal::usize_unsuffixed(self.model.input)
    }
}

/// The number of inputs of the layer's type: the stated input of a `Dense`, otherwise
/// what the previous layer produces.
fn type_input(layer: &LayerModel) -> Size {
    match &layer.kind {
        Kind::Dense {
            stated_input: Some(stated),
            ..
        } => Size::Known(*stated),
        _ => layer.input.clone(),
    }
}

/// The layer's Rust type, with the tokens the macro writes spanned at `span`.
pub fn layer_type_spanned(layer: &LayerModel, scalar: Scalar, span: Span) -> TokenStream {
    let p = quote_spanned!(span=> ::static_nn::__private);
    let t = scalar_type(scalar, span);
    match &layer.kind {
        Kind::Dense { .. } => {
            let input = type_input(layer);
            let output = &layer.output;
            quote_spanned!(span=> #p::Dense<#t, #input, #output>)
        }
        Kind::Activation(activation) => {
            let name = Ident::new(activation.type_name(), span);
            match activation {
                Activation::LeakyRelu(_) | Activation::Elu(_) => {
                    quote_spanned!(span=> #p::#name<#t>)
                }
                _ => quote_spanned!(span=> #p::#name),
            }
        }
        Kind::Dropout(_) => quote_spanned!(span=> #p::Dropout<#t>),
        Kind::Standardize => {
            let width = &layer.input;
            quote_spanned!(span=> #p::Standardize<#t, #width>)
        }
        Kind::Custom(path) | Kind::Network(path) => quote!(#path),
    }
}

/// Returns the `where` clause stating that each layer the macro cannot check fits its
/// position, and that each user layer can be created zeroed.
///
/// Each predicate is higher-ranked over a lifetime (`for<'__fit>`) that only an outlives
/// bound uses. rustc 1.95 rejects an unsatisfiable bound without generic parameters where
/// it is written ("trivial bounds") but skips that check for higher-ranked bounds, so an
/// item whose bound fails is merely unusable, and the dedicated check reports the failure
/// once. The outlives part always holds: the types are fields of a struct without
/// lifetime parameters, so they are `'static`.
fn where_clause(context: &Context) -> TokenStream {
    let Context {
        scalar: t,
        private: p,
        ..
    } = context;
    let predicates: Vec<TokenStream> = context
        .model
        .layers
        .iter()
        .filter(|layer| layer.needs_fit_check())
        .flat_map(|layer| {
            let ty = context.declared_type(layer);
            let (input, output) = (&layer.input, &layer.output);
            let fits = quote!(for<'__fit> #ty: #p::Layer<#t, #input, #output> + '__fit);
            let zeroable = matches!(layer.kind, Kind::Custom(_) | Kind::Network(_))
                .then(|| quote!(for<'__fit> #ty: #p::Zeroable + '__fit));
            // The memory figures read a nested network's own figure.
            let memory = matches!(layer.kind, Kind::Network(_))
                .then(|| quote!(for<'__fit> #ty: #p::NetworkMemory + '__fit));
            [Some(fits), zeroable, memory].into_iter().flatten()
        })
        .collect();
    if predicates.is_empty() {
        return TokenStream::new();
    }
    quote!(where #(#predicates,)*)
}

/// One compile-time check per user layer, spanned on its tokens: that it maps the
/// previous layer's output to the stated size, and that it can be created zeroed.
fn expand_checks(context: &Context) -> TokenStream {
    let checks = context
        .model
        .layers
        .iter()
        .filter(|layer| layer.needs_fit_check())
        .map(|layer| {
            let span = layer.fit_span;
            let p = quote_spanned!(span=> ::static_nn::__private);
            let t = scalar_type(context.model.scalar, span);
            let ty = layer_type_spanned(layer, context.model.scalar, span);
            let (input, output) = (&layer.input, &layer.output);
            // A network is `Zeroable` by construction, and a type that is not a network is
            // reported by the `Network` bound in its output size.
            let zeroable = matches!(layer.kind, Kind::Custom(_)).then(|| zeroable_check(&ty, span));
            let cfgs = &context.cfgs;
            quote_spanned! {span=>
                #cfgs
                const _: () = {
                    let _ = <#ty as #p::Layer<#t, #input, #output>>::KIND;
                    #zeroable
                };
            }
        });
    quote!(#(#checks)*)
}

/// Checks that a user layer implements `Zeroable`, through the facade's `ZeroableLayer`,
/// whose message says why.
fn zeroable_check(ty: &TokenStream, span: Span) -> TokenStream {
    quote_spanned! {span=>
        let _ = <#ty as ::static_nn::__private::ZeroableLayer>::CHECKED;
    }
}

/// The layer's attributes, with a generated doc comment when it has none, so that
/// `#![deny(missing_docs)]` crates can declare public networks.
fn field_attrs(layer: &LayerModel) -> TokenStream {
    let attrs = &layer.attrs;
    if attrs.iter().any(|attr| attr.path().is_ident("doc")) {
        return quote!(#(#attrs)*);
    }
    let doc = format!("The layer `{}`.", layer.field);
    quote!(#[doc = #doc] #(#attrs)*)
}

fn expand_types(context: &Context) -> TokenStream {
    let Context {
        model,
        private: p,
        grads,
        trace,
        where_clause,
        cfgs,
        ..
    } = context;
    let name = &model.name;
    let vis = &model.vis;
    let attrs = &model.attrs;

    let fields = context.field_layers().map(|layer| {
        let field = &layer.field;
        let ty = context.layer_type(layer);
        let attrs = field_attrs(layer);
        quote!(#attrs pub #field: #ty,)
    });
    let grad_fields = context.grad_layers().map(|layer| {
        let field = &layer.field;
        let layer_trait = context.layer_trait(layer);
        let doc = format!("The gradient of layer `{field}`'s parameters.");
        quote!(#[doc = #doc] pub #field: #layer_trait::Grads,)
    });
    let trace_fields = model.layers.iter().map(|layer| {
        let field = &layer.field;
        let layer_trait = context.layer_trait(layer);
        quote!(#[doc = "The record of this layer."] pub #field: #layer_trait::Trace<{ B }>,)
    });
    let user_types: Vec<_> = context
        .user_layers()
        .map(|layer| context.layer_type(layer))
        .collect();
    let zeroable_where = if user_types.is_empty() {
        TokenStream::new()
    } else {
        where_clause.clone()
    };

    let grads_doc = format!(
        "The parameter gradients of [`{name}`], one field per layer with parameters that is not frozen."
    );
    let trace_doc = format!(
        "The record of the training forward pass of [`{name}`] for a batch of `B` samples, which `backward` reads."
    );
    quote! {
        #(#attrs)*
        #vis struct #name {
            #(#fields)*
        }

        #cfgs
        #[doc = #grads_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #grads #where_clause {
            #(#grad_fields)*
        }

        #cfgs
        #[doc = #trace_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #trace<const B: #p::usize> #where_clause {
            #(#trace_fields)*
        }

        // SAFETY: every field is a `Dense` or a `Standardize` (matrices of floats, for which
        // all-zero bytes are 0.0) or a user layer, which the `where` clause requires to be
        // `Zeroable`.
        #cfgs
        unsafe impl #p::Zeroable for #name #zeroable_where {}

        // SAFETY: every field is the `Grads` of a `Layer`, which that trait requires to be
        // `Zeroable`.
        #cfgs
        unsafe impl #p::Zeroable for #grads #where_clause {}
    }
}

fn expand_inherent(context: &Context) -> TokenStream {
    let Context {
        model,
        scalar: t,
        private: p,
        grads,
        trace,
        output,
        where_clause,
        cfgs,
        extra_inherent,
        ..
    } = context;
    let name = &model.name;
    let vis = &model.vis;
    let input = context.input();
    // The methods are spanned on the network's name, so that rustc's "method defined
    // here" notes point at the declaration instead of the whole macro call.
    let method = |name: &str| Ident::new(name, model.name.span());
    let method_new = method("new");
    let method_forward = method("forward");
    let method_forward_batch = method("forward_batch");
    let method_forward_train = method("forward_train");
    let method_backward = method("backward");
    let method_backward_into = method("backward_into");
    let method_accumulate_grads = method("accumulate_grads");
    let method_zero_grads = method("zero_grads");
    let method_summary = method("summary");
    let method_gradient_check = method("gradient_check");
    let method_gradient_check_batch = method("gradient_check_batch");
    let method_reinit = method("reinit");
    let reinit_body = reinit_body(context);
    // No `#[automatically_derived]` here: rustc accepts it only on trait impls.
    quote! {
        #cfgs
        #[allow(dead_code)]
        impl #name #where_clause {
            /// The number of input values per sample.
            #vis const INPUT: #p::usize = #input;
            /// The number of output values per sample.
            #vis const OUTPUT: #p::usize = #output;
            /// The number of scalar parameters.
            #vis const PARAMS: #p::usize = <Self as #p::Tensors<#t>>::PARAMS;
            /// The number of scalar parameters that training updates: those of layers that
            /// are not frozen.
            #vis const TRAINABLE_PARAMS: #p::usize = <Self as #p::Tensors<#t>>::TRAINABLE_PARAMS;
            #extra_inherent

            /// Creates the network with every layer initialised from `seed`.
            ///
            /// The network is built on the stack; for large networks use `new_boxed`.
            #vis fn #method_new(seed: #p::u64) -> Self {
                let mut network = <Self as #p::Zeroable>::zeroed();
                <Self as #p::Network>::init(&mut network, &mut #p::Rng::seed_from_u64(seed));
                network
            }

            /// Runs inference on one sample. Allocates nothing.
            #[inline]
            #vis fn #method_forward(&self, x: &#p::SVector<#t, #input>) -> #p::SVector<#t, #output> {
                <Self as #p::Layer<#t, #input, #output>>::forward(self, x)
            }

            /// Runs inference on a batch with one sample per column.
            #[inline]
            #vis fn #method_forward_batch<const B: #p::usize>(
                &self,
                x: &#p::SMatrix<#t, #input, { B }>,
            ) -> #p::SMatrix<#t, #output, { B }> {
                <Self as #p::Layer<#t, #input, #output>>::forward(self, x)
            }

            /// Runs the training forward pass (dropout active, drawing from `rng`) on a batch
            /// and returns the output with the trace that `backward` needs. A single sample
            /// is the batch size 1 (`SVector`).
            #vis fn #method_forward_train<const B: #p::usize>(
                &self,
                x: &#p::SMatrix<#t, #input, { B }>,
                rng: &mut #p::Rng,
            ) -> (#p::SMatrix<#t, #output, { B }>, #trace<{ B }>) {
                <Self as #p::Layer<#t, #input, #output>>::forward_train(self, x, rng)
            }

            /// Returns the parameter gradients and the input gradient for `grad_out`, the
            /// gradient of the loss with respect to the output.
            ///
            /// The gradients are built on the stack; for large networks use
            /// `backward_into` with gradients from `zero_grads_boxed`.
            #vis fn #method_backward<const B: #p::usize>(
                &self,
                trace: &#trace<{ B }>,
                grad_out: &#p::SMatrix<#t, #output, { B }>,
            ) -> (#grads, #p::SMatrix<#t, #input, { B }>) {
                let mut grads = <#grads as #p::Zeroable>::zeroed();
                let grad_input = self.backward_into(trace, grad_out, &mut grads);
                (grads, grad_input)
            }

            /// Adds the parameter gradients to `grads` in place and returns the input
            /// gradient.
            #vis fn #method_backward_into<const B: #p::usize>(
                &self,
                trace: &#trace<{ B }>,
                grad_out: &#p::SMatrix<#t, #output, { B }>,
                grads: &mut #grads,
            ) -> #p::SMatrix<#t, #input, { B }> {
                <Self as #p::Layer<#t, #input, #output>>::backward(self, trace, grad_out, grads)
            }

            /// Adds the parameter gradients to `grads` in place, skipping the input gradient.
            #vis fn #method_accumulate_grads<const B: #p::usize>(
                &self,
                trace: &#trace<{ B }>,
                grad_out: &#p::SMatrix<#t, #output, { B }>,
                grads: &mut #grads,
            ) {
                <Self as #p::Layer<#t, #input, #output>>::accumulate_grads(self, trace, grad_out, grads)
            }

            /// Returns zero gradients, built on the stack.
            #vis fn #method_zero_grads() -> #grads {
                <#grads as #p::Zeroable>::zeroed()
            }

            /// Returns the table of layers, output shapes and parameter counts; print it
            /// with `{}`.
            #vis fn #method_summary() -> #p::Summary {
                <Self as #p::Network>::summary()
            }

            /// Compares the backward pass with central finite differences at `x` and
            /// returns the worst error (see `static_nn::core::gradient_check`).
            #vis fn #method_gradient_check(&mut self, x: &#p::SVector<#t, #input>) -> #p::GradCheck {
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
            #vis fn #method_reinit(
                &mut self,
                layer: &#p::str,
                rng: &mut #p::Rng,
            ) -> #p::Result<(), #p::UnknownLayer> {
                #reinit_body
            }

            /// Like `gradient_check`, for a batch.
            #vis fn #method_gradient_check_batch<const B: #p::usize>(
                &mut self,
                x: &#p::SMatrix<#t, #input, { B }>,
            ) -> #p::GradCheck {
                let step = <#t as #p::Float>::GRAD_CHECK_STEP;
                #p::gradient_check::<#t, Self, #input, #output, { B }>(self, x, step)
            }
        }
    }
}

/// Returns the body of `reinit`: one comparison per layer with parameters, then the
/// error.
fn reinit_body(context: &Context) -> TokenStream {
    let p = &context.private;
    let layers: Vec<&LayerModel> = context.parameter_layers().collect();
    let names: Vec<String> = layers.iter().map(|layer| layer.field.to_string()).collect();

    let steps = layers.iter().zip(&names).map(|(layer, name)| {
        let init = init_layer(context, layer);
        quote! {
            if layer == #name {
                #init
                return #p::Result::Ok(());
            }
        }
    });
    let unused_rng = layers.is_empty().then(|| quote!(let _ = rng;));
    quote! {
        #unused_rng
        #(#steps)*
        #p::Result::Err(#p::UnknownLayer::new(layer, &[#(#names),*]))
    }
}

/// The local variable holding layer `layer`'s trace in `forward_train`. A prefix keeps it
/// apart from the method's own parameters (a layer may be named `rng`).
fn trace_local(layer: &LayerModel) -> Ident {
    format_ident!("__trace_{}", layer.field)
}

/// Returns the names of the two local variables of `accumulate_pass` for what a layer
/// returns: its output and trace, or its output alone when its input is its trace.
fn pass_locals(layer: &LayerModel) -> (Ident, Ident) {
    (
        format_ident!("__traced_{}", layer.field),
        format_ident!("__untraced_{}", layer.field),
    )
}

fn expand_layer_impl(context: &Context) -> TokenStream {
    let Context {
        model,
        scalar: t,
        private: p,
        grads,
        trace,
        output,
        where_clause,
        cfgs,
        ..
    } = context;
    let name = &model.name;
    let input = context.input();
    let kind = name.to_string();
    let layers = &model.layers;
    let n = layers.len();

    // forward: x_0 = input, x_{k+1} = layer_k(x_k), and the last layer's output is
    // returned directly.
    // The input `__x0` is already a reference and is passed on as it is, so a batch is
    // never copied before the first layer reads it.
    let activations: Vec<Ident> = (0..=n).map(|k| format_ident!("__x{}", k)).collect();
    let layer_input = |k: usize| {
        let x_in = &activations[k];
        if k == 0 {
            quote!(#x_in)
        } else {
            quote!(&#x_in)
        }
    };
    let forward_steps = layers.iter().enumerate().map(|(k, layer)| {
        let layer_trait = context.layer_trait(layer);
        let value = context.layer_value(layer);
        let (x_in, x_out) = (layer_input(k), &activations[k + 1]);
        if k + 1 == n {
            quote!(#layer_trait::forward(&#value, #x_in))
        } else {
            quote!(let #x_out = #layer_trait::forward(&#value, #x_in);)
        }
    });
    let train_steps = layers.iter().enumerate().map(|(k, layer)| {
        let layer_trait = context.layer_trait(layer);
        let value = context.layer_value(layer);
        let (x_in, x_out) = (layer_input(k), &activations[k + 1]);
        let local = trace_local(layer);
        quote!(let (#x_out, #local) = #layer_trait::forward_train(&#value, #x_in, rng);)
    });
    let trace_fields = layers.iter().map(|layer| {
        let field = &layer.field;
        let local = trace_local(layer);
        quote!(#field: #local)
    });
    let trace_fields: Vec<TokenStream> = trace_fields.collect();
    let last = &activations[n];

    let team_steps = layers.iter().enumerate().map(|(k, layer)| {
        let layer_trait = context.layer_trait(layer);
        let value = context.layer_value(layer);
        let (x_in, x_out) = (layer_input(k), &activations[k + 1]);
        let local = trace_local(layer);
        quote!(let (#x_out, #local) = #layer_trait::forward_train_team(&#value, #x_in, rng, team);)
    });
    // The passes refer to each layer's output and trace where the layer returned them,
    // or to the layer's input where that is the trace, so no trace is moved or copied.
    // Taking the returned pair apart copied the trace once more on every thread.
    let pass_forward = |team: bool| -> Vec<TokenStream> {
        layers
            .iter()
            .enumerate()
            .map(|(k, layer)| {
                let layer_trait = context.layer_trait(layer);
                let value = context.layer_value(layer);
                let x_in = &activations[k];
                let x_out = &activations[k + 1];
                let trace = trace_local(layer);
                let (traced, untraced) = pass_locals(layer);
                let (forward, forward_untraced) = if team {
                    (
                        quote!(#layer_trait::forward_train_team(&#value, #x_in, rng, team)),
                        quote!(#layer_trait::forward_train_team_untraced(&#value, #x_in, rng, team)),
                    )
                } else {
                    (
                        quote!(#layer_trait::forward_train(&#value, #x_in, rng)),
                        quote!(#layer_trait::forward_train_untraced(&#value, #x_in, rng)),
                    )
                };
                quote! {
                    let #traced;
                    let #untraced;
                    let (#x_out, #trace) = match #layer_trait::input_trace(#x_in) {
                        #p::Option::Some(__input) => {
                            #untraced = #forward_untraced;
                            (&#untraced, __input)
                        }
                        #p::Option::None => {
                            #traced = #forward;
                            (&#traced.0, &#traced.1)
                        }
                    };
                }
            })
            .collect()
    };
    let (pass_train, pass_team) = (pass_forward(false), pass_forward(true));
    let split_params = layers.iter().map(|layer| {
        let layer_trait = context.layer_trait(layer);
        quote!(+ #layer_trait::split_params(threads))
    });

    let backward_steps = backward_steps(context);
    let pass_steps = accumulate_steps(context, Traces::Local);
    let pass_team_steps = accumulate_team_steps(context, Traces::Local);
    let accumulate_steps = accumulate_steps(context, Traces::Field);
    let input_steps = backward_input_steps(context);
    let backward_team_steps = backward_team_steps(context);
    let accumulate_team_steps = accumulate_team_steps(context, Traces::Field);

    quote! {
        #cfgs
        #[automatically_derived]
        impl #p::Layer<#t, #input, #output> for #name #where_clause {
            type Trace<const B: #p::usize> = #trace<{ B }>;
            type Grads = #grads;
            const KIND: &'static #p::str = #kind;

            #[inline]
            fn forward<const B: #p::usize>(
                &self,
                __x0: &#p::SMatrix<#t, #input, { B }>,
            ) -> #p::SMatrix<#t, #output, { B }> {
                #(#forward_steps)*
            }

            fn forward_train<const B: #p::usize>(
                &self,
                __x0: &#p::SMatrix<#t, #input, { B }>,
                rng: &mut #p::Rng,
            ) -> (#p::SMatrix<#t, #output, { B }>, #trace<{ B }>) {
                #(#train_steps)*
                (#last, #trace { #(#trace_fields,)* })
            }

            fn backward<const B: #p::usize>(
                &self,
                trace: &#trace<{ B }>,
                grad_out: &#p::SMatrix<#t, #output, { B }>,
                grads: &mut #grads,
            ) -> #p::SMatrix<#t, #input, { B }> {
                #backward_steps
            }

            fn accumulate_grads<const B: #p::usize>(
                &self,
                trace: &#trace<{ B }>,
                grad_out: &#p::SMatrix<#t, #output, { B }>,
                grads: &mut #grads,
            ) {
                #accumulate_steps
            }

            fn backward_input<const B: #p::usize>(
                &self,
                trace: &#trace<{ B }>,
                grad_out: &#p::SMatrix<#t, #output, { B }>,
            ) -> #p::SMatrix<#t, #input, { B }> {
                #input_steps
            }

            fn init(&mut self, rng: &mut #p::Rng) {
                <Self as #p::Network>::init(self, rng)
            }

            fn split_params(threads: #p::usize) -> #p::usize {
                0 #(#split_params)*
            }

            fn forward_train_team<const B: #p::usize>(
                &self,
                __x0: &#p::SMatrix<#t, #input, { B }>,
                rng: &mut #p::Rng,
                team: &dyn #p::Team<#t>,
            ) -> (#p::SMatrix<#t, #output, { B }>, #trace<{ B }>) {
                #(#team_steps)*
                (#last, #trace { #(#trace_fields,)* })
            }

            unsafe fn backward_team<const B: #p::usize>(
                &self,
                trace: &#trace<{ B }>,
                grad_out: &#p::SMatrix<#t, #output, { B }>,
                grads: #p::SharedGrads<'_, #grads>,
                team: &dyn #p::Team<#t>,
            ) -> #p::SMatrix<#t, #input, { B }> {
                #backward_team_steps
            }

            unsafe fn accumulate_grads_team<const B: #p::usize>(
                &self,
                trace: &#trace<{ B }>,
                grad_out: &#p::SMatrix<#t, #output, { B }>,
                grads: #p::SharedGrads<'_, #grads>,
                team: &dyn #p::Team<#t>,
            ) {
                #accumulate_team_steps
            }

            fn accumulate_pass<__R, __F, const B: #p::usize>(
                &self,
                __x0: &#p::SMatrix<#t, #input, { B }>,
                rng: &mut #p::Rng,
                grads: &mut #grads,
                output_grad: __F,
            ) -> (__R, #p::SMatrix<#t, #output, { B }>)
            where
                __F: #p::FnOnce(&#p::SMatrix<#t, #output, { B }>)
                    -> (__R, #p::SMatrix<#t, #output, { B }>),
            {
                #(#pass_train)*
                let (__result, __grad_out) = output_grad(#last);
                let grad_out = &__grad_out;
                #pass_steps
                (__result, *#last)
            }

            unsafe fn accumulate_pass_team<__R, __F, const B: #p::usize>(
                &self,
                __x0: &#p::SMatrix<#t, #input, { B }>,
                rng: &mut #p::Rng,
                grads: #p::SharedGrads<'_, #grads>,
                team: &dyn #p::Team<#t>,
                output_grad: __F,
            ) -> (__R, #p::SMatrix<#t, #output, { B }>)
            where
                __F: #p::FnOnce(&#p::SMatrix<#t, #output, { B }>)
                    -> (__R, #p::SMatrix<#t, #output, { B }>),
            {
                #(#pass_team)*
                let (__result, __grad_out) = output_grad(#last);
                let grad_out = &__grad_out;
                #pass_team_steps
                (__result, *#last)
            }
        }
    }
}

/// Returns the gradient handle of layer `layer` in the team methods: its part of the
/// network's handle, or a handle to a unit value.
fn team_grads_argument(context: &Context, layer: &LayerModel) -> TokenStream {
    let p = &context.private;
    let field = &layer.field;
    if layer.has_grads() {
        // SAFETY (of the generated code): the closure forms a pointer to a field of the
        // gradients without creating a reference, as `SharedGrads::part` requires.
        quote!(unsafe { grads.part(|__g| &raw mut (*__g).#field) })
    } else {
        quote!(#p::SharedGrads::none())
    }
}

/// Walks the layers from the last one down to layer `stop`, handing each layer the
/// gradient of its output. `call(layer, grad_out, at_stop)` builds one layer's call. The
/// result of every layer above `stop` becomes the next layer's `grad_out`, and the call of
/// layer `stop` ends the steps unchanged.
fn backward_chain(
    context: &Context,
    stop: usize,
    call: impl Fn(&LayerModel, &TokenStream, bool) -> TokenStream,
) -> Vec<TokenStream> {
    let mut steps = Vec::new();
    let mut current = quote!(grad_out);
    for (k, layer) in context.model.layers.iter().enumerate().rev() {
        if k == stop {
            steps.push(call(layer, &current, true));
            break;
        }
        let next = format_ident!("__g{}", k);
        let step = call(layer, &current, false);
        steps.push(quote!(let #next = #step;));
        current = quote!(&#next);
    }
    steps
}

/// `backward_team`: like `backward_steps`, through the layers' team methods.
fn backward_team_steps(context: &Context) -> TokenStream {
    let unused = context
        .grad_layers()
        .next()
        .is_none()
        .then(|| quote!(let _ = &grads;));
    let steps = backward_chain(context, 0, |layer, current, _| {
        let layer_trait = context.layer_trait(layer);
        let value = context.layer_value(layer);
        let field = &layer.field;
        let grads = team_grads_argument(context, layer);
        // SAFETY (of the generated code): the network passes on its own handle's parts
        // and the team it received, under the contract of its own team methods.
        quote!(unsafe {
            #layer_trait::backward_team(&#value, &trace.#field, #current, #grads, team)
        })
    });
    quote!(#unused #(#steps)*)
}

/// `accumulate_grads_team`: like `accumulate_steps`, through the layers' team methods.
fn accumulate_team_steps(context: &Context, traces: Traces) -> TokenStream {
    let layers = &context.model.layers;
    let Some(first_param) = layers.iter().position(LayerModel::has_grads) else {
        return match traces {
            Traces::Field => quote!(let _ = (trace, grad_out, grads, team);),
            Traces::Local => quote!(let _ = (grad_out, grads, team);),
        };
    };
    let steps = backward_chain(context, first_param, |layer, current, at_stop| {
        let layer_trait = context.layer_trait(layer);
        let value = context.layer_value(layer);
        let trace = traces.of(layer);
        let grads = team_grads_argument(context, layer);
        // SAFETY (of the generated code): as in `backward_team_steps`.
        if at_stop {
            quote!(unsafe {
                #layer_trait::accumulate_grads_team(&#value, #trace, #current, #grads, team);
            })
        } else {
            quote!(unsafe {
                #layer_trait::backward_team(&#value, #trace, #current, #grads, team)
            })
        }
    });
    quote!(#(#steps)*)
}

/// The place in which the accumulating steps find each layer's trace.
#[derive(Clone, Copy)]
enum Traces {
    /// In the layer's field of the network's trace, `trace`.
    Field,
    /// Behind a reference in a local variable of the same body (`trace_local`).
    Local,
}

impl Traces {
    /// Returns a reference to the trace of `layer`.
    fn of(self, layer: &LayerModel) -> TokenStream {
        match self {
            Traces::Field => {
                let field = &layer.field;
                quote!(&trace.#field)
            }
            Traces::Local => {
                let local = trace_local(layer);
                quote!(#local)
            }
        }
    }
}

/// The gradient argument of layer `layer`: its field of the gradients, or a unit value.
fn grads_argument(context: &Context, layer: &LayerModel) -> TokenStream {
    let p = &context.private;
    let field = &layer.field;
    if layer.has_grads() {
        quote!(&mut grads.#field)
    } else {
        quote!(&mut #p::NoGrads)
    }
}

/// Backward from the last layer to the first, returning the first layer's input
/// gradient directly.
fn backward_steps(context: &Context) -> TokenStream {
    // No layer has gradients, so nothing else uses `grads`.
    let unused = context
        .grad_layers()
        .next()
        .is_none()
        .then(|| quote!(let _ = &grads;));
    let steps = backward_chain(context, 0, |layer, current, _| {
        let layer_trait = context.layer_trait(layer);
        let value = context.layer_value(layer);
        let field = &layer.field;
        let grads = grads_argument(context, layer);
        quote!(#layer_trait::backward(&#value, &trace.#field, #current, #grads))
    });
    quote!(#unused #(#steps)*)
}

/// Backward from the last layer to the first computing input gradients only, for a
/// network used as a frozen layer.
fn backward_input_steps(context: &Context) -> TokenStream {
    let steps = backward_chain(context, 0, |layer, current, _| {
        let layer_trait = context.layer_trait(layer);
        let value = context.layer_value(layer);
        let field = &layer.field;
        quote!(#layer_trait::backward_input(&#value, &trace.#field, #current))
    });
    quote!(#(#steps)*)
}

/// Backward from the last layer down to the first layer with gradients, which only
/// accumulates them; layers before it, frozen ones included, need nothing.
fn accumulate_steps(context: &Context, traces: Traces) -> TokenStream {
    let layers = &context.model.layers;
    let Some(first_param) = layers.iter().position(LayerModel::has_grads) else {
        return match traces {
            Traces::Field => quote!(let _ = (trace, grad_out, grads);),
            Traces::Local => quote!(let _ = (grad_out, grads);),
        };
    };
    let steps = backward_chain(context, first_param, |layer, current, at_stop| {
        let layer_trait = context.layer_trait(layer);
        let value = context.layer_value(layer);
        let trace = traces.of(layer);
        let grads = grads_argument(context, layer);
        if at_stop {
            quote!(#layer_trait::accumulate_grads(&#value, #trace, #current, #grads);)
        } else {
            quote!(#layer_trait::backward(&#value, #trace, #current, #grads))
        }
    });
    quote!(#(#steps)*)
}

/// `Tensors` for the network and for its gradients: tensor `i` is found by subtracting
/// the tensor counts of the layers before it.
///
/// The network lists every layer with parameters and its gradients only those that are
/// not frozen. The network's trainable view (`trainable_index`) skips the same tensors, so
/// trainable tensor `i` of the network is tensor `i` of the gradients. Only the network
/// lists buffers (see `buffer_items`).
fn expand_tensors(context: &Context) -> TokenStream {
    let Context { model, grads, .. } = context;
    let network_types: Vec<_> = context
        .parameter_layers()
        .map(|layer| context.layer_type(layer))
        .collect();
    let grad_types: Vec<_> = context
        .grad_layers()
        .map(|layer| {
            let layer_trait = context.layer_trait(layer);
            quote!(#layer_trait::Grads)
        })
        .collect();
    let fields: Vec<_> = context
        .parameter_layers()
        .map(|layer| &layer.field)
        .collect();
    let grad_fields: Vec<_> = context.grad_layers().map(|layer| &layer.field).collect();
    let mut network_items = trainable_items(context, &network_types);
    network_items.extend(buffer_items(context));
    let network_impl = tensors_impl(context, &model.name, &fields, &network_types, network_items);
    let grads_impl = tensors_impl(
        context,
        grads,
        &grad_fields,
        &grad_types,
        TokenStream::new(),
    );
    quote!(#network_impl #grads_impl)
}

/// Returns the items of the network's trainable view: the layers' trainable counts added
/// up, and trainable tensor `i` mapped to the index of its layer's tensor among all
/// tensors.
fn trainable_items(context: &Context, types: &[TokenStream]) -> TokenStream {
    let Context {
        scalar: t,
        private: p,
        ..
    } = context;
    let count = sum_of(context, types, quote!(TRAINABLE_COUNT));
    let params = sum_of(context, types, quote!(TRAINABLE_PARAMS));
    let owner_returns = types.iter().enumerate().map(|(k, ty)| {
        let index = quote!(<#ty as #p::Tensors<#t>>::trainable_index(i));
        if k == 0 {
            return index;
        }
        // The tensors of the layers before this one come first among all tensors.
        let offset = sum_of(context, &types[..k], quote!(COUNT));
        quote!(#index.map(|index| index + #offset))
    });
    let trainable_index = dispatch(context, types, quote!(TRAINABLE_COUNT), owner_returns);
    quote! {
        const TRAINABLE_COUNT: #p::usize = #count;
        const TRAINABLE_PARAMS: #p::usize = #params;

        fn trainable_index(i: #p::usize) -> #p::Option<#p::usize> {
            #trainable_index
        }
    }
}

/// Returns the buffer items of the network's `Tensors` impl: the buffers of its layers
/// with `<layer>.` in front of their names, in declaration order. `Dense` layers have no
/// buffers and are skipped. Without other layers with a field the trait's defaults (no
/// buffers) apply, so nothing is written.
fn buffer_items(context: &Context) -> TokenStream {
    let Context {
        scalar: t,
        private: p,
        ..
    } = context;
    let layers: Vec<&LayerModel> = context
        .field_layers()
        .filter(|layer| !matches!(layer.kind, Kind::Dense { .. }))
        .collect();
    if layers.is_empty() {
        return TokenStream::new();
    }
    let types: Vec<_> = layers
        .iter()
        .map(|layer| context.layer_type(layer))
        .collect();
    let count = sum_of(context, &types, quote!(BUFFERS));
    let values = sum_of(context, &types, quote!(BUFFER_VALUES));
    let buffer = dispatch(
        context,
        &types,
        quote!(BUFFERS),
        layers.iter().map(|layer| {
            let field = &layer.field;
            quote!(#p::Tensors::<#t>::buffer(&self.#field, i))
        }),
    );
    let buffer_mut = dispatch(
        context,
        &types,
        quote!(BUFFERS),
        layers.iter().map(|layer| {
            let field = &layer.field;
            quote!(#p::Tensors::<#t>::buffer_mut(&mut self.#field, i))
        }),
    );
    let buffer_info = dispatch(
        context,
        &types,
        quote!(BUFFERS),
        layers.iter().zip(&types).map(|(layer, ty)| {
            let name = layer.field.to_string();
            quote!(<#ty as #p::Tensors<#t>>::buffer_info(i).map(|info| info.prefixed(#name)))
        }),
    );
    quote! {
        const BUFFERS: #p::usize = #count;
        const BUFFER_VALUES: #p::usize = #values;

        fn buffer(&self, i: #p::usize) -> #p::Option<&[#t]> {
            #buffer
        }

        fn buffer_mut(&mut self, i: #p::usize) -> #p::Option<&mut [#t]> {
            #buffer_mut
        }

        fn buffer_info(i: #p::usize) -> #p::Option<#p::TensorInfo> {
            #buffer_info
        }
    }
}

fn tensors_impl(
    context: &Context,
    self_type: &Ident,
    fields: &[&Ident],
    types: &[TokenStream],
    extra_items: TokenStream,
) -> TokenStream {
    let Context {
        scalar: t,
        private: p,
        where_clause,
        cfgs,
        ..
    } = context;
    let count = sum_of(context, types, quote!(COUNT));
    let params = sum_of(context, types, quote!(PARAMS));
    let tensor = dispatch(
        context,
        types,
        quote!(COUNT),
        fields
            .iter()
            .map(|field| quote!(#p::Tensors::<#t>::tensor(&self.#field, i))),
    );
    let tensor_mut = dispatch(
        context,
        types,
        quote!(COUNT),
        fields
            .iter()
            .map(|field| quote!(#p::Tensors::<#t>::tensor_mut(&mut self.#field, i))),
    );
    let tensor_info = dispatch(
        context,
        types,
        quote!(COUNT),
        fields.iter().zip(types).map(|(field, ty)| {
            let name = field.to_string();
            quote!(<#ty as #p::Tensors<#t>>::tensor_info(i).map(|info| info.prefixed(#name)))
        }),
    );
    quote! {
        #cfgs
        #[automatically_derived]
        impl #p::Tensors<#t> for #self_type #where_clause {
            const COUNT: #p::usize = #count;
            const PARAMS: #p::usize = #params;

            fn tensor(&self, i: #p::usize) -> #p::Option<&[#t]> {
                #tensor
            }

            fn tensor_mut(&mut self, i: #p::usize) -> #p::Option<&mut [#t]> {
                #tensor_mut
            }

            fn tensor_info(i: #p::usize) -> #p::Option<#p::TensorInfo> {
                #tensor_info
            }

            #extra_items
        }
    }
}

/// `<T0 as Tensors>::CONST + <T1 as Tensors>::CONST + ...`, or `0` without types.
fn sum_of(context: &Context, types: &[TokenStream], constant: TokenStream) -> TokenStream {
    let Context {
        scalar: t,
        private: p,
        ..
    } = context;
    if types.is_empty() {
        return quote!(0);
    }
    let terms = types
        .iter()
        .map(|ty| quote!(<#ty as #p::Tensors<#t>>::#constant));
    quote!(#(#terms)+*)
}

/// Finds the layer that owns tensor `i` and returns `owner_returns` for it: each layer
/// either owns `i` or passes on `i` minus its tensor count, the `Tensors` constant
/// `count` (`COUNT`, `TRAINABLE_COUNT` for trainable tensors, or `BUFFERS`).
fn dispatch(
    context: &Context,
    types: &[TokenStream],
    count: TokenStream,
    owner_returns: impl Iterator<Item = TokenStream>,
) -> TokenStream {
    let Context {
        scalar: t,
        private: p,
        ..
    } = context;
    let mut body = TokenStream::new();
    for (k, (ty, result)) in types.iter().zip(owner_returns).enumerate() {
        let layer_count = quote!(<#ty as #p::Tensors<#t>>::#count);
        body.extend(quote!(if i < #layer_count { return #result; }));
        if k + 1 < types.len() {
            body.extend(quote!(let i = i - #layer_count;));
        }
    }
    if types.is_empty() {
        body.extend(quote!(let _ = i;));
    }
    body.extend(quote!(#p::Option::None));
    body
}

fn expand_network_impl(context: &Context) -> TokenStream {
    let Context {
        model,
        scalar: t,
        private: p,
        grads,
        output,
        where_clause,
        cfgs,
        ..
    } = context;
    let name = &model.name;
    let input = context.input();
    let name_text = name.to_string();
    let scalar_text = match model.scalar {
        Scalar::F32 => "f32",
        Scalar::F64 => "f64",
    };

    // Frozen layers keep their parameters, as `Frozen::init` does.
    let initialised: Vec<&LayerModel> = context
        .parameter_layers()
        .filter(|layer| !layer.frozen)
        .collect();
    let inits = initialised.iter().map(|layer| init_layer(context, layer));
    let rows = model.layers.iter().map(|layer| summary_row(context, layer));
    let unused_rng = initialised.is_empty().then(|| quote!(let _ = &rng;));

    quote! {
        #cfgs
        #[automatically_derived]
        impl #p::NetworkMemory for #name #where_clause {
            const PARAM_BYTES: #p::usize = Self::PARAM_BYTES;
            const GRAD_BYTES: #p::usize = Self::GRAD_BYTES;
            const FORWARD_BYTES: #p::usize = Self::FORWARD_BYTES;
        }

        #cfgs
        #[automatically_derived]
        impl #p::Network for #name #where_clause {
            type Scalar = #t;
            type Grads = #grads;
            const INPUT: #p::usize = #input;
            const OUTPUT: #p::usize = #output;

            fn init(&mut self, rng: &mut #p::Rng) {
                #unused_rng
                #(#inits)*
            }

            fn summary() -> #p::Summary {
                // An inline `const` block has the `where` clause of this impl in scope,
                // unlike a nested `const` item.
                #p::Summary {
                    name: #name_text,
                    scalar: #scalar_text,
                    input: #input,
                    rows: const { &[#(#rows,)*] },
                }
            }
        }
    }
}

/// Initialises a layer with parameters with its declared initialiser: the `init` option
/// of a `Dense`, otherwise the layer's own `Layer::init`. A frozen layer is initialised
/// through its declared type, which `Frozen` wraps.
fn init_layer(context: &Context, layer: &LayerModel) -> TokenStream {
    let p = &context.private;
    let field = &layer.field;
    let value = if layer.frozen {
        quote!(self.#field.0)
    } else {
        quote!(self.#field)
    };
    match &layer.kind {
        Kind::Dense { init, .. } => quote!(#value.init_with(#p::Init::#init, rng);),
        _ => {
            let layer_trait = context.declared_layer_trait(layer);
            quote!(#layer_trait::init(&mut #value, rng);)
        }
    }
}

/// The summary row of one layer: its name, kind, output width and parameter count.
fn summary_row(context: &Context, layer: &LayerModel) -> TokenStream {
    let Context {
        scalar: t,
        private: p,
        ..
    } = context;
    let name = layer
        .name
        .as_ref()
        .map(Ident::to_string)
        .unwrap_or_default();
    let kind = match &layer.kind {
        Kind::Custom(path) | Kind::Network(path) => {
            let text = quote!(#path).to_string().replace(' ', "");
            let text = if layer.frozen {
                format!("frozen {text}")
            } else {
                text
            };
            quote!(#text)
        }
        Kind::Dense { .. } if layer.frozen => quote!("frozen Dense"),
        _ => {
            let own_trait = context.own_layer_trait(layer);
            quote!(#own_trait::KIND)
        }
    };
    let output = &layer.output;
    let params = if layer.kind.has_field() {
        let ty = context.layer_type(layer);
        quote!(<#ty as #p::Tensors<#t>>::PARAMS)
    } else {
        quote!(0)
    };
    quote!(#p::SummaryRow { name: #name, kind: #kind, output: #output, params: #params })
}

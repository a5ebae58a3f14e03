//! Expansion: writes the network struct, its gradients and trace types, and their impls.
//!
//! Every path is absolute (`::static_nn::__private::...`, `::core::...`), so the output
//! works in `#![no_implicit_prelude]` modules and next to user items named `Option` or
//! `f32`. The macro emits one call per layer and leaves loops over weights to nn-core;
//! it never writes code per weight.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use crate::validate::{Activation, Kind, LayerModel, Model, Scalar, Size, activation_type_name};

/// The facade's private module that the expansion refers to.
fn private() -> TokenStream {
    quote!(::static_nn::__private)
}

/// Everything the per-layer snippets need.
struct Context<'a> {
    model: &'a Model,
    scalar: TokenStream,
    private: TokenStream,
    grads: Ident,
    trace: Ident,
    output: Size,
}

pub fn expand(model: &Model) -> TokenStream {
    let private = private();
    let scalar = match model.scalar {
        Scalar::F32 => quote!(#private::f32),
        Scalar::F64 => quote!(#private::f64),
    };
    let output = model
        .layers
        .last()
        .map(|layer| layer.output.clone())
        .unwrap_or(Size::Known(model.input));
    let context = Context {
        model,
        scalar,
        private,
        grads: format_ident!("{}Grads", model.name),
        trace: format_ident!("{}Trace", model.name),
        output,
    };
    let types = expand_types(&context);
    let inherent = expand_inherent(&context);
    let layer = expand_layer_impl(&context);
    let tensors = expand_tensors(&context);
    let network = expand_network_impl(&context);
    quote! {
        #types
        #inherent
        #layer
        #tensors
        #network
    }
}

impl Context<'_> {
    /// The layer's Rust type.
    fn layer_type(&self, layer: &LayerModel) -> TokenStream {
        let p = &self.private;
        let t = &self.scalar;
        let (input, output) = (&layer.input, &layer.output);
        match &layer.kind {
            Kind::Dense { .. } => quote!(#p::Dense<#t, #input, #output>),
            Kind::Activation(activation) => {
                let name = Ident::new(activation_type_name(*activation), Span::call_site());
                match activation {
                    Activation::LeakyRelu(_) | Activation::Elu(_) => quote!(#p::#name<#t>),
                    _ => quote!(#p::#name),
                }
            }
            Kind::Dropout(_) => quote!(#p::Dropout<#t>),
            Kind::Custom(path) | Kind::Network(path) => quote!(#path),
        }
    }

    /// `<Type as Layer<T, IN, OUT>>`, spanned on the user's layer so that a layer that
    /// does not fit is reported there.
    fn layer_trait(&self, layer: &LayerModel) -> TokenStream {
        let p = &self.private;
        let t = &self.scalar;
        let ty = self.layer_type(layer);
        let (input, output) = (&layer.input, &layer.output);
        quote_spanned!(layer.span=> <#ty as #p::Layer<#t, #input, #output>>)
    }

    /// An expression for the layer value: a field, or a constant for parameter-free layers.
    fn layer_value(&self, layer: &LayerModel) -> TokenStream {
        let p = &self.private;
        let field = &layer.field;
        let literal = |value: f64| match self.model.scalar {
            Scalar::F32 => Literal::f32_suffixed(value as f32),
            Scalar::F64 => Literal::f64_suffixed(value),
        };
        match &layer.kind {
            Kind::Dense { .. } | Kind::Custom(_) | Kind::Network(_) => quote!(self.#field),
            Kind::Activation(Activation::LeakyRelu(slope)) => {
                let slope = literal(*slope);
                quote!(#p::LeakyRelu::new(#slope))
            }
            Kind::Activation(Activation::Elu(alpha)) => {
                let alpha = literal(*alpha);
                quote!(#p::Elu::new(#alpha))
            }
            Kind::Activation(activation) => {
                let name = Ident::new(activation_type_name(*activation), Span::call_site());
                quote!(#p::#name)
            }
            Kind::Dropout(rate) => {
                let rate = literal(*rate);
                quote!(#p::Dropout::new(#rate))
            }
        }
    }

    fn field_layers(&self) -> impl Iterator<Item = &LayerModel> {
        self.model.layers.iter().filter(|layer| layer.kind.has_field())
    }

    fn input(&self) -> Literal {
        Literal::usize_unsuffixed(self.model.input)
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
    let Context { model, private: p, grads, trace, .. } = context;
    let name = &model.name;
    let vis = &model.vis;
    let attrs = &model.attrs;

    let fields = context.field_layers().map(|layer| {
        let field = &layer.field;
        let ty = context.layer_type(layer);
        let attrs = field_attrs(layer);
        quote!(#attrs pub #field: #ty,)
    });
    let grad_fields = context.field_layers().map(|layer| {
        let field = &layer.field;
        let layer_trait = context.layer_trait(layer);
        let doc = format!("The gradient of layer `{field}`'s parameters.");
        quote!(#[doc = #doc] pub #field: #layer_trait::Grads,)
    });
    let trace_fields = model.layers.iter().map(|layer| {
        let field = &layer.field;
        let layer_trait = context.layer_trait(layer);
        quote!(#[doc = "What this layer recorded."] pub #field: #layer_trait::Trace<B>,)
    });
    let field_types: Vec<_> = context.field_layers().map(|layer| context.layer_type(layer)).collect();
    let grad_types: Vec<_> = context
        .field_layers()
        .map(|layer| {
            let layer_trait = context.layer_trait(layer);
            quote!(#layer_trait::Grads)
        })
        .collect();

    let grads_doc = format!("The parameter gradients of [`{name}`], one field per layer with parameters.");
    let trace_doc = format!("What the training forward pass of [`{name}`] records for a batch of `B` samples.");
    quote! {
        #(#attrs)*
        #vis struct #name {
            #(#fields)*
        }

        #[doc = #grads_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #grads {
            #(#grad_fields)*
        }

        #[doc = #trace_doc]
        #[derive(::core::clone::Clone, ::core::fmt::Debug)]
        #vis struct #trace<const B: #p::usize> {
            #(#trace_fields)*
        }

        // SAFETY: every field is `Zeroable` (the bounds check it), so the all-zero struct
        // is valid.
        unsafe impl #p::Zeroable for #name where #(#field_types: #p::Zeroable,)* {}

        // SAFETY: as above.
        unsafe impl #p::Zeroable for #grads where #(#grad_types: #p::Zeroable,)* {}
    }
}

fn expand_inherent(context: &Context) -> TokenStream {
    let Context { model, scalar: t, private: p, grads, trace, output, .. } = context;
    let name = &model.name;
    let vis = &model.vis;
    let input = context.input();
    quote! {
        #[automatically_derived]
        #[allow(dead_code)]
        impl #name {
            /// The number of input values per sample.
            #vis const INPUT: #p::usize = #input;
            /// The number of output values per sample.
            #vis const OUTPUT: #p::usize = #output;
            /// The number of scalar parameters.
            #vis const PARAMS: #p::usize = <Self as #p::Tensors<#t>>::PARAMS;

            /// Creates the network with every layer initialised from `seed`.
            ///
            /// The network is built on the stack; for large networks use `new_boxed`.
            #vis fn new(seed: #p::u64) -> Self {
                let mut network = <Self as #p::Zeroable>::zeroed();
                <Self as #p::Network>::init(&mut network, &mut #p::Rng::seed_from_u64(seed));
                network
            }

            /// Runs inference on one sample. Allocates nothing.
            #[inline]
            #vis fn forward(&self, x: &#p::SVector<#t, #input>) -> #p::SVector<#t, #output> {
                <Self as #p::Layer<#t, #input, #output>>::forward(self, x)
            }

            /// Runs inference on a batch with one sample per column.
            #[inline]
            #vis fn forward_batch<const B: #p::usize>(
                &self,
                x: &#p::SMatrix<#t, #input, B>,
            ) -> #p::SMatrix<#t, #output, B> {
                <Self as #p::Layer<#t, #input, #output>>::forward(self, x)
            }

            /// Runs the training forward pass (dropout active, drawing from `rng`) on a batch
            /// and returns the output with the trace that `backward` needs. A single sample
            /// is the batch size 1 (`SVector`).
            #vis fn forward_train<const B: #p::usize>(
                &self,
                x: &#p::SMatrix<#t, #input, B>,
                rng: &mut #p::Rng,
            ) -> (#p::SMatrix<#t, #output, B>, #trace<B>) {
                <Self as #p::Layer<#t, #input, #output>>::forward_train(self, x, rng)
            }

            /// Returns the parameter gradients and the input gradient for `grad_out`, the
            /// gradient of the loss with respect to the output.
            ///
            /// The gradients are built on the stack; for large networks use
            /// `backward_into` with gradients from `zero_grads_boxed`.
            #vis fn backward<const B: #p::usize>(
                &self,
                trace: &#trace<B>,
                grad_out: &#p::SMatrix<#t, #output, B>,
            ) -> (#grads, #p::SMatrix<#t, #input, B>) {
                let mut grads = <#grads as #p::Zeroable>::zeroed();
                let grad_input = self.backward_into(trace, grad_out, &mut grads);
                (grads, grad_input)
            }

            /// Adds the parameter gradients to `grads` in place and returns the input
            /// gradient.
            #vis fn backward_into<const B: #p::usize>(
                &self,
                trace: &#trace<B>,
                grad_out: &#p::SMatrix<#t, #output, B>,
                grads: &mut #grads,
            ) -> #p::SMatrix<#t, #input, B> {
                <Self as #p::Layer<#t, #input, #output>>::backward(self, trace, grad_out, grads)
            }

            /// Adds the parameter gradients to `grads` in place, skipping the input gradient.
            #vis fn accumulate_grads<const B: #p::usize>(
                &self,
                trace: &#trace<B>,
                grad_out: &#p::SMatrix<#t, #output, B>,
                grads: &mut #grads,
            ) {
                <Self as #p::Layer<#t, #input, #output>>::accumulate_grads(self, trace, grad_out, grads)
            }

            /// Returns zero gradients, built on the stack.
            #vis fn zero_grads() -> #grads {
                <#grads as #p::Zeroable>::zeroed()
            }

            /// Returns the table of layers, output shapes and parameter counts; print it
            /// with `{}`.
            #vis fn summary() -> #p::Summary {
                <Self as #p::Network>::summary()
            }

            /// Compares the backward pass with central finite differences at `x` and
            /// returns the worst error (see `static_nn::core::gradient_check`).
            #vis fn gradient_check(&mut self, x: &#p::SVector<#t, #input>) -> #p::GradCheck {
                self.gradient_check_batch(x)
            }

            /// Like `gradient_check`, for a batch.
            #vis fn gradient_check_batch<const B: #p::usize>(
                &mut self,
                x: &#p::SMatrix<#t, #input, B>,
            ) -> #p::GradCheck {
                let step = <#t as #p::Float>::GRAD_CHECK_STEP;
                #p::gradient_check::<#t, Self, #input, #output, B>(self, x, step)
            }
        }
    }
}

fn expand_layer_impl(context: &Context) -> TokenStream {
    let Context { model, scalar: t, private: p, grads, trace, output, .. } = context;
    let name = &model.name;
    let input = context.input();
    let kind = name.to_string();
    let layers = &model.layers;
    let n = layers.len();

    // forward: x_0 = input, x_{k+1} = layer_k(x_k).
    let activations: Vec<Ident> = (0..=n).map(|k| format_ident!("__x{}", k)).collect();
    let forward_steps = layers.iter().enumerate().map(|(k, layer)| {
        let layer_trait = context.layer_trait(layer);
        let value = context.layer_value(layer);
        let (x_in, x_out) = (&activations[k], &activations[k + 1]);
        quote!(let #x_out = #layer_trait::forward(&#value, &#x_in);)
    });
    let train_steps = layers.iter().enumerate().map(|(k, layer)| {
        let layer_trait = context.layer_trait(layer);
        let value = context.layer_value(layer);
        let (x_in, x_out) = (&activations[k], &activations[k + 1]);
        let field = &layer.field;
        quote!(let (#x_out, #field) = #layer_trait::forward_train(&#value, &#x_in, rng);)
    });
    let trace_fields = layers.iter().map(|layer| &layer.field);
    let last = &activations[n];

    let backward_steps = backward_steps(context, false);
    let accumulate_steps = backward_steps_accumulate(context);

    quote! {
        #[automatically_derived]
        impl #p::Layer<#t, #input, #output> for #name {
            type Trace<const B: #p::usize> = #trace<B>;
            type Grads = #grads;
            const KIND: &'static #p::str = #kind;

            #[inline]
            fn forward<const B: #p::usize>(
                &self,
                __x0: &#p::SMatrix<#t, #input, B>,
            ) -> #p::SMatrix<#t, #output, B> {
                let __x0 = *__x0;
                #(#forward_steps)*
                #last
            }

            fn forward_train<const B: #p::usize>(
                &self,
                __x0: &#p::SMatrix<#t, #input, B>,
                rng: &mut #p::Rng,
            ) -> (#p::SMatrix<#t, #output, B>, #trace<B>) {
                let __x0 = *__x0;
                #(#train_steps)*
                (#last, #trace { #(#trace_fields,)* })
            }

            fn backward<const B: #p::usize>(
                &self,
                trace: &#trace<B>,
                grad_out: &#p::SMatrix<#t, #output, B>,
                grads: &mut #grads,
            ) -> #p::SMatrix<#t, #input, B> {
                #backward_steps
            }

            fn accumulate_grads<const B: #p::usize>(
                &self,
                trace: &#trace<B>,
                grad_out: &#p::SMatrix<#t, #output, B>,
                grads: &mut #grads,
            ) {
                #accumulate_steps
            }

            fn init(&mut self, rng: &mut #p::Rng) {
                <Self as #p::Network>::init(self, rng)
            }
        }
    }
}

/// The gradient argument of layer `layer`: its field of the gradients, or a unit value.
fn grads_argument(context: &Context, layer: &LayerModel) -> TokenStream {
    let p = &context.private;
    let field = &layer.field;
    if layer.kind.has_field() {
        quote!(&mut grads.#field)
    } else {
        quote!(&mut #p::NoGrads)
    }
}

/// Backward from the last layer to the first, returning the input gradient.
fn backward_steps(context: &Context, _accumulate: bool) -> TokenStream {
    let layers = &context.model.layers;
    let mut steps = Vec::new();
    let mut current = quote!(grad_out);
    for (k, layer) in layers.iter().enumerate().rev() {
        let layer_trait = context.layer_trait(layer);
        let value = context.layer_value(layer);
        let field = &layer.field;
        let grads = grads_argument(context, layer);
        let next = format_ident!("__g{}", k);
        steps.push(quote!(let #next = #layer_trait::backward(&#value, &trace.#field, #current, #grads);));
        current = quote!(&#next);
    }
    let result = format_ident!("__g0");
    quote! {
        let _ = &grads;
        #(#steps)*
        #result
    }
}

/// Backward from the last layer down to the first layer with parameters, which only
/// accumulates its gradients; layers before it need nothing.
fn backward_steps_accumulate(context: &Context) -> TokenStream {
    let layers = &context.model.layers;
    let Some(first_param) = layers.iter().position(|layer| layer.kind.has_field()) else {
        return quote!(let _ = (trace, grad_out, grads););
    };
    let mut steps = Vec::new();
    let mut current = quote!(grad_out);
    for (k, layer) in layers.iter().enumerate().rev() {
        let layer_trait = context.layer_trait(layer);
        let value = context.layer_value(layer);
        let field = &layer.field;
        let grads = grads_argument(context, layer);
        if k == first_param {
            steps.push(quote!(#layer_trait::accumulate_grads(&#value, &trace.#field, #current, #grads);));
            break;
        }
        let next = format_ident!("__g{}", k);
        steps.push(quote!(let #next = #layer_trait::backward(&#value, &trace.#field, #current, #grads);));
        current = quote!(&#next);
    }
    quote!(#(#steps)*)
}

/// `Tensors` for the network and for its gradients: tensor `i` is found by subtracting
/// the tensor counts of the layers before it.
fn expand_tensors(context: &Context) -> TokenStream {
    let Context { model, scalar: t, grads, .. } = context;
    let network_types: Vec<_> = context.field_layers().map(|layer| context.layer_type(layer)).collect();
    let grad_types: Vec<_> = context
        .field_layers()
        .map(|layer| {
            let layer_trait = context.layer_trait(layer);
            quote!(#layer_trait::Grads)
        })
        .collect();
    let fields: Vec<_> = context.field_layers().map(|layer| &layer.field).collect();
    let network_impl = tensors_impl(context, &model.name, t, &fields, &network_types);
    let grads_impl = tensors_impl(context, grads, t, &fields, &grad_types);
    quote!(#network_impl #grads_impl)
}

fn tensors_impl(
    context: &Context,
    self_type: &Ident,
    t: &TokenStream,
    fields: &[&Ident],
    types: &[TokenStream],
) -> TokenStream {
    let p = &context.private;
    let names: Vec<String> = fields.iter().map(|field| field.to_string()).collect();
    quote! {
        #[automatically_derived]
        impl #p::Tensors<#t> for #self_type {
            const COUNT: #p::usize = 0 #(+ <#types as #p::Tensors<#t>>::COUNT)*;
            const PARAMS: #p::usize = 0 #(+ <#types as #p::Tensors<#t>>::PARAMS)*;

            fn tensor(&self, i: #p::usize) -> #p::Option<&[#t]> {
                #(
                    if i < <#types as #p::Tensors<#t>>::COUNT {
                        return #p::Tensors::<#t>::tensor(&self.#fields, i);
                    }
                    let i = i - <#types as #p::Tensors<#t>>::COUNT;
                )*
                let _ = i;
                #p::Option::None
            }

            fn tensor_mut(&mut self, i: #p::usize) -> #p::Option<&mut [#t]> {
                #(
                    if i < <#types as #p::Tensors<#t>>::COUNT {
                        return #p::Tensors::<#t>::tensor_mut(&mut self.#fields, i);
                    }
                    let i = i - <#types as #p::Tensors<#t>>::COUNT;
                )*
                let _ = i;
                #p::Option::None
            }

            fn tensor_info(i: #p::usize) -> #p::Option<#p::TensorInfo> {
                #(
                    if i < <#types as #p::Tensors<#t>>::COUNT {
                        return <#types as #p::Tensors<#t>>::tensor_info(i)
                            .map(|info| info.prefixed(#names));
                    }
                    let i = i - <#types as #p::Tensors<#t>>::COUNT;
                )*
                let _ = i;
                #p::Option::None
            }
        }
    }
}

fn expand_network_impl(context: &Context) -> TokenStream {
    let Context { model, scalar: t, private: p, grads, output, .. } = context;
    let name = &model.name;
    let input = context.input();
    let name_text = name.to_string();
    let scalar_text = match model.scalar {
        Scalar::F32 => "f32",
        Scalar::F64 => "f64",
    };

    let inits = context.field_layers().map(|layer| {
        let field = &layer.field;
        match &layer.kind {
            Kind::Dense { init } => quote!(self.#field.init_with(#p::Init::#init, rng);),
            _ => {
                let layer_trait = context.layer_trait(layer);
                quote!(#layer_trait::init(&mut self.#field, rng);)
            }
        }
    });
    let rows = model.layers.iter().map(|layer| {
        let layer_name = layer.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
        let kind = match &layer.kind {
            Kind::Custom(path) | Kind::Network(path) => quote!(#path).to_string().replace(' ', ""),
            _ => {
                let layer_trait = context.layer_trait(layer);
                return summary_row(p, &layer_name, quote!(#layer_trait::KIND), &layer.output, quote!(0), layer.kind.has_field().then(|| context.layer_type(layer)), t);
            }
        };
        summary_row(p, &layer_name, quote!(#kind), &layer.output, quote!(0), Some(context.layer_type(layer)), t)
    });

    quote! {
        #[automatically_derived]
        impl #p::Network for #name {
            type Scalar = #t;
            type Grads = #grads;
            const INPUT: #p::usize = #input;
            const OUTPUT: #p::usize = #output;

            fn init(&mut self, rng: &mut #p::Rng) {
                let _ = &rng;
                #(#inits)*
            }

            fn summary() -> #p::Summary {
                const ROWS: &[#p::SummaryRow] = &[#(#rows,)*];
                #p::Summary {
                    name: #name_text,
                    scalar: #scalar_text,
                    input: #input,
                    rows: ROWS,
                }
            }
        }
    }
}

fn summary_row(
    p: &TokenStream,
    name: &str,
    kind: TokenStream,
    output: &Size,
    zero: TokenStream,
    param_type: Option<TokenStream>,
    t: &TokenStream,
) -> TokenStream {
    let params = match param_type {
        Some(ty) => quote!(<#ty as #p::Tensors<#t>>::PARAMS),
        None => zero,
    };
    quote!(#p::SummaryRow { name: #name, kind: #kind, output: #output, params: #params })
}

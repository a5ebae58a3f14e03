//! Memory figures: the bytes a network's parameters, gradients, training trace and
//! activations take, emitted as associated consts, and the checks of `#[budget]`.
//!
//! Where every size is a number in the declaration (a network of built-in layers), the
//! macro computes a figure itself and checks the budget while expanding, so the error
//! names both numbers. A figure that depends on a user type (a custom layer or a nested
//! network) is a `const` expression over `size_of` and the nested network's own figures.
//! Its budget becomes a compile-time assertion whose message shows the number the
//! compiler found.
//!
//! The parameter and gradient figures of built-in layers and nested networks count
//! values, not the padding that `Dense` layers get on x86-64 to start on a cache line.
//! The macro runs on the host and does not know the target, and a budget should not
//! depend on it. A custom layer counts as its `size_of`, padding included.
//!
//! The trace figure always uses `size_of` of each layer's `Trace<1>` type, because what
//! a layer records is nn-core's choice and may change.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};

use crate::expand::{layer_type_spanned, scalar_type};
use crate::options::Limit;
use crate::validate::{Errors, Kind, LayerModel, Model, Scalar, Size};

/// A number of bytes: one the macro computed, or a `const` expression. An expression is
/// parenthesised when it is built, so it can be an operand as it is.
#[derive(Clone)]
pub enum Bytes {
    Known(u128),
    Expr(TokenStream),
}

impl Bytes {
    fn of_size(size: &Size) -> Self {
        match size {
            Size::Known(n) => Bytes::Known(*n as u128),
            Size::Deferred(expr) => Bytes::Expr(quote!({ #expr })),
        }
    }

    fn add(self, other: Bytes) -> Bytes {
        Bytes::sum([self, other])
    }

    fn times(self, factor: Bytes) -> Bytes {
        match (self, factor) {
            (Bytes::Known(a), Bytes::Known(b)) => Bytes::Known(a * b),
            (a, b) => Bytes::Expr(quote!((#a * #b))),
        }
    }

    /// Adds up `items`: the computed ones into one number, the expressions listed once each.
    fn sum(items: impl IntoIterator<Item = Bytes>) -> Bytes {
        let mut known = 0;
        let mut terms = Vec::new();
        for item in items {
            match item {
                Bytes::Known(n) => known += n,
                Bytes::Expr(expr) => terms.push(expr),
            }
        }
        if terms.is_empty() {
            return Bytes::Known(known);
        }
        if known > 0 {
            terms.push(Literal::u128_unsuffixed(known).into_token_stream());
        }
        Bytes::Expr(quote!((#(#terms)+*)))
    }

    /// Returns the largest of `items`, or zero without items.
    fn max(items: Vec<Bytes>) -> Bytes {
        let known: Option<Vec<u128>> = items
            .iter()
            .map(|item| match item {
                Bytes::Known(n) => Some(*n),
                Bytes::Expr(_) => None,
            })
            .collect();
        match known {
            Some(values) => Bytes::Known(values.into_iter().max().unwrap_or(0)),
            None => Bytes::Expr(quote!(::static_nn::__private::max_bytes(&[#(#items),*]))),
        }
    }
}

impl ToTokens for Bytes {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Bytes::Known(n) => Literal::u128_unsuffixed(*n).to_tokens(tokens),
            Bytes::Expr(expr) => expr.to_tokens(tokens),
        }
    }
}

/// The memory figures of a network.
pub struct Figures {
    /// The parameters and buffers: the values' bytes, without the padding that aligning
    /// `Dense` layers adds to the network struct on x86-64.
    pub params: Bytes,
    /// The gradients, counted the same way (no field for frozen layers).
    pub grads: Bytes,
    /// The training trace for one sample: the size of the trace struct for `B = 1`.
    pub trace: Bytes,
    /// The activations of `forward` for one sample: the largest sum of one layer's input
    /// and output.
    pub forward: Bytes,
}

impl Figures {
    pub fn of(model: &Model) -> Self {
        let scalar = Bytes::Known(scalar_size(model.scalar));
        let layers = &model.layers;
        Figures {
            params: Bytes::sum(
                layers
                    .iter()
                    .map(|layer| param_bytes(model, layer, &scalar)),
            ),
            grads: Bytes::sum(
                layers
                    .iter()
                    .filter(|layer| layer.has_grads())
                    .map(|layer| grad_bytes(model, layer, &scalar)),
            ),
            trace: Bytes::sum(layers.iter().map(|layer| trace_bytes(model, layer))),
            forward: Bytes::max(
                layers
                    .iter()
                    .map(|layer| forward_bytes(layer, &scalar))
                    .collect(),
            ),
        }
    }

    /// Writes the inherent consts of the network.
    pub fn consts(&self, model: &Model) -> TokenStream {
        let p = quote!(::static_nn::__private);
        let vis = &model.vis;
        let Figures {
            params,
            grads,
            trace,
            forward,
        } = self;
        quote! {
            /// The bytes of the parameters and buffers (the statistics of `Standardize`
            /// layers): for built-in layers `PARAMS` plus `Tensors::BUFFER_VALUES`, times
            /// the scalar's size, and `size_of` of each custom layer. That is the size
            /// of the network struct, except on x86-64, where each `Dense` layer starts
            /// on a 64-byte cache line and the struct may hold padding. A `static` of a
            /// network with `#[weights]` keeps them in read-only memory (flash).
            #vis const PARAM_BYTES: #p::usize = #params;
            /// The bytes of the parameter gradients, counted as `PARAM_BYTES`: the size
            /// of the gradients struct (except for the padding on x86-64), which has no
            /// field for frozen layers.
            #vis const GRAD_BYTES: #p::usize = #grads;
            /// The bytes of the training trace for one sample: the size of the trace
            /// struct for `B = 1`. Built-in layers record `B` columns, so a batch of `B`
            /// takes `B` times as much.
            #vis const TRACE_BYTES: #p::usize = #trace;
            /// An estimate of the stack the activations of `forward` take for one sample:
            /// the largest sum of one layer's input and output values, times the scalar's
            /// size (for a nested network, its own figure if that is larger). The
            /// compiler may keep more copies or fewer, so this is not a measurement.
            #vis const FORWARD_BYTES: #p::usize = #forward;
            /// An estimate of the memory one training step on one sample with `Adam`
            /// needs: the parameters, their gradients, Adam's two moment buffers (each
            /// the size of the gradients), the trace and the activations of one layer:
            /// `PARAM_BYTES + 3 * GRAD_BYTES + TRACE_BYTES + FORWARD_BYTES`. Plain SGD
            /// without momentum needs two gradients' worth less.
            #vis const TRAIN_BYTES: #p::usize = Self::PARAM_BYTES
                + 3 * Self::GRAD_BYTES
                + Self::TRACE_BYTES
                + Self::FORWARD_BYTES;
        }
    }
}

fn scalar_size(scalar: Scalar) -> u128 {
    match scalar {
        Scalar::F32 => 4,
        Scalar::F64 => 8,
    }
}

/// Reads the figure `name` of the nested network `path` from its `NetworkMemory` impl.
fn nested_figure(path: &syn::Path, name: TokenStream) -> Bytes {
    Bytes::Expr(quote!(<#path as ::static_nn::__private::NetworkMemory>::#name))
}

/// `size_of::<ty>()` as bytes.
fn size_of(ty: TokenStream) -> Bytes {
    Bytes::Expr(quote!(::core::mem::size_of::<#ty>()))
}

/// The declared type of `layer`, without the `Frozen` wrapper, which adds no bytes.
fn declared_type(model: &Model, layer: &LayerModel) -> TokenStream {
    layer_type_spanned(layer, model.scalar, Span::call_site())
}

/// `<Type as Layer<T, IN, OUT>>` for the layer's position.
fn layer_trait(model: &Model, layer: &LayerModel) -> TokenStream {
    let ty = declared_type(model, layer);
    let t = scalar_type(model.scalar, Span::call_site());
    let (input, output) = (&layer.input, &layer.output);
    quote!(<#ty as ::static_nn::__private::Layer<#t, #input, #output>>)
}

/// Returns the number of inputs of a `Dense`: stated, or what the previous layer produces.
fn dense_inputs(layer: &LayerModel) -> Bytes {
    match &layer.kind {
        Kind::Dense {
            stated_input: Some(stated),
            ..
        } => Bytes::Known(*stated as u128),
        _ => Bytes::of_size(&layer.input),
    }
}

fn param_bytes(model: &Model, layer: &LayerModel, scalar: &Bytes) -> Bytes {
    match &layer.kind {
        Kind::Dense { .. } => {
            let outputs = Bytes::of_size(&layer.output);
            let weights = dense_inputs(layer).times(outputs.clone());
            weights.add(outputs).times(scalar.clone())
        }
        // The mean and the standard deviation of each feature.
        Kind::Standardize => Bytes::Known(2)
            .times(Bytes::of_size(&layer.input))
            .times(scalar.clone()),
        Kind::Network(path) => nested_figure(path, quote!(PARAM_BYTES)),
        Kind::Custom(_) => size_of(declared_type(model, layer)),
        Kind::Activation(_) | Kind::Dropout(_) => Bytes::Known(0),
    }
}

fn grad_bytes(model: &Model, layer: &LayerModel, scalar: &Bytes) -> Bytes {
    match &layer.kind {
        Kind::Dense { .. } => param_bytes(model, layer, scalar),
        Kind::Network(path) => nested_figure(path, quote!(GRAD_BYTES)),
        _ => {
            let layer_trait = layer_trait(model, layer);
            size_of(quote!(#layer_trait::Grads))
        }
    }
}

fn trace_bytes(model: &Model, layer: &LayerModel) -> Bytes {
    let layer_trait = layer_trait(model, layer);
    size_of(quote!(#layer_trait::Trace<1>))
}

/// Returns the bytes of a layer's input and output, or a nested network's own figure if
/// that is larger.
fn forward_bytes(layer: &LayerModel, scalar: &Bytes) -> Bytes {
    let pair = Bytes::of_size(&layer.input)
        .add(Bytes::of_size(&layer.output))
        .times(scalar.clone());
    match &layer.kind {
        Kind::Network(path) => Bytes::max(vec![pair, nested_figure(path, quote!(FORWARD_BYTES))]),
        _ => pair,
    }
}

/// Checks the network against its `#[budget]`: an error for each limit that a figure the
/// macro computed exceeds, and a compile-time assertion for each limit whose figure only
/// the compiler can compute.
pub fn check_budget(model: &Model, figures: &Figures) -> (TokenStream, Result<(), syn::Error>) {
    let budget = &model.options.budget;
    let baked = model.options.weights.is_some();
    let mut errors = Errors::default();
    let mut assertions = TokenStream::new();

    if let Some(limit) = &budget.flash {
        if baked {
            let needed = Needed {
                figure: figures.params.clone(),
                consts: &["PARAM_BYTES"],
                what: "of flash for its parameters",
                breakdown: String::new(),
                marker: "ParamBytes",
            };
            needed.check(model, limit, &mut errors, &mut assertions);
        } else {
            errors.push_spanned(
                &limit.tokens,
                format!(
                    "`flash` counts the parameters of a network with baked weights, and `{}` has no `#[weights(\"file\")]`, so its parameters are in RAM; bake its weights or budget them with `ram`",
                    model.name
                ),
            );
        }
    }
    if let Some(limit) = &budget.ram {
        let needed = if baked {
            Needed {
                figure: figures.forward.clone(),
                consts: &["FORWARD_BYTES"],
                what: "of RAM for the activations of one inference",
                breakdown: String::new(),
                marker: "ForwardBytes",
            }
        } else {
            Needed {
                figure: figures.params.clone().add(figures.forward.clone()),
                consts: &["PARAM_BYTES", "FORWARD_BYTES"],
                what: "of RAM for one inference",
                breakdown: match (&figures.params, &figures.forward) {
                    (Bytes::Known(params), Bytes::Known(forward)) => format!(
                        ": {params} bytes of parameters, which are in RAM without `#[weights]`, and {forward} bytes of activations"
                    ),
                    _ => "; without `#[weights]` the parameters are in RAM".to_owned(),
                },
                marker: "ParamAndForwardBytes",
            }
        };
        needed.check(model, limit, &mut errors, &mut assertions);
    }
    if let Some(limit) = &budget.train_ram {
        let needed = Needed {
            figure: Bytes::Expr(quote!(Self::TRAIN_BYTES)),
            consts: &["TRAIN_BYTES"],
            what: "of RAM to train on one sample with Adam",
            breakdown: String::new(),
            marker: "TrainBytes",
        };
        needed.check(model, limit, &mut errors, &mut assertions);
    }
    (assertions, errors.finish())
}

/// A figure that a budget limits.
struct Needed {
    figure: Bytes,
    /// The consts whose sum is the figure.
    consts: &'static [&'static str],
    /// The purpose of the bytes, as the message words it: "of RAM for one inference".
    what: &'static str,
    /// Text after the consts in the message, such as the parts of the sum.
    breakdown: String,
    /// The facade's type that names the figure in a compile-time check.
    marker: &'static str,
}

impl Needed {
    fn check(
        &self,
        model: &Model,
        limit: &Limit,
        errors: &mut Errors,
        assertions: &mut TokenStream,
    ) {
        let (key, name, what) = (&limit.key, &model.name, self.what);
        let consts = self.consts.join(" + ");
        match self.figure {
            Bytes::Known(needed) if needed > limit.bytes => errors.push_spanned(
                &limit.tokens,
                format!(
                    "network `{name}` needs {needed} bytes {what} (`{consts}`{}), over its budget `{key} = {}`; shrink a layer or raise the budget",
                    self.breakdown, limit.bytes
                ),
            ),
            Bytes::Known(_) => {}
            Bytes::Expr(_) => assertions.extend(self.assertion(model, limit)),
        }
    }

    /// Writes a compile-time check that the figure is within the limit. The check names
    /// the figure, the bytes needed and the limit in the type `Needs` of the facade,
    /// whose `#[diagnostic::on_unimplemented]` message shows them when it fails. The
    /// attribute lives in the facade because a module with `#![no_implicit_prelude]`
    /// cannot resolve the `diagnostic` namespace.
    fn assertion(&self, model: &Model, limit: &Limit) -> TokenStream {
        let (span, name) = (limit.value_span, &model.name);
        let p = quote_spanned!(span=> ::static_nn::__private);
        let bytes = Literal::u128_unsuffixed(limit.bytes);
        let terms = self.consts.iter().map(|constant| {
            let constant = format_ident!("{constant}");
            quote!(#name::#constant)
        });
        let figure = quote!(#(#terms)+*);
        let marker = format_ident!("{}", self.marker, span = span);
        let cfgs = model
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("cfg"));
        quote_spanned! {span=>
            #(#cfgs)*
            const _: () = #p::check_budget::<
                #p::Needs<#p::#marker, { #figure }, #bytes, { #figure <= #bytes }>
            >();
        }
    }
}

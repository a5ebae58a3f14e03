//! Validation: checks a parsed declaration and infers the shape of every layer.
//!
//! Independent mistakes are collected and reported together, each on its own tokens.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Attribute, Ident, Path, Visibility};

use crate::ast::{Arg, Declaration, Entry, EntryBody, LayerDecl, ShapeDecl, Value};

/// The scalar type of a network.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    F32,
    F64,
}

/// A checked network, ready for expansion.
pub struct Model {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub scalar: Scalar,
    pub input: usize,
    pub layers: Vec<LayerModel>,
}

/// A layer's width per sample: a number the macro knows, or an expression only the
/// compiler can evaluate (the output of a nested network).
#[derive(Clone)]
pub enum Size {
    Known(usize),
    Deferred(TokenStream),
}

impl ToTokens for Size {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Size::Known(n) => proc_macro2::Literal::usize_unsuffixed(*n).to_tokens(tokens),
            Size::Deferred(expr) => quote!({ #expr }).to_tokens(tokens),
        }
    }
}

/// An activation without parameters, or with one scalar parameter.
#[derive(Clone, Copy)]
pub enum Activation {
    Identity,
    Relu,
    LeakyRelu(f64),
    Elu(f64),
    Gelu,
    Sigmoid,
    Tanh,
    Softmax,
}

impl Activation {
    /// Whether He initialisation suits a dense layer feeding this activation.
    fn is_relu_family(self) -> bool {
        matches!(
            self,
            Activation::Relu | Activation::LeakyRelu(_) | Activation::Elu(_) | Activation::Gelu
        )
    }
}

/// What a layer is.
pub enum Kind {
    Dense { init: Ident },
    Activation(Activation),
    Dropout(f64),
    /// A user type implementing `Layer`, with its stated output width.
    Custom(Path),
    /// A network declared with `network!`.
    Network(Path),
}

impl Kind {
    /// Whether the layer is a field of the network struct.
    pub fn has_field(&self) -> bool {
        matches!(self, Kind::Dense { .. } | Kind::Custom(_) | Kind::Network(_))
    }
}

pub struct LayerModel {
    pub attrs: Vec<Attribute>,
    pub name: Option<Ident>,
    /// The struct and trace field: the layer's name, or `layer_<index>` when unnamed.
    pub field: Ident,
    pub kind: Kind,
    pub input: Size,
    pub output: Size,
    pub span: Span,
}

/// Collected errors, combined into one `syn::Error` at the end.
#[derive(Default)]
struct Errors {
    list: Vec<syn::Error>,
}

impl Errors {
    fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.list.push(syn::Error::new(span, message));
    }

    fn finish(self) -> Result<(), syn::Error> {
        let mut list = self.list.into_iter();
        let Some(mut first) = list.next() else {
            return Ok(());
        };
        for error in list {
            first.combine(error);
        }
        Err(first)
    }
}

const BUILT_IN: &[&str] = &[
    "Dense",
    "Identity",
    "Relu",
    "LeakyRelu",
    "Elu",
    "Gelu",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Dropout",
];

const INITIALISERS: &[&str] = &["GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "Zeros"];

/// Checks a declaration and infers its shapes.
pub fn validate(declaration: &Declaration) -> Result<Model, syn::Error> {
    let mut errors = Errors::default();
    let scalar = check_scalar(declaration, &mut errors);
    let (input, layer_entries) = split_input(declaration, &mut errors);
    check_duplicate_names(declaration, &mut errors);

    let mut layers = Vec::new();
    let mut previous = Size::Known(input.unwrap_or(1));
    let mut previous_name = String::from("the input");
    for (index, entry) in layer_entries {
        let EntryBody::Layer(layer) = &entry.body else {
            continue;
        };
        let Some(model) = check_layer(index, entry, layer, &previous, &previous_name, &mut errors)
        else {
            // The layer's output is unknown; later size checks would only repeat the error.
            previous = Size::Deferred(quote!(0));
            continue;
        };
        previous = model.output.clone();
        previous_name = match &model.name {
            Some(name) => format!("`{name}`"),
            None => format!("the `{}` before it", model_kind_name(&model.kind)),
        };
        layers.push(model);
    }
    choose_default_inits(&mut layers);

    errors.finish()?;
    Ok(Model {
        attrs: declaration.attrs.clone(),
        vis: declaration.vis.clone(),
        name: declaration.name.clone(),
        scalar,
        input: input.unwrap_or(0),
        layers,
    })
}

fn model_kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Dense { .. } => "Dense".into(),
        Kind::Activation(activation) => activation_name(*activation).into(),
        Kind::Dropout(_) => "Dropout".into(),
        Kind::Custom(path) | Kind::Network(path) => path.to_token_stream().to_string(),
    }
}

fn activation_name(activation: Activation) -> &'static str {
    match activation {
        Activation::Identity => "Identity",
        Activation::Relu => "Relu",
        Activation::LeakyRelu(_) => "LeakyRelu",
        Activation::Elu(_) => "Elu",
        Activation::Gelu => "Gelu",
        Activation::Sigmoid => "Sigmoid",
        Activation::Tanh => "Tanh",
        Activation::Softmax => "Softmax",
    }
}

fn check_scalar(declaration: &Declaration, errors: &mut Errors) -> Scalar {
    match &declaration.scalar {
        None => Scalar::F32,
        Some(ident) if ident == "f32" => Scalar::F32,
        Some(ident) if ident == "f64" => Scalar::F64,
        Some(ident) => {
            errors.push(
                ident.span(),
                format!("unsupported scalar type `{ident}`; use `f32` or `f64`"),
            );
            Scalar::F32
        }
    }
}

/// Finds the input shape, which must come first, and returns the remaining entries.
fn split_input<'a>(
    declaration: &'a Declaration,
    errors: &mut Errors,
) -> (Option<usize>, Vec<(usize, &'a Entry)>) {
    let entries = &declaration.entries;
    let name = &declaration.name;
    let Some(first) = entries.first() else {
        errors.push(
            declaration.body_span,
            format!("network `{name}` is empty; declare its input shape and layers, such as `input: [4], out: Dense(1)`"),
        );
        return (None, Vec::new());
    };

    let input = match &first.body {
        EntryBody::Shape(shape) => check_input_shape(first, shape, errors),
        EntryBody::Layer(layer) => {
            errors.push(
                layer.span(),
                format!("network `{name}` is missing its input shape; start the layer list with `input: [N]`"),
            );
            None
        }
    };
    let skip = usize::from(matches!(first.body, EntryBody::Shape(_)));

    let rest: Vec<_> = entries.iter().enumerate().skip(skip).collect();
    for (_, entry) in &rest {
        if let EntryBody::Shape(shape) = &entry.body {
            errors.push(shape.span, "a shape can only come first, as the input shape (`input: [N]`); a custom layer states its output as `name: Type -> [N]`");
        }
    }
    if rest.is_empty() && input.is_some() {
        errors.push(
            declaration.body_span,
            format!("network `{name}` has no layers; add at least one after the input, such as `out: Dense(1)`"),
        );
    }
    (input, rest)
}

fn check_input_shape(entry: &Entry, shape: &ShapeDecl, errors: &mut Errors) -> Option<usize> {
    match &entry.name {
        Some(name) if name == "input" => {}
        Some(name) => errors.push(
            name.span(),
            format!("the input shape must be named `input`, found `{name}`"),
        ),
        None => errors.push(shape.span, "name the input shape: `input: [N]`"),
    }
    if shape.dims.is_empty() {
        errors.push(shape.span, "the input shape needs at least one dimension, such as `[64]`");
        return None;
    }
    let mut width = 1usize;
    for dim in &shape.dims {
        let value = parse_width(dim, "input dimension", errors)?;
        width = width.saturating_mul(value);
    }
    Some(width)
}

/// Parses a positive integer literal, reporting zero and non-numbers.
fn parse_width(value: &Value, what: &str, errors: &mut Errors) -> Option<usize> {
    let parsed = syn::parse2::<syn::LitInt>(value.tokens.clone())
        .ok()
        .and_then(|lit| lit.base10_parse::<usize>().ok());
    match parsed {
        Some(0) => {
            errors.push(value.span(), format!("{what} is zero; a width must be at least 1"));
            None
        }
        Some(width) => Some(width),
        None => {
            errors.push(
                value.span(),
                format!("expected the {what} as an integer literal, found `{}`", value.text()),
            );
            None
        }
    }
}

/// Parses a float literal, which may be negative or written as an integer.
fn parse_float(value: &Value, what: &str, errors: &mut Errors) -> Option<f64> {
    let expr = syn::parse2::<syn::Expr>(value.tokens.clone()).ok();
    let (negative, lit) = match &expr {
        Some(syn::Expr::Unary(unary)) if matches!(unary.op, syn::UnOp::Neg(_)) => {
            (true, literal_of(&unary.expr))
        }
        Some(expr) => (false, literal_of(expr)),
        None => (false, None),
    };
    let parsed = match lit {
        Some(syn::Lit::Float(lit)) => lit.base10_parse::<f64>().ok(),
        Some(syn::Lit::Int(lit)) => lit.base10_parse::<f64>().ok(),
        _ => None,
    };
    match parsed {
        Some(v) if v.is_finite() => Some(if negative { -v } else { v }),
        _ => {
            errors.push(
                value.span(),
                format!("expected the {what} as a number literal, found `{}`", value.text()),
            );
            None
        }
    }
}

fn literal_of(expr: &syn::Expr) -> Option<&syn::Lit> {
    match expr {
        syn::Expr::Lit(lit) => Some(&lit.lit),
        _ => None,
    }
}

fn check_duplicate_names(declaration: &Declaration, errors: &mut Errors) {
    let mut seen: Vec<&Ident> = Vec::new();
    for entry in &declaration.entries {
        let Some(name) = &entry.name else { continue };
        if let Some(first) = seen.iter().find(|seen| *seen == &name) {
            errors.push(
                name.span(),
                format!("duplicate layer name `{name}`; every layer needs its own name"),
            );
            errors.push(first.span(), format!("`{name}` is first used here"));
        } else {
            seen.push(name);
        }
    }
}

/// Checks one layer and infers its output size.
fn check_layer(
    index: usize,
    entry: &Entry,
    layer: &LayerDecl,
    previous: &Size,
    previous_name: &str,
    errors: &mut Errors,
) -> Option<LayerModel> {
    let built_in = built_in_name(&layer.path);
    let (kind, input, output) = match built_in.as_deref() {
        Some("Dense") => check_dense(entry, layer, previous, previous_name, errors)?,
        Some(name) => {
            let kind = check_parameter_free(name, layer, errors)?;
            (kind, previous.clone(), previous.clone())
        }
        None => check_user_layer(entry, layer, previous, errors)?,
    };

    if let (Some(stated), true) = (&layer.output, built_in.is_some()) {
        check_stated_output(stated, &output, errors);
    }

    let field = match &entry.name {
        Some(name) => name.clone(),
        None => Ident::new(&format!("layer_{index}"), layer.path.span()),
    };
    Some(LayerModel {
        attrs: entry.attrs.clone(),
        name: entry.name.clone(),
        field,
        kind,
        input,
        output,
        span: layer.span(),
    })
}

/// Returns the name if `path` is a single identifier naming a built-in layer.
fn built_in_name(path: &Path) -> Option<String> {
    let ident = path.get_ident()?.to_string();
    BUILT_IN.contains(&ident.as_str()).then_some(ident)
}

/// Suggests a built-in layer for a misspelled or differently cased name.
fn suggestion(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let aliases = [("linear", "Dense"), ("relu6", "Relu"), ("softplus", "Relu")];
    BUILT_IN
        .iter()
        .copied()
        .find(|candidate| candidate.to_ascii_lowercase() == lower)
        .or_else(|| aliases.iter().find(|(alias, _)| *alias == lower).map(|(_, to)| *to))
        .or_else(|| {
            BUILT_IN
                .iter()
                .copied()
                .find(|candidate| edit_distance(&candidate.to_ascii_lowercase(), &lower) <= 2)
        })
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous_diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous_diagonal + usize::from(ca != cb);
            previous_diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

fn unknown_layer(layer: &LayerDecl, errors: &mut Errors) {
    let name = layer.path.to_token_stream().to_string();
    let hint = match suggestion(&name) {
        Some(built_in) => format!("; did you mean `{built_in}`?"),
        None => String::new(),
    };
    errors.push(
        layer.path.span(),
        format!(
            "unknown layer `{name}`{hint} Built-in layers are {}; a custom layer is written `name: Type -> [outputs]`",
            BUILT_IN.join(", ")
        ),
    );
}

fn check_dense(
    entry: &Entry,
    layer: &LayerDecl,
    previous: &Size,
    previous_name: &str,
    errors: &mut Errors,
) -> Option<(Kind, Size, Size)> {
    let span = layer.path.span();
    if entry.name.is_none() {
        errors.push(span, "a `Dense` layer needs a name, such as `hidden: Dense(32)`; the name is its field and the prefix of its weights (`hidden.weight`)");
    }
    let Some(args) = &layer.args else {
        errors.push(span, "`Dense` needs its number of outputs, such as `Dense(32)` or `Dense(64 -> 32)`");
        return None;
    };

    let mut init = None;
    let mut sizes = None;
    for arg in args {
        match arg {
            Arg::Positional(out) if sizes.is_none() => sizes = Some((None, out)),
            Arg::Sizes(input, out) if sizes.is_none() => sizes = Some((Some(input), out)),
            Arg::Named(key, value) if key == "init" => init = check_init(value, errors),
            Arg::Named(key, _) => errors.push(
                key.span(),
                format!("unknown `Dense` option `{key}`; the only option is `init = <initialiser>`"),
            ),
            Arg::Positional(value) | Arg::Sizes(value, _) => errors.push(
                value.span(),
                "`Dense` takes one size, such as `Dense(32)` or `Dense(64 -> 32)`",
            ),
        }
    }
    let Some((stated_input, out)) = sizes else {
        errors.push(span, "`Dense` needs its number of outputs, such as `Dense(32)`");
        return None;
    };

    let output = parse_width(out, "number of outputs", errors);
    let input = match stated_input {
        None => previous.clone(),
        Some(value) => {
            let stated = parse_width(value, "number of inputs", errors)?;
            if let Size::Known(produced) = previous
                && *produced != stated
            {
                let this = describe(entry.name.as_ref());
                errors.push(
                    value.span(),
                    format!("{this} takes {stated} inputs but {previous_name} produces {produced}; change one of them"),
                );
            }
            Size::Known(stated)
        }
    };
    let init = init.unwrap_or_else(|| Ident::new("__Default", span));
    Some((Kind::Dense { init }, input, Size::Known(output?)))
}

fn describe(name: Option<&Ident>) -> String {
    match name {
        Some(name) => format!("layer `{name}`"),
        None => "this layer".into(),
    }
}

fn check_init(value: &Value, errors: &mut Errors) -> Option<Ident> {
    match syn::parse2::<Ident>(value.tokens.clone()) {
        Ok(ident) if INITIALISERS.contains(&ident.to_string().as_str()) => Some(ident),
        _ => {
            errors.push(
                value.span(),
                format!(
                    "unknown initialiser `{}`; use one of {}",
                    value.text(),
                    INITIALISERS.join(", ")
                ),
            );
            None
        }
    }
}

fn check_parameter_free(name: &str, layer: &LayerDecl, errors: &mut Errors) -> Option<Kind> {
    let args = layer.args.as_deref().unwrap_or(&[]);
    let span = layer.args_span.unwrap_or_else(|| layer.path.span());
    let single = |what: &str, errors: &mut Errors| -> Option<Option<f64>> {
        match args {
            [] => Some(None),
            [Arg::Positional(value)] => parse_float(value, what, errors).map(Some),
            _ => {
                errors.push(span, format!("`{name}` takes one argument, the {what}"));
                None
            }
        }
    };
    let kind = match name {
        "LeakyRelu" => Kind::Activation(Activation::LeakyRelu(single("negative slope", errors)?.unwrap_or(0.01))),
        "Elu" => Kind::Activation(Activation::Elu(single("alpha", errors)?.unwrap_or(1.0))),
        "Dropout" => {
            let Some(rate) = single("dropout rate", errors)? else {
                errors.push(layer.path.span(), "`Dropout` needs its rate, such as `Dropout(0.5)`");
                return None;
            };
            check_dropout_rate(rate, args, errors)?;
            Kind::Dropout(rate)
        }
        _ => {
            if layer.args.is_some() {
                errors.push(span, format!("`{name}` takes no arguments; write `{name}`"));
            }
            Kind::Activation(match name {
                "Identity" => Activation::Identity,
                "Relu" => Activation::Relu,
                "Gelu" => Activation::Gelu,
                "Sigmoid" => Activation::Sigmoid,
                "Tanh" => Activation::Tanh,
                _ => Activation::Softmax,
            })
        }
    };
    Some(kind)
}

fn check_dropout_rate(rate: f64, args: &[Arg], errors: &mut Errors) -> Option<()> {
    if (0.0..1.0).contains(&rate) {
        return Some(());
    }
    let span = match args {
        [Arg::Positional(value)] => value.span(),
        _ => Span::call_site(),
    };
    let message = if rate == 1.0 {
        "a dropout rate of 1 drops every value; the rate must be in [0, 1)".to_string()
    } else {
        format!("dropout rate {rate} is outside [0, 1); it is the probability of dropping each value")
    };
    errors.push(span, message);
    None
}

/// A layer that is not built in: a custom layer with a stated output, or a network.
fn check_user_layer(
    entry: &Entry,
    layer: &LayerDecl,
    previous: &Size,
    errors: &mut Errors,
) -> Option<(Kind, Size, Size)> {
    if layer.args.is_some() || entry.name.is_none() {
        unknown_layer(layer, errors);
        return None;
    }
    let path = layer.path.clone();
    match &layer.output {
        Some(shape) => {
            let [dim] = shape.dims.as_slice() else {
                errors.push(shape.span, "a layer's output shape has one dimension, such as `[16]`");
                return None;
            };
            let output = parse_width(dim, "number of outputs", errors)?;
            Some((Kind::Custom(path), previous.clone(), Size::Known(output)))
        }
        None => {
            let output = quote!(<#path as ::static_nn::__private::Network>::OUTPUT);
            Some((Kind::Network(path), previous.clone(), Size::Deferred(output)))
        }
    }
}

fn check_stated_output(stated: &ShapeDecl, computed: &Size, errors: &mut Errors) {
    let [dim] = stated.dims.as_slice() else {
        errors.push(stated.span, "a layer's output shape has one dimension, such as `[16]`");
        return;
    };
    let Some(stated_width) = parse_width(dim, "number of outputs", errors) else {
        return;
    };
    if let Size::Known(width) = computed
        && *width != stated_width
    {
        errors.push(
            stated.span,
            format!("this layer produces {width} values, not {stated_width}; correct the stated shape"),
        );
    }
}

/// Picks He initialisation for dense layers feeding a ReLU-family activation (skipping
/// dropout), and Glorot otherwise, unless the declaration chose one.
fn choose_default_inits(layers: &mut [LayerModel]) {
    for i in 0..layers.len() {
        let Kind::Dense { init } = &layers[i].kind else {
            continue;
        };
        if init != "__Default" {
            continue;
        }
        let next_activation = layers[i + 1..]
            .iter()
            .find(|layer| !matches!(layer.kind, Kind::Dropout(_)))
            .and_then(|layer| match layer.kind {
                Kind::Activation(activation) => Some(activation),
                _ => None,
            });
        let chosen = match next_activation {
            Some(activation) if activation.is_relu_family() => "HeUniform",
            _ => "GlorotUniform",
        };
        let span = init.span();
        layers[i].kind = Kind::Dense {
            init: Ident::new(chosen, span),
        };
    }
}

/// The name of each activation kind as nn-core spells its type.
pub fn activation_type_name(activation: Activation) -> &'static str {
    activation_name(activation)
}

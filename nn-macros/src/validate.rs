//! Validation: checks a parsed declaration and infers the shape of every layer.
//!
//! Independent mistakes are collected and reported together, each on its own tokens.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Ident, Path, Visibility};

use crate::ast::{Arg, Declaration, Entry, EntryBody, LayerDecl, ShapeDecl, Value};
use crate::options::{self, Options};

/// The scalar type of a network.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scalar {
    F32,
    F64,
}

/// A checked network, ready for expansion.
pub struct Model {
    /// The attributes passed through to the struct, without `#[weights]` and `#[budget]`.
    pub attrs: Vec<Attribute>,
    /// The options the macro consumes: the baked weights file and the memory budget.
    pub options: Options,
    /// The mistakes in those options. They leave the generated types as they are, so
    /// the network is expanded in full beside them.
    pub option_errors: Option<syn::Error>,
    pub vis: Visibility,
    pub name: Ident,
    pub scalar: Scalar,
    pub input: usize,
    pub layers: Vec<LayerModel>,
}

/// A layer's width per sample: a number the macro computed, or an expression only the
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
    /// Returns whether He initialisation suits a dense layer feeding this activation.
    fn is_relu_family(self) -> bool {
        matches!(
            self,
            Activation::Relu | Activation::LeakyRelu(_) | Activation::Elu(_) | Activation::Gelu
        )
    }

    /// Returns the name of the activation's type in nn-core.
    pub fn type_name(self) -> &'static str {
        match self {
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
}

/// The kind of a layer.
pub enum Kind {
    /// A dense layer with its initialiser and, when the declaration states it as in
    /// `Dense(64 -> 32)`, its number of inputs.
    Dense {
        init: Ident,
        stated_input: Option<usize>,
    },
    Activation(Activation),
    Dropout(f64),
    /// A `Standardize` layer: fixed statistics of the previous layer's width, which are
    /// buffers and not parameters.
    Standardize,
    /// A user type implementing `Layer`, with its stated output width.
    Custom(Path),
    /// A network declared with `network!`.
    Network(Path),
}

impl Kind {
    /// Returns whether the layer is a field of the network struct.
    pub fn has_field(&self) -> bool {
        matches!(
            self,
            Kind::Dense { .. } | Kind::Standardize | Kind::Custom(_) | Kind::Network(_)
        )
    }

    /// Returns the layer's kind as the declaration spells it, for messages.
    fn display_name(&self) -> String {
        match self {
            Kind::Dense { .. } => "Dense".into(),
            Kind::Activation(activation) => activation.type_name().into(),
            Kind::Dropout(_) => "Dropout".into(),
            Kind::Standardize => "Standardize".into(),
            Kind::Custom(path) | Kind::Network(path) => path.to_token_stream().to_string(),
        }
    }
}

pub struct LayerModel {
    /// The attributes passed through to the struct field, without `#[frozen]`.
    pub attrs: Vec<Attribute>,
    pub name: Option<Ident>,
    /// The struct and trace field: the layer's name, or `layer_<index>` when unnamed.
    pub field: Ident,
    pub kind: Kind,
    /// The number of values the previous layer produces.
    pub input: Size,
    pub output: Size,
    /// The token a compile-time error points at if the layer does not map `input` to
    /// `output` values: the layer type, or the stated input of a `Dense`.
    pub fit_span: Span,
    /// Whether the layer is declared `#[frozen]`: its field is wrapped in `Frozen`, and the
    /// gradients have no field for it.
    pub frozen: bool,
}

impl LayerModel {
    /// Returns whether the layer has a field in the gradients: it has a field, is not
    /// frozen, and is not a `Standardize`, whose statistics are never trained.
    pub fn has_grads(&self) -> bool {
        self.kind.has_field() && !self.frozen && !matches!(self.kind, Kind::Standardize)
    }

    /// Returns whether the layer has parameter tensors, which `reinit` (and `init`,
    /// unless the layer is frozen) initialises. A `Standardize` has a field but no
    /// parameters, because its statistics are buffers.
    pub fn has_parameters(&self) -> bool {
        self.kind.has_field() && !matches!(self.kind, Kind::Standardize)
    }

    /// Returns whether only the compiler can tell if the layer maps `input` to `output`
    /// values: true for user layers, and for a `Dense` with a stated input after a
    /// nested network.
    pub fn needs_fit_check(&self) -> bool {
        match &self.kind {
            Kind::Custom(_) | Kind::Network(_) => true,
            Kind::Dense { stated_input, .. } => {
                stated_input.is_some() && matches!(self.input, Size::Deferred(_))
            }
            Kind::Activation(_) | Kind::Dropout(_) | Kind::Standardize => false,
        }
    }
}

/// Collected errors, combined into one `syn::Error` at the end.
#[derive(Default)]
pub struct Errors {
    list: Vec<syn::Error>,
}

impl Errors {
    /// Records an error at one token.
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.list.push(syn::Error::new(span, message));
    }

    /// Records an error that underlines `tokens` from the first to the last.
    pub fn push_spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.list.push(syn::Error::new_spanned(tokens, message));
    }

    /// Returns the errors combined into one, or `Ok` when there is none.
    pub fn finish(self) -> Result<(), syn::Error> {
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
    "Standardize",
];

const INITIALISERS: &[&str] = &[
    "GlorotUniform",
    "GlorotNormal",
    "HeUniform",
    "HeNormal",
    "Zeros",
];

/// The source of the next layer's input: its size, and the last layer with parameters
/// that set it (`None` for the input), for messages.
struct Source {
    layer: Option<String>,
    size: Size,
}

impl Source {
    /// Describes the source producing `size` values: "layer `hidden` produces 32".
    fn produces(&self, size: usize) -> String {
        match &self.layer {
            Some(name) => format!("layer `{name}` produces {size}"),
            None => format!("the input has {size} values"),
        }
    }
}

/// Checks a declaration and infers its shapes.
pub fn validate(declaration: &Declaration) -> Result<Model, syn::Error> {
    let mut errors = Errors::default();
    let mut option_errors = Errors::default();
    let (options, attrs) = options::split(&declaration.attrs, &mut option_errors);
    let scalar = check_scalar(declaration, &mut errors);
    let (input, layer_entries) = split_input(declaration, &mut errors);

    let mut layers = Vec::new();
    let mut source = Source {
        layer: None,
        size: Size::Known(input.unwrap_or(1)),
    };
    let mut names: Vec<&Ident> = Vec::new();
    for (index, entry) in layer_entries {
        let EntryBody::Layer(layer) = &entry.body else {
            continue;
        };
        check_duplicate_name(entry, &mut names, &mut errors);
        check_layer_attrs(entry, &mut errors);
        let frozen = check_frozen(entry, &mut errors);
        let Some(mut model) = check_layer(index, entry, layer, &source, scalar, &mut errors) else {
            // The layer's output is unknown; later size checks would only repeat the error.
            source.size = Size::Deferred(quote!(0));
            continue;
        };
        if let Some(attr) = frozen {
            check_frozen_kind(&model, attr, &mut errors);
            model.frozen = true;
        }
        if model.kind.has_field() {
            source.layer = model.name.as_ref().map(Ident::to_string);
        }
        source.size = model.output.clone();
        layers.push(model);
    }
    choose_default_inits(&mut layers);
    rename_colliding_fields(&mut layers);
    check_bakeable(&options, &layers, &mut option_errors);

    let option_errors = option_errors.finish().err();
    if let Err(mut error) = errors.finish() {
        error.extend(option_errors);
        return Err(error);
    }
    Ok(Model {
        attrs,
        options,
        option_errors,
        vis: declaration.vis.clone(),
        name: declaration.name.clone(),
        scalar,
        input: input.unwrap_or(0),
        layers,
    })
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
                layer.path.span(),
                format!("network `{name}` is missing its input shape; start the layer list with `input: [N]`"),
            );
            None
        }
    };
    if let EntryBody::Shape(_) = &first.body
        && let Some(attr) = first.attrs.iter().find(|attr| is_frozen(attr))
    {
        errors.push_spanned(
            attr,
            "`#[frozen]` applies to layers with parameters, not to the input shape; remove it",
        );
    }
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
            format!("the input shape must be named `input`, found `{name}`; write `input: [N]`"),
        ),
        None => errors.push(shape.span, "name the input shape: `input: [N]`"),
    }
    if shape.dims.is_empty() {
        errors.push(
            shape.span,
            "the input shape needs at least one dimension, such as `[64]`",
        );
        return None;
    }
    let mut width = Some(1usize);
    for dim in &shape.dims {
        let value = parse_width(dim, "each input dimension", errors);
        width = match (width, value) {
            (Some(width), Some(value)) => width.checked_mul(value),
            _ => None,
        };
    }
    if width.is_none() && shape.dims.len() > 1 {
        // Each dimension parsed, so the product overflowed (or an error is already out).
        errors.push(
            shape.span,
            "the input shape has more values than `usize` can count",
        );
    }
    width
}

/// Parses a positive integer literal, reporting zero and non-numbers.
fn parse_width(value: &Value, what: &str, errors: &mut Errors) -> Option<usize> {
    let literal = syn::parse2::<syn::LitInt>(value.tokens.clone()).ok();
    let Some(literal) = literal else {
        errors.push_spanned(
            &value.tokens,
            format!("expected {what} as an integer literal such as `32`, found `{}`; the macro needs the number itself, so a constant or an expression cannot be used", value.text()),
        );
        return None;
    };
    match literal.base10_parse::<usize>() {
        Ok(0) => {
            errors.push_spanned(
                &value.tokens,
                format!("{what} must be at least 1, found `0`"),
            );
            None
        }
        Ok(width) => Some(width),
        Err(_) => {
            errors.push_spanned(
                &value.tokens,
                format!(
                    "expected {what} as an unsuffixed `usize` literal such as `32`, found `{}`",
                    value.text()
                ),
            );
            None
        }
    }
}

/// Parses a float literal, which may be negative or written as an integer, and checks
/// that it is finite in the network's scalar type.
fn parse_float(value: &Value, what: &str, scalar: Scalar, errors: &mut Errors) -> Option<f64> {
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
    let Some(parsed) = parsed else {
        errors.push_spanned(
            &value.tokens,
            format!(
                "expected the {what} as a number literal such as `0.5`, found `{}`",
                value.text()
            ),
        );
        return None;
    };
    let fits = match scalar {
        Scalar::F32 => (parsed as f32).is_finite(),
        Scalar::F64 => parsed.is_finite(),
    };
    if !fits {
        let name = if scalar == Scalar::F32 { "f32" } else { "f64" };
        errors.push_spanned(
            &value.tokens,
            format!(
                "the {what} `{}` is too large for `{name}`; use a smaller value",
                value.text()
            ),
        );
        return None;
    }
    Some(if negative { -parsed } else { parsed })
}

fn literal_of(expr: &syn::Expr) -> Option<&syn::Lit> {
    match expr {
        syn::Expr::Lit(lit) => Some(&lit.lit),
        _ => None,
    }
}

/// Reports a layer name used before. `names` contains the names seen so far.
fn check_duplicate_name<'a>(entry: &'a Entry, names: &mut Vec<&'a Ident>, errors: &mut Errors) {
    let Some(name) = &entry.name else { return };
    if names.contains(&name) {
        errors.push(
            name.span(),
            format!("duplicate layer name `{name}`; rename this layer, because each name is a struct field and the prefix of the layer's weights"),
        );
    } else {
        names.push(name);
    }
}

/// Rejects `#[cfg]` on a layer: the generated code would still refer to the layer.
fn check_layer_attrs(entry: &Entry, errors: &mut Errors) {
    for attr in &entry.attrs {
        if attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr") {
            errors.push_spanned(
                attr,
                "`#[cfg]` on a layer is not supported, because the layers around it would no longer fit; declare one network per configuration and put `#[cfg]` on each",
            );
        }
    }
}

/// Returns whether `attr` is `#[frozen]`, with or without arguments.
fn is_frozen(attr: &Attribute) -> bool {
    attr.path().is_ident("frozen")
}

/// Finds `#[frozen]` among a layer's attributes, reporting arguments and repetitions.
fn check_frozen<'a>(entry: &'a Entry, errors: &mut Errors) -> Option<&'a Attribute> {
    let mut found = None;
    for attr in entry.attrs.iter().filter(|attr| is_frozen(attr)) {
        if !matches!(attr.meta, syn::Meta::Path(_)) {
            errors.push_spanned(attr, "`#[frozen]` takes no arguments; write `#[frozen]`");
        }
        if found.is_some() {
            errors.push_spanned(attr, "duplicate `#[frozen]`; write it once per layer");
        }
        found.get_or_insert(attr);
    }
    found
}

/// Reports `#[frozen]` on a layer without parameters, which has nothing to freeze.
fn check_frozen_kind(model: &LayerModel, attr: &Attribute, errors: &mut Errors) {
    if matches!(model.kind, Kind::Standardize) {
        errors.push_spanned(
            attr,
            "`#[frozen]` applies to layers with parameters, but `Standardize` has none because training never changes its statistics; remove the attribute",
        );
        return;
    }
    if model.kind.has_field() {
        return;
    }
    let kind = model.kind.display_name();
    errors.push_spanned(
        attr,
        format!("`#[frozen]` applies to layers with parameters, but `{kind}` has none; remove the attribute"),
    );
}

/// Checks one layer and infers its output size.
fn check_layer(
    index: usize,
    entry: &Entry,
    layer: &LayerDecl,
    source: &Source,
    scalar: Scalar,
    errors: &mut Errors,
) -> Option<LayerModel> {
    let built_in = built_in_name(&layer.path);
    let mut fit_span = layer.path.span();
    let (kind, output) = match built_in.as_deref() {
        Some("Dense") => {
            let dense = check_dense(entry, layer, source, errors)?;
            if let Some(span) = dense.stated_input_span {
                fit_span = span;
            }
            (dense.kind, dense.output)
        }
        Some("Standardize") => {
            check_standardize(entry, layer, errors);
            (Kind::Standardize, source.size.clone())
        }
        Some(name) => {
            let kind = check_parameter_free(name, layer, scalar, errors)?;
            (kind, source.size.clone())
        }
        None => check_user_layer(entry, layer, errors)?,
    };

    if let (Some(stated), true) = (&layer.output, built_in.is_some()) {
        check_stated_output(entry, &kind, stated, &output, errors);
    }

    let field = match &entry.name {
        Some(name) => name.clone(),
        None => Ident::new(&format!("layer_{index}"), layer.path.span()),
    };
    let attrs = entry
        .attrs
        .iter()
        .filter(|attr| !is_frozen(attr))
        .cloned()
        .collect();
    Some(LayerModel {
        attrs,
        name: entry.name.clone(),
        field,
        kind,
        input: source.size.clone(),
        output,
        fit_span,
        frozen: false,
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
        .or_else(|| {
            aliases
                .iter()
                .find(|(alias, _)| *alias == lower)
                .map(|(_, to)| *to)
        })
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

/// Reports a layer that is neither built in nor written the way a user layer is.
fn unknown_layer(entry: &Entry, layer: &LayerDecl, errors: &mut Errors) {
    let name = layer.path.to_token_stream().to_string();
    let field = entry
        .name
        .as_ref()
        .map_or_else(|| "name".to_string(), Ident::to_string);
    let custom = if layer.args.is_some() {
        format!("a custom layer takes no arguments: `{field}: {name} -> [outputs]`")
    } else {
        format!("a custom layer needs a name and its output shape: `{field}: {name} -> [outputs]`")
    };
    let message = match suggestion(&name) {
        Some(built_in) => format!("unknown layer `{name}`; did you mean `{built_in}`? ({custom})"),
        None => format!(
            "unknown layer `{name}`; the built-in layers are `{}`, and {custom}",
            BUILT_IN.join("`, `")
        ),
    };
    errors.push_spanned(&layer.path, message);
}

/// A checked `Dense`: its kind and output, and where its stated input is, if stated.
struct DenseCheck {
    kind: Kind,
    output: Size,
    stated_input_span: Option<Span>,
}

fn check_dense(
    entry: &Entry,
    layer: &LayerDecl,
    source: &Source,
    errors: &mut Errors,
) -> Option<DenseCheck> {
    let span = layer.path.span();
    if entry.name.is_none() {
        errors.push(span, "a `Dense` layer needs a name, such as `hidden: Dense(32)`; the name is its field and the prefix of its weights (`hidden.weight`)");
    }
    let Some(args) = &layer.args else {
        errors.push(
            span,
            "`Dense` needs its number of outputs, such as `Dense(32)` or `Dense(64 -> 32)`",
        );
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
                format!(
                    "unknown `Dense` option `{key}`; the only option is `init = <initialiser>`"
                ),
            ),
            Arg::Positional(value) | Arg::Sizes(value, _) => errors.push_spanned(
                &value.tokens,
                "`Dense` takes one size, such as `Dense(32)` or `Dense(64 -> 32)`",
            ),
        }
    }
    let Some((stated_input, out)) = sizes else {
        errors.push(
            span,
            "`Dense` needs its number of outputs, such as `Dense(32)`",
        );
        return None;
    };

    let output = parse_width(out, "the number of outputs", errors);
    let stated_input = match stated_input {
        None => None,
        Some(value) => {
            let stated = parse_width(value, "the number of inputs", errors)?;
            check_dense_input(entry, value, stated, source, out, errors);
            Some((stated, value.span()))
        }
    };
    let init = init.unwrap_or_else(|| Ident::new(DEFAULT_INIT, span));
    Some(DenseCheck {
        kind: Kind::Dense {
            init,
            stated_input: stated_input.map(|(stated, _)| stated),
        },
        output: Size::Known(output?),
        stated_input_span: stated_input.map(|(_, span)| span),
    })
}

/// Checks a `Standardize` layer, which needs a name and takes no arguments. Its width is
/// known either way, so later layers are still checked.
fn check_standardize(entry: &Entry, layer: &LayerDecl, errors: &mut Errors) {
    let name = match &entry.name {
        Some(name) => name.to_string(),
        None => {
            errors.push(layer.path.span(), "a `Standardize` layer needs a name, such as `norm: Standardize`; the name is its field and the prefix of its statistics in weight files (`norm.mean`, `norm.std`)");
            "norm".to_owned()
        }
    };
    if let Some(args_span) = layer.args_span {
        errors.push(args_span, format!("`Standardize` takes no arguments, because its width is the previous layer's and its statistics are assigned after creation or loaded from a weights file; write `{name}: Standardize`"));
    }
}

/// A placeholder initialiser, replaced by `choose_default_inits`.
const DEFAULT_INIT: &str = "__Default";

/// Reports a stated number of inputs that differs from what the previous layer produces.
fn check_dense_input(
    entry: &Entry,
    value: &Value,
    stated: usize,
    source: &Source,
    out: &Value,
    errors: &mut Errors,
) {
    let Size::Known(produced) = source.size else {
        // A nested network's output: the compiler checks it (see `needs_fit_check`).
        return;
    };
    if produced == stated {
        return;
    }
    let this = match &entry.name {
        Some(name) => format!("layer `{name}`"),
        None => "this layer".into(),
    };
    let out = out.text();
    errors.push_spanned(
        &value.tokens,
        format!(
            "{this} takes {stated} inputs but {}; change one of the two sizes, or write `Dense({out})` to take the inputs from the previous layer",
            source.produces(produced)
        ),
    );
}

fn check_init(value: &Value, errors: &mut Errors) -> Option<Ident> {
    match syn::parse2::<Ident>(value.tokens.clone()) {
        Ok(ident) if INITIALISERS.contains(&ident.to_string().as_str()) => Some(ident),
        _ => {
            errors.push_spanned(
                &value.tokens,
                format!(
                    "unknown initialiser `{}`; use one of `{}`",
                    value.text(),
                    INITIALISERS.join("`, `")
                ),
            );
            None
        }
    }
}

fn check_parameter_free(
    name: &str,
    layer: &LayerDecl,
    scalar: Scalar,
    errors: &mut Errors,
) -> Option<Kind> {
    let args = layer.args.as_deref().unwrap_or(&[]);
    let span = layer.args_span.unwrap_or_else(|| layer.path.span());
    let single = |what: &str, example: &str, errors: &mut Errors| -> Option<Option<f64>> {
        match args {
            [] => Some(None),
            [Arg::Positional(value)] => parse_float(value, what, scalar, errors).map(Some),
            _ => {
                errors.push(
                    span,
                    format!("`{name}` takes one argument, the {what}, such as `{example}`"),
                );
                None
            }
        }
    };
    let kind = match name {
        "LeakyRelu" => {
            let slope = single("negative slope", "LeakyRelu(0.01)", errors)?;
            Kind::Activation(Activation::LeakyRelu(slope.unwrap_or(0.01)))
        }
        "Elu" => {
            let alpha = single("alpha", "Elu(1.0)", errors)?;
            Kind::Activation(Activation::Elu(alpha.unwrap_or(1.0)))
        }
        "Dropout" => {
            let Some(rate) = single("dropout rate", "Dropout(0.5)", errors)? else {
                errors.push(
                    layer.path.span(),
                    "`Dropout` needs its rate, such as `Dropout(0.5)`",
                );
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
    let [Arg::Positional(value)] = args else {
        return None;
    };
    let message = if rate == 1.0 {
        "a dropout rate of 1 zeroes every value, so nothing reaches the next layer; use a rate below 1, such as `0.5`".to_string()
    } else {
        format!(
            "dropout rate must be in [0, 1), found `{}`; it is the probability of zeroing each value in training",
            value.text()
        )
    };
    errors.push_spanned(&value.tokens, message);
    None
}

/// Checks a layer that is not built in: a custom layer with a stated output, or a
/// network.
fn check_user_layer(entry: &Entry, layer: &LayerDecl, errors: &mut Errors) -> Option<(Kind, Size)> {
    if layer.args.is_some() || entry.name.is_none() {
        unknown_layer(entry, layer, errors);
        return None;
    }
    let path = layer.path.clone();
    match &layer.output {
        Some(shape) => {
            let [dim] = shape.dims.as_slice() else {
                errors.push(
                    shape.span,
                    "a layer's output shape has one dimension, such as `[16]`",
                );
                return None;
            };
            let output = parse_width(dim, "the number of outputs", errors)?;
            Some((Kind::Custom(path), Size::Known(output)))
        }
        None => {
            if let Some(inner) = frozen_wrapper_argument(&path) {
                let field = entry
                    .name
                    .as_ref()
                    .map_or_else(String::new, Ident::to_string);
                errors.push_spanned(
                    &layer.path,
                    format!("to freeze a layer, write `#[frozen] {field}: {inner}`; the macro then makes the field a `Frozen<{inner}>`"),
                );
                return None;
            }
            // Spanned on the layer, so that a type that is not a network is reported there.
            let output = quote_spanned!(layer.path.span()=>
                <#path as ::static_nn::__private::Network>::OUTPUT
            );
            Some((Kind::Network(path), Size::Deferred(output)))
        }
    }
}

/// Returns the type argument of a path written `Frozen<Type>`, as text. Generated networks take
/// no generic arguments, so such a path is the wrapper type, not a network.
fn frozen_wrapper_argument(path: &Path) -> Option<String> {
    let last = path.segments.last()?;
    if last.ident != "Frozen" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
        return None;
    };
    let text = arguments.args.to_token_stream().to_string();
    Some(
        text.replace(" < ", "<")
            .replace(" >", ">")
            .replace(" ,", ","),
    )
}

fn check_stated_output(
    entry: &Entry,
    kind: &Kind,
    stated: &ShapeDecl,
    computed: &Size,
    errors: &mut Errors,
) {
    let [dim] = stated.dims.as_slice() else {
        errors.push(
            stated.span,
            "a layer's output shape has one dimension, such as `[16]`",
        );
        return;
    };
    let Some(stated_width) = parse_width(dim, "the number of outputs", errors) else {
        return;
    };
    if let Size::Known(width) = computed
        && *width != stated_width
    {
        let this = match &entry.name {
            Some(name) => format!("layer `{name}`"),
            None => format!("this `{}`", kind.display_name()),
        };
        errors.push_spanned(
            &dim.tokens,
            format!("{this} produces {width} values, not {stated_width}; write `-> [{width}]` or remove the stated shape"),
        );
    }
}

/// Picks He initialisation for dense layers feeding a ReLU-family activation (skipping
/// dropout), and Glorot otherwise, unless the declaration chose one.
fn choose_default_inits(layers: &mut [LayerModel]) {
    for i in 0..layers.len() {
        let Kind::Dense { init, .. } = &layers[i].kind else {
            continue;
        };
        if init != DEFAULT_INIT {
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
        if let Kind::Dense { init, .. } = &mut layers[i].kind {
            *init = Ident::new(chosen, span);
        }
    }
}

/// Renames the generated field of an unnamed layer (`layer_<index>`) that a user's layer
/// name already uses, by appending underscores.
fn rename_colliding_fields(layers: &mut [LayerModel]) {
    let names: Vec<String> = layers
        .iter()
        .filter_map(|layer| layer.name.as_ref().map(Ident::to_string))
        .collect();
    for layer in layers.iter_mut().filter(|layer| layer.name.is_none()) {
        let mut field = layer.field.to_string();
        while names.contains(&field) {
            field.push('_');
        }
        layer.field = Ident::new(&field, layer.field.span());
    }
}

/// Reports each layer with a field that `#[weights]` cannot bake, because the macro can
/// compute the tensor shapes of the built-in `Dense` and `Standardize` layers only.
fn check_bakeable(options: &Options, layers: &[LayerModel], errors: &mut Errors) {
    let Some(file) = &options.weights else {
        return;
    };
    for layer in layers {
        let (Kind::Custom(path) | Kind::Network(path)) = &layer.kind else {
            continue;
        };
        let ty = path.to_token_stream().to_string().replace(' ', "");
        let (field, file) = (&layer.field, file.value());
        let is_standardize = path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Standardize");
        let message = if is_standardize {
            format!(
                "`#[weights({file:?})]` can bake only built-in layers, and layer `{field}` is the custom layer `{ty}`; write `{field}: Standardize`, the built-in form whose statistics the macro bakes"
            )
        } else {
            format!(
                "`#[weights({file:?})]` can bake only `Dense` and `Standardize` layers, and layer `{field}` is a `{ty}`, whose tensors the macro cannot see; declare its layers in this network, or remove `#[weights]` and load the file at run time with `weights::load`"
            )
        };
        errors.push_spanned(path, message);
    }
}

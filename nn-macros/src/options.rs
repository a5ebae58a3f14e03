//! Declaration options: the `#[weights("file")]` and `#[budget(..)]` attributes on a
//! network. The macro consumes them; every other attribute passes through to the struct.
//!
//! Parsing only checks their form here. `bake` reads the weights file, and `memory`
//! compares the network's sizes with the budget.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, Lit, LitStr, MetaNameValue, Token};

use crate::validate::Errors;

/// The options of one declaration.
#[derive(Default)]
pub struct Options {
    /// The path in `#[weights("path")]`, relative to the crate's manifest directory.
    pub weights: Option<LitStr>,
    /// Whether the declaration has a `#[weights]` attribute, even a malformed one; the
    /// network then gets a `BAKED` constant (of zeros when the file cannot be used).
    pub bakes: bool,
    pub budget: Budget,
}

/// The limits of `#[budget(flash = N, ram = N, train_ram = N)]`, each optional.
#[derive(Default)]
pub struct Budget {
    /// The bytes of the parameters, which a baked network keeps in flash.
    pub flash: Option<Limit>,
    /// The bytes of RAM one inference needs.
    pub ram: Option<Limit>,
    /// The bytes of RAM training on one sample with Adam needs.
    pub train_ram: Option<Limit>,
}

/// One limit of a budget, with the tokens that state it.
pub struct Limit {
    pub bytes: u128,
    /// The key and value, `ram = 4096`, which errors underline.
    pub tokens: TokenStream,
    /// The value, where a compile-time assertion reports.
    pub value_span: Span,
    /// The key as written, for messages.
    pub key: Ident,
}

/// The names the `budget` attribute accepts, in the order messages list them.
const BUDGET_KEYS: &[&str] = &["flash", "ram", "train_ram"];

/// Takes `#[weights]` and `#[budget]` out of a declaration's attributes, reporting
/// malformed and repeated ones, and returns the options with the attributes that pass
/// through.
pub fn split(attrs: &[Attribute], errors: &mut Errors) -> (Options, Vec<Attribute>) {
    let mut options = Options::default();
    let mut passed = Vec::new();
    let mut seen_weights = false;
    let mut seen_budget = false;
    for attr in attrs {
        if attr.path().is_ident("weights") {
            if seen_weights {
                errors.push_spanned(attr, "duplicate `#[weights]`; a network bakes one file");
            }
            seen_weights = true;
            options.bakes = true;
            options.weights = options.weights.or_else(|| parse_weights(attr, errors));
        } else if attr.path().is_ident("budget") {
            if seen_budget {
                errors.push_spanned(
                    attr,
                    "duplicate `#[budget]`; state every limit in one attribute, such as `#[budget(flash = 4096, ram = 1024)]`",
                );
            } else {
                options.budget = parse_budget(attr, errors);
            }
            seen_budget = true;
        } else {
            passed.push(attr.clone());
        }
    }
    (options, passed)
}

/// Parses `#[weights("path")]`.
fn parse_weights(attr: &Attribute, errors: &mut Errors) -> Option<LitStr> {
    match attr.parse_args::<LitStr>() {
        Ok(path) if path.value().is_empty() => {
            errors.push(path.span(), "the weights file name is empty; write the path of a safetensors file relative to the crate's manifest directory, such as `#[weights(\"data/net.safetensors\")]`");
            None
        }
        Ok(path) => Some(path),
        Err(_) => {
            errors.push_spanned(attr, "expected the weights file as a string, relative to the crate's manifest directory: `#[weights(\"data/net.safetensors\")]`");
            None
        }
    }
}

/// Parses `#[budget(key = bytes, ..)]`, reporting unknown keys, repeated keys and values
/// that are not integer literals.
fn parse_budget(attr: &Attribute, errors: &mut Errors) -> Budget {
    let mut budget = Budget::default();
    let parsed = attr.parse_args_with(Punctuated::<MetaNameValue, Token![,]>::parse_terminated);
    let pairs = match parsed {
        Ok(pairs) if !pairs.is_empty() => pairs,
        _ => {
            errors.push_spanned(attr, format!("expected limits in bytes, such as `#[budget(flash = 32768, ram = 4096)]`; the keys are `{}`", BUDGET_KEYS.join("`, `")));
            return budget;
        }
    };
    for pair in pairs {
        let Some(key) = pair.path.get_ident() else {
            unknown_budget_key(&pair, errors);
            continue;
        };
        let slot = match key.to_string().as_str() {
            "flash" => &mut budget.flash,
            "ram" => &mut budget.ram,
            "train_ram" => &mut budget.train_ram,
            _ => {
                unknown_budget_key(&pair, errors);
                continue;
            }
        };
        if slot.is_some() {
            errors.push_spanned(&pair, format!("`{key}` is given twice; keep one limit"));
            continue;
        }
        if let Some(bytes) = parse_bytes(&pair.value, key, errors) {
            *slot = Some(Limit {
                bytes,
                tokens: pair.to_token_stream(),
                value_span: pair.value.span(),
                key: key.clone(),
            });
        }
    }
    budget
}

fn unknown_budget_key(pair: &MetaNameValue, errors: &mut Errors) {
    errors.push_spanned(
        &pair.path,
        format!(
            "unknown budget `{}`; the budgets are `flash` (parameter bytes of a network with `#[weights]`), `ram` (bytes for one inference) and `train_ram` (bytes for training on one sample)",
            pair.path.to_token_stream()
        ),
    );
}

/// Parses a number of bytes: an unsuffixed or `usize` integer literal.
fn parse_bytes(value: &Expr, key: &Ident, errors: &mut Errors) -> Option<u128> {
    let literal = match value {
        Expr::Lit(expr) => match &expr.lit {
            Lit::Int(literal) if matches!(literal.suffix(), "" | "usize") => Some(literal),
            _ => None,
        },
        _ => None,
    };
    let parsed = literal.and_then(|literal| literal.base10_parse::<u64>().ok());
    if parsed.is_none() {
        errors.push_spanned(
            value,
            format!("expected the `{key}` budget as a number of bytes, such as `{key} = 4096`"),
        );
    }
    parsed.map(u128::from)
}

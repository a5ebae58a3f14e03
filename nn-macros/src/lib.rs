//! The `network!` procedural macro of static-nn.
//!
//! Use it through the `static-nn` crate, which documents the grammar and re-exports what
//! the expansion refers to. The macro works in three phases, one per module: `ast` parses
//! the declaration, `validate` checks it and infers every layer's shape, and `expand`
//! writes the structs and impls. `fallback` emits a stub of each network when parsing or
//! validation fails, so code that names the network adds no errors of its own.

mod ast;
mod expand;
mod fallback;
mod validate;

use proc_macro::TokenStream;

/// Declares a network with a fixed architecture.
///
/// ```text
/// network! {
///     /// Classifies 8x8 grey-scale digits.
///     pub struct DigitNet<f32> {
///         input: [64],
///         hidden: Dense(32), Relu,
///         Dropout(0.2),
///         out: Dense(32 -> 10),
///     }
/// }
/// ```
///
/// See the `static-nn` crate documentation for the full grammar and what is generated.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    let declarations = match syn::parse2::<ast::Declarations>(input.clone()) {
        Ok(declarations) => declarations,
        Err(error) => return fallback::expand_unparsed(input, error).into(),
    };
    declarations
        .networks
        .iter()
        .map(|declaration| match validate::validate(declaration) {
            Ok(model) => expand::expand(&model),
            Err(error) => fallback::expand(declaration, error),
        })
        .collect::<proc_macro2::TokenStream>()
        .into()
}

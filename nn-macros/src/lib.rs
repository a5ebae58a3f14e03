//! The `network!` procedural macro of static-nn.
//!
//! Use it through the `static-nn` crate, which documents the grammar and re-exports what
//! the expansion refers to. The macro works in three phases, one per module: `ast` parses
//! the declaration, `validate` checks it and infers every layer's shape, and `expand`
//! writes the structs and impls. `fallback` emits a stub of each network when parsing or
//! validation fails, so code that names the network adds no errors of its own.
//!
//! Three modules serve the declaration's attributes: `options` parses `#[weights]` and
//! `#[budget]` during validation, `bake` reads and checks the weights file, and `memory`
//! computes the memory figures and checks the budget. Their errors leave the generated
//! types unchanged, so they are emitted beside the full expansion instead of a stub.

mod ast;
mod bake;
mod expand;
mod fallback;
mod memory;
mod options;
mod validate;

use proc_macro::TokenStream;

/// Declares a network with a fixed architecture.
///
/// ```text
/// network! {
///     /// Classifies 8x8 grey-scale digits.
///     pub struct DigitNet<f32> {
///         input: [64],
///         norm: Standardize,
///         hidden: Dense(32), Relu,
///         Dropout(0.2),
///         out: Dense(32 -> 10),
///     }
/// }
/// ```
///
/// `norm: Standardize` keeps the width of the previous layer and standardises each
/// value with fixed statistics (`(x - mean) / std`), which are buffers: weight files
/// save and load them, and training never changes them.
///
/// See the `static-nn` crate documentation for the full grammar and what is generated.
///
/// # Transfer learning
///
/// `#[frozen]` before a layer with parameters freezes it: `#[frozen] backbone: Features`
/// or `#[frozen] hidden: Dense(32)`. The field then has type `Frozen<Features>` (which
/// dereferences to `Features`, so `net.hidden.weight` still reads the weights), and:
///
/// - the gradients struct has no field for the layer, so no gradient and no optimizer
///   state exists for it, and the backward pass computes only the gradient that flows
///   through it to earlier layers;
/// - weight files still save and load its tensors (`Tensors` lists them), while
///   optimizers skip them (`Trainable` does not);
/// - `init`, and so `new`, leave it unchanged, which means zero in a new network. Assign
///   trained weights (`net.backbone = Frozen(pretrained.backbone)`), load a weights
///   file, or call `reinit` with its name.
///
/// To unfreeze a layer for a second, gentler phase, declare a second network without
/// `#[frozen]` and move the weights by type: `phase2.backbone =
/// phase1.backbone.into_inner()`. The two networks have different gradient types, so the
/// first phase's optimizer state cannot be applied to the second one by mistake. Create a
/// new optimizer, and give the backbone a lower learning rate with `LayerRates`.
///
/// Every network gets `reinit(&mut self, layer: &str, rng)`, which re-initialises one
/// layer by name with its declared initialiser and leaves every other tensor unchanged;
/// an unknown name gives an `UnknownLayer` error that lists the valid names. The typed
/// form is `net.out.init_with(Init::GlorotUniform, &mut rng)`.
///
/// # Baked weights, memory figures and budgets
///
/// `#[weights("file")]` on the struct bakes a safetensors file into the binary: the macro
/// reads it (the path is relative to the crate's manifest directory), checks every
/// tensor's name, shape and dtype against the declaration, and generates
/// `pub const BAKED: Self`. Use it in a `static`, such as `static NET: Net = Net::BAKED;`,
/// so the weights stay in read-only memory. `Dense` layers and the built-in
/// `Standardize` (`norm: Standardize`, whose statistics are the buffers `norm.mean` and
/// `norm.std`) can be baked.
///
/// Every network has the constants `PARAM_BYTES`, `GRAD_BYTES`, `TRACE_BYTES` (one
/// sample), `FORWARD_BYTES` (an estimate of the activations of one inference) and
/// `TRAIN_BYTES` (an estimate of one Adam step on one sample). `#[budget(flash = N,
/// ram = N, train_ram = N)]` fails the build when the network exceeds a limit in bytes.
/// `docs/embedded.md` in the repository describes all three.
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
            Ok(model) => expand_checked(&model),
            Err(error) => fallback::expand(declaration, error),
        })
        .collect::<proc_macro2::TokenStream>()
        .into()
}

/// Expands a valid declaration, with the errors of its options, weights file and budget,
/// if any.
///
/// Those errors do not change the generated types, so the network is expanded in full
/// beside them (with zero weights when the file does not fit), and code that uses it
/// reports nothing more.
fn expand_checked(model: &validate::Model) -> proc_macro2::TokenStream {
    let (baked, baked_result) = bake::read(model);
    let figures = memory::Figures::of(model);
    let (assertions, budget_result) = memory::check_budget(model, &figures);

    let mut expansion = expand::expand(model, &figures, baked.as_ref());
    expansion.extend(assertions);
    let errors = [
        model.option_errors.clone(),
        baked_result.err(),
        budget_result.err(),
    ];
    for error in errors.into_iter().flatten() {
        expansion.extend(error.into_compile_error());
    }
    expansion
}

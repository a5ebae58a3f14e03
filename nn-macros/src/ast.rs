//! Parsing: the declaration grammar, kept close to the user's tokens.
//!
//! Parsing is lenient about values (a width is any run of tokens) so that `validate` can
//! report every wrong value together, each on its own tokens.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::{
    AngleBracketedGenericArguments, Attribute, Ident, Path, PathArguments, PathSegment, Token,
    Visibility, braced, bracketed, parenthesized,
};

/// One or more network declarations: `Declaration*`.
pub struct Declarations {
    pub networks: Vec<Declaration>,
}

impl Parse for Declarations {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut networks = Vec::new();
        while !input.is_empty() {
            networks.push(input.parse()?);
        }
        Ok(Self { networks })
    }
}

/// `#[attr]* VIS struct NAME (< SCALAR >)? { Entry (, Entry)* ,? }`
pub struct Declaration {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    /// The scalar type between `<` and `>`; `f32` when omitted.
    pub scalar: Option<Ident>,
    pub entries: Vec<Entry>,
    /// The span of the braces, for errors about the layer list as a whole.
    pub body_span: Span,
}

impl Parse for Declaration {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name = input.parse()?;
        let scalar = if input.peek(Token![<]) {
            input.parse::<Token![<]>()?;
            let scalar = input.parse()?;
            input.parse::<Token![>]>()?;
            Some(scalar)
        } else {
            None
        };
        let content;
        let brace = braced!(content in input);
        let entries = parse_entries(&content)?;
        Ok(Self {
            attrs,
            vis,
            name,
            scalar,
            entries,
            body_span: brace.span.join(),
        })
    }
}

/// Parses `Entry (, Entry)* ,?` with a clear message for a wrong separator.
fn parse_entries(input: ParseStream) -> syn::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    while !input.is_empty() {
        entries.push(input.parse()?);
        if input.is_empty() {
            break;
        }
        if !input.peek(Token![,]) {
            let found: TokenTree = input.parse()?;
            return Err(syn::Error::new(
                found.span(),
                format!("expected `,` between layers, found `{found}`"),
            ));
        }
        input.parse::<Token![,]>()?;
    }
    Ok(entries)
}

/// `#[attr]* (NAME :)? Body`: the input shape or one layer.
pub struct Entry {
    pub attrs: Vec<Attribute>,
    pub name: Option<Ident>,
    pub body: EntryBody,
}

/// What follows the optional name.
pub enum EntryBody {
    /// `[DIM (, DIM)*]`, the input shape.
    Shape(ShapeDecl),
    /// `PATH (( Arg, * ))? (-> [N])?`, a layer.
    Layer(LayerDecl),
}

impl Parse for Entry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let name = if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
            let name = input.parse()?;
            input.parse::<Token![:]>()?;
            Some(name)
        } else {
            None
        };
        let body = if input.peek(syn::token::Bracket) {
            EntryBody::Shape(input.parse()?)
        } else {
            EntryBody::Layer(input.parse()?)
        };
        Ok(Self { attrs, name, body })
    }
}

/// `[VALUE (, VALUE)*]`: a shape, each dimension an integer literal.
pub struct ShapeDecl {
    pub dims: Vec<Value>,
    pub span: Span,
}

impl Parse for ShapeDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let content;
        let bracket = bracketed!(content in input);
        let mut dims = Vec::new();
        while !content.is_empty() {
            dims.push(Value::parse_until_separator(&content)?);
            if !content.is_empty() {
                content.parse::<Token![,]>()?;
            }
        }
        Ok(Self {
            dims,
            span: bracket.span.join(),
        })
    }
}

/// `PATH (( Arg, * ))? (-> [N])?`
pub struct LayerDecl {
    /// The layer type: a built-in name such as `Dense`, a custom type or a network.
    pub path: Path,
    /// The parenthesised arguments of a built-in layer.
    pub args: Option<Vec<Arg>>,
    /// The span of the parentheses, for errors about the argument list.
    pub args_span: Option<Span>,
    /// The stated output shape after `->`.
    pub output: Option<ShapeDecl>,
}

impl Parse for LayerDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let path = parse_layer_path(input)?;
        let (args, args_span) = if input.peek(syn::token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            let mut args = Vec::new();
            while !content.is_empty() {
                args.push(content.parse()?);
                if !content.is_empty() {
                    content.parse::<Token![,]>()?;
                }
            }
            (Some(args), Some(paren.span.join()))
        } else {
            (None, None)
        };
        let output = if input.peek(Token![->]) {
            input.parse::<Token![->]>()?;
            if !input.peek(syn::token::Bracket) {
                return Err(input.error("expected the output shape after `->`, such as `[16]`"));
            }
            Some(input.parse()?)
        } else {
            None
        };
        Ok(Self {
            path,
            args,
            args_span,
            output,
        })
    }
}

/// Parses a type path with generic arguments, such as `Scale<32>` or `crate::nets::Head`,
/// without syn's `Fn(A) -> B` sugar, which would swallow `Dense(32)`.
fn parse_layer_path(input: ParseStream) -> syn::Result<Path> {
    let leading_colon = input.parse::<Option<Token![::]>>()?;
    let mut segments = syn::punctuated::Punctuated::new();
    loop {
        let ident =
            if input.peek(Token![crate]) || input.peek(Token![self]) || input.peek(Token![super]) {
                input.call(Ident::parse_any_ident)?
            } else if input.peek(Ident) {
                input.parse::<Ident>()?
            } else {
                return Err(
                    input.error("expected a layer, such as `Dense(32)`, `Relu` or `Dropout(0.5)`")
                );
            };
        let arguments = if input.peek(Token![<]) {
            PathArguments::AngleBracketed(input.parse::<AngleBracketedGenericArguments>()?)
        } else {
            PathArguments::None
        };
        segments.push_value(PathSegment { ident, arguments });
        if !input.peek(Token![::]) {
            break;
        }
        segments.push_punct(input.parse()?);
    }
    Ok(Path {
        leading_colon,
        segments,
    })
}

trait ParseAnyIdent {
    fn parse_any_ident(input: ParseStream) -> syn::Result<Ident>;
}

impl ParseAnyIdent for Ident {
    fn parse_any_ident(input: ParseStream) -> syn::Result<Ident> {
        syn::ext::IdentExt::parse_any(input)
    }
}

/// One argument of a built-in layer: `VALUE`, `VALUE -> VALUE` or `KEY = VALUE`.
pub enum Arg {
    /// `VALUE`, such as the width in `Dense(32)` or the rate in `Dropout(0.5)`.
    Positional(Value),
    /// `VALUE -> VALUE`, the input and output widths in `Dense(32 -> 10)`.
    Sizes(Value, Value),
    /// `KEY = VALUE`, such as `init = HeNormal`.
    Named(Ident, Value),
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let key = input.parse()?;
            input.parse::<Token![=]>()?;
            return Ok(Arg::Named(key, Value::parse_until_separator(input)?));
        }
        let first = Value::parse_until_separator(input)?;
        if input.peek(Token![->]) {
            input.parse::<Token![->]>()?;
            let second = Value::parse_until_separator(input)?;
            return Ok(Arg::Sizes(first, second));
        }
        Ok(Arg::Positional(first))
    }
}

/// The tokens of one value, up to the next top-level `,` or `->`; `validate` interprets
/// them.
#[derive(Clone)]
pub struct Value {
    pub tokens: TokenStream,
}

impl Value {
    fn parse_until_separator(input: ParseStream) -> syn::Result<Self> {
        let mut tokens = TokenStream::new();
        while !input.is_empty() && !input.peek(Token![,]) && !input.peek(Token![->]) {
            tokens.extend([input.parse::<TokenTree>()?]);
        }
        if tokens.is_empty() {
            return Err(input.error("expected a value"));
        }
        Ok(Self { tokens })
    }

    /// The span of the value's tokens.
    pub fn span(&self) -> Span {
        let mut spans = self.tokens.clone().into_iter().map(|token| token.span());
        let first = spans.next().unwrap_or_else(Span::call_site);
        let last = spans.last().unwrap_or(first);
        first.join(last).unwrap_or(first)
    }

    /// The tokens as the user wrote them, for messages: `-0.2`, not `- 0.2`.
    pub fn text(&self) -> String {
        let mut text = String::new();
        let mut previous_was_word = false;
        for token in self.tokens.clone() {
            let is_word = matches!(token, TokenTree::Ident(_) | TokenTree::Literal(_));
            if is_word && previous_was_word {
                text.push(' ');
            }
            text.push_str(&token.to_string());
            previous_was_word = is_word;
        }
        text
    }
}

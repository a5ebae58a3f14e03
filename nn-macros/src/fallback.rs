//! The expansion for an invalid declaration: the errors plus a stub of each struct, so
//! code that names the network reports nothing beyond the declaration's own mistakes.

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Ident, Visibility};

use crate::ast::Declaration;

/// The errors of a declaration that parsed but failed validation, and its stub.
pub fn expand(declaration: &Declaration, error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let stub = stub(&declaration.attrs, &declaration.vis, &declaration.name);
    quote!(#errors #stub)
}

/// The errors of input that did not parse, and a stub for each `struct NAME` found in it.
pub fn expand_unparsed(input: TokenStream, error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let stubs = declared_structs(input)
        .into_iter()
        .map(|head| stub(&head.attrs, &head.vis, &head.name));
    quote!(#errors #(#stubs)*)
}

/// A unit struct with the declaration's name, visibility and doc comments.
fn stub(attrs: &[Attribute], vis: &Visibility, name: &Ident) -> TokenStream {
    let docs = attrs.iter().filter(|attr| attr.path().is_ident("doc"));
    quote! {
        #(#docs)*
        #vis struct #name;
    }
}

/// The attributes, visibility and name before the body of a declaration.
struct StructHead {
    attrs: Vec<Attribute>,
    vis: Visibility,
    name: Ident,
}

/// `#[attr]* VIS`, the tokens before `struct`.
struct Prefix {
    attrs: Vec<Attribute>,
    vis: Visibility,
}

impl Parse for Prefix {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Ok(Self {
            attrs: input.call(Attribute::parse_outer)?,
            vis: input.parse()?,
        })
    }
}

/// Finds each top-level `struct NAME` with the attributes and visibility written since
/// the previous declaration's body, keeping what parses.
fn declared_structs(input: TokenStream) -> Vec<StructHead> {
    let mut heads = Vec::new();
    let mut prefix = TokenStream::new();
    let mut tokens = input.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match &token {
            TokenTree::Ident(keyword) if keyword == "struct" => {
                if let Some(TokenTree::Ident(name)) = tokens.peek() {
                    let Prefix { attrs, vis } =
                        syn::parse2(std::mem::take(&mut prefix)).unwrap_or(Prefix {
                            attrs: Vec::new(),
                            vis: Visibility::Inherited,
                        });
                    heads.push(StructHead {
                        attrs,
                        vis,
                        name: name.clone(),
                    });
                }
            }
            TokenTree::Group(group) if group.delimiter() == proc_macro2::Delimiter::Brace => {
                prefix = TokenStream::new();
            }
            _ => prefix.extend([token]),
        }
    }
    heads
}

//! The expansion for an invalid declaration: the errors plus a stub of the struct, so
//! code that names the network reports nothing beyond the declaration's own mistakes.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Declaration;

pub fn expand(declaration: &Declaration, error: syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let attrs = declaration.attrs.iter().filter(|attr| attr.path().is_ident("doc"));
    let vis = &declaration.vis;
    let name = &declaration.name;
    quote! {
        #errors
        #(#attrs)*
        #vis struct #name;
    }
}

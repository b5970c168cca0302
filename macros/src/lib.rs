//! `catalogue!("models")`: validates the catalogue at compile time, through the same library as
//! the CLI. An invalid catalogue is a `compile_error!` naming file:line:column; every model file
//! becomes a build input, so Cargo rebuilds when one changes.

use std::path::PathBuf;

use proc_macro::TokenStream;
use quote::quote;
use syn::{LitStr, parse_macro_input};

/// Validates the catalogue directory (relative to `CARGO_MANIFEST_DIR`) and expands to constants
/// describing it: `COLLECTIONS`, the (model, collection, table) of each model.
#[proc_macro]
pub fn catalogue(input: TokenStream) -> TokenStream {
    let lit = parse_macro_input!(input as LitStr);
    expand(&lit).unwrap_or_else(|e| e.to_compile_error()).into()
}

fn expand(lit: &LitStr) -> Result<proc_macro2::TokenStream, syn::Error> {
    let root = std::env::var("CARGO_MANIFEST_DIR")
        .map_err(|_| syn::Error::new(lit.span(), "CARGO_MANIFEST_DIR is not set"))?;
    let dir = PathBuf::from(root).join(lit.value());
    let files = schemac::read_dir(&dir).map_err(|e| syn::Error::new(lit.span(), e.to_string()))?;
    let inputs: Vec<String> = files.iter().map(|(path, _)| path.clone()).collect();
    let v = schemac::validate_sources(files);
    let Some(cat) = &v.catalogue else {
        let rendered = schemac::diag::render_human(&v.diagnostics, &v.sources, false);
        return Err(syn::Error::new(
            lit.span(),
            format!("invalid catalogue `{}`:\n{rendered}", lit.value()),
        ));
    };
    let rows = cat.models.iter().map(|m| {
        let (name, collection, table) = (&m.name, &m.collection, &m.table);
        quote! { (#name, #collection, #table) }
    });
    Ok(quote! {
        // Each model file is a build input: editing one re-runs this macro.
        #( const _: &[u8] = include_bytes!(#inputs); )*
        /// The catalogue's models: (model, Mongo collection, Postgres table).
        pub const COLLECTIONS: &[(&str, &str, &str)] = &[#(#rows),*];
    })
}

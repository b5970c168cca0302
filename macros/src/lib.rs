//! `catalogue!("models")`: the escrow catalogue compiled in process, through the same library as
//! the CLI. It expands to the code `schemac generate` writes under `src/schema/` (the same text,
//! parsed), after checking three things, each a located `compile_error!`:
//! - the catalogue is valid (errors name file:line:column);
//! - the committed generated files and migration history match it ("schema drift: ...; run
//!   `schemac generate`" with the first lines of the diff);
//! - the files it reads are build inputs (`include_bytes!`), so Cargo re-runs it when a model,
//!   a generated file or a migration changes.

use std::path::{Path, PathBuf};

use proc_macro::TokenStream;
use quote::quote;
use syn::{LitStr, parse_macro_input};

/// Lines of the drift diff shown in the compile error.
const DIFF_LINES: usize = 20;

/// proc-macro2's fallback implementation in use (any thread may run syn) until dropped, then
/// the compiler's again, also when formatting panics.
struct FallbackWhileFormatting;

impl FallbackWhileFormatting {
    fn start() -> FallbackWhileFormatting {
        proc_macro2::fallback::force();
        FallbackWhileFormatting
    }
}

impl Drop for FallbackWhileFormatting {
    fn drop(&mut self) {
        proc_macro2::fallback::unforce();
    }
}

/// Expands to `pub mod schema { ... }` (the generated code), `COLLECTIONS`, and
/// `GENERATED_SOURCES` (each generated file's path and text, for the golden test). The path is
/// the catalogue directory, relative to `CARGO_MANIFEST_DIR`; the generated files are looked
/// for in `CARGO_MANIFEST_DIR` itself.
#[proc_macro]
pub fn catalogue(input: TokenStream) -> TokenStream {
    let lit = parse_macro_input!(input as LitStr);
    expand(&lit).unwrap_or_else(|e| e.to_compile_error()).into()
}

fn expand(lit: &LitStr) -> Result<proc_macro2::TokenStream, syn::Error> {
    let error = |message: String| syn::Error::new(lit.span(), message);
    let root = PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR")
            .map_err(|_| error("CARGO_MANIFEST_DIR is not set".into()))?,
    );
    let dir = root.join(lit.value());
    let dir = dir.canonicalize().unwrap_or(dir);
    // Paths in messages are shown relative to the workspace (the crate's parent directory).
    let base = root
        .canonicalize()
        .ok()
        .and_then(|r| r.parent().map(|p| format!("{}/", p.display())))
        .unwrap_or_default();
    let root = root.canonicalize().unwrap_or(root);
    let files = schemac::read_dir(&dir).map_err(|e| error(e.to_string().replace(&base, "")))?;
    let mut inputs: Vec<String> = files.iter().map(|(path, _)| path.clone()).collect();
    let v = schemac::validate_sources(files);
    let Some(cat) = &v.catalogue else {
        let rendered = schemac::diag::render_human(&v.diagnostics, &v.sources, false);
        return Err(error(format!(
            "invalid catalogue `{}`:\n{rendered}",
            lit.value()
        )));
    };

    let generated = {
        // Formatting (syn and prettyplease, most of the expansion's time) runs on every core.
        // syn would reach the compiler's proc_macro bridge, which only this thread has, so
        // proc-macro2's own implementation stands in while the text is made: nothing of the
        // compiler's (the input, its spans) is touched until the guard is dropped.
        let _fallback = FallbackWhileFormatting::start();
        schemac::generate::outputs_on(cat, schemac::rust::Threads::All)
    };
    inputs.extend(existing(&root, generated.iter().map(|(p, _)| p.as_str())));
    inputs.extend(migration_files(&root.join("migrations")));
    // The catalogue is validated and its outputs made once: formatting the generated Rust is
    // most of the work, and the drift check, the expansion and the golden sources share it.
    let findings = schemac::check::check_catalogue(&dir, cat, &generated, &root);
    if !findings.is_empty() {
        let message = schemac::check::drift_message(&findings, cat, DIFF_LINES);
        return Err(error(message.replace(&base, "")));
    }

    let code: proc_macro2::TokenStream = schemac::rust::macro_source_of(&generated)
        .parse()
        .map_err(|e| error(format!("schemac generated code that does not lex: {e}")))?;
    let (paths, texts): (Vec<&str>, Vec<&str>) = generated
        .iter()
        .filter(|(p, _)| p.starts_with("src/schema/"))
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .unzip();
    let rows = cat.models.iter().map(|m| {
        let (name, collection, table) = (&m.name, &m.collection, &m.table);
        quote! { (#name, #collection, #table) }
    });
    Ok(quote! {
        // Each input is a build input: editing one re-runs this macro.
        #( const _: &[u8] = include_bytes!(#inputs); )*
        /// The catalogue's models: (model, Mongo collection, Postgres table).
        pub const COLLECTIONS: &[(&str, &str, &str)] = &[#(#rows),*];
        /// The generated files this expansion was made from: (path under the crate, text).
        #[doc(hidden)]
        pub const GENERATED_SOURCES: &[(&str, &str)] = &[#((#paths, #texts)),*];
        #code
    })
}

/// `registry!()`: the `schema::REGISTRY` of the package being compiled, as a path
/// (`::escrow_schema::schema::REGISTRY` in the tests of `escrow-schema`), so that the generated
/// parity harness names no crate. The library is the package's, named after it.
#[proc_macro]
pub fn registry(input: TokenStream) -> TokenStream {
    let span = proc_macro2::Span::call_site();
    if !input.is_empty() {
        return syn::Error::new(span, "`registry!()` takes no input")
            .to_compile_error()
            .into();
    }
    let Ok(package) = std::env::var("CARGO_PKG_NAME") else {
        return syn::Error::new(span, "CARGO_PKG_NAME is not set: build with Cargo")
            .to_compile_error()
            .into();
    };
    let krate = syn::Ident::new(&package.replace('-', "_"), span);
    quote!(::#krate::schema::REGISTRY).into()
}

/// The absolute paths of those `files` (relative to `root`) that exist.
fn existing<'a>(root: &Path, files: impl Iterator<Item = &'a str>) -> Vec<String> {
    files
        .map(|f| root.join(f))
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string())
        .collect()
}

/// Every file of the migration directory, in name order.
fn migration_files(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    files
}

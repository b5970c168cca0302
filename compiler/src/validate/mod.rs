//! Validation: model files in, the [`Catalogue`] IR and every diagnostic out. Decoding checks each
//! file's shape; lowering derives names and types; the checks here look across fields, models
//! and tables.

mod checks;
pub mod lower;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diag::{Diagnostic, Severity, Sources};
use crate::ir::{Catalogue, EnumType, Model, REF_KIND_ENUM, REF_KINDS, Timestamps};
use crate::parse::decode::Decoder;
use crate::parse::syntax::ModelDecl;
use crate::parse::yaml;
use crate::{ident, plan};
use lower::{Globals, Lowerer};

/// The result of validating a catalogue: the IR when there is no error, and all findings.
#[derive(Debug)]
pub struct Validated {
    /// The catalogue, when no error was found.
    pub catalogue: Option<Catalogue>,
    /// Every finding, errors and warnings, in file order.
    pub diagnostics: Vec<Diagnostic>,
    /// The texts, for rendering the findings.
    pub sources: Sources,
}

impl Validated {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Validates catalogue files given as (name, text) pairs. Pure: no file system access.
pub fn validate_sources(files: Vec<(String, String)>) -> Validated {
    let mut sources = Sources::default();
    let mut decoder = Decoder::default();
    let mut decls = Vec::new();
    let mut files: Vec<(Arc<str>, String)> = files
        .into_iter()
        .map(|(name, text)| (name.into(), text))
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    // Parsing the YAML is most of validating (docs/bench-compile.md) and each file's own.
    let parsed = crate::pool::map(crate::pool::Threads::All, &files, |(name, text)| {
        yaml::parse(name, text)
    });
    for ((name, text), parsed) in files.into_iter().zip(parsed) {
        match parsed {
            Ok(root) => decls.extend(decoder.model(&name, &root)),
            Err(d) => decoder.diags.push(*d),
        }
        sources.add(name, text);
    }
    let mut diags = decoder.diags;
    let catalogue = lower_all(&decls, &mut diags);
    let mut catalogue = Some(catalogue);
    if diags.iter().any(|d| d.severity == Severity::Error) {
        catalogue = None;
    }
    diags.sort_by(|a, b| a.span.cmp(&b.span));
    Validated {
        catalogue,
        diagnostics: diags,
        sources,
    }
}

fn fold(s: &str) -> String {
    s.to_lowercase()
}

fn lower_all(decls: &[ModelDecl], diags: &mut Vec<Diagnostic>) -> Catalogue {
    let globals = register(decls, diags);
    let mut models = Vec::new();
    let mut enums: Vec<EnumType> = Vec::new();
    for d in decls {
        for e in &d.enums {
            enums.push(EnumType {
                name: e.name.value.clone(),
                values: e.values.iter().map(|v| v.value.clone()).collect(),
                span: e.name.span.clone(),
            });
        }
    }
    for d in decls {
        let table = globals.tables[&d.model.value].clone();
        let mut lowerer = Lowerer::new(&globals, &d.model.value);
        let fields = lowerer.fields(&table, &d.fields);
        diags.append(&mut lowerer.diags);
        enums.append(&mut lowerer.new_enums);
        let phase = match &d.phase {
            Some(p) if (1..=9).contains(&p.value) => p.value as u8,
            Some(p) => {
                diags.push(
                    Diagnostic::error(
                        "bad-phase",
                        &p.span,
                        &p.path,
                        format!("phase {} is out of range", p.value),
                    )
                    .expected("a migration phase from 1 to 9"),
                );
                1
            }
            None => {
                diags.push(
                    Diagnostic::error(
                        "missing-key",
                        &d.span,
                        "",
                        "a model file is missing the required key `phase`",
                    )
                    .expected("`phase: 1` (the migration phase of the plan)"),
                );
                1
            }
        };
        let mut model = Model {
            name: d.model.value.clone(),
            collection: d.collection.value.clone(),
            table,
            renamed_from: d.renamed_from.as_ref().map(|r| r.value.clone()),
            phase,
            description: d.description.clone(),
            timestamps: Timestamps {
                created_at: d.timestamps.0,
                updated_at: d.timestamps.1,
            },
            version_key: d.version_key,
            fields,
            indexes: Vec::new(),
            ttl: None,
            invariants: Default::default(),
            span: d.span.clone(),
        };
        checks::model_level(d, &mut model, &globals, &enums, diags);
        models.push(model);
    }
    if models.iter().any(uses_polymorphic) && !enums.iter().any(|e| e.name == REF_KIND_ENUM) {
        enums.insert(
            0,
            EnumType {
                name: REF_KIND_ENUM.into(),
                values: REF_KINDS.iter().map(|s| s.to_string()).collect(),
                span: models[0].span.clone(),
            },
        );
    }
    check_enums(&enums, diags);
    let catalogue = Catalogue { models, enums };
    let schema = plan::plan(&catalogue);
    checks::names(&catalogue, &schema, diags);
    checks::rust_names(&catalogue, &schema, diags);
    checks::reference_cycles(&catalogue, diags);
    catalogue
}

fn uses_polymorphic(m: &Model) -> bool {
    fn walk(fields: &[crate::ir::Field]) -> bool {
        fields.iter().any(|f| match &f.storage {
            crate::ir::Storage::Polymorphic(_) => true,
            crate::ir::Storage::Flattened { fields } => walk(fields),
            crate::ir::Storage::ChildTable(c) => walk(&c.fields),
            _ => false,
        })
    }
    walk(&m.fields)
}

/// First pass: model names, collections and tables, and the declared enums, so that every model
/// can refer to every other.
fn register(decls: &[ModelDecl], diags: &mut Vec<Diagnostic>) -> Globals {
    let mut tables = BTreeMap::new();
    let mut enums = BTreeMap::new();
    let mut seen_models: BTreeMap<String, &ModelDecl> = BTreeMap::new();
    let mut seen_collections: BTreeMap<String, &ModelDecl> = BTreeMap::new();
    let mut seen_modules: BTreeMap<String, &ModelDecl> = BTreeMap::new();
    for d in decls {
        if let Some(module) = check_model_name(d, diags) {
            match seen_modules.get(&module) {
                // The same name but for case is `duplicate-name` below.
                Some(first) if fold(&first.model.value) != fold(&d.model.value) => diags.push(
                    Diagnostic::error(
                        "name-collision",
                        &d.model.span,
                        &d.model.path,
                        format!(
                            "models `{}` and `{}` would both be the Rust module `{module}`",
                            first.model.value, d.model.value
                        ),
                    )
                    .related(&first.model.span, "first declared here")
                    .hint("the module is the model's snake_case name; rename one of them"),
                ),
                Some(_) => {}
                None => {
                    seen_modules.insert(module, d);
                }
            }
        }
        if let Some(first) = seen_models.get(&fold(&d.model.value)) {
            diags.push(
                Diagnostic::error(
                    "duplicate-name",
                    &d.model.span,
                    &d.model.path,
                    format!("model `{}` is declared twice", d.model.value),
                )
                .related(&first.model.span, "first declared here"),
            );
        } else {
            seen_models.insert(fold(&d.model.value), d);
        }
        if let Some(first) = seen_collections.get(&fold(&d.collection.value)) {
            diags.push(
                Diagnostic::error(
                    "duplicate-name",
                    &d.collection.span,
                    &d.collection.path,
                    format!("collection `{}` is mapped twice", d.collection.value),
                )
                .related(&first.collection.span, "first mapped here"),
            );
        } else {
            seen_collections.insert(fold(&d.collection.value), d);
        }
        let table = d
            .table
            .as_ref()
            .map_or_else(|| ident::table_name(&d.model.value), |t| t.value.clone());
        tables.entry(d.model.value.clone()).or_insert(table);
        for e in &d.enums {
            enums
                .entry(e.name.value.clone())
                .or_insert_with(|| e.values.iter().map(|v| v.value.clone()).collect());
        }
    }
    Globals { tables, enums }
}

/// A model's name is a Rust type and a module (in a file of its own) of the generated code: an
/// ASCII letter, then ASCII letters, digits or `_`, and not a name the generated code uses
/// already. Returns its module when it is
/// one.
fn check_model_name(d: &ModelDecl, diags: &mut Vec<Diagnostic>) -> Option<String> {
    let name = &d.model.value;
    let mut chars = name.chars();
    let identifier = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !identifier {
        diags.push(
            Diagnostic::error(
                "invalid-name",
                &d.model.span,
                &d.model.path,
                format!("model name {name:?} is not an ASCII identifier"),
            )
            .expected("an ASCII letter, then ASCII letters, digits or `_` (`PurchaseRequest`)")
            .hint("the model name names a Rust type and a module in a file of its own, which Rust wants in ASCII; the collection, the table and the columns may be named anything (`collection:`, `table:`, `column:`)"),
        );
        return None;
    }
    let module = crate::rust::module_ident(&ident::model_snake(name));
    let ty = crate::rust::type_ident(name);
    let reserved = if crate::rust::SCHEMA_MODULES.contains(&module.as_str()) {
        Some(format!(
            "model `{name}` would be the Rust module `{module}`, which `schema/mod.rs` declares for the enums"
        ))
    } else if crate::rust::MODULE_TYPES.contains(&ty.as_str()) {
        Some(format!(
            "model `{name}` would be the Rust type `{ty}`, which its generated module also imports or defines ({})",
            crate::rust::MODULE_TYPES.join(", ")
        ))
    } else {
        None
    };
    if let Some(message) = reserved {
        diags.push(
            Diagnostic::error("reserved-name", &d.model.span, &d.model.path, message)
                .hint("rename the model: the Mongo side is named by `collection:`"),
        );
        return None;
    }
    Some(module)
}

fn check_enums(enums: &[EnumType], diags: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<String, &EnumType> = BTreeMap::new();
    for e in enums {
        if let Some(first) = seen.get(&fold(&e.name)) {
            let what = if e.name == REF_KIND_ENUM {
                " (the builtin enum of polymorphic references)"
            } else {
                ""
            };
            diags.push(
                Diagnostic::error(
                    "duplicate-name",
                    &e.span,
                    "enums",
                    format!("enum `{}` is declared twice{what}", e.name),
                )
                .related(&first.span, "first declared here")
                .hint("enum names are global to the catalogue: prefix them with the model's name"),
            );
        } else {
            seen.insert(fold(&e.name), e);
        }
        if e.values.is_empty() {
            diags.push(Diagnostic::error(
                "empty-enum",
                &e.span,
                "enums",
                format!("enum `{}` has no values", e.name),
            ));
        }
        let mut values: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, v) in e.values.iter().enumerate() {
            if let Some(first) = values.insert(v, i) {
                diags.push(
                    Diagnostic::error(
                        "duplicate-enum-value",
                        &e.span,
                        &format!("enums.{}[{i}]", e.name),
                        format!(
                            "enum `{}` lists `{v}` twice (positions {first} and {i})",
                            e.name
                        ),
                    )
                    .hint("Postgres enum labels are unique; remove one"),
                );
            }
        }
    }
}

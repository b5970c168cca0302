//! Declarations in, IR out: derives every name and type of one model and checks what can be
//! checked field by field (types, defaults, enums, reference targets).

use std::collections::BTreeMap;

use crate::diag::{Diagnostic, did_you_mean};
use crate::ident;
use crate::ir::*;
use crate::parse::syntax::*;
use crate::types::{self, BsonType, PgType};

/// What every model can see while being lowered: the other models and the enums.
pub struct Globals {
    /// Model name -> root table.
    pub tables: BTreeMap<String, String>,
    /// Enum name -> values.
    pub enums: BTreeMap<String, Vec<String>>,
}

/// Lowers one model, pushing diagnostics; inline enums it declares go to `new_enums`.
pub struct Lowerer<'g> {
    /// The other models and the declared enums.
    pub globals: &'g Globals,
    /// Findings.
    pub diags: Vec<Diagnostic>,
    /// Enums declared inline (`enum: [a, b]`) by this model.
    pub new_enums: Vec<EnumType>,
    model_snake: String,
}

/// Where a field stands: its table, its column prefix, its Mongo path prefix.
#[derive(Clone)]
struct Scope {
    table: String,
    owner: String,
    col_prefix: String,
    mongo_prefix: String,
    /// The enclosing flattened object may be absent, so `required` cannot mean NOT NULL.
    optional_parent: bool,
    /// Fields live inside a jsonb value: no columns.
    in_jsonb: bool,
    root: bool,
}

impl<'g> Lowerer<'g> {
    /// A lowerer for one model.
    pub fn new(globals: &'g Globals, model: &str) -> Self {
        Lowerer {
            globals,
            diags: Vec::new(),
            new_enums: Vec::new(),
            model_snake: ident::model_snake(model),
        }
    }

    /// Lowers the fields of a model's root table.
    pub fn fields(&mut self, table: &str, decls: &[FieldDecl]) -> Vec<Field> {
        let scope = Scope {
            table: table.to_string(),
            owner: self.model_snake.clone(),
            col_prefix: String::new(),
            mongo_prefix: String::new(),
            optional_parent: false,
            in_jsonb: false,
            root: true,
        };
        self.field_list(&scope, decls)
    }

    fn field_list(&mut self, scope: &Scope, decls: &[FieldDecl]) -> Vec<Field> {
        decls.iter().filter_map(|d| self.field(scope, d)).collect()
    }

    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn field(&mut self, scope: &Scope, d: &FieldDecl) -> Option<Field> {
        let mongo_path = format!("{}{}", scope.mongo_prefix, d.name.value);
        if d.name.value == "_id" || d.name.value == "__v" {
            self.err(
                Diagnostic::error(
                    "reserved-field",
                    &d.name.span,
                    &d.path,
                    format!("`{}` is managed by the compiler", d.name.value),
                )
                .hint("`_id` is always `id` + `legacy_object_id`; `__v` follows `version_key`"),
            );
            return None;
        }
        let base = |storage| Field {
            name: d.name.value.clone(),
            mongo_path: mongo_path.clone(),
            bson: d.bson.iter().map(|b| b.value).collect(),
            required: d.required,
            default: d.default.as_ref().map(|v| v.value.clone()),
            lossy: d.lossy.clone(),
            description: d.description.clone(),
            storage,
            span: d.name.span.clone(),
            yaml_path: d.path.clone(),
        };
        if let Some(reason) = &d.skip {
            return Some(base(Storage::Skipped {
                reason: reason.value.clone(),
            }));
        }
        let bson = self.main_bson(d)?;
        let storage = if scope.in_jsonb {
            self.names_in_jsonb(d);
            if let Some(sub) = &d.fields {
                let inner = Scope {
                    mongo_prefix: format!("{mongo_path}."),
                    ..scope.clone()
                };
                self.field_list(&inner, &sub.value);
            }
            Storage::InJsonb
        } else if let Some(poly) = &d.polymorphic {
            Storage::Polymorphic(Box::new(self.polymorphic(scope, d, bson, poly)?))
        } else {
            match bson {
                BsonType::Object => self.object(scope, d, &mongo_path)?,
                BsonType::Array => self.array(scope, d, &mongo_path)?,
                _ => self.scalar_column(scope, d, bson)?,
            }
        };
        if !matches!(storage, Storage::Column(_)) {
            self.no_column_options(d, matches!(storage, Storage::Polymorphic(_)));
        }
        Some(base(storage))
    }

    /// Checks the `bson` list: one type, `[objectId, string]` (with a ref), or numeric types.
    fn main_bson(&mut self, d: &FieldDecl) -> Option<BsonType> {
        let types: Vec<BsonType> = d.bson.iter().map(|b| b.value).collect();
        match types.as_slice() {
            [] => None,
            [one] => Some(*one),
            many => {
                let numeric = many.iter().all(|t| {
                    matches!(
                        t,
                        BsonType::Int32 | BsonType::Int64 | BsonType::Double | BsonType::Number
                    )
                });
                let id_or_string = many
                    .iter()
                    .all(|t| matches!(t, BsonType::ObjectId | BsonType::String));
                if numeric {
                    Some(BsonType::Number)
                } else if id_or_string {
                    Some(BsonType::ObjectId)
                } else {
                    let span = &d.bson[0].span;
                    self.err(
                        Diagnostic::error(
                            "bad-type-union",
                            span,
                            &d.bson[0].path,
                            "this union of BSON types cannot share one column",
                        )
                        .expected("one type, `[objectId, string]` with a `ref`, or numeric types")
                        .hint("use `bson: mixed` with `store`/`polymorphic`, or split the field"),
                    );
                    None
                }
            }
        }
    }

    /// `unique`, `index` and `sparse` need one column; a polymorphic reference may be indexed
    /// (its id and external ref columns).
    fn no_column_options(&mut self, d: &FieldDecl, polymorphic: bool) {
        for (set, key) in [
            (d.unique, "unique"),
            (d.index && !polymorphic, "index"),
            (d.sparse, "sparse"),
        ] {
            if set {
                self.err(
                    Diagnostic::error(
                        "misplaced-key",
                        &d.span,
                        &format!("{}.{key}", d.path),
                        format!(
                            "`{key}` applies to a single column; field `{}` is not one",
                            d.name.value
                        ),
                    )
                    .hint("declare the index under `indexes:` with the subfield paths"),
                );
            }
        }
        if let Some(c) = &d.check {
            self.err(
                Diagnostic::error(
                    "misplaced-key",
                    &c.span,
                    &c.path,
                    "`check` applies to a single column",
                )
                .hint("put it on the subfields"),
            );
        }
        if d.renamed_from.is_some() {
            self.err(Diagnostic::error(
                "misplaced-key",
                &d.span,
                &format!("{}.renamed_from", d.path),
                "`renamed_from` applies to a single column",
            ));
        }
    }

    fn column_name(&self, scope: &Scope, d: &FieldDecl) -> String {
        match &d.column {
            Some(c) => c.value.clone(),
            None => format!("{}{}", scope.col_prefix, ident::column_name(&d.name.value)),
        }
    }

    fn nullable(&self, scope: &Scope, d: &FieldDecl) -> bool {
        if let Some(n) = d.nullable {
            return n;
        }
        let has_default = d
            .default
            .as_ref()
            .is_some_and(|v| v.value != DefaultValue::Null);
        !((d.required && !scope.optional_parent) || has_default)
    }

    fn scalar_column(&mut self, scope: &Scope, d: &FieldDecl, bson: BsonType) -> Option<Storage> {
        let column = self.column_name(scope, d);
        let mut reference = None;
        if let Some(r) = &d.reference {
            reference = self.reference(scope, r);
            if bson != BsonType::ObjectId && !d.bson.iter().any(|b| b.value == BsonType::ObjectId) {
                self.err(
                    Diagnostic::error(
                        "type-mismatch",
                        &r.span,
                        &r.path,
                        format!("a `ref` needs ObjectId values, but the field is BSON {bson}"),
                    )
                    .hint("use `bson: objectId` or `bson: [objectId, string]`"),
                );
            }
        }
        let pg = self.scalar_type(
            d,
            bson,
            d.enum_use.as_ref(),
            d.pg.as_ref(),
            reference.is_some(),
            &column,
            &scope.table,
        )?;
        if reference.is_some() && pg != PgType::Uuid {
            let span = d.pg.as_ref().map_or(&d.span, |p| &p.span);
            self.err(Diagnostic::error(
                "type-mismatch",
                span,
                &d.path,
                format!("a reference is stored as uuid, not {pg}"),
            ));
        }
        if bson == BsonType::Mixed && d.store.is_some() {
            self.err(Diagnostic::error(
                "misplaced-key",
                &d.span,
                &format!("{}.store", d.path),
                "a Mixed field is one jsonb column; `store` is for objects and arrays",
            ));
        }
        let default_sql = self.default_sql(d, bson, &pg);
        Some(Storage::Column(Column {
            table: scope.table.clone(),
            name: column,
            pg,
            nullable: self.nullable(scope, d),
            default_sql,
            unique: d.unique,
            index: d.index,
            sparse: d.sparse,
            renamed_from: d.renamed_from.as_ref().map(|r| r.value.clone()),
            check: d.check.as_ref().map(|c| c.value.clone()),
            reference,
        }))
    }

    /// The Postgres type of a scalar: an enum, an explicit `pg`, or the BSON type's default.
    #[allow(clippy::too_many_arguments)]
    fn scalar_type(
        &mut self,
        d: &FieldDecl,
        bson: BsonType,
        enum_use: Option<&EnumUse>,
        pg: Option<&Sp<PgType>>,
        has_resolver: bool,
        column: &str,
        table: &str,
    ) -> Option<PgType> {
        if let Some(e) = enum_use {
            if bson != BsonType::String {
                self.err(Diagnostic::error(
                    "type-mismatch",
                    &d.span,
                    &d.path,
                    format!("an `enum` needs BSON string values, not {bson}"),
                ));
            }
            if let Some(p) = pg {
                self.err(Diagnostic::error(
                    "conflicting-keys",
                    &p.span,
                    &p.path,
                    "give `enum` or `pg`, not both",
                ));
            }
            let name = self.enum_type(e, table, column)?;
            return Some(PgType::Enum(name));
        }
        let pg_type = match pg {
            Some(p) => p.value.clone(),
            None => match types::default_pg(bson) {
                Some(t) => t,
                None => {
                    self.err(
                        Diagnostic::error("missing-pg-type", &d.span, &d.path, format!("field `{}` is BSON {bson}: say which Postgres type stores it", d.name.value))
                            .expected("`pg: int4`, `int8`, `float8` or `numeric(p,s)`")
                            .hint("Mongoose Number holds int32, int64 and double values; int4 suits counts, int8 large ids"),
                    );
                    return None;
                }
            },
        };
        if let PgType::Array(_) = pg_type {
            let span = pg.map_or(&d.span, |p| &p.span);
            self.err(Diagnostic::error(
                "type-mismatch",
                span,
                &d.path,
                "an array type needs `bson: array` with `items`",
            ));
            return None;
        }
        if let Err(why) = types::compatible(bson, &pg_type, has_resolver) {
            let span = pg.map_or(&d.span, |p| &p.span);
            let hint = if bson == BsonType::String && pg_type == PgType::Uuid {
                "add `ref: <Model>` so strings are resolved to uuids, or store them as `text`"
                    .to_string()
            } else {
                format!("BSON {bson} fits: {}", fitting(bson))
            };
            self.err(
                Diagnostic::error(
                    "impossible-type-pair",
                    span,
                    &d.path,
                    format!("cannot store BSON {bson} as {pg_type}: {why}"),
                )
                .hint(hint),
            );
            return None;
        }
        Some(pg_type)
    }

    /// A field inside a jsonb value has no column, so its `enum`, `ref` and `polymorphic:
    /// { target }` only document the value; the names they give must still exist, or a typo
    /// would pass unnoticed. (An inline enum list there makes no Postgres type.)
    fn names_in_jsonb(&mut self, d: &FieldDecl) {
        if let Some(EnumUse::Named(name)) = &d.enum_use {
            self.known_enum(name);
        }
        let target = d.polymorphic.as_ref().and_then(|p| p.target.as_ref());
        let model_ref = match d.reference.as_ref().map(|r| &r.value) {
            Some(RefDecl::Model { model, .. }) => Some(model),
            _ => None,
        };
        for model in model_ref.into_iter().chain(target) {
            self.known_model(model);
        }
        if let Some(r) = &d.reference
            && matches!(r.value, RefDecl::Discriminator(_))
        {
            self.err(Diagnostic::error(
                "misplaced-key",
                &r.span,
                &r.path,
                "a discriminated reference must be a root field",
            ));
        }
    }

    /// Whether enum `name` is declared (or is the reference-kind enum); an error when not.
    fn known_enum(&mut self, name: &Sp<String>) -> bool {
        if self.globals.enums.contains_key(&name.value) || name.value == REF_KIND_ENUM {
            return true;
        }
        self.err(
            Diagnostic::error(
                "unknown-enum",
                &name.span,
                &name.path,
                format!("unknown enum `{}`", name.value),
            )
            .expected("an enum declared under `enums:` in any model file, or an inline list")
            .maybe_hint(did_you_mean(
                &name.value,
                self.globals.enums.keys().map(String::as_str),
            )),
        );
        false
    }

    /// The table of model `model`; an error when the catalogue has no such model.
    fn known_model(&mut self, model: &Sp<String>) -> Option<String> {
        if let Some(table) = self.globals.tables.get(&model.value) {
            return Some(table.clone());
        }
        self.err(
            Diagnostic::error(
                "dangling-reference",
                &model.span,
                &model.path,
                format!("`{}` is not a model of the catalogue", model.value),
            )
            .expected("the `model:` name of a file in the catalogue")
            .maybe_hint(did_you_mean(
                &model.value,
                self.globals.tables.keys().map(String::as_str),
            )),
        );
        None
    }

    fn enum_type(&mut self, e: &EnumUse, table: &str, column: &str) -> Option<String> {
        match e {
            EnumUse::Named(name) => self.known_enum(name).then(|| name.value.clone()),
            EnumUse::Inline(values) => {
                let name = format!("{table}_{column}");
                self.new_enums.push(EnumType {
                    name: name.clone(),
                    values: values.value.iter().map(|v| v.value.clone()).collect(),
                    span: values.span.clone(),
                });
                Some(name)
            }
        }
    }

    fn enum_values(&self, name: &str) -> Option<Vec<String>> {
        if let Some(v) = self.globals.enums.get(name) {
            return Some(v.clone());
        }
        self.new_enums
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.values.clone())
    }

    fn reference(&mut self, scope: &Scope, r: &Sp<RefDecl>) -> Option<Reference> {
        match &r.value {
            RefDecl::Model {
                model,
                fk,
                on_delete,
            } => {
                let table = self.known_model(model)?;
                if *on_delete == OnDelete::SetNull && !*fk {
                    self.err(Diagnostic::error(
                        "conflicting-keys",
                        &r.span,
                        &r.path,
                        "`on_delete` needs a foreign key (`fk: true`)",
                    ));
                }
                Some(Reference::Model {
                    model: model.value.clone(),
                    table,
                    fk: *fk,
                    on_delete: *on_delete,
                })
            }
            RefDecl::Discriminator(field) => {
                if !scope.root {
                    self.err(Diagnostic::error(
                        "misplaced-key",
                        &r.span,
                        &r.path,
                        "a discriminated reference must be a root field",
                    ));
                }
                Some(Reference::Discriminator {
                    column: field.value.clone(),
                })
            }
        }
    }

    fn default_sql(&mut self, d: &FieldDecl, bson: BsonType, pg: &PgType) -> Option<String> {
        if let Some(explicit) = &d.pg_default {
            return explicit.value.clone();
        }
        let default = d.default.as_ref()?;
        let ok = default_fits(&default.value, bson);
        if !ok {
            self.err(
                Diagnostic::error(
                    "bad-default",
                    &default.span,
                    &default.path,
                    format!("this default does not fit BSON {bson}"),
                )
                .expected(format!("a {bson} value")),
            );
            return None;
        }
        if let PgType::Enum(name) = pg
            && let DefaultValue::Str(v) = &default.value
            && let Some(values) = self.enum_values(name)
            && !values.contains(v)
        {
            self.err(
                Diagnostic::error(
                    "bad-default",
                    &default.span,
                    &default.path,
                    format!("`{v}` is not a value of enum `{name}`"),
                )
                .expected(format!("one of: {}", values.join(", ")))
                .maybe_hint(did_you_mean(v, values.iter().map(String::as_str))),
            );
            return None;
        }
        // A string default of a numeric column goes into the DDL as a number, unquoted: it must
        // be one (`NaN`, `inf` or SQL text would break or change the statement).
        if pg.is_exact_number()
            && let DefaultValue::Str(v) = &default.value
            && !v.parse::<f64>().is_ok_and(f64::is_finite)
        {
            self.err(
                Diagnostic::error(
                    "bad-default",
                    &default.span,
                    &default.path,
                    format!("`{v}` is not a finite decimal number for the {pg} column"),
                )
                .expected("a decimal number such as \"0\", \"-12.50\" or \"1e3\""),
            );
            return None;
        }
        literal_sql(&default.value, pg)
    }

    fn polymorphic(
        &mut self,
        scope: &Scope,
        d: &FieldDecl,
        bson: BsonType,
        p: &PolyDecl,
    ) -> Option<Polymorphic> {
        if bson != BsonType::Mixed && bson != BsonType::ObjectId {
            self.err(
                Diagnostic::error(
                    "type-mismatch",
                    &p.span,
                    &p.path,
                    format!(
                        "a polymorphic reference holds an ObjectId or a string, not BSON {bson}"
                    ),
                )
                .hint("use `bson: mixed`"),
            );
        }
        if p.kinds.is_empty() {
            self.err(
                Diagnostic::error(
                    "polymorphic-without-kinds",
                    &p.span,
                    &p.path,
                    format!("polymorphic reference `{}` lists no kinds", d.name.value),
                )
                .expected(format!(
                    "`kinds:` with values from: {}",
                    REF_KINDS.join(", ")
                ))
                .hint("an ObjectId is kind `entity`, an external string is kind `template`"),
            );
            return None;
        }
        for k in &p.kinds {
            if !REF_KINDS.contains(&k.value.as_str()) {
                self.err(
                    Diagnostic::error(
                        "unknown-value",
                        &k.span,
                        &k.path,
                        format!("unknown reference kind `{}`", k.value),
                    )
                    .expected(format!("one of: {}", REF_KINDS.join(", ")))
                    .maybe_hint(did_you_mean(&k.value, REF_KINDS.iter().copied())),
                );
            }
        }
        let reference = match &p.target {
            Some(t) => {
                let decl = Sp {
                    value: RefDecl::Model {
                        model: t.clone(),
                        fk: p.fk,
                        on_delete: OnDelete::Restrict,
                    },
                    span: t.span.clone(),
                    path: t.path.clone(),
                };
                Some(self.reference(scope, &decl)?)
            }
            None => None,
        };
        let base = match &d.column {
            Some(c) => c.value.clone(),
            None => ident::polymorphic_base(&format!(
                "{}{}",
                scope.col_prefix,
                ident::column_name(&d.name.value)
            )),
        };
        let col = |name: String, pg: PgType, nullable: bool, reference: Option<Reference>| Column {
            table: scope.table.clone(),
            name,
            pg,
            nullable,
            default_sql: None,
            unique: false,
            index: false,
            sparse: false,
            renamed_from: None,
            check: None,
            reference,
        };
        let required = d.required && !scope.optional_parent;
        Some(Polymorphic {
            kind: col(
                format!("{base}_ref_kind"),
                PgType::Enum(REF_KIND_ENUM.into()),
                !required,
                None,
            ),
            id: Column {
                index: d.index,
                ..col(format!("{base}_id"), PgType::Uuid, true, reference)
            },
            external_ref: col(format!("{base}_external_ref"), PgType::Text, true, None),
            kinds: p.kinds.iter().map(|k| k.value.clone()).collect(),
        })
    }

    fn object(&mut self, scope: &Scope, d: &FieldDecl, mongo_path: &str) -> Option<Storage> {
        let Some(store) = &d.store else {
            self.err(
                Diagnostic::error(
                    "missing-store",
                    &d.span,
                    &d.path,
                    format!("embedded object `{}` needs `store`", d.name.value),
                )
                .expected("`store: flatten`, `store: table` or `store: jsonb`"),
            );
            return None;
        };
        let fields = d.fields.as_ref();
        match store.value {
            Store::Flatten => {
                let fields = self.need_fields(d, fields)?;
                let prefix = match &d.prefix {
                    Some(p) => p.value.clone(),
                    None => format!("{}{}_", scope.col_prefix, ident::column_name(&d.name.value)),
                };
                let inner = Scope {
                    col_prefix: prefix,
                    mongo_prefix: format!("{mongo_path}."),
                    optional_parent: scope.optional_parent || !d.required,
                    ..scope.clone()
                };
                Some(Storage::Flattened {
                    fields: self.field_list(&inner, &fields.value),
                })
            }
            Store::Table => {
                let fields = self.need_fields(d, fields)?;
                Some(Storage::ChildTable(self.child_table(
                    scope,
                    d,
                    mongo_path,
                    &fields.value,
                    true,
                )))
            }
            Store::Jsonb => Some(self.jsonb(scope, d, mongo_path, BsonType::Object)),
            Store::Array => {
                self.err(
                    Diagnostic::error(
                        "bad-store",
                        &store.span,
                        &store.path,
                        "`store: array` is for arrays of scalars",
                    )
                    .expected("flatten, table or jsonb"),
                );
                None
            }
        }
    }

    fn need_fields<'d>(
        &mut self,
        d: &FieldDecl,
        fields: Option<&'d Sp<Vec<FieldDecl>>>,
    ) -> Option<&'d Sp<Vec<FieldDecl>>> {
        if fields.is_none() {
            self.err(
                Diagnostic::error(
                    "missing-key",
                    &d.span,
                    &d.path,
                    format!(
                        "`{}` is stored in columns, so its `fields` must be declared",
                        d.name.value
                    ),
                )
                .hint("list the subdocument's fields, or use `store: jsonb` for a free-form value"),
            );
        }
        fields
    }

    fn jsonb(&mut self, scope: &Scope, d: &FieldDecl, mongo_path: &str, bson: BsonType) -> Storage {
        let shape = match &d.fields {
            Some(f) => {
                let inner = Scope {
                    mongo_prefix: format!("{mongo_path}."),
                    in_jsonb: true,
                    ..scope.clone()
                };
                self.field_list(&inner, &f.value)
            }
            None => Vec::new(),
        };
        let pg = PgType::Jsonb;
        let column = Column {
            table: scope.table.clone(),
            name: self.column_name(scope, d),
            default_sql: self.default_sql(d, bson, &pg),
            pg,
            nullable: self.nullable(scope, d),
            unique: false,
            index: false,
            sparse: false,
            renamed_from: None,
            check: None,
            reference: None,
        };
        Storage::Jsonb { column, shape }
    }

    fn child_table(
        &mut self,
        scope: &Scope,
        d: &FieldDecl,
        mongo_path: &str,
        fields: &[FieldDecl],
        one_to_one: bool,
    ) -> ChildTable {
        let name = match &d.table {
            Some(t) => t.value.clone(),
            None => format!("{}_{}", scope.owner, ident::column_name(&d.name.value)),
        };
        let parent_column = match &d.parent_column {
            Some(c) => c.value.clone(),
            None if scope.root => format!("{}_id", self.model_snake),
            None => "parent_id".to_string(),
        };
        let inner = Scope {
            table: name.clone(),
            owner: name.clone(),
            col_prefix: String::new(),
            mongo_prefix: format!("{mongo_path}."),
            optional_parent: false,
            in_jsonb: false,
            root: false,
        };
        ChildTable {
            fields: self.field_list(&inner, fields),
            name,
            parent_table: scope.table.clone(),
            parent_column,
            one_to_one,
            item_id: d.item_id.unwrap_or(!one_to_one),
            optional: !d.required,
        }
    }

    fn array(&mut self, scope: &Scope, d: &FieldDecl, mongo_path: &str) -> Option<Storage> {
        let store = d.store.as_ref().map(|s| s.value);
        match (store, &d.items, &d.fields) {
            (_, Some(_), Some(f)) => {
                self.err(Diagnostic::error(
                    "conflicting-keys",
                    &f.span,
                    &f.path,
                    "an array has `items` (scalars) or `fields` (subdocuments), not both",
                ));
                None
            }
            (Some(Store::Jsonb), _, _) => Some(self.jsonb(scope, d, mongo_path, BsonType::Array)),
            (Some(Store::Table), None, Some(fields)) => Some(Storage::ChildTable(
                self.child_table(scope, d, mongo_path, &fields.value, false),
            )),
            (None, None, Some(_)) => {
                self.err(
                    Diagnostic::error(
                        "missing-store",
                        &d.span,
                        &d.path,
                        format!("array of subdocuments `{}` needs `store`", d.name.value),
                    )
                    .expected("`store: table` or `store: jsonb`"),
                );
                None
            }
            (Some(Store::Array) | None, Some(items), None) => self.scalar_array(scope, d, items),
            (Some(s), _, _) => {
                let what = match s {
                    Store::Table => "`store: table` needs subdocument `fields`",
                    Store::Array => "`store: array` needs scalar `items`",
                    _ => "`store: flatten` is for objects",
                };
                let span = d.store.as_ref().map_or(&d.span, |s| &s.span);
                self.err(Diagnostic::error(
                    "bad-store",
                    span,
                    &d.path,
                    format!("{what} (field `{}`)", d.name.value),
                ));
                None
            }
            (None, None, None) => {
                self.err(
                    Diagnostic::error("missing-key", &d.span, &d.path, format!("array `{}` needs `items` or `fields`", d.name.value))
                        .hint("`items: string` for a list of strings; `fields:` for subdocuments; `store: jsonb` for free-form"),
                );
                None
            }
        }
    }

    fn scalar_array(&mut self, scope: &Scope, d: &FieldDecl, items: &ItemsDecl) -> Option<Storage> {
        let column = self.column_name(scope, d);
        let first = items.bson.first()?;
        if items.bson.len() > 1
            && !items.bson.iter().all(|b| {
                matches!(
                    b.value,
                    BsonType::Int32 | BsonType::Int64 | BsonType::Double | BsonType::Number
                )
            })
        {
            self.err(
                Diagnostic::error(
                    "bad-type-union",
                    &items.span,
                    &items.path,
                    "array items of different kinds cannot share one Postgres array",
                )
                .hint("use `store: jsonb`"),
            );
            return None;
        }
        let elem_bson = if items.bson.len() > 1 {
            BsonType::Number
        } else {
            first.value
        };
        if !elem_bson.is_scalar() {
            self.err(
                Diagnostic::error(
                    "bad-store",
                    &first.span,
                    &first.path,
                    format!("a Postgres array holds scalars, not {elem_bson}"),
                )
                .hint("use `fields:` with `store: table`, or `store: jsonb`"),
            );
            return None;
        }
        let reference = match &items.reference {
            Some(r) => self.reference(scope, r),
            None => None,
        };
        let elem_decl = FieldDecl {
            path: items.path.clone(),
            span: items.span.clone(),
            ..d.clone()
        };
        let elem = self.scalar_type(
            &elem_decl,
            elem_bson,
            items.enum_use.as_ref(),
            items.pg.as_ref(),
            reference.is_some(),
            &column,
            &scope.table,
        )?;
        let pg = PgType::Array(Box::new(elem));
        if let Some(DefaultValue::List(values)) = d.default.as_ref().map(|v| &v.value)
            && let PgType::Array(inner) = &pg
            && let PgType::Enum(name) = inner.as_ref()
            && let Some(allowed) = self.enum_values(name)
        {
            for v in values {
                if let DefaultValue::Str(s) = v
                    && !allowed.contains(s)
                {
                    let span = d.default.as_ref().map_or(&d.span, |v| &v.span);
                    self.err(
                        Diagnostic::error(
                            "bad-default",
                            span,
                            &d.path,
                            format!("`{s}` is not a value of enum `{name}`"),
                        )
                        .expected(format!("values from: {}", allowed.join(", "))),
                    );
                }
            }
        }
        let default_sql = self.default_sql(d, BsonType::Array, &pg);
        Some(Storage::Column(Column {
            table: scope.table.clone(),
            name: column,
            pg,
            nullable: self.nullable(scope, d),
            default_sql,
            unique: d.unique,
            index: d.index,
            sparse: d.sparse,
            renamed_from: d.renamed_from.as_ref().map(|r| r.value.clone()),
            check: d.check.as_ref().map(|c| c.value.clone()),
            reference,
        }))
    }
}

fn fitting(bson: BsonType) -> String {
    let all = [
        PgType::Uuid,
        PgType::Text,
        PgType::Int4,
        PgType::Int8,
        PgType::Float8,
        PgType::Numeric(None),
        PgType::Boolean,
        PgType::Timestamptz,
        PgType::Bytea,
        PgType::Jsonb,
    ];
    let ok: Vec<String> = all
        .iter()
        .filter(|t| types::compatible(bson, t, false).is_ok())
        .map(ToString::to_string)
        .collect();
    if ok.is_empty() {
        "no column type (use `store`)".into()
    } else {
        ok.join(", ")
    }
}

fn default_fits(v: &DefaultValue, bson: BsonType) -> bool {
    use BsonType as B;
    match v {
        DefaultValue::Null => true,
        DefaultValue::Now => bson == B::Date,
        DefaultValue::Bool(_) => bson == B::Bool,
        DefaultValue::Int(_) => matches!(
            bson,
            B::Int32 | B::Int64 | B::Double | B::Number | B::Decimal128
        ),
        DefaultValue::Float(_) => matches!(bson, B::Double | B::Number | B::Decimal128),
        DefaultValue::Str(s) => match bson {
            B::String => true,
            B::Decimal128 => s.parse::<f64>().is_ok(),
            _ => false,
        },
        DefaultValue::List(_) => bson == B::Array,
        DefaultValue::EmptyObject => matches!(bson, B::Mixed | B::Object),
    }
}

/// The SQL literal of a Mongo default, or `None` when the column should have no default.
fn literal_sql(v: &DefaultValue, pg: &PgType) -> Option<String> {
    Some(match v {
        DefaultValue::Null => return None,
        DefaultValue::Now => "now()".into(),
        DefaultValue::Bool(b) => b.to_string(),
        DefaultValue::Int(i) => i.to_string(),
        DefaultValue::Float(f) => f.to_string(),
        DefaultValue::Str(s) if pg.is_exact_number() => s.clone(),
        DefaultValue::Str(s) => ident::quote_literal(s),
        DefaultValue::EmptyObject => "'{}'::jsonb".into(),
        DefaultValue::List(items) if *pg == PgType::Jsonb => {
            let json: Vec<serde_json::Value> = items.iter().map(json_value).collect();
            format!(
                "{}::jsonb",
                ident::quote_literal(&serde_json::Value::Array(json).to_string())
            )
        }
        DefaultValue::List(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|i| match i {
                    DefaultValue::Str(s) => {
                        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
                    }
                    DefaultValue::Bool(b) => b.to_string(),
                    DefaultValue::Int(n) => n.to_string(),
                    DefaultValue::Float(f) => f.to_string(),
                    _ => String::new(),
                })
                .collect();
            // The cast quotes an enum's name when it needs it (`"Select Kind"[]`).
            format!(
                "{}::{}",
                ident::quote_literal(&format!("{{{}}}", inner.join(","))),
                crate::migrate::render::sql_type(&pg.to_string())
            )
        }
    })
}

fn json_value(v: &DefaultValue) -> serde_json::Value {
    match v {
        DefaultValue::Bool(b) => (*b).into(),
        DefaultValue::Int(i) => (*i).into(),
        DefaultValue::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
        }
        DefaultValue::Str(s) => s.clone().into(),
        DefaultValue::List(items) => items.iter().map(json_value).collect(),
        DefaultValue::EmptyObject => serde_json::json!({}),
        DefaultValue::Null | DefaultValue::Now => serde_json::Value::Null,
    }
}

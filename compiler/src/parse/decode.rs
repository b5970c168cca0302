//! Node tree in, [`ModelDecl`] out: checks the shape of a model file (keys, kinds, spellings) and
//! records every problem instead of stopping at the first.

use std::sync::Arc;

use super::keys;
use super::syntax::*;
use super::yaml::{Key, Node, Value};
use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::types::{BsonType, PG_TYPE_NAMES, PgType};

/// Reads nodes, collecting diagnostics.
#[derive(Default)]
pub struct Decoder {
    /// Everything found so far.
    pub diags: Vec<Diagnostic>,
}

/// A mapping whose keys were checked against the allowed ones.
struct Obj<'n> {
    entries: &'n [(Key, Node)],
    span: Span,
    path: String,
}

impl<'n> Obj<'n> {
    fn get(&self, key: &str) -> Option<(&'n Node, String)> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| (v, join(&self.path, key)))
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn sp<T>(value: T, node: &Node, path: &str) -> Sp<T> {
    Sp {
        value,
        span: node.span.clone(),
        path: path.to_string(),
    }
}

impl Decoder {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn obj<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        what: &str,
        known: &[&str],
    ) -> Option<Obj<'n>> {
        let Value::Map(entries) = &node.value else {
            self.err(
                Diagnostic::error(
                    "wrong-kind",
                    &node.span,
                    path,
                    format!("{what} must be a mapping, found {}", node.value.kind()),
                )
                .expected(format!("a mapping with keys: {}", known.join(", "))),
            );
            return None;
        };
        for (key, _) in entries {
            if !known.contains(&key.name.as_str()) {
                let kpath = join(path, &key.name);
                self.err(
                    Diagnostic::error(
                        "unknown-key",
                        &key.span,
                        &kpath,
                        format!("unknown key `{}` in {what}", key.name),
                    )
                    .expected(format!("one of: {}", known.join(", ")))
                    .maybe_hint(did_you_mean(&key.name, known.iter().copied())),
                );
            }
        }
        Some(Obj {
            entries,
            span: node.span.clone(),
            path: path.to_string(),
        })
    }

    fn required<'n>(&mut self, obj: &Obj<'n>, key: &str, what: &str) -> Option<(&'n Node, String)> {
        let found = obj.get(key);
        if found.is_none() {
            self.err(
                Diagnostic::error(
                    "missing-key",
                    &obj.span,
                    &obj.path,
                    format!("{what} is missing the required key `{key}`"),
                )
                .expected(format!("`{key}:`")),
            );
        }
        found
    }

    fn wrong(&mut self, node: &Node, path: &str, expected: &str) {
        self.err(
            Diagnostic::error(
                "wrong-kind",
                &node.span,
                path,
                format!("expected {expected}, found {}", node.value.kind()),
            )
            .expected(expected.to_string()),
        );
    }

    fn string(&mut self, node: &Node, path: &str) -> Option<Sp<String>> {
        match &node.value {
            Value::Str(s) => Some(sp(s.clone(), node, path)),
            // YAML 1.1 turns `yes`, `on` or `1` into non-strings; a name means the text as written.
            Value::Bool(_) | Value::Int(_) | Value::Float(_) if node.raw.is_some() => {
                Some(sp(node.raw.clone().unwrap_or_default(), node, path))
            }
            _ => {
                self.wrong(node, path, "a string");
                None
            }
        }
    }

    fn nonempty(&mut self, node: &Node, path: &str, what: &str) -> Option<Sp<String>> {
        let s = self.string(node, path)?;
        if s.value.trim().is_empty() {
            self.err(Diagnostic::error(
                "empty-value",
                &node.span,
                path,
                format!("{what} must not be empty"),
            ));
            return None;
        }
        Some(s)
    }

    fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.wrong(node, path, "`true` or `false`");
                None
            }
        }
    }

    fn int(&mut self, node: &Node, path: &str) -> Option<i64> {
        match node.value {
            Value::Int(i) => Some(i),
            _ => {
                self.wrong(node, path, "an integer");
                None
            }
        }
    }

    fn opt_bool(&mut self, obj: &Obj, key: &str) -> Option<bool> {
        obj.get(key).and_then(|(n, p)| self.boolean(n, &p))
    }

    fn opt_string(&mut self, obj: &Obj, key: &str) -> Option<Sp<String>> {
        obj.get(key)
            .and_then(|(n, p)| self.nonempty(n, &p, &format!("`{key}`")))
    }

    /// A mapping of strings to strings under `key` (empty when absent), keys located.
    fn string_map(
        &mut self,
        obj: &Obj<'_>,
        key: &str,
        expected: &str,
    ) -> Vec<(Sp<String>, Sp<String>)> {
        let mut out = Vec::new();
        let Some((node, path)) = obj.get(key) else {
            return out;
        };
        let Value::Map(entries) = &node.value else {
            self.wrong(node, &path, expected);
            return out;
        };
        for (k, v) in entries {
            let vp = join(&path, &k.name);
            if let Some(value) = self.string(v, &vp) {
                let key = Sp {
                    value: k.name.clone(),
                    span: k.span.clone(),
                    path: vp,
                };
                out.push((key, value));
            }
        }
        out
    }

    fn string_list(&mut self, node: &Node, path: &str) -> Option<Vec<Sp<String>>> {
        let Value::Seq(items) = &node.value else {
            self.wrong(node, path, "a list of strings");
            return None;
        };
        Some(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| self.string(n, &format!("{path}[{i}]")))
                .collect(),
        )
    }

    /// Decodes a whole model file.
    pub fn model(&mut self, file: &Arc<str>, root: &Node) -> Option<ModelDecl> {
        let obj = self.obj(root, "", "a model file", keys::MODEL)?;
        let model = self
            .required(&obj, "model", "a model file")
            .and_then(|(n, p)| self.nonempty(n, &p, "`model`"));
        let collection = self
            .required(&obj, "collection", "a model file")
            .and_then(|(n, p)| self.nonempty(n, &p, "`collection`"));
        let table = self.opt_string(&obj, "table");
        let renamed_from = self.opt_string(&obj, "renamed_from");
        let phase = obj
            .get("phase")
            .and_then(|(n, p)| self.int(n, &p).map(|v| sp(v, n, &p)));
        let description = self.opt_string(&obj, "description").map(|s| s.value);
        let timestamps = obj
            .get("timestamps")
            .map_or(Some((false, false)), |(n, p)| self.timestamps(n, &p));
        let version_key = obj
            .get("version_key")
            .map_or(Some(VersionKey::Keep), |(n, p)| self.version_key(n, &p));
        let enums = obj
            .get("enums")
            .map(|(n, p)| self.enums(n, &p))
            .unwrap_or_default();
        let fields = match self.required(&obj, "fields", "a model file") {
            Some((n, p)) => self.fields(n, &p),
            None => None,
        };
        let indexes = obj
            .get("indexes")
            .map(|(n, p)| self.indexes(n, &p))
            .unwrap_or_default();
        let ttl = obj.get("ttl").and_then(|(n, p)| self.ttl(n, &p));
        let invariants = obj
            .get("invariants")
            .map(|(n, p)| self.invariants(n, &p))
            .unwrap_or_default();
        Some(ModelDecl {
            file: file.clone(),
            span: root.span.clone(),
            model: model?,
            collection: collection?,
            table,
            renamed_from,
            phase,
            description,
            timestamps: timestamps?,
            version_key: version_key?,
            enums,
            fields: fields?.value,
            indexes,
            ttl,
            invariants,
        })
    }

    fn timestamps(&mut self, node: &Node, path: &str) -> Option<(bool, bool)> {
        if let Value::Bool(b) = node.value {
            return Some((b, b));
        }
        let obj = self.obj(node, path, "`timestamps`", keys::TIMESTAMPS)?;
        Some((
            self.opt_bool(&obj, "created_at").unwrap_or(false),
            self.opt_bool(&obj, "updated_at").unwrap_or(false),
        ))
    }

    fn version_key(&mut self, node: &Node, path: &str) -> Option<VersionKey> {
        let s = self.string(node, path)?;
        let choices = [
            ("keep", VersionKey::Keep),
            ("drop", VersionKey::Drop),
            ("none", VersionKey::None),
        ];
        self.choice(&s, &choices, "`version_key`")
    }

    fn choice<T: Copy>(&mut self, s: &Sp<String>, choices: &[(&str, T)], what: &str) -> Option<T> {
        if let Some((_, v)) = choices.iter().find(|(n, _)| *n == s.value) {
            return Some(*v);
        }
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        self.err(
            Diagnostic::error(
                "unknown-value",
                &s.span,
                &s.path,
                format!("unknown {what} `{}`", s.value),
            )
            .expected(format!("one of: {}", names.join(", ")))
            .maybe_hint(did_you_mean(&s.value, names.iter().copied())),
        );
        None
    }

    fn enums(&mut self, node: &Node, path: &str) -> Vec<EnumDecl> {
        let Value::Map(entries) = &node.value else {
            self.wrong(node, path, "a mapping of enum names to lists of values");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            let vpath = join(path, &key.name);
            if let Some(values) = self.string_list(value, &vpath) {
                let name = Sp {
                    value: key.name.clone(),
                    span: key.span.clone(),
                    path: vpath,
                };
                out.push(EnumDecl { name, values });
            }
        }
        out
    }

    fn fields(&mut self, node: &Node, path: &str) -> Option<Sp<Vec<FieldDecl>>> {
        let Value::Map(entries) = &node.value else {
            self.wrong(
                node,
                path,
                "a mapping from Mongo field names to field declarations",
            );
            return None;
        };
        let fields = entries
            .iter()
            .filter_map(|(key, value)| self.field(key, value, &join(path, &key.name)))
            .collect();
        Some(sp(fields, node, path))
    }

    fn field(&mut self, key: &Key, node: &Node, path: &str) -> Option<FieldDecl> {
        let name = Sp {
            value: key.name.clone(),
            span: key.span.clone(),
            path: path.to_string(),
        };
        let obj = self.obj(node, path, &format!("field `{}`", key.name), keys::FIELD)?;
        let skip = obj
            .get("skip")
            .and_then(|(n, p)| self.nonempty(n, &p, "a `skip` reason"));
        let bson = match obj.get("bson") {
            Some((n, p)) => self.bson_types(n, &p),
            None if skip.is_some() => Vec::new(),
            None => {
                self.required(&obj, "bson", &format!("field `{}`", key.name));
                Vec::new()
            }
        };
        let pg = obj.get("pg").and_then(|(n, p)| self.pg_type(n, &p));
        let store = obj.get("store").and_then(|(n, p)| {
            let s = self.string(n, &p)?;
            self.choice(
                &s,
                Store::ALL
                    .iter()
                    .map(|(v, n)| (*n, *v))
                    .collect::<Vec<_>>()
                    .as_slice(),
                "`store`",
            )
            .map(|v| sp(v, n, &p))
        });
        let fields = match obj.get("fields") {
            Some((n, p)) => self.fields(n, &p),
            None => None,
        };
        Some(FieldDecl {
            name,
            span: node.span.clone(),
            path: path.to_string(),
            bson,
            pg,
            column: self.opt_string(&obj, "column"),
            required: self.opt_bool(&obj, "required").unwrap_or(false),
            nullable: self.opt_bool(&obj, "nullable"),
            default: obj
                .get("default")
                .and_then(|(n, p)| self.default_value(n, &p).map(|v| sp(v, n, &p))),
            pg_default: obj.get("pg_default").and_then(|(n, p)| match &n.value {
                Value::Null => Some(sp(None, n, &p)),
                _ => self
                    .nonempty(n, &p, "`pg_default`")
                    .map(|s| sp(Some(s.value), n, &p)),
            }),
            unique: self.opt_bool(&obj, "unique").unwrap_or(false),
            index: self.opt_bool(&obj, "index").unwrap_or(false),
            sparse: self.opt_bool(&obj, "sparse").unwrap_or(false),
            enum_use: obj.get("enum").and_then(|(n, p)| self.enum_use(n, &p)),
            reference: obj.get("ref").and_then(|(n, p)| self.reference(n, &p)),
            polymorphic: obj
                .get("polymorphic")
                .and_then(|(n, p)| self.polymorphic(n, &p)),
            store,
            prefix: obj.get("prefix").and_then(|(n, p)| self.string(n, &p)),
            table: self.opt_string(&obj, "table"),
            parent_column: self.opt_string(&obj, "parent_column"),
            item_id: self.opt_bool(&obj, "item_id"),
            items: obj.get("items").and_then(|(n, p)| self.items(n, &p)),
            fields,
            renamed_from: self.opt_string(&obj, "renamed_from"),
            lossy: obj
                .get("lossy")
                .and_then(|(n, p)| self.nonempty(n, &p, "a `lossy` reason"))
                .map(|s| s.value),
            skip,
            description: self.opt_string(&obj, "description").map(|s| s.value),
            check: self.opt_string(&obj, "check"),
        })
    }

    fn bson_types(&mut self, node: &Node, path: &str) -> Vec<Sp<BsonType>> {
        let one = |this: &mut Self, n: &Node, p: &str| -> Option<Sp<BsonType>> {
            let s = this.string(n, p)?;
            match BsonType::parse(&s.value) {
                Some(t) => Some(sp(t, n, p)),
                None => {
                    let names = BsonType::ALL.iter().map(|(_, n)| *n);
                    this.err(
                        Diagnostic::error(
                            "unknown-type",
                            &n.span,
                            p,
                            format!("unknown BSON type `{}`", s.value),
                        )
                        .expected(format!(
                            "one of: {}",
                            names.clone().collect::<Vec<_>>().join(", ")
                        ))
                        .maybe_hint(did_you_mean(&s.value, names)),
                    );
                    None
                }
            }
        };
        match &node.value {
            Value::Seq(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .filter_map(|(i, n)| one(self, n, &format!("{path}[{i}]")))
                .collect(),
            Value::Seq(_) => {
                self.wrong(node, path, "a BSON type or a non-empty list of them");
                Vec::new()
            }
            _ => one(self, node, path).into_iter().collect(),
        }
    }

    fn pg_type(&mut self, node: &Node, path: &str) -> Option<Sp<PgType>> {
        let s = self.string(node, path)?;
        match PgType::parse(&s.value) {
            Ok(t) => Some(sp(t, node, path)),
            Err(message) => {
                let base = s.value.trim_end_matches("[]");
                self.err(
                    Diagnostic::error("unknown-type", &node.span, path, message)
                        .expected(format!(
                            "one of: {} (or any of them with `[]`)",
                            PG_TYPE_NAMES.join(", ")
                        ))
                        .maybe_hint(pg_type_hint(base)),
                );
                None
            }
        }
    }

    fn default_value(&mut self, node: &Node, path: &str) -> Option<DefaultValue> {
        Some(match &node.value {
            Value::Null => DefaultValue::Null,
            Value::Bool(b) => DefaultValue::Bool(*b),
            Value::Int(i) => DefaultValue::Int(*i),
            Value::Float(f) => DefaultValue::Float(*f),
            Value::Str(s) if s == "now" => DefaultValue::Now,
            Value::Str(s) => DefaultValue::Str(s.clone()),
            Value::Map(m) if m.is_empty() => DefaultValue::EmptyObject,
            Value::Seq(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let ipath = format!("{path}[{i}]");
                    match &item.value {
                        Value::Seq(_) | Value::Map(_) | Value::Null => {
                            self.wrong(item, &ipath, "a scalar list element");
                            return None;
                        }
                        _ => out.push(self.default_value(item, &ipath)?),
                    }
                }
                DefaultValue::List(out)
            }
            Value::Map(_) => {
                self.wrong(node, path, "a scalar, `now`, a list of scalars or `{}`");
                return None;
            }
        })
    }

    fn enum_use(&mut self, node: &Node, path: &str) -> Option<EnumUse> {
        match &node.value {
            Value::Seq(_) => {
                let values = self.string_list(node, path)?;
                Some(EnumUse::Inline(sp(values, node, path)))
            }
            _ => self.string(node, path).map(EnumUse::Named),
        }
    }

    fn reference(&mut self, node: &Node, path: &str) -> Option<Sp<RefDecl>> {
        if let Value::Str(_) = node.value {
            let model = self.string(node, path)?;
            return Some(sp(
                RefDecl::Model {
                    model,
                    fk: true,
                    on_delete: OnDelete::Restrict,
                },
                node,
                path,
            ));
        }
        let obj = self.obj(node, path, "`ref`", keys::REF)?;
        if let Some((n, p)) = obj.get("discriminator") {
            if let Some(other) = obj.get("model") {
                self.err(Diagnostic::error(
                    "conflicting-keys",
                    &other.0.span,
                    &other.1,
                    "`ref` takes `model` or `discriminator`, not both",
                ));
            }
            return self
                .string(n, &p)
                .map(|d| sp(RefDecl::Discriminator(d), node, path));
        }
        let model = self
            .required(&obj, "model", "`ref`")
            .and_then(|(n, p)| self.nonempty(n, &p, "`model`"))?;
        let fk = self.opt_bool(&obj, "fk").unwrap_or(true);
        let on_delete = match obj.get("on_delete") {
            Some((n, p)) => {
                let s = self.string(n, &p)?;
                let choices = [
                    ("restrict", OnDelete::Restrict),
                    ("cascade", OnDelete::Cascade),
                    ("set_null", OnDelete::SetNull),
                ];
                self.choice(&s, &choices, "`on_delete`")?
            }
            None => OnDelete::Restrict,
        };
        Some(sp(
            RefDecl::Model {
                model,
                fk,
                on_delete,
            },
            node,
            path,
        ))
    }

    fn polymorphic(&mut self, node: &Node, path: &str) -> Option<PolyDecl> {
        let obj = self.obj(node, path, "`polymorphic`", keys::POLYMORPHIC)?;
        let kinds = match obj.get("kinds") {
            Some((n, p)) => self.string_list(n, &p)?,
            None => Vec::new(),
        };
        Some(PolyDecl {
            span: node.span.clone(),
            path: path.to_string(),
            target: self.opt_string(&obj, "target"),
            kinds,
            fk: self.opt_bool(&obj, "fk").unwrap_or(true),
        })
    }

    fn items(&mut self, node: &Node, path: &str) -> Option<ItemsDecl> {
        if let Value::Str(_) = node.value {
            let bson = self.bson_types(node, path);
            return Some(ItemsDecl {
                span: node.span.clone(),
                path: path.to_string(),
                bson,
                pg: None,
                enum_use: None,
                reference: None,
            });
        }
        let obj = self.obj(node, path, "`items`", keys::ITEMS)?;
        let bson = match self.required(&obj, "bson", "`items`") {
            Some((n, p)) => self.bson_types(n, &p),
            None => Vec::new(),
        };
        Some(ItemsDecl {
            span: node.span.clone(),
            path: path.to_string(),
            bson,
            pg: obj.get("pg").and_then(|(n, p)| self.pg_type(n, &p)),
            enum_use: obj.get("enum").and_then(|(n, p)| self.enum_use(n, &p)),
            reference: obj.get("ref").and_then(|(n, p)| self.reference(n, &p)),
        })
    }

    fn indexes(&mut self, node: &Node, path: &str) -> Vec<IndexDecl> {
        let Value::Seq(items) = &node.value else {
            self.wrong(node, path, "a list of indexes");
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, n)| self.index(n, &format!("{path}[{i}]")))
            .collect()
    }

    fn index(&mut self, node: &Node, path: &str) -> Option<IndexDecl> {
        let obj = self.obj(node, path, "an index", keys::INDEX)?;
        let fields = match obj.get("fields") {
            Some((n, p)) => self
                .string_list(n, &p)?
                .into_iter()
                .map(|s| match s.value.strip_prefix('-') {
                    Some(rest) => Sp {
                        value: (rest.to_string(), true),
                        span: s.span,
                        path: s.path,
                    },
                    None => Sp {
                        value: (s.value.clone(), false),
                        span: s.span,
                        path: s.path,
                    },
                })
                .collect(),
            None => Vec::new(),
        };
        let expression = self.opt_string(&obj, "expression");
        if fields.is_empty() && expression.is_none() {
            self.err(
                Diagnostic::error(
                    "missing-key",
                    &node.span,
                    path,
                    "an index needs `fields` or `expression`",
                )
                .expected("`fields: [a, -b]` or `expression: lower(name)`"),
            );
            return None;
        }
        Some(IndexDecl {
            span: node.span.clone(),
            path: path.to_string(),
            name: self.opt_string(&obj, "name"),
            fields,
            expression,
            unique: self.opt_bool(&obj, "unique").unwrap_or(false),
            sparse: self.opt_bool(&obj, "sparse").unwrap_or(false),
            where_sql: self.opt_string(&obj, "where"),
            using: obj.get("using").and_then(|(n, p)| {
                let s = self.string(n, &p)?;
                let choices = [
                    ("btree", IndexMethod::Btree),
                    ("gin", IndexMethod::Gin),
                    ("gist", IndexMethod::Gist),
                    ("hash", IndexMethod::Hash),
                    ("brin", IndexMethod::Brin),
                ];
                self.choice(&s, &choices, "index method")
                    .map(|m| sp(m, n, &p))
            }),
        })
    }

    fn duration(&mut self, node: &Node, path: &str) -> Option<Sp<u64>> {
        let s = self.string(node, path)?;
        match parse_duration(&s.value) {
            Some(secs) => Some(sp(secs, node, path)),
            None => {
                self.err(
                    Diagnostic::error(
                        "bad-duration",
                        &node.span,
                        path,
                        format!("`{}` is not a duration", s.value),
                    )
                    .expected("`<n> seconds|minutes|hours|days`, n > 0")
                    .hint("write e.g. `90 days` or `5 minutes`"),
                );
                None
            }
        }
    }

    fn ttl(&mut self, node: &Node, path: &str) -> Option<TtlDecl> {
        let obj = self.obj(node, path, "`ttl`", keys::TTL)?;
        let field = self
            .required(&obj, "field", "`ttl`")
            .and_then(|(n, p)| self.nonempty(n, &p, "`field`"));
        let cadence = self
            .required(&obj, "cadence", "`ttl`")
            .and_then(|(n, p)| self.duration(n, &p));
        let after = obj.get("after").and_then(|(n, p)| self.duration(n, &p));
        let batch = obj
            .get("batch")
            .and_then(|(n, p)| self.int(n, &p).map(|v| sp(v, n, &p)));
        Some(TtlDecl {
            span: node.span.clone(),
            path: path.to_string(),
            field: field?,
            after,
            cadence: cadence?,
            batch,
        })
    }

    fn invariants(&mut self, node: &Node, path: &str) -> InvariantsDecl {
        let mut out = InvariantsDecl::default();
        let Some(obj) = self.obj(node, path, "`invariants`", keys::INVARIANTS) else {
            return out;
        };
        if let Some((n, p)) = obj.get("append_only")
            && self.boolean(n, &p) == Some(true)
        {
            out.append_only = Some(n.span.clone());
        }
        if let Some((n, p)) = obj.get("one_primary")
            && let Some(o) = self.obj(n, &p, "`one_primary`", keys::ONE_PRIMARY)
        {
            let flag = self
                .required(&o, "flag", "`one_primary`")
                .and_then(|(n, p)| self.nonempty(n, &p, "`flag`"));
            let per = self
                .required(&o, "per", "`one_primary`")
                .and_then(|(n, p)| self.string_list(n, &p));
            if let (Some(flag), Some(per)) = (flag, per) {
                out.one_primary = Some(OnePrimaryDecl { flag, per });
            }
        }
        if let Some((n, p)) = obj.get("slug")
            && let Some(o) = self.obj(n, &p, "`slug`", keys::SLUG)
        {
            let field = self
                .required(&o, "field", "`slug`")
                .and_then(|(n, p)| self.nonempty(n, &p, "`field`"));
            let from = self
                .required(&o, "from", "`slug`")
                .and_then(|(n, p)| self.nonempty(n, &p, "`from`"));
            if let (Some(field), Some(from)) = (field, from) {
                out.slug = Some(SlugDecl { field, from });
            }
        }
        if let Some((n, p)) = obj.get("timeline")
            && let Some(o) = self.obj(n, &p, "`timeline`", keys::TIMELINE)
        {
            let field = self
                .required(&o, "field", "`timeline`")
                .and_then(|(n, p)| self.nonempty(n, &p, "`field`"));
            let status = self
                .required(&o, "status", "`timeline`")
                .and_then(|(n, p)| self.nonempty(n, &p, "`status`"));
            let stamps =
                self.string_map(&o, "stamps", "a mapping from status values to date fields");
            let entry = self.string_map(
                &o,
                "entry",
                "a mapping from entry keys to `$status`, `$now` or a text",
            );
            let insert_entry = self.string_map(
                &o,
                "insert_entry",
                "a mapping from entry keys to `$status`, `$now` or a text",
            );
            let stamp_once = o
                .get("stamp_once")
                .and_then(|(n, p)| self.string_list(n, &p))
                .unwrap_or_default();
            if let (Some(field), Some(status)) = (field, status) {
                out.timeline = Some(TimelineDecl {
                    field,
                    status,
                    stamps,
                    stamp_once,
                    entry,
                    insert_entry,
                });
            }
        }
        out
    }
}

fn pg_type_hint(written: &str) -> Option<String> {
    if written.starts_with("numeric(") && !written.contains(')') {
        // In a flow mapping `{ pg: numeric(10,2) }` the comma ends the value.
        return Some("quote it inside `{ ... }`: `pg: \"numeric(10,2)\"`".into());
    }
    if written == "varchar" || written.starts_with("varchar(") || written.starts_with("char") {
        return Some(
            "use `text`: Postgres stores it the same way, and a length limit is a CHECK".into(),
        );
    }
    did_you_mean(written, PG_TYPE_NAMES.iter().copied())
}

/// Parses `<n> <unit>` into seconds: `90 days`, `5 minutes`, `1 hour`, `30s`.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok().filter(|n| *n > 0)?;
    let unit_secs = match unit.trim() {
        "s" | "second" | "seconds" => 1,
        "m" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return None,
    };
    n.checked_mul(unit_secs)
}

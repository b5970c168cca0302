//! The safety rules of `migrate new`: a change that loses data or holds a long exclusive lock is
//! refused unless it is acknowledged, by code or by code and object, with `--allow`. Every rule
//! has a stable code, documented in docs/migrations.md.

use serde::Serialize;

use super::diff::Change;

/// One rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Stable code.
    pub code: &'static str,
    /// Short name.
    pub title: &'static str,
    /// Why it is refused.
    pub why: &'static str,
}

/// Every rule, by code.
pub const RULES: &[Rule] = &[
    Rule {
        code: "SC101",
        title: "drop table",
        why: "every row of the table is lost",
    },
    Rule {
        code: "SC102",
        title: "drop column",
        why: "the column's values are lost, and code still reading it breaks",
    },
    Rule {
        code: "SC103",
        title: "narrowing or incompatible type change",
        why: "values that do not fit the new type make the migration fail, or are converted with loss; the table is rewritten under an ACCESS EXCLUSIVE lock",
    },
    Rule {
        code: "SC104",
        title: "enum value removed or reordered",
        why: "Postgres cannot remove or move an enum label: the type is rebuilt and every column of it rewritten; rows holding a removed value make it fail",
    },
    Rule {
        code: "SC201",
        title: "SET NOT NULL on an existing column",
        why: "rows holding NULL make it fail: backfill them first (the generated SQL validates a CHECK without an exclusive lock, then sets NOT NULL)",
    },
    Rule {
        code: "SC202",
        title: "NOT NULL column without a default added to an existing table",
        why: "fails as soon as the table holds a row; give the field a default, or add it nullable, backfill, then require it",
    },
    Rule {
        code: "SC203",
        title: "widening type change that rewrites the table",
        why: "no value is lost, but the table and its indexes are rewritten under an ACCESS EXCLUSIVE lock that blocks reads and writes for the duration",
    },
];

/// A finding on one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule code.
    pub code: &'static str,
    /// The object: `table`, `table.column` or an enum name.
    pub object: String,
    /// What the change does.
    pub message: String,
    /// Why it is refused ([`Rule::why`]).
    pub why: &'static str,
    /// Acknowledged by `--allow`.
    pub allowed: bool,
}

impl Finding {
    /// The `--allow` value that acknowledges exactly this finding.
    pub fn allow_flag(&self) -> String {
        format!("{}:{}", self.code, self.object)
    }
}

/// `--allow` values: `SC102` (every finding of the code) or `SC102:users.phone` (one).
#[derive(Debug, Clone, Default)]
pub struct Allow(Vec<(String, Option<String>)>);

impl Allow {
    /// Parses `--allow` values; unknown codes are an error naming the known ones.
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<Allow, String> {
        let mut v = Vec::new();
        for raw in values {
            let raw = raw.as_ref().trim();
            let (code, object) = match raw.split_once(':') {
                Some((c, o)) => (c.trim(), Some(o.trim().to_string())),
                None => (raw, None),
            };
            if !RULES.iter().any(|r| r.code == code) {
                let known: Vec<&str> = RULES.iter().map(|r| r.code).collect();
                return Err(format!(
                    "unknown rule `{code}` in --allow {raw}; known rules: {}",
                    known.join(", ")
                ));
            }
            v.push((code.to_string(), object));
        }
        Ok(Allow(v))
    }

    fn allows(&self, code: &str, object: &str) -> bool {
        self.0
            .iter()
            .any(|(c, o)| c == code && o.as_deref().is_none_or(|o| o == object))
    }
}

fn rule(code: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.code == code)
        .expect("lint codes come from RULES")
}

/// The finding on a change, if any.
pub fn lint(change: &Change, allow: &Allow) -> Option<Finding> {
    let (code, object, message) = match change {
        Change::DropTable(t) => ("SC101", t.name.clone(), format!("drops table {}", t.name)),
        Change::DropColumn { table, column } => (
            "SC102",
            format!("{table}.{}", column.name),
            format!("drops column {table}.{}", column.name),
        ),
        Change::AlterType {
            table,
            column,
            from,
            to,
        } => {
            let code = match type_change(from, to) {
                TypeChange::Free => return None,
                TypeChange::Rewrite => "SC203",
                TypeChange::Narrowing => "SC103",
            };
            (
                code,
                format!("{table}.{column}"),
                format!("changes {table}.{column} from {from} to {to}"),
            )
        }
        Change::RecreateEnum { old, new, .. } => (
            "SC104",
            old.name.clone(),
            format!(
                "changes enum {} from ({}) to ({})",
                old.name,
                old.values.join(", "),
                new.values.join(", ")
            ),
        ),
        Change::SetNotNull { table, column } => (
            "SC201",
            format!("{table}.{column}"),
            format!("makes {table}.{column} NOT NULL"),
        ),
        Change::AddColumn { table, column } if !column.nullable && column.default.is_none() => (
            "SC202",
            format!("{table}.{}", column.name),
            format!("adds {table}.{} NOT NULL without a default", column.name),
        ),
        _ => return None,
    };
    let allowed = allow.allows(code, &object);
    Some(Finding {
        code,
        object,
        message,
        why: rule(code).why,
        allowed,
    })
}

enum TypeChange {
    /// Postgres changes the catalog only.
    Free,
    /// Every value fits, but the table is rewritten.
    Rewrite,
    /// Values may not fit.
    Narrowing,
}

fn numeric_args(ty: &str) -> Option<Option<(u32, u32)>> {
    if ty == "numeric" {
        return Some(None);
    }
    let (p, s) = ty
        .strip_prefix("numeric(")?
        .strip_suffix(')')?
        .split_once(',')?;
    Some(Some((p.trim().parse().ok()?, s.trim().parse().ok()?)))
}

fn type_change(from: &str, to: &str) -> TypeChange {
    match (numeric_args(from), numeric_args(to)) {
        // Unconstrained numeric takes any numeric; more precision at the same scale is a
        // catalog-only change (Postgres 9.2+).
        (Some(_), Some(None)) => return TypeChange::Free,
        (Some(Some((p1, s1))), Some(Some((p2, s2)))) => {
            return if s1 == s2 && p2 >= p1 {
                TypeChange::Free
            } else if s2 >= s1 && p2 - s2 >= p1 - s1 {
                TypeChange::Rewrite
            } else {
                TypeChange::Narrowing
            };
        }
        _ => {}
    }
    match (from, to) {
        ("int4", "int8") | ("int4", "float8") => TypeChange::Rewrite,
        ("int4" | "int8", t) if numeric_args(t).is_some() => TypeChange::Rewrite,
        (_, "text") if !from.ends_with("[]") => TypeChange::Rewrite,
        _ => TypeChange::Narrowing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_by_code_or_object() {
        let a = Allow::parse(&["SC102:users.phone", "SC101"]).unwrap();
        assert!(a.allows("SC102", "users.phone"));
        assert!(!a.allows("SC102", "users.email"));
        assert!(a.allows("SC101", "anything"));
        let err = Allow::parse(&["SC999"]).unwrap_err();
        assert!(err.contains("known rules: SC101"), "{err}");
    }

    #[test]
    fn type_changes_are_classified() {
        assert!(matches!(
            type_change("numeric(38,18)", "numeric(40,18)"),
            TypeChange::Free
        ));
        assert!(matches!(
            type_change("numeric(10,2)", "numeric(12,4)"),
            TypeChange::Rewrite
        ));
        assert!(matches!(
            type_change("numeric(38,18)", "numeric(20,2)"),
            TypeChange::Narrowing
        ));
        assert!(matches!(type_change("int4", "int8"), TypeChange::Rewrite));
        assert!(matches!(type_change("int8", "int4"), TypeChange::Narrowing));
        assert!(matches!(type_change("text", "uuid"), TypeChange::Narrowing));
    }
}

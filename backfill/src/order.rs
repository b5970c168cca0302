//! The order collections load in: every collection after the collections its foreign keys
//! point to, and, where references form a cycle (or a collection points to itself), the
//! references that cannot wait for their target, "deferred": loaded when the target is already
//! there, otherwise recorded and filled in once every collection is loaded.

use std::collections::BTreeSet;

use schemac_runtime::registry::{Collection, Reference};

/// One collection's place in the load.
#[derive(Clone)]
pub struct Step<'r> {
    /// The collection.
    pub collection: &'r dyn Collection,
    /// References whose target may load later (a self-reference, or a cycle's edge the order
    /// had to break).
    pub deferred: Vec<Deferred>,
}

/// A reference that is filled in when its target is there, and later otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deferred {
    /// The index of its table in the collection's `tables()`.
    pub table: usize,
    /// The reference.
    pub reference: Reference,
}

/// Why no order exists.
#[derive(Debug, thiserror::Error)]
#[error(
    "the collections {cycle:?} reference each other through NOT NULL foreign keys or from \
     append-only tables, so no load order exists; make one of the references optional in the \
     catalogue"
)]
pub struct CycleError {
    /// The collections left.
    pub cycle: Vec<String>,
}

/// The load order of `selected` (collections of the registry): Kahn's algorithm, ties broken by
/// name so the order is stable. When every remaining collection waits on another one, the
/// first by name whose waiting references are all optional columns of tables that allow
/// UPDATE goes next, and those references are deferred.
pub fn order<'r>(selected: &[&'r dyn Collection]) -> Result<Vec<Step<'r>>, CycleError> {
    let mut remaining: Vec<&'r dyn Collection> = selected.to_vec();
    remaining.sort_by_key(|c| c.name());
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut steps = Vec::new();
    while !remaining.is_empty() {
        let names: BTreeSet<&'r str> = remaining.iter().map(|r| r.name()).collect();
        let waiting = |c: &dyn Collection, done: &BTreeSet<&str>| -> Vec<(usize, Reference)> {
            c.tables()
                .iter()
                .enumerate()
                .flat_map(|(i, t)| t.references.iter().map(move |r| (i, *r)))
                .filter(|(_, r)| {
                    r.collection != c.name()
                        && names.contains(r.collection)
                        && !done.contains(r.collection)
                })
                .collect()
        };
        let ready = remaining
            .iter()
            .position(|c| waiting(*c, &done).is_empty())
            .or_else(|| {
                // Stuck: only a cycle can be broken, so a candidate waits on nothing but the
                // collections of its own cycle, through references that may wait.
                remaining.iter().position(|c| {
                    waiting(*c, &done).iter().all(|(table, r)| {
                        deferrable(c.tables()[*table].append_only, r)
                            && reaches(&remaining, &done, r.collection, c.name())
                    })
                })
            });
        let Some(index) = ready else {
            return Err(CycleError {
                cycle: remaining.iter().map(|c| c.name().to_string()).collect(),
            });
        };
        let collection = remaining[index];
        let mut deferred: Vec<Deferred> = waiting(collection, &done)
            .into_iter()
            .map(|(table, reference)| Deferred { table, reference })
            .collect();
        remaining.remove(index);
        // A self-reference may name a document further down the same dump.
        for (table, t) in collection.tables().iter().enumerate() {
            if t.append_only {
                continue;
            }
            deferred.extend(
                t.references
                    .iter()
                    .filter(|r| r.collection == collection.name() && deferrable(false, r))
                    .map(|reference| Deferred {
                        table,
                        reference: *reference,
                    }),
            );
        }
        done.insert(collection.name());
        steps.push(Step {
            collection,
            deferred,
        });
    }
    Ok(steps)
}

/// A reference may be NULL until its target loads: optional, not a polymorphic id (its CHECK
/// ties it to the kind), in a table that allows the UPDATE that fills it in.
fn deferrable(append_only: bool, r: &Reference) -> bool {
    !r.required && !r.polymorphic && !append_only
}

/// Whether `from` waits, directly or not, on `to`, among the collections not loaded yet.
fn reaches(remaining: &[&dyn Collection], done: &BTreeSet<&str>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from];
    while let Some(name) = todo.pop() {
        if name == to {
            return true;
        }
        if !seen.insert(name) {
            continue;
        }
        let Some(c) = remaining.iter().find(|c| c.name() == name) else {
            continue;
        };
        todo.extend(
            c.tables()
                .iter()
                .flat_map(|t| t.references.iter())
                .map(|r| r.collection)
                .filter(|target| !done.contains(target)),
        );
    }
    false
}

#[cfg(test)]
mod tests {
    use schemac_runtime::TransformError;
    use schemac_runtime::bson::RawDocument;
    use schemac_runtime::postgres;
    use schemac_runtime::registry::{Collection, Reference, Rows, Table};
    use schemac_runtime::transform::{Context, Mode};
    use schemac_runtime::uuid::Uuid;

    use super::order;

    /// A collection with only tables, for ordering.
    struct Fake {
        name: &'static str,
        tables: &'static [Table],
    }

    impl Collection for Fake {
        fn name(&self) -> &'static str {
            self.name
        }
        fn model(&self) -> &'static str {
            self.name
        }
        fn tables(&self) -> &'static [Table] {
            self.tables
        }
        fn transform(
            &self,
            _: &RawDocument,
            _: Mode,
        ) -> Result<(Box<dyn Rows>, Context), TransformError> {
            unreachable!("ordering never transforms")
        }
        fn load(
            &self,
            _: &mut postgres::Client,
            _: Uuid,
        ) -> Result<Option<Box<dyn Rows>>, postgres::Error> {
            unreachable!("ordering never loads")
        }
    }

    const fn reference(column: &'static str, to: &'static str, required: bool) -> Reference {
        Reference {
            column,
            mongo_path: column,
            collection: to,
            table: to,
            required,
            polymorphic: false,
        }
    }

    const fn table(name: &'static str, references: &'static [Reference]) -> Table {
        Table {
            name,
            columns: &[],
            parent: None,
            references,
            money: &[],
            buckets: &[],
            created_at: false,
            append_only: false,
        }
    }

    fn names(collections: &[&dyn Collection]) -> Result<Vec<(String, Vec<String>)>, String> {
        order(collections)
            .map(|steps| {
                steps
                    .iter()
                    .map(|s| {
                        let deferred = s
                            .deferred
                            .iter()
                            .map(|d| d.reference.column.to_string())
                            .collect();
                        (s.collection.name().to_string(), deferred)
                    })
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    const USERS: Fake = Fake {
        name: "users",
        tables: &[table("users", &[reference("referred_by", "users", false)])],
    };
    const REQUESTS: Fake = Fake {
        name: "requests",
        tables: &[table(
            "requests",
            &[
                reference("buyer_id", "users", true),
                reference("selected_offer_id", "offers", false),
            ],
        )],
    };
    const OFFERS: Fake = Fake {
        name: "offers",
        tables: &[table(
            "offers",
            &[
                reference("request_id", "requests", true),
                reference("seller_id", "users", true),
            ],
        )],
    };
    const PAYMENTS: Fake = Fake {
        name: "payments",
        tables: &[table("payments", &[reference("offer_id", "offers", false)])],
    };

    #[test]
    fn parents_first_self_references_deferred() {
        assert_eq!(
            names(&[&PAYMENTS, &USERS]).unwrap(),
            vec![
                ("payments".to_string(), vec![]),
                ("users".to_string(), vec!["referred_by".to_string()]),
            ]
        );
    }

    #[test]
    fn a_cycle_is_broken_at_its_optional_reference_and_nothing_else_is_deferred() {
        // payments waits on the cycle but is not in it: it is never deferred, it goes last.
        let order = names(&[&PAYMENTS, &OFFERS, &REQUESTS, &USERS]).unwrap();
        assert_eq!(
            order,
            vec![
                ("users".to_string(), vec!["referred_by".to_string()]),
                (
                    "requests".to_string(),
                    vec!["selected_offer_id".to_string()]
                ),
                ("offers".to_string(), vec![]),
                ("payments".to_string(), vec![]),
            ]
        );
    }

    #[test]
    fn a_cycle_of_required_references_has_no_order() {
        const A: Fake = Fake {
            name: "a",
            tables: &[table("a", &[reference("b_id", "b", true)])],
        };
        const B: Fake = Fake {
            name: "b",
            tables: &[table("b", &[reference("a_id", "a", true)])],
        };
        let error = names(&[&A, &B]).unwrap_err();
        assert!(error.contains(r#"["a", "b"]"#), "{error}");
    }

    #[test]
    fn a_polymorphic_id_is_never_deferred() {
        const A: Fake = Fake {
            name: "a",
            tables: &[table(
                "a",
                &[Reference {
                    polymorphic: true,
                    ..reference("b_id", "b", false)
                }],
            )],
        };
        const B: Fake = Fake {
            name: "b",
            tables: &[table("b", &[reference("a_id", "a", false)])],
        };
        // `a` may not wait (its reference is polymorphic), so `b` goes first and waits for `a`.
        assert_eq!(
            names(&[&A, &B]).unwrap(),
            vec![
                ("b".to_string(), vec!["a_id".to_string()]),
                ("a".to_string(), vec![]),
            ]
        );
    }
}

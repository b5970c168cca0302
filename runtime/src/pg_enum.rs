//! [`pg_enum!`](crate::pg_enum): a generated Rust enum as a PostgreSQL enum type.

/// Implements [`ToSql`](postgres_types::ToSql) and [`FromSql`](postgres_types::FromSql) for a
/// generated enum as the PostgreSQL enum type named `$pg`, through the enum's `as_str(self) ->
/// &'static str` and `parse(&str) -> Result<Self, TransformErrorKind>`:
///
/// ```
/// use schemac_runtime::TransformErrorKind;
///
/// #[derive(Debug, Clone, Copy, PartialEq)]
/// pub enum Mood { Happy, Sad }
///
/// impl Mood {
///     pub fn as_str(self) -> &'static str {
///         match self { Mood::Happy => "happy", Mood::Sad => "sad" }
///     }
///     pub fn parse(label: &str) -> Result<Mood, TransformErrorKind> {
///         match label {
///             "happy" => Ok(Mood::Happy),
///             "sad" => Ok(Mood::Sad),
///             other => Err(TransformErrorKind::invalid_enum(other, &["happy", "sad"])),
///         }
///     }
/// }
///
/// schemac_runtime::pg_enum!(Mood, "mood");
/// ```
///
/// The type is accepted by its name alone, not by its list of labels: a label this code does not
/// know fails the value that holds it, when it is read, so a database whose enum gained a label
/// (`ALTER TYPE ... ADD VALUE`, the expand step of a migration) still serves the other rows.
#[macro_export]
macro_rules! pg_enum {
    ($ty:ident, $pg:literal) => {
        impl $crate::postgres_types::ToSql for $ty {
            fn to_sql(
                &self,
                _: &$crate::postgres_types::Type,
                out: &mut $crate::bytes::BytesMut,
            ) -> ::std::result::Result<
                $crate::postgres_types::IsNull,
                ::std::boxed::Box<dyn ::std::error::Error + Sync + Send>,
            > {
                out.extend_from_slice(self.as_str().as_bytes());
                Ok($crate::postgres_types::IsNull::No)
            }
            fn accepts(ty: &$crate::postgres_types::Type) -> bool {
                ty.name() == $pg
            }
            $crate::postgres_types::to_sql_checked!();
        }

        impl<'a> $crate::postgres_types::FromSql<'a> for $ty {
            fn from_sql(
                _: &$crate::postgres_types::Type,
                raw: &'a [u8],
            ) -> ::std::result::Result<$ty, ::std::boxed::Box<dyn ::std::error::Error + Sync + Send>>
            {
                Ok($ty::parse(::std::str::from_utf8(raw)?)?)
            }
            fn accepts(ty: &$crate::postgres_types::Type) -> bool {
                ty.name() == $pg
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use postgres_types::{FromSql, IsNull, Kind, ToSql, Type};

    use crate::TransformErrorKind;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Mood {
        Happy,
        Sad,
    }

    impl Mood {
        fn as_str(self) -> &'static str {
            match self {
                Mood::Happy => "happy",
                Mood::Sad => "sad",
            }
        }
        fn parse(label: &str) -> Result<Mood, TransformErrorKind> {
            match label {
                "happy" => Ok(Mood::Happy),
                "sad" => Ok(Mood::Sad),
                other => Err(TransformErrorKind::invalid_enum(other, &["happy", "sad"])),
            }
        }
    }

    crate::pg_enum!(Mood, "mood");

    /// The type PostgreSQL describes, with the labels it has (one more than the Rust enum).
    fn mood() -> Type {
        let labels = ["happy", "sad", "bored"].map(String::from).to_vec();
        Type::new("mood".into(), 16_385, Kind::Enum(labels), "public".into())
    }

    #[test]
    fn writes_and_reads_labels_of_the_named_type() {
        let mut out = bytes::BytesMut::new();
        let written = Mood::Sad.to_sql_checked(&mood(), &mut out).expect("writes");
        assert!(matches!(written, IsNull::No));
        assert_eq!(&out[..], b"sad");
        assert_eq!(
            Mood::from_sql(&mood(), b"happy").expect("reads"),
            Mood::Happy
        );
        assert!(<Mood as ToSql>::accepts(&mood()));
        assert!(!<Mood as FromSql>::accepts(&Type::TEXT));
        assert!(Mood::Happy.to_sql_checked(&Type::TEXT, &mut out).is_err());
    }

    #[test]
    fn a_label_the_enum_does_not_know_fails_when_read() {
        let error = Mood::from_sql(&mood(), b"bored").expect_err("not a Mood");
        assert_eq!(error.to_string(), "\"bored\" is not one of happy, sad");
        assert!(Mood::from_sql(&mood(), b"\xff").is_err());
    }
}

//! Connection strings in, connection strings out: points a libpq URL
//! (`postgres://user@host:port/db?params`) or key/value string (`host=... dbname=...`) at another
//! database, and tells whether it names a server on this machine.

/// The same connection string with its database name replaced by `dbname` (added when absent).
///
/// `dbname` must need no quoting (test database names are `[a-z0-9_]`).
pub(crate) fn with_dbname(conninfo: &str, dbname: &str) -> String {
    match split_url(conninfo) {
        Some(url) => {
            let mut out = format!("{}{}/{dbname}", url.scheme, url.authority);
            if let Some(query) = url.query {
                let params: Vec<String> = query
                    .split('&')
                    .map(|p| match p.split_once('=') {
                        Some(("dbname", _)) => format!("dbname={dbname}"),
                        _ => p.to_string(),
                    })
                    .collect();
                out.push('?');
                out.push_str(&params.join("&"));
            }
            out
        }
        None => {
            let Some(pairs) = parse_key_values(conninfo) else {
                // libpq and tokio-postgres both let a later keyword override an earlier one.
                return format!("{conninfo} dbname={dbname}");
            };
            let mut out = String::new();
            let mut last = 0;
            let mut replaced = false;
            for pair in pairs.iter().filter(|p| p.key == "dbname") {
                out.push_str(&conninfo[last..pair.value.0]);
                out.push_str(dbname);
                last = pair.value.1;
                replaced = true;
            }
            out.push_str(&conninfo[last..]);
            if !replaced {
                if !out.trim().is_empty() {
                    out = out.trim_end().to_string();
                    out.push(' ');
                }
                out.push_str("dbname=");
                out.push_str(dbname);
            }
            out
        }
    }
}

/// Whether every host the connection string names is on this machine: a Unix socket directory,
/// `localhost` or a loopback address, or no host at all (libpq's default socket).
pub(crate) fn is_local(conninfo: &str) -> bool {
    let mut hosts: Vec<String> = Vec::new();
    match split_url(conninfo) {
        Some(url) => {
            let hostport = url
                .authority
                .rsplit_once('@')
                .map_or(url.authority, |(_, h)| h);
            for entry in hostport.split(',').filter(|h| !h.is_empty()) {
                let host = match entry.strip_prefix('[') {
                    Some(rest) => rest.split(']').next().unwrap_or(rest),
                    None => entry.split(':').next().unwrap_or(entry),
                };
                hosts.push(percent_decode(host));
            }
            for param in url.query.into_iter().flat_map(|q| q.split('&')) {
                if let Some(("host" | "hostaddr", value)) = param.split_once('=') {
                    hosts.extend(percent_decode(value).split(',').map(str::to_string));
                }
            }
        }
        None => {
            let Some(pairs) = parse_key_values(conninfo) else {
                return false;
            };
            for pair in pairs
                .iter()
                .filter(|p| p.key == "host" || p.key == "hostaddr")
            {
                let value = unquote(&conninfo[pair.value.0..pair.value.1]);
                hosts.extend(value.split(',').map(str::to_string));
            }
        }
    }
    hosts.iter().all(|h| {
        h.is_empty()
            || h.starts_with('/')
            || h.starts_with('@')
            || h == "localhost"
            || h == "::1"
            || h.starts_with("127.")
    })
}

/// A URL cut into its parts; `authority` is `user:password@host:port`.
struct Url<'a> {
    scheme: &'a str,
    authority: &'a str,
    query: Option<&'a str>,
}

fn split_url(s: &str) -> Option<Url<'_>> {
    let scheme_len = ["postgresql://", "postgres://"]
        .iter()
        .find(|p| s.starts_with(*p))?
        .len();
    let (scheme, rest) = s.split_at(scheme_len);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let query = rest[authority_end..].split_once('?').map(|(_, q)| q);
    Some(Url {
        scheme,
        authority,
        query,
    })
}

/// One `key = value` of a key/value string; `value` is the byte range of the value as written
/// (quotes included).
struct Pair<'a> {
    key: &'a str,
    value: (usize, usize),
}

/// Splits a libpq key/value string, or `None` when it is not one.
fn parse_key_values(s: &str) -> Option<Vec<Pair<'_>>> {
    let bytes = s.as_bytes();
    let mut pairs = Vec::new();
    let mut i = 0;
    let skip_ws = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    loop {
        i = skip_ws(i);
        if i == bytes.len() {
            return Some(pairs);
        }
        let key_start = i;
        while i < bytes.len() && bytes[i] != b'=' && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = &s[key_start..i];
        i = skip_ws(i);
        if key.is_empty() || bytes.get(i) != Some(&b'=') {
            return None;
        }
        i = skip_ws(i + 1);
        let value_start = i;
        if bytes.get(i) == Some(&b'\'') {
            i += 1;
            loop {
                match bytes.get(i) {
                    None => return None,
                    Some(b'\\') => i = after_escape(s, i),
                    Some(b'\'') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i = if bytes[i] == b'\\' {
                    after_escape(s, i)
                } else {
                    i + 1
                };
            }
        }
        pairs.push(Pair {
            key,
            value: (value_start, i),
        });
    }
}

/// The index after the backslash at `i` and the character it escapes.
fn after_escape(s: &str, i: usize) -> usize {
    i + 1 + s[i + 1..].chars().next().map_or(0, char::len_utf8)
}

/// A key/value string's value without its quotes and backslash escapes.
fn unquote(value: &str) -> String {
    let inner = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .unwrap_or(value);
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        out.extend(if c == '\\' { chars.next() } else { Some(c) });
    }
    out
}

/// Quotes a key/value string's value when it holds a space, a quote or a backslash.
pub(crate) fn quote(value: &str) -> String {
    if !value.is_empty() && !value.contains([' ', '\'', '\\', '\t', '\n']) {
        return value.to_string();
    }
    let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
    format!("'{escaped}'")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = s
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_database_is_replaced() {
        let cases = [
            ("postgres://u@h:5433/db", "postgres://u@h:5433/new"),
            (
                "postgresql://u:pw@h/db?sslmode=disable",
                "postgresql://u:pw@h/new?sslmode=disable",
            ),
            ("postgres://h", "postgres://h/new"),
            ("postgres://h/", "postgres://h/new"),
            (
                "postgres://h?connect_timeout=2",
                "postgres://h/new?connect_timeout=2",
            ),
            (
                "postgres://h/db?dbname=x&application_name=t",
                "postgres://h/new?dbname=new&application_name=t",
            ),
            (
                "postgresql://%2Fvar%2Frun%2Fpostgresql/db",
                "postgresql://%2Fvar%2Frun%2Fpostgresql/new",
            ),
            (
                "postgres://h1:5432,h2:5433/db",
                "postgres://h1:5432,h2:5433/new",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(with_dbname(input, "new"), expected, "{input}");
        }
    }

    #[test]
    fn key_value_database_is_replaced() {
        let cases = [
            ("host=h dbname=db user=u", "host=h dbname=new user=u"),
            (
                "host=h dbname = 'my db' port=1",
                "host=h dbname = new port=1",
            ),
            ("dbname='it\\'s' host=h", "dbname=new host=h"),
            ("host=h user=u", "host=h user=u dbname=new"),
            ("host=h user=u  ", "host=h user=u dbname=new"),
            ("", "dbname=new"),
            ("host='/tmp/a b' dbname=x", "host='/tmp/a b' dbname=new"),
        ];
        for (input, expected) in cases {
            assert_eq!(with_dbname(input, "new"), expected, "{input}");
        }
    }

    #[test]
    fn malformed_key_value_gets_dbname_appended() {
        assert_eq!(with_dbname("host", "new"), "host dbname=new");
        assert_eq!(with_dbname("host='open", "new"), "host='open dbname=new");
    }

    #[test]
    fn local_servers_are_recognised() {
        let local = [
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://localhost/db",
            "postgres://[::1]:5432/db",
            "postgresql:///db",
            "postgresql://%2Ftmp%2Fx/db",
            "postgresql:///db?host=/var/run/postgresql",
            "host=/tmp/schemac-testdb-1-ab port=5432 user=postgres dbname=postgres",
            "host='/tmp/a b' dbname=x",
            "dbname=x",
            "host=localhost,127.0.0.2 dbname=x",
        ];
        for s in local {
            assert!(is_local(s), "{s}");
        }
        let remote = [
            "postgres://u@db.example.com:5432/x",
            "postgres://u@localhost,db/x",
            "postgres://u@localhost/x?host=db",
            "host=db dbname=x",
            "hostaddr=10.0.0.1 dbname=x",
        ];
        for s in remote {
            assert!(!is_local(s), "{s}");
        }
    }

    #[test]
    fn values_are_quoted_when_needed() {
        assert_eq!(quote("/tmp/x"), "/tmp/x");
        assert_eq!(quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(quote("it's"), "'it\\'s'");
        assert_eq!(quote(""), "''");
        assert_eq!(unquote(&quote("a 'b' \\c")), "a 'b' \\c");
    }
}

//! The `schemac` command: reads arguments and files, calls the library, prints results.
//! Exit codes: 0 success, 1 invalid catalogue, refused migration, drift or failed apply, 2 usage
//! or I/O error.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use schemac::diag::{self, Severity};

/// `eprintln!` and `eprint!` without their panic: std's panic when standard error cannot be
/// written (a full disk, `2>/dev/full`) would turn an exit code of 1 or 2 into 101. A message
/// that cannot be written has nowhere else to go; the exit code still says what happened.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

macro_rules! eprint {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}

/// mimalloc instead of the system allocator: formatting the generated Rust (syn's syntax tree,
/// prettyplease) allocates and frees millions of small blocks, and glibc's malloc was a fifth of
/// a cold `schemac generate` (BENCHMARKS.md, section 1).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "schemac",
    version,
    about = "Compile a YAML catalogue of MongoDB collections to PostgreSQL"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// For people: snippets with carets.
    Human,
    /// For tools: a JSON array of findings.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check every model file and report all problems at once.
    Validate {
        /// The catalogue directory.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Compile the catalogue into the committed outputs under `generated/`.
    Generate {
        /// The catalogue directory.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// The output directory.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
    },
    /// The drift gate: fail when generated files, the migration history and the catalogue disagree.
    Check {
        /// The catalogue directory.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// The generated directory (holds `migrations/`).
        #[arg(long, default_value = "generated")]
        out: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Write, apply and inspect migrations.
    #[command(subcommand)]
    Migrate(Migrate),
    /// Print the JSON Schema of the model file format (for editors).
    Schema,
    /// Load a mongodump directory into PostgreSQL with the generated transforms: builds and runs
    /// the generated crate's binary (`<out>/Cargo.toml`) with these arguments; `--help` lists them.
    #[command(disable_help_flag = true)]
    Backfill {
        /// The generated crate.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
        /// `--dump DIR --database-url URL [--collection NAME]... [--allow-gaps] ...`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Compare a dump with the database (counts, money by bucket, every document): runs the
    /// generated crate's binary like `backfill`.
    #[command(disable_help_flag = true)]
    Verify {
        /// The generated crate.
        #[arg(long, default_value = "generated")]
        out: PathBuf,
        /// `--dump DIR --database-url URL [--collection NAME]... [--format json] ...`
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print the validated catalogue: models, tables, and where every Mongo path is stored.
    Inspect {
        /// The catalogue directory.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// Print JSON (the only format; the flag documents intent in scripts).
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum Migrate {
    /// Diff the last snapshot against the catalogue and write the next migration(s).
    New {
        /// The migration's name (`[a-z0-9_]+`).
        name: String,
        /// Acknowledge an unsafe change: a rule code (`SC102`) or a code and object (`SC102:users.phone`).
        #[arg(long = "allow", value_name = "RULE[:OBJECT]")]
        allow: Vec<String>,
        /// The catalogue directory.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// The migration directory.
        #[arg(long, default_value = "generated/migrations")]
        dir: PathBuf,
        /// Output format of refusals.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// Apply pending migrations, each in a transaction unless marked otherwise.
    Apply {
        /// The database (`postgres://user@host:port/db`).
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// The migration directory.
        #[arg(long, default_value = "generated/migrations")]
        dir: PathBuf,
    },
    /// Show applied and pending migrations.
    Status {
        /// The database (`postgres://user@host:port/db`).
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// The migration directory.
        #[arg(long, default_value = "generated/migrations")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
    },
    /// After merging two branches that each added a migration: move the later one to the end.
    Rebase {
        /// Migrations to move (default: the ones schemac.sum does not list).
        names: Vec<String>,
        /// Acknowledge unsafe changes again (see `migrate new`).
        #[arg(long = "allow", value_name = "RULE[:OBJECT]")]
        allow: Vec<String>,
        /// The catalogue directory.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// The migration directory.
        #[arg(long, default_value = "generated/migrations")]
        dir: PathBuf,
    },
    /// Re-sign schemac.sum after a deliberate edit of a migration that was never applied anywhere.
    Hash {
        /// The migration directory.
        #[arg(long, default_value = "generated/migrations")]
        dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Validate { models, format } => validate(&models, format),
        Command::Generate { models, out } => generate(&models, &out),
        Command::Schema => {
            print_out(format_args!(
                "{}\n",
                serde_json::to_string_pretty(&schemac::json_schema::schema())
                    .expect("schema serializes")
            ));
            ExitCode::SUCCESS
        }
        Command::Inspect { models, json: _ } => inspect(&models),
        Command::Check {
            models,
            out,
            format,
        } => check(&models, &out, format),
        Command::Migrate(m) => migrate(m),
        Command::Backfill { out, args } => delegate(&out, "backfill", &args),
        Command::Verify { out, args } => delegate(&out, "verify", &args),
    }
}

/// `schemac backfill|verify`: the transforms are the generated crate's code, which this binary
/// does not link, so it runs that crate's binary (built in release mode by cargo) and passes
/// its exit code through.
fn delegate(out: &std::path::Path, command: &str, args: &[String]) -> ExitCode {
    let manifest = out.join("Cargo.toml");
    if !manifest.is_file() {
        eprintln!(
            "error: {} not found: `schemac {command}` runs the generated crate's binary; pass \
             --out DIR (the directory `schemac generate` writes) before the other arguments",
            manifest.display()
        );
        return ExitCode::from(2);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(&cargo)
        .args(["run", "--release", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--")
        .arg(command)
        .args(args)
        .status();
    match status {
        Ok(status) => status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .map_or(ExitCode::from(2), ExitCode::from),
        Err(e) => {
            eprintln!(
                "error: cannot run `{}`: {e}; `schemac {command}` builds the generated crate with \
                 cargo (install Rust from https://rustup.rs), or run its binary directly",
                cargo.to_string_lossy()
            );
            ExitCode::from(2)
        }
    }
}

fn catalogue(models: &std::path::Path) -> Result<schemac::ir::Catalogue, ExitCode> {
    let v = load(models)?;
    match v.catalogue {
        Some(cat) => Ok(cat),
        None => {
            eprint!(
                "{}",
                diag::render_human(&v.diagnostics, &v.sources, std::io::stderr().is_terminal())
            );
            eprintln!("the catalogue is invalid; nothing was done");
            Err(ExitCode::from(1))
        }
    }
}

fn check(models: &std::path::Path, out: &std::path::Path, format: Format) -> ExitCode {
    let findings = match schemac::check::check(models, out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("hint: {}", e.hint());
            return ExitCode::from(2);
        }
    };
    match format {
        Format::Json => print_out(format_args!(
            "{}\n",
            serde_json::to_string_pretty(&findings).expect("findings serialize")
        )),
        Format::Human => {
            for f in &findings {
                eprintln!("{} {}: {}\n  hint: {}", f.code, f.file, f.message, f.hint);
                if let Some(d) = &f.diff {
                    let lines: Vec<&str> = d.lines().collect();
                    for l in lines.iter().take(60) {
                        eprintln!("  {l}");
                    }
                    if lines.len() > 60 {
                        eprintln!("  ... ({} more lines)", lines.len() - 60);
                    }
                }
            }
            if findings.is_empty() {
                eprintln!("ok: generated files and migrations match the catalogue");
            }
        }
    }
    if findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("schemac {}", args.join(" "))
}

fn report_planned(planned: &Option<schemac::migrate::Planned>) {
    match planned {
        None => eprintln!("no changes: the catalogue matches the last migration"),
        Some(p) => {
            for f in &p.findings {
                eprintln!("warning: {} {} ({}), allowed", f.code, f.object, f.message);
            }
            for f in &p.files {
                eprintln!(
                    "wrote {}.sql{}",
                    f.name,
                    if f.transactional {
                        ""
                    } else {
                        " (runs outside a transaction)"
                    }
                );
            }
        }
    }
}

/// `--allow` values and the validated catalogue, or the exit code after reporting why not.
fn allow_and_catalogue(
    allow: &[String],
    models: &std::path::Path,
) -> Result<(schemac::migrate::Allow, schemac::ir::Catalogue), ExitCode> {
    let allow = schemac::migrate::Allow::parse(allow).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })?;
    Ok((allow, catalogue(models)?))
}

/// Plans the next migration of `dir` and writes it, if there is a change.
fn next_and_write(
    dir: &std::path::Path,
    cat: &schemac::ir::Catalogue,
    name: &str,
    allow: &schemac::migrate::Allow,
    command: &str,
) -> Result<Option<schemac::migrate::Planned>, schemac::migrate::MigrateError> {
    let planned = schemac::migrate::next(dir, cat, name, allow, command)?;
    if let Some(p) = &planned {
        schemac::migrate::write(dir, p)?;
    }
    Ok(planned)
}

fn migrate(m: Migrate) -> ExitCode {
    use schemac::migrate::MigrateError;
    let fail = |e: MigrateError, format: Format| {
        if let (MigrateError::Refused(findings), Format::Json) = (&e, format) {
            print_out(format_args!(
                "{}\n",
                serde_json::to_string_pretty(findings).expect("findings serialize")
            ));
        } else {
            eprintln!("error: {e}");
        }
        match e {
            MigrateError::Io { .. } | MigrateError::BadName(_) => ExitCode::from(2),
            _ => ExitCode::from(1),
        }
    };
    match m {
        Migrate::New {
            name,
            allow,
            models,
            dir,
            format,
        } => {
            let (allow, cat) = match allow_and_catalogue(&allow, &models) {
                Ok(x) => x,
                Err(code) => return code,
            };
            match next_and_write(&dir, &cat, &name, &allow, &command_line()) {
                Ok(p) => {
                    report_planned(&p);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e, format),
            }
        }
        Migrate::Rebase {
            names,
            allow,
            models,
            dir,
        } => {
            let (allow, cat) = match allow_and_catalogue(&allow, &models) {
                Ok(x) => x,
                Err(code) => return code,
            };
            match schemac::migrate::rebase(&dir, &cat, &names, &allow, &command_line()) {
                Ok(p) => {
                    report_planned(&p);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e, Format::Human),
            }
        }
        Migrate::Hash { dir } => match schemac::history::read(&dir) {
            Ok(h) => match schemac::history::write_sum(&h) {
                Ok(()) => {
                    eprintln!(
                        "re-signed {}",
                        dir.join(schemac::history::SUM_FILE).display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: cannot write {}: {e}", dir.display());
                    ExitCode::from(2)
                }
            },
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
        Migrate::Apply { database_url, dir } => {
            let (mut client, history) = match connect(&database_url, &dir) {
                Ok(x) => x,
                Err(code) => return code,
            };
            let report = schemac::apply::apply(&mut client, &history, |m, took| {
                eprintln!("applied {} in {} ms", m.name, took.as_millis());
            });
            match report {
                Ok(r) => {
                    eprintln!(
                        "{} migration(s) applied, {} already applied",
                        r.applied.len(),
                        r.already_applied
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Migrate::Status {
            database_url,
            dir,
            format,
        } => {
            let (mut client, history) = match connect(&database_url, &dir) {
                Ok(x) => x,
                Err(code) => return code,
            };
            match schemac::apply::status(&mut client, &history) {
                Ok(lines) => {
                    match format {
                        Format::Json => print_out(format_args!(
                            "{}\n",
                            serde_json::to_string_pretty(&lines).expect("status serializes")
                        )),
                        Format::Human => {
                            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                            print_out(format_args!("{text}"));
                        }
                    }
                    let bad = lines.iter().any(|l| {
                        matches!(
                            l,
                            schemac::apply::Status::ChecksumChanged { .. }
                                | schemac::apply::Status::MissingFile(_)
                        )
                    });
                    if bad {
                        ExitCode::from(1)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

fn connect(
    url: &str,
    dir: &std::path::Path,
) -> Result<(postgres::Client, schemac::history::History), ExitCode> {
    let history = schemac::history::read(dir).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })?;
    let client = postgres::Client::connect(url, postgres::NoTls).map_err(|e| {
        eprintln!("error: cannot connect to {url}: {e}");
        eprintln!("hint: check --database-url / DATABASE_URL and that the server runs");
        ExitCode::from(2)
    })?;
    Ok((client, history))
}

fn load(models: &std::path::Path) -> Result<schemac::Validated, ExitCode> {
    schemac::validate_dir(models).map_err(|e| {
        eprintln!("error: {e}");
        eprintln!("hint: {}", e.hint());
        ExitCode::from(2)
    })
}

fn validate(models: &std::path::Path, format: Format) -> ExitCode {
    let v = match load(models) {
        Ok(v) => v,
        Err(code) => return code,
    };
    match format {
        Format::Json => print_out(format_args!("{}", diag::render_json(&v.diagnostics))),
        Format::Human => {
            eprint!(
                "{}",
                diag::render_human(&v.diagnostics, &v.sources, std::io::stderr().is_terminal())
            );
            let errors = v
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            let warnings = v.diagnostics.len() - errors;
            match &v.catalogue {
                Some(cat) => eprintln!(
                    "{}: {} models, {} tables, {} enums; {warnings} warning(s)",
                    models.display(),
                    cat.models.len(),
                    schemac::plan::plan(cat).tables.len(),
                    cat.enums.len()
                ),
                None => eprintln!(
                    "{}: {errors} error(s), {warnings} warning(s)",
                    models.display()
                ),
            }
        }
    }
    if v.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn inspect(models: &std::path::Path) -> ExitCode {
    let v = match load(models) {
        Ok(v) => v,
        Err(code) => return code,
    };
    match &v.catalogue {
        Some(cat) => {
            print_out(format_args!("{}", schemac::inspect::inspect(cat)));
            ExitCode::SUCCESS
        }
        None => {
            eprint!(
                "{}",
                diag::render_human(&v.diagnostics, &v.sources, std::io::stderr().is_terminal())
            );
            eprintln!("the catalogue is invalid; run `schemac validate` for details");
            ExitCode::from(1)
        }
    }
}

fn generate(models: &std::path::Path, out: &std::path::Path) -> ExitCode {
    let v = match load(models) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let Some(cat) = &v.catalogue else {
        eprint!(
            "{}",
            diag::render_human(&v.diagnostics, &v.sources, std::io::stderr().is_terminal())
        );
        eprintln!("the catalogue is invalid; nothing was written");
        return ExitCode::from(1);
    };
    // Only what changed is listed, then a count: after a one-line edit the file that changed is
    // not lost among fifty that did not.
    let (mut written, mut unchanged) = (0, 0);
    for (path, contents) in schemac::generate::outputs_reusing(cat, out) {
        let target = out.join(path);
        let old = std::fs::read_to_string(&target).ok();
        let contents = schemac::generate::with_committed(&contents, old.as_deref());
        let same = old.is_some_and(|old| old == contents);
        if same {
            unchanged += 1;
            continue;
        }
        if let Err(e) = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&target, contents))
        {
            eprintln!("error: cannot write {}: {e}", target.display());
            return ExitCode::from(2);
        }
        eprintln!("wrote {}", target.display());
        written += 1;
    }
    let files = if written == 1 { "file" } else { "files" };
    eprintln!(
        "{}: {written} {files} written, {unchanged} unchanged",
        out.display()
    );
    let dir = out.join("migrations");
    let history = match schemac::history::read(&dir) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if history.migrations.is_empty() {
        match next_and_write(
            &dir,
            cat,
            "initial",
            &Default::default(),
            "schemac generate",
        ) {
            Ok(p) => report_planned(&p),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        match schemac::migrate::last_snapshot(&history) {
            Ok(last) if last != schemac::migrate::target(cat).0 => eprintln!(
                "note: the catalogue differs from the last migration ({}): run `schemac migrate new <name>`",
                history.migrations.last().map_or("", |m| m.name.as_str())
            ),
            Ok(_) => eprintln!("{}: no schema change", dir.display()),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    }
    ExitCode::SUCCESS
}

/// Prints on standard output. A reader that stopped reading (`schemac inspect | head`) is not
/// an error: it wanted no more, and the command keeps its own exit code. Any other failure to
/// write (a full disk under `> file`) ends the process with exit code 2.
fn print_out(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(text).and_then(|()| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write to standard output: {e}");
        std::process::exit(2);
    }
}

//! The command line of a generated crate's binary: `backfill` and `verify` over its registry.
//! Exit codes: 0 done, 1 documents not loaded (without `--allow-gaps`) or verify mismatches,
//! 2 usage, dump or database errors.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use schemac_runtime::postgres::{self, Client, NoTls};
use schemac_runtime::registry::Collection;
use schemac_runtime::transform::Mode;

use crate::load::{self, Options};
use crate::verify::{self, VerifyOptions};

#[derive(Parser)]
#[command(about = "Move a MongoDB dump into PostgreSQL with the catalogue's generated code")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// A summary table for people.
    Text,
    /// The report as JSON on stdout.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Load a mongodump directory (`.bson`, `.bson.gz`) or mongoexport files (`.json`):
    /// idempotent, resumable, every failed document recorded in pg_dualwrite_gaps.
    Backfill {
        /// The dump directory.
        #[arg(long)]
        dump: PathBuf,
        /// The database, migrated (`schemac migrate apply`).
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// Only this collection (repeatable); default: every collection of the dump.
        #[arg(long = "collection", value_name = "NAME")]
        collections: Vec<String>,
        /// Documents per batch (one transaction each), at least 1.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
        batch_size: u32,
        /// Collections loaded at once, each on its own connection; a collection starts as soon
        /// as the collections it references have loaded. 0 = one per CPU core, at most 4.
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// Exit 0 even when documents went to pg_dualwrite_gaps.
        #[arg(long)]
        allow_gaps: bool,
        /// Ignore the checkpoints of earlier runs and read every document again.
        #[arg(long)]
        restart: bool,
        /// Skip keys the catalogue does not declare instead of failing the document.
        #[arg(long)]
        lenient: bool,
        /// Check references row by row, by PostgreSQL's foreign key triggers. By default a
        /// role that may set session_replication_role (a superuser, or one granted SET on it)
        /// checks a batch's references in bulk (one query per batch, each referenced table looked
        /// up once), which is faster.
        #[arg(long)]
        row_checks: bool,
        /// No progress bars.
        #[arg(long)]
        no_progress: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Compare a dump with the database: counts per table, money sums by bucket, and every
    /// document through `to_mongo`.
    Verify {
        /// The dump directory.
        #[arg(long)]
        dump: PathBuf,
        /// The database.
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// Only this collection (repeatable); default: every collection of the dump.
        #[arg(long = "collection", value_name = "NAME")]
        collections: Vec<String>,
        /// Skip keys the catalogue does not declare (as the backfill did with --lenient).
        #[arg(long)]
        lenient: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Also write the JSON report to this file.
        #[arg(long, value_name = "FILE")]
        json_report: Option<PathBuf>,
    },
}

/// Runs the command line of `bin` over `registry` (the generated `schema::REGISTRY`).
pub fn main(bin: &str, registry: &[&dyn Collection]) -> ExitCode {
    one_malloc_arena();
    let cli = Cli::parse_from(std::iter::once(bin.to_string()).chain(std::env::args().skip(1)));
    match run(cli, registry) {
        Ok(code) => code,
        Err(message) => {
            // Not `eprintln!`, which panics when standard error cannot be written (a full
            // disk): the exit code says it then.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Makes glibc's malloc use one arena, unless `MALLOC_ARENA_MAX` says otherwise. By default
/// each thread that allocates is given an arena of its own (up to 8 per core), each arena keeps
/// what is freed into it, and the process's peak is the sum of every arena's high-water mark:
/// with reader threads allocating the batches and connection threads freeing them, the peak grew
/// with the threads rather than with the batches. One arena: peak RSS of 100,000 documents
/// 59-80 MB -> 45-47 MB, as fast (BENCHMARKS.md, section 3); each thread's cache (tcache) still
/// serves most small blocks without the arena's lock.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: `mallopt` sets one of malloc's parameters under malloc's own lock; no memory
        // is touched.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}

fn mode(lenient: bool) -> Mode {
    if lenient { Mode::Lenient } else { Mode::Strict }
}

fn connect(url: &str) -> Result<Client, String> {
    Client::connect(url, NoTls).map_err(|e| format!("cannot connect to {url}: {e}"))
}

fn run(cli: Cli, registry: &[&dyn Collection]) -> Result<ExitCode, String> {
    match cli.command {
        Command::Backfill {
            dump,
            database_url,
            collections,
            batch_size,
            jobs,
            allow_gaps,
            restart,
            lenient,
            row_checks,
            no_progress,
            format,
        } => {
            let mut client = connect(&database_url)?;
            let config: postgres::Config = database_url
                .parse()
                .map_err(|e| format!("cannot read --database-url {database_url}: {e}"))?;
            let jobs = match jobs {
                0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(4)),
                n => n,
            };
            let opts = Options {
                dump,
                collections,
                batch_size: batch_size as usize,
                mode: mode(lenient),
                restart,
                progress: !no_progress && matches!(format, Format::Text),
                jobs,
                connect: Some(config),
                bulk_checks: !row_checks,
            };
            let report = load::backfill(registry, &mut client, &opts).map_err(|e| e.to_string())?;
            match format {
                Format::Text => print_out(format_args!("{report}"))?,
                Format::Json => print_out(format_args!(
                    "{}\n",
                    serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
                ))?,
            }
            let complete = report.gaps() == 0
                && report.dangling.is_empty()
                && report.not_in_catalogue.is_empty();
            Ok(if complete || allow_gaps {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Verify {
            dump,
            database_url,
            collections,
            lenient,
            format,
            json_report,
        } => {
            let mut client = connect(&database_url)?;
            let mut opts = VerifyOptions::new(dump);
            opts.collections = collections;
            opts.mode = mode(lenient);
            let report = verify::verify(registry, &mut client, &opts).map_err(|e| e.to_string())?;
            let json =
                serde_json::to_string_pretty(&report.to_json()).map_err(|e| e.to_string())?;
            if let Some(path) = json_report {
                std::fs::write(&path, format!("{json}\n"))
                    .map_err(|e| format!("{}: {e}", path.display()))?;
            }
            match format {
                Format::Text => print_out(format_args!("{report}"))?,
                Format::Json => print_out(format_args!("{json}\n"))?,
            }
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// Prints a report on standard output. A reader that stopped reading (`... verify | head`) is
/// not an error: the work is done, and the exit code stays the work's. Any other failure to
/// write is (exit code 2).
fn print_out(text: std::fmt::Arguments<'_>) -> Result<(), String> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to standard output: {e}"))
        }
        _ => Ok(()),
    }
}

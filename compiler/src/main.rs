//! The `schemac` command: reads arguments and files, calls the library, prints results.
//! Exit codes: 0 success, 1 invalid catalogue, 2 usage or I/O error.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use schemac::diag::{self, Severity};

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
    /// Print the JSON Schema of the model file format (for editors).
    Schema,
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
            println!(
                "{}",
                serde_json::to_string_pretty(&schemac::json_schema::schema())
                    .expect("schema serializes")
            );
            ExitCode::SUCCESS
        }
        Command::Inspect { models, json: _ } => inspect(&models),
    }
}

fn load(models: &std::path::Path) -> Result<schemac::Validated, ExitCode> {
    schemac::validate_dir(models).map_err(|e| {
        eprintln!("error: {e}");
        eprintln!("hint: pass the catalogue directory with `--models DIR`");
        ExitCode::from(2)
    })
}

fn validate(models: &std::path::Path, format: Format) -> ExitCode {
    let v = match load(models) {
        Ok(v) => v,
        Err(code) => return code,
    };
    match format {
        Format::Json => print!("{}", diag::render_json(&v.diagnostics)),
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
            print!("{}", schemac::inspect::inspect(cat));
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
    for (path, contents) in schemac::generate::outputs(cat) {
        let target = out.join(path);
        let same = std::fs::read_to_string(&target).is_ok_and(|old| old == contents);
        if same {
            eprintln!("unchanged {}", target.display());
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
    }
    ExitCode::SUCCESS
}

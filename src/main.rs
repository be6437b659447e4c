//! The `boxoffice` binary: thin; all logic lives in the library.

use std::process::ExitCode;

mod cli;

fn main() -> ExitCode {
    match cli::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("boxoffice: {error:#}");
            ExitCode::FAILURE
        }
    }
}

//! The `boxoffice` binary: thin; all logic lives in the library.

use std::process::ExitCode;

/// glibc's allocator spends a fifth of the server's CPU under load (many
/// threads, many short-lived allocations); mimalloc's thread-local heaps
/// do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

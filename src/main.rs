use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(laketidy::cli::main())
}

use std::process::ExitCode;

/// mimalloc keeps freed pages for reuse instead of handing them back to the kernel
/// and faulting them in again, which is most of what compaction's batch churn costs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ExitCode::from(laketidy::cli::main())
}

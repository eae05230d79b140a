//! The `esh` binary: the command line is `esh::cli::main`.

fn main() -> std::process::ExitCode {
    esh::cli::main()
}

fn main() -> std::process::ExitCode {
    hotlink::cli::main()
}

fn main() {
    std::process::exit(cmdai::commands::main());
}

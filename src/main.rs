//! `glifnet` command line. Exit codes: 0 success, 1 user error (one line on stderr), 2 usage
//! error, 130 / 143 a run stopped by SIGINT / SIGTERM (its outputs hold what was simulated).

use clap::Parser;
use glifnet::cli::{Cli, Command};

fn main() {
    // `glifnet plot … | head`: a closed pipe ends the process quietly, as for any Unix tool,
    // instead of a panic in println!
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse(); // clap exits with code 2 on usage errors
    let result = match cli.command {
        Command::Run(a) => glifnet::cli::run::run(a),
        Command::Neuron(a) => glifnet::cli::neuron::run(a),
        Command::Convert(a) => glifnet::cli::convert::run(a),
        Command::Inspect(a) => glifnet::cli::inspect::run(a),
        Command::Build(a) => glifnet::cli::build::run(a),
        Command::Plot(a) => glifnet::cli::plot::run(a),
    };
    if let Err(e) = result {
        // a run stopped by SIGINT/SIGTERM wrote its outputs; it exits 128 + the signal
        if let Some(i) = e.downcast_ref::<glifnet::cli::run::Interrupted>() {
            eprintln!("{i}");
            std::process::exit(i.code);
        }
        eprintln!("{}", glifnet::cli::one_line_error(&e));
        std::process::exit(1);
    }
}

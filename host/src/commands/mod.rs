//! One module per subcommand.

pub mod call;
pub mod check;
pub mod new;
pub mod serve;
pub mod status;

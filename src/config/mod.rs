//! Configuration: the directive table (one place for name, argument shape, context, parser and
//! doc line), the server and directory config structs, and their merge.

pub mod values;

//! The conformance suite every backend must pass. (Written next.)

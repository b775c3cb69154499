//! The detector evaluation's corpus: labelled recordings of every implant
//! class and of honest phones, made by benchctl's simulated lab in virtual
//! time. The `benchctl-eval` binary records and judges them.

pub mod corpus;

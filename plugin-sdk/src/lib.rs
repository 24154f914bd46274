//! bpfhost plugin SDK.

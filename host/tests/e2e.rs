//! End-to-end tests: the agent started in-process on real BPF objects and
//! wasm plugins built by `cargo xtask build`, scraped over real HTTP.

mod e2e {
    pub mod support;

    mod compat;
    mod demos;
    mod deploy;
    mod devloop;
    mod digests;
    mod ebpf_exporter;
    mod events;
    mod examples;
    mod failures;
    mod hostile;
    mod http;
    mod image;
    mod landing;
    mod languages;
    mod logs;
    mod lookup_examples;
    mod lookups;
    mod programs;
    mod prometheus;
    mod reconcile;
    mod sandbox;
    mod shutdown;
    mod tls;
    mod usdt;
}

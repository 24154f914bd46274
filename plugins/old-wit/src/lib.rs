//! A decoder built against `bpfhost:decoder@0.1.0` (`wit/decoder.wit` here
//! is that release's contract, label values as a `list<string>` per row),
//! for the sandbox tests: the agent must refuse it and name the version.
//! It uses wit-bindgen directly, as a plugin built with an old SDK did.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ path: "wit", world: "decoder" });

    struct Old;

    impl Guest for Old {
        fn init(_config: String) -> Result<Spec, Error> {
            Ok(Spec {
                families: Vec::new(),
                maps: Vec::new(),
            })
        }

        fn decode(_maps: Vec<MapSnapshot>) -> Result<Output, Error> {
            Ok(Output {
                samples: Vec::new(),
                histograms: Vec::new(),
            })
        }
    }

    export!(Old);
}

use object::{Object, ObjectSection, ObjectSymbol};

use super::*;
use crate::testing::artifact;

struct Fake {
    config: HashMap<String, String>,
}

impl KernelFacts for Fake {
    fn config(&self) -> Result<&HashMap<String, String>, LoadError> {
        Ok(&self.config)
    }
    fn release(&self) -> String {
        "5.15.300-generic".to_owned()
    }
}

fn fake(config: &str) -> Fake {
    Fake {
        config: parse_config(config),
    }
}

/// The resolved value of a symbol in the rewritten object.
fn symbol_value(elf: &[u8], name: &str) -> Vec<u8> {
    let file = object::File::parse(elf).expect("rewritten ELF parses");
    let symbol = file
        .symbols()
        .find(|s| s.name() == Ok(name))
        .expect("symbol");
    let section = file
        .section_by_index(symbol.section_index().expect("defined"))
        .expect("section");
    assert_eq!(section.name(), Ok(SECTION));
    let data = section.data().expect("data");
    let start = symbol.address() as usize;
    data[start..start + symbol.size() as usize].to_vec()
}

#[test]
fn externs_become_rodata_with_kernel_values() {
    let elf = std::fs::read(artifact("bpf/fixtures/kconfig.bpf.o")).expect("fixture");
    let facts = fake("CONFIG_BPF_SYSCALL=y\n# CONFIG_KPROBES is not set\n");
    let out = resolve(&elf, &facts)
        .expect("resolves")
        .expect("has externs");
    let version = (5u32 << 16) + (15 << 8) + 255;
    assert_eq!(
        symbol_value(&out, "LINUX_KERNEL_VERSION"),
        version.to_le_bytes()
    );
    assert_eq!(symbol_value(&out, "CONFIG_BPF_SYSCALL"), [1]);
    assert_eq!(symbol_value(&out, "CONFIG_NO_SUCH_OPTION"), [0, 0, 0, 0]);
}

#[test]
fn objects_without_externs_are_left_alone() {
    let elf = std::fs::read(artifact("bpf/fixtures/socket.bpf.o")).expect("fixture");
    assert_eq!(resolve(&elf, &fake("")).expect("ok"), None);
}

#[test]
fn strong_externs_must_be_set() {
    let facts = fake("");
    let err = value("CONFIG_NEEDED", 1, false, &facts).expect_err("missing");
    assert!(
        err.to_string()
            .starts_with("kconfig CONFIG_NEEDED: not set"),
        "{err}"
    );
    assert_eq!(value("CONFIG_NEEDED", 1, true, &facts).expect("weak"), [0]);
}

#[test]
fn config_values_encode_like_libbpf() {
    let facts = fake("CONFIG_A=m\nCONFIG_HZ=250\nCONFIG_S=\"abc\"\nCONFIG_X=0x10\n");
    assert_eq!(value("CONFIG_A", 1, false, &facts).expect("m"), [2]);
    assert_eq!(
        value("CONFIG_HZ", 4, false, &facts).expect("int"),
        250u32.to_le_bytes()
    );
    assert_eq!(value("CONFIG_S", 3, false, &facts).expect("str"), *b"ab\0");
    assert_eq!(value("CONFIG_X", 2, false, &facts).expect("hex"), [0x10, 0]);
    let facts = fake("CONFIG_HZ=1000\n");
    assert!(
        value("CONFIG_HZ", 1, false, &facts).is_err(),
        "1000 needs 2 bytes"
    );
    assert_eq!(
        kernel_version("6.18.44-fc-v595"),
        (6 << 16) + (18 << 8) + 44
    );
}

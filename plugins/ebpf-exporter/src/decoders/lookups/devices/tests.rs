//! `majorminor` and the `pci_*` decoders, answered by the SDK's native
//! fake. Tests named `upstream_*` port `ebpf_exporter`'s cases (the Go
//! test each comes from is named above it; the PCI names are those its
//! tests expect of the database).

use bpfhost_plugin_sdk::lookup::fake::{self, Fake};

use super::*;

type Decode = fn(&mut Lookups, &[u8], &mut Vec<u8>) -> Result<(), String>;

fn check(lookups: &mut Lookups, decode: Decode, cases: &[(&[u8], &str)]) {
    for (input, expected) in cases {
        let mut out = Vec::new();
        decode(lookups, input, &mut out).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&out),
            *expected,
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }
}

/// The host's answers for the ids upstream's PCI tests ask about.
fn pci_database() -> Fake {
    let mut fake = Fake {
        pci_ids: true,
        ..Fake::default()
    };
    for (vendor, name) in [
        (0x8086, "Intel Corporation"),
        (0x1002, "Advanced Micro Devices, Inc. [AMD/ATI]"),
        (0x10de, "NVIDIA Corporation"),
        (0x15b3, "Mellanox Technologies"),
        (0x144d, "Samsung Electronics Co Ltd"),
        (0x14e4, "Broadcom Inc. and subsidiaries"),
    ] {
        fake.pci_vendors.insert(vendor, name.to_owned());
    }
    for (vendor, device, name) in [
        (0x8086, 0x1000, "82542 Gigabit Ethernet Controller (Fiber)"),
        (
            0x1002,
            0x73df,
            "Navi 22 [Radeon RX 6700/6700 XT/6750 XT / 6800M/6850M XT]",
        ),
        (0x10de, 0x2704, "AD103 [GeForce RTX 4080]"),
        (0x15b3, 0x101f, "MT2894 Family [ConnectX-6 Lx]"),
        (0x144d, 0xa80a, "NVMe SSD Controller PM9A1/PM9A3/980PRO"),
        (
            0x14e4,
            0x1614,
            "BCM57454 NetXtreme-E 10Gb/25Gb/40Gb/50Gb/100Gb Ethernet",
        ),
    ] {
        fake.pci_devices.insert((vendor, device), name.to_owned());
    }
    for (class, name) in [
        (0x00, "Unclassified device"),
        (0x01, "Mass storage controller"),
        (0x02, "Network controller"),
        (0x03, "Display controller"),
        (0x06, "Bridge"),
        (0x0c, "Serial bus controller"),
    ] {
        fake.pci_classes.insert(class, name.to_owned());
    }
    for (class, subclass, name) in [
        (0x00, 0x05, "Image coprocessor"),
        (0x01, 0x08, "Non-Volatile memory controller"),
        (0x02, 0x00, "Ethernet controller"),
        (0x03, 0x02, "3D controller"),
        (0x0c, 0x03, "USB controller"),
        (0x06, 0x00, "Host bridge"),
        (0x06, 0x04, "PCI bridge"),
    ] {
        fake.pci_subclasses
            .insert((class, subclass), name.to_owned());
    }
    fake
}

// From TestMajorMinorDecoder: the host knows sda (8:0) and sdb (8:16).
#[test]
fn upstream_majorminor() {
    let mut answers = Fake::default();
    answers.block_devices.insert((8, 0), "sda".to_owned());
    answers.block_devices.insert((8, 16), "sdb".to_owned());
    fake::install(answers);
    check(
        &mut Lookups::default(),
        Lookups::majorminor,
        &[
            (&[0x0, 0x8, 0x0, 0x0], "sda"),
            (&[0x10, 0x8, 0x0, 0x0], "sdb"),
            (&[0x10, 0x88, 0x0, 0x0], "unknown:136:16"),
        ],
    );
}

#[test]
fn majorminor_decodes_wide_minors_as_the_kernel_encodes_them() {
    // new_encode_dev(MKDEV(259, 300)): minor's high bits above the major.
    let (major, minor): (u32, u32) = (259, 300);
    let dev = (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
    let mut answers = Fake::default();
    answers
        .block_devices
        .insert((259, 300), "nvme9n1p44".to_owned());
    fake::install(answers);
    check(
        &mut Lookups::default(),
        Lookups::majorminor,
        &[(&dev.to_le_bytes(), "nvme9n1p44")],
    );
    let err = Lookups::default()
        .majorminor(&[8, 0], &mut Vec::new())
        .unwrap_err();
    assert_eq!(err, "needs 4 bytes, the input has 2");
}

// From TestPCIVendorDecoderPresent.
#[test]
fn upstream_pci_vendor() {
    fake::install(pci_database());
    check(
        &mut Lookups::default(),
        Lookups::pci_vendor,
        &[
            (b"32902", "Intel Corporation"),
            (b"4098", "Advanced Micro Devices, Inc. [AMD/ATI]"),
            (b"4318", "NVIDIA Corporation"),
            (b"5555", "Mellanox Technologies"),
            (b"5197", "Samsung Electronics Co Ltd"),
            (b"5348", "Broadcom Inc. and subsidiaries"),
            (b"48879", "unknown pci vendor: 0xbeef"),
        ],
    );
}

// From TestPCIDeviceDecoderPresent.
#[test]
fn upstream_pci_device() {
    fake::install(pci_database());
    check(
        &mut Lookups::default(),
        Lookups::pci_device,
        &[
            (b"2156269568", "82542 Gigabit Ethernet Controller (Fiber)"),
            (
                b"268596191",
                "Navi 22 [Radeon RX 6700/6700 XT/6750 XT / 6800M/6850M XT]",
            ),
            (b"282994436", "AD103 [GeForce RTX 4080]"),
            (b"364056607", "MT2894 Family [ConnectX-6 Lx]"),
            (b"340633610", "NVMe SSD Controller PM9A1/PM9A3/980PRO"),
            (
                b"350492180",
                "BCM57454 NetXtreme-E 10Gb/25Gb/40Gb/50Gb/100Gb Ethernet",
            ),
            (b"3735928559", "unknown pci device: 0xdeadbeef"),
        ],
    );
}

// From TestPCIClassDecoderPresent.
#[test]
fn upstream_pci_class() {
    fake::install(pci_database());
    check(
        &mut Lookups::default(),
        Lookups::pci_class,
        &[
            (b"1", "Mass storage controller"),
            (b"2", "Network controller"),
            (b"3", "Display controller"),
            (b"6", "Bridge"),
            (b"12", "Serial bus controller"),
            (b"253", "unknown pci class: 0xfd"),
        ],
    );
}

// From TestPCISubClassDecoderPresent.
#[test]
fn upstream_pci_subclass() {
    fake::install(pci_database());
    check(
        &mut Lookups::default(),
        Lookups::pci_subclass,
        &[
            (b"5", "Image coprocessor"),
            (b"264", "Non-Volatile memory controller"),
            (b"512", "Ethernet controller"),
            (b"770", "3D controller"),
            (b"3075", "USB controller"),
            (b"1536", "Host bridge"),
            (b"1540", "PCI bridge"),
            (b"64768", "unknown pci class: 0xfd"),
            (b"267", "unknown pci subclass: 0x0b (class 0x01)"),
            (b"3", "unknown pci subclass: 0x03 (class 0x00)"),
        ],
    );
}

// From TestPCI{Vendor,Device,Class,SubClass}DecoderMissing.
#[test]
fn upstream_pci_without_a_database() {
    fake::install(Fake::default());
    let decoders: [(Decode, &[&[u8]]); 4] = [
        (Lookups::pci_vendor, &[b"32902", b"4098", b"4318"]),
        (
            Lookups::pci_device,
            &[b"2156269568", b"268596191", b"282994436"],
        ),
        (Lookups::pci_class, &[b"1", b"2", b"6"]),
        (Lookups::pci_subclass, &[b"5", b"264", b"512"]),
    ];
    for (decode, inputs) in decoders {
        let cases: Vec<(&[u8], &str)> = inputs.iter().map(|i| (*i, MISSING_PCI_IDS)).collect();
        check(&mut Lookups::default(), decode, &cases);
    }
}

/// Go formats the number with `%02x` / `%04x` and looks that text up: ids
/// whose text is not the database's width are unknown, and negative ones
/// print with a sign.
#[test]
fn ids_are_looked_up_by_their_go_hex_text_as_upstream_does() {
    let mut answers = pci_database();
    answers.pci_vendors.insert(0x0e11, "Compaq".to_owned());
    answers
        .pci_devices
        .insert((0x0e11, 0x0001), "PCI to EISA Bridge".to_owned());
    fake::install(answers);
    let mut lookups = Lookups::default();
    check(
        &mut lookups,
        Lookups::pci_vendor,
        &[
            (b"3601", "unknown pci vendor: 0xe11"),
            (b"5", "unknown pci vendor: 0x05"),
            (b"-5", "unknown pci vendor: 0x-5"),
            (b"+32902", "Intel Corporation"),
        ],
    );
    check(
        &mut lookups,
        Lookups::pci_device,
        &[
            (b"235995137", "unknown pci device: 0xe110001"),
            (b"4096", "unknown pci device: 0x1000"),
            (b"-4096", "unknown pci device: 0x-1000"),
        ],
    );
    check(
        &mut lookups,
        Lookups::pci_subclass,
        &[(b"-1", "unknown pci class: 0x-1")],
    );
    let err = lookups.pci_class(b"x", &mut Vec::new()).unwrap_err();
    assert_eq!(err, r#"error parsing "x" as an integer"#);
}

#[test]
fn a_missing_database_is_asked_again_at_the_next_scrape() {
    fake::install(Fake::default());
    let mut lookups = Lookups::default();
    check(&mut lookups, Lookups::pci_class, &[(b"2", MISSING_PCI_IDS)]);
    fake::install(pci_database());
    check(&mut lookups, Lookups::pci_class, &[(b"2", MISSING_PCI_IDS)]);
    lookups.new_scrape();
    check(
        &mut lookups,
        Lookups::pci_class,
        &[(b"2", "Network controller")],
    );
}

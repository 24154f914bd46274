use std::time::Duration;

use super::*;

/// An excerpt in the database's format, with the names the upstream
/// `ebpf_exporter` decoder tests expect (`decoder/pci_*_test.go`), which a
/// distribution's older `pci.ids` may not have yet.
const EXCERPT: &str = "\
# comment line
8086  Intel Corporation
\t1000  82542 Gigabit Ethernet Controller (Fiber)
\t\t0e11 b0df  NC6132 Gigabit Ethernet Adapter (1000-SX)
10de  NVIDIA Corporation
\t2704  AD103 [GeForce RTX 4080]
15b3  Mellanox Technologies
\t101f  MT2894 Family [ConnectX-6 Lx]
12345  Not a vendor either
zzzz  Not a vendor
\tzz  Not a device

C 00  Unclassified device
C 01  Mass storage controller
\t08  Non-Volatile memory controller
\t\t02  NVM Express
C 02  Network controller
\t00  Ethernet controller
C 06  Bridge
\t00  Host bridge
\t04  PCI bridge
";

fn db() -> Database {
    Database::parse(EXCERPT, 4096)
}

#[test]
fn vendors_devices_classes_and_subclasses_resolve() {
    let db = db();
    assert_eq!(
        db.find(&db.vendors, 0x8086).as_deref(),
        Some("Intel Corporation")
    );
    assert_eq!(
        db.find(&db.vendors, 0x15b3).as_deref(),
        Some("Mellanox Technologies")
    );
    assert_eq!(
        db.find(&db.devices, 0x8086_1000).as_deref(),
        Some("82542 Gigabit Ethernet Controller (Fiber)")
    );
    assert_eq!(
        db.find(&db.devices, 0x10de_2704).as_deref(),
        Some("AD103 [GeForce RTX 4080]")
    );
    assert_eq!(
        db.find(&db.devices, 0x8086_2704),
        None,
        "another vendor's device"
    );
    assert_eq!(
        db.find(&db.classes, 0x02).as_deref(),
        Some("Network controller")
    );
    assert_eq!(
        db.find(&db.subclasses, 0x0604).as_deref(),
        Some("PCI bridge")
    );
    assert_eq!(
        db.find(&db.subclasses, 0x0108).as_deref(),
        Some("Non-Volatile memory controller")
    );
    assert_eq!(db.find(&db.subclasses, 0x010b), None);
    assert_eq!(db.find(&db.classes, 0xfd), None);
}

#[test]
fn subsystems_prog_ifs_comments_and_damaged_lines_are_not_kept() {
    let db = db();
    assert_eq!(db.vendors.len(), 3, "{:?}", db.vendors);
    assert_eq!(db.devices.len(), 3, "{:?}", db.devices);
    assert_eq!((db.classes.len(), db.subclasses.len()), (4, 4));
    assert!(!db.names.contains("NC6132"), "subsystem kept");
    assert!(!db.names.contains("NVM Express"), "prog-if kept");
    assert!(!db.names.contains("Not a"), "damaged lines kept");
    let short = Database::parse(EXCERPT, 6);
    assert_eq!(short.find(&short.classes, 0x06).as_deref(), Some("Bridge"));
    assert_eq!(short.find(&short.vendors, 0x8086), None, "too long");
}

#[test]
fn a_repeated_id_keeps_its_last_name() {
    let db = Database::parse("C 02  Old name\nC 02  New name\n", 4096);
    assert_eq!(db.find(&db.classes, 2).as_deref(), Some("New name"));
    assert_eq!(db.classes.len(), 1);
}

#[test]
fn the_first_existing_path_is_read_once_and_lazily() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pci.ids");
    std::fs::write(&path, EXCERPT).expect("write");
    let bounds = CacheBounds {
        relist_interval: Duration::from_secs(1),
        ..CacheBounds::default()
    };
    let ids = PciIds::new(vec![dir.path().join("missing.ids"), path.clone()], bounds);
    let mut spent = Budget { calls: 1, reads: 0 };
    assert_eq!(ids.vendor(0x8086, &mut spent), None, "no read left");
    assert!(ids.db.get().is_none(), "not read yet");
    let mut budget = Budget::default();
    assert!(ids.available(&mut budget));
    assert_eq!(
        ids.vendor(0x8086, &mut budget).as_deref(),
        Some("Intel Corporation")
    );
    assert_eq!(
        ids.class(0x02, &mut budget).as_deref(),
        Some("Network controller")
    );
    assert_eq!(
        ids.subclass(0x06, 0x00, &mut budget).as_deref(),
        Some("Host bridge")
    );
    assert_eq!(
        ids.device(0x15b3, 0x101f, &mut budget).as_deref(),
        Some("MT2894 Family [ConnectX-6 Lx]")
    );
    assert_eq!(budget.reads, Budget::default().reads - 1, "read once");
    std::fs::remove_file(&path).expect("remove");
    assert_eq!(
        ids.vendor(0x10de, &mut budget).as_deref(),
        Some("NVIDIA Corporation")
    );
}

#[test]
fn without_a_database_everything_is_none() {
    let ids = PciIds::new(vec!["/nonexistent/pci.ids".into()], CacheBounds::default());
    let mut budget = Budget::default();
    assert!(!ids.available(&mut budget));
    assert_eq!(ids.vendor(0x8086, &mut budget), None);
    assert_eq!(ids.class(0x02, &mut budget), None);
}

/// The distribution's database (`.ci/install` installs `pci.ids`): ids
/// whose names have not changed in years.
#[test]
fn the_installed_database_parses_whole() {
    let path = std::path::Path::new("/usr/share/misc/pci.ids");
    let text = read(path).expect("pci.ids is installed (.ci/install)");
    let db = Database::parse(&text, 4096);
    assert!(db.vendors.len() > 2_000, "{} vendors", db.vendors.len());
    assert!(db.devices.len() > 15_000, "{} devices", db.devices.len());
    assert!(db.names.len() < 2 << 20, "{} name bytes", db.names.len());
    assert_eq!(
        db.find(&db.vendors, 0x8086).as_deref(),
        Some("Intel Corporation")
    );
    assert_eq!(
        db.find(&db.vendors, 0x10de).as_deref(),
        Some("NVIDIA Corporation")
    );
    assert_eq!(
        db.find(&db.classes, 0x01).as_deref(),
        Some("Mass storage controller")
    );
    assert_eq!(
        db.find(&db.subclasses, 0x0c03).as_deref(),
        Some("USB controller")
    );
    assert_eq!(
        db.find(&db.subclasses, 0x0302).as_deref(),
        Some("3D controller")
    );
}

"""The decoding logic under plain CPython (no wasm): `python3 -m unittest`."""

import struct
import sys
import types
import unittest

# `app` imports the generated bindings only to subclass them; stand-ins let
# the pure decoding functions load without a component build.
for name in ("wit_world", "wit_world.imports", "componentize_py_types"):
    sys.modules.setdefault(name, types.ModuleType(name))
sys.modules["wit_world"].WitWorld = object
sys.modules["componentize_py_types"].Err = Exception
sys.modules["wit_world.imports"].types = types.ModuleType("types")

import app  # noqa: E402


class DecodeEntries(unittest.TestCase):
    def test_pid_comm_and_count(self):
        keys = struct.pack("<I16s", 4242, b"bash")
        values = struct.pack("<Q", 17)
        self.assertEqual(list(app.decode_entries(keys, values, 1, 1, 8)), [(4242, "bash", 17)])

    def test_per_cpu_slots_are_summed(self):
        keys = struct.pack("<I16s", 1, b"sh")
        values = struct.pack("<QQ", 2, 3)
        self.assertEqual(list(app.decode_entries(keys, values, 1, 2, 8)), [(1, "sh", 5)])


if __name__ == "__main__":
    unittest.main()

"""Which code computed a result: a store records it and refuses to resume under other code
unless told to; the source hash follows the source and covers modules that exist."""

import hashlib

import pytest

from pacbound import provenance
from pacbound.cli import main
from pacbound.store import Store


@pytest.mark.parametrize("part", [*provenance.RESULT_MODULES, *provenance.BASE_MODULES])
def test_every_hashed_module_exists(part):
    assert (provenance._ROOT / part).exists(), part


def test_resuming_under_other_code_is_refused_unless_allowed(
    tiny, tiny_store, base_cache, tmp_path, capsys, monkeypatch
):
    def sweep(db, *extra):
        argv = ["sweep", "--config", str(tiny), "--db", str(db), "--cache", str(base_cache)]
        return main([*argv, "--quiet", *extra])

    copy = tmp_path / "copy.sqlite"
    copy.write_bytes(tiny_store.read_bytes())
    with Store(copy) as store:
        stored = store.experiment("tiny")["version"]
    assert stored == provenance.code_id()  # the code that computed it, hash and all
    assert stored.endswith(" on cpu")  # and the platform whose programs ran it
    monkeypatch.setattr(provenance, "code_id", lambda: "9.9.9+0123456789abcdef")
    capsys.readouterr()
    assert sweep(copy) == 2
    error = capsys.readouterr().err.strip()
    assert f"computed by pacbound {stored}; this is 9.9.9+0123456789abcdef" in error
    assert "--allow-version-change" in error and "\n" not in error
    assert sweep(copy, "--allow-version-change") == 0
    with Store(copy) as store:
        assert store.experiment("tiny")["version"] == f"{stored}; 9.9.9+0123456789abcdef"
    assert sweep(copy) == 0  # both are recorded now: no question asked again


def test_the_source_hash_follows_the_source(tmp_path, monkeypatch):
    for name, text in (("a.py", "x = 1\n"), ("sub/b.py", "y = 2\n")):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(provenance, "_ROOT", tmp_path)
    provenance.source_hash.cache_clear()
    before = provenance.source_hash(("a.py", "sub"))
    (tmp_path / "sub" / "b.py").write_text("y = 3\n")
    provenance.source_hash.cache_clear()
    after = provenance.source_hash(("a.py", "sub"))
    assert after != before
    # By hand: SHA-256 (16 hex digits) over each file's path and bytes, each ended by NUL,
    # the parts in sorted order whatever order they are given in.
    by_hand = hashlib.sha256(b"a.py\0x = 1\n\0sub/b.py\0y = 3\n\0").hexdigest()[:16]
    assert after == by_hand
    provenance.source_hash.cache_clear()
    assert provenance.source_hash(("sub", "a.py")) == by_hand
    provenance.source_hash.cache_clear()

"""The off-site receiver and pruner (roles/backup/files/matrix-synapse-offsite): a homeserver can add a copy,
never delete, rename or overwrite one; retention on the backup host goes by when a copy was received."""

import hashlib
import importlib.machinery
import importlib.util
import io
import os
import subprocess
import sys
import tarfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "roles", "backup", "files", "matrix-synapse-offsite")
_loader = importlib.machinery.SourceFileLoader("matrix_synapse_offsite", SCRIPT)
_spec = importlib.util.spec_from_loader(_loader.name, _loader)
offsite = importlib.util.module_from_spec(_spec)
_loader.exec_module(offsite)

NAME = "20260101T033012Z"


def backup_files(extra=None):
    files = {"database.dump.age": b"age-encryption.org/v1\n dump", "config.tar.gz.age": b"age-encryption.org/v1\n conf"}
    files.update(extra or {})
    sums = "".join("%s  %s\n" % (hashlib.sha256(data).hexdigest(), name) for name, data in sorted(files.items()))
    files["SHA256SUMS"] = sums.encode()
    return files


def tar_stream(members, name=NAME, directory=True):
    """A tar stream as the backup script sends it: NAME/ then NAME/<file> (members: {path in tar: bytes})."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w|") as archive:
        if directory:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def copy_stream(files, name=NAME):
    """The tar stream of one copy: files ({file name: bytes}) under the copy's directory name."""
    return tar_stream({"%s/%s" % (name, f): d for f, d in files.items()}, name)


def good_stream(name=NAME, extra=None):
    return copy_stream(backup_files(extra), name)


def listing(directory):
    return sorted(os.listdir(directory))


@pytest.mark.parametrize("command", ["put " + NAME, "  put   " + NAME + " "])
def test_request_put_name_is_accepted(command):
    assert offsite.parse_request(command) == NAME


@pytest.mark.parametrize("command", [
    "",
    "rm -rf " + NAME,
    "rsync --server -vlogDtpre.iLsfxCIvu --delete . /",
    "put ../" + NAME,
    "put " + NAME + "/x",
    "put latest",
    "put 2026010T033012Z",
    "put " + NAME + " " + NAME,
    "get " + NAME,
    "put " + NAME + "; rm -rf /",
])
def test_any_other_request_is_refused(command):
    with pytest.raises(offsite.Refused):
        offsite.parse_request(command)


def test_a_new_copy_is_received_checked_and_published(tmp_path):
    final = offsite.receive(str(tmp_path), "put " + NAME, good_stream())
    assert final == str(tmp_path / NAME)
    assert listing(tmp_path) == [NAME]
    assert listing(final) == sorted(backup_files())
    for name, data in backup_files().items():
        assert (tmp_path / NAME / name).read_bytes() == data
        assert (tmp_path / NAME / name).stat().st_mode & 0o777 == 0o600


def test_an_existing_copy_is_never_overwritten(tmp_path):
    offsite.receive(str(tmp_path), "put " + NAME, good_stream())
    before = {f: (tmp_path / NAME / f).read_bytes() for f in listing(tmp_path / NAME)}
    with pytest.raises(offsite.Refused, match="already exists"):
        offsite.receive(str(tmp_path), "put " + NAME, good_stream(extra={"media.tar.age": b"other"}))
    assert listing(tmp_path) == [NAME]
    assert {f: (tmp_path / NAME / f).read_bytes() for f in listing(tmp_path / NAME)} == before


def test_an_existing_symlink_or_file_name_is_not_replaced_either(tmp_path):
    (tmp_path / NAME).symlink_to("/nonexistent")
    with pytest.raises(offsite.Refused, match="already exists"):
        offsite.receive(str(tmp_path), "put " + NAME, good_stream())
    assert os.readlink(tmp_path / NAME) == "/nonexistent"


def test_the_rename_fails_when_the_name_appears_meanwhile(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "dst").mkdir()  # rename(2) would replace an empty directory; RENAME_NOREPLACE does not
    with pytest.raises(FileExistsError):
        offsite.rename_noreplace(str(tmp_path / "src"), str(tmp_path / "dst"))
    assert (tmp_path / "src").is_dir()


@pytest.mark.parametrize("members", [
    {"../escape": b"x"},
    {"/etc/passwd": b"x"},
    {NAME + "/../" + NAME + "x/f": b"x"},
    {NAME + "/sub/file": b"x"},
    {"20250101T000000Z/SHA256SUMS": b"x"},
    {NAME + "/.hidden": b"x"},
])
def test_a_stream_with_other_paths_is_refused_and_leaves_nothing(tmp_path, members):
    with pytest.raises(offsite.Refused):
        offsite.receive(str(tmp_path), "put " + NAME, tar_stream(members))
    assert listing(tmp_path) == []


def test_links_and_devices_are_refused(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w|") as archive:
        info = tarfile.TarInfo(NAME + "/SHA256SUMS")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/shadow"
        archive.addfile(info)
    buffer.seek(0)
    with pytest.raises(offsite.Refused, match="not a regular file"):
        offsite.receive(str(tmp_path), "put " + NAME, buffer)
    assert listing(tmp_path) == []


def test_a_copy_that_does_not_match_its_checksums_is_refused(tmp_path):
    files = backup_files()
    files["database.dump.age"] = b"tampered"
    with pytest.raises(offsite.Refused, match="does not match its checksum"):
        offsite.receive(str(tmp_path), "put " + NAME, copy_stream(files))
    assert listing(tmp_path) == []


def test_a_copy_without_checksums_or_with_unlisted_files_is_refused(tmp_path):
    files = backup_files()
    del files["SHA256SUMS"]
    with pytest.raises(offsite.Refused, match="no SHA256SUMS"):
        offsite.receive(str(tmp_path), "put " + NAME, copy_stream(files))
    files = backup_files()
    files["extra"] = b"not in SHA256SUMS"
    with pytest.raises(offsite.Refused, match="SHA256SUMS lists"):
        offsite.receive(str(tmp_path), "put " + NAME, copy_stream(files))
    assert listing(tmp_path) == []


def test_a_truncated_stream_leaves_nothing(tmp_path):
    data = good_stream().getvalue()
    with pytest.raises(Exception):
        offsite.receive(str(tmp_path), "put " + NAME, io.BytesIO(data[:700]))
    assert listing(tmp_path) == []


def test_retention_keeps_the_newest_and_the_young(tmp_path):
    now = 1_800_000_000
    day = 86400
    copies = {"a": now - 40 * day, "b": now - 35 * day, "c": now - 20 * day, "d": now - 10 * day, "e": now}
    # keep 2 newest (e, d); keep everything younger than 30 days (c, d, e): a and b go
    assert offsite.to_prune(copies, keep=2, keep_days=30, now=now) == ["a", "b"]
    # keep 4 newest: only a goes
    assert offsite.to_prune(copies, keep=4, keep_days=30, now=now) == ["a"]
    # by count alone
    assert offsite.to_prune(copies, keep=1, keep_days=0, now=now) == ["a", "b", "c", "d"]


def test_retention_goes_by_reception_time_not_by_name(tmp_path):
    now = time.time()
    old, future = "20250101T000000Z", "29991231T235959Z"
    for name, received in [(old, now - 10), (future, now - 100 * 86400)]:
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (received, received))
    assert offsite.prune(str(tmp_path), keep=1, keep_days=30, now=now) == [future]
    assert listing(tmp_path) == [old]


def test_prune_removes_old_leftovers_of_interrupted_copies_only(tmp_path):
    now = time.time()
    for name, age in [(".incoming-%s-old" % NAME, 2 * 86400), (".incoming-%s-new" % NAME, 60)]:
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (now - age, now - age))
    (tmp_path / "unrelated").mkdir()
    assert offsite.prune(str(tmp_path), keep=1, keep_days=0, now=now) == [".incoming-%s-old" % NAME]
    assert listing(tmp_path) == [".incoming-%s-new" % NAME, "unrelated"]


@pytest.mark.parametrize("content", ["dir=relative\nkeep=1\nkeep_days=1\n", "dir=/x\nkeep=0\nkeep_days=1\n",
                                     "dir=/x\nkeep=1\n", "dir=/x\nkeep=one\nkeep_days=1\n"])
def test_a_bad_retention_config_is_an_error(tmp_path, content):
    (tmp_path / "h.conf").write_text(content)
    with pytest.raises(ValueError):
        offsite.read_config(str(tmp_path / "h.conf"))


def test_the_command_line_as_sshd_runs_it(tmp_path):
    """receive through SSH_ORIGINAL_COMMAND and stdin, as the forced command; then prune from a config dir."""
    copies = tmp_path / "copies"
    copies.mkdir()
    env = dict(os.environ, SSH_ORIGINAL_COMMAND="put " + NAME)
    run = subprocess.run([sys.executable, SCRIPT, "receive", str(copies)], input=good_stream().getvalue(),
                         env=env, capture_output=True, check=False)
    assert run.returncode == 0, run.stderr
    again = subprocess.run([sys.executable, SCRIPT, "receive", str(copies)], input=good_stream().getvalue(),
                           env=env, capture_output=True, check=False)
    assert again.returncode == 1 and b"already exists" in again.stderr
    env["SSH_ORIGINAL_COMMAND"] = "rm -rf " + NAME
    refused = subprocess.run([sys.executable, SCRIPT, "receive", str(copies)], input=b"", env=env,
                             capture_output=True, check=False)
    assert refused.returncode == 1 and b"only request accepted" in refused.stderr
    assert listing(copies) == [NAME]
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "h.conf").write_text("dir=%s\nkeep=1\nkeep_days=0\n" % copies)
    old = time.time() - 86400
    (copies / "20250101T000000Z").mkdir()
    os.utime(copies / "20250101T000000Z", (old, old))
    pruned = subprocess.run([sys.executable, SCRIPT, "prune", str(conf)], capture_output=True, text=True, check=False)
    assert pruned.returncode == 0, pruned.stderr
    assert listing(copies) == [NAME]

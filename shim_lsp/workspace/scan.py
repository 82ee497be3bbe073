"""What a checkpoint includes, and walking the tree to find it.

Rules come from pathspec (gitignore semantics): each folder's ``.gitignore`` applies below it,
then the configured excludes and secret patterns apply everywhere. Secret patterns ignore case
and match at any depth (``.aws/credentials`` anywhere in the tree). Walking only stats files;
contents are read later, and only for files whose stat changed.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import pathspec

from shim_lsp.workspace.defaults import DEFAULT_EXCLUDE_GLOBS
from shim_lsp.workspace.secrets import is_secret

if TYPE_CHECKING:
    from shim_lsp.settings import Settings


class FileStat(NamedTuple):
    """What the stat cache compares: content that changes changes one of these (git's index
    keeps the same, ``core.trustctime``): a restored mtime still changes the ctime, and a
    file replaced by a rename has a new inode."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int


def _file_stat(st: os.stat_result) -> FileStat:
    return FileStat(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


_GROUP = re.compile(r"\(\?P<\w+>")
_ANY_DEPTH = "^(?:.+/)?"
"""How pathspec starts a pattern without a slash: it matches at the start or after a '/'."""


def fast_match(spec: pathspec.GitIgnoreSpec) -> Callable[[str], bool]:
    """``spec.match_file`` for root-relative posix paths, as two regexes when no pattern is
    negated: then any pattern matching decides. Patterns that match at any depth share one
    "at the start or after a slash" test instead of each backtracking over the path; one
    ``re`` search costs a fraction of pathspec trying each pattern in Python, which was
    most of a cold walk."""
    sources = match_regexes(spec)
    if sources is None:
        return spec.match_file
    searches = [re.compile(source).search for source in sources]
    if len(searches) == 1:
        only = searches[0]
        return lambda path: only(path) is not None
    return lambda path: any(search(path) is not None for search in searches)


def match_regexes(spec: pathspec.GitIgnoreSpec) -> list[str] | None:
    """The regular expressions ``fast_match`` searches with (any match decides), or None
    when a pattern is negated or not a plain regex and pathspec must decide."""
    regexes: list[re.Pattern[str]] = []
    for p in spec.patterns:
        regex = getattr(p, "regex", None)
        include = getattr(p, "include", None)
        if include is None:
            continue
        if include is False or not isinstance(regex, re.Pattern):
            return None
        if not isinstance(regex.pattern, str) or regex.flags != re.UNICODE:
            return None
        regexes.append(regex)
    floating = [
        _GROUP.sub("(?:", r.pattern[len(_ANY_DEPTH) :])
        for r in regexes
        if r.pattern.startswith(_ANY_DEPTH)
    ]
    anchored = [
        _GROUP.sub("(?:", r.pattern) for r in regexes if not r.pattern.startswith(_ANY_DEPTH)
    ]
    sources = []
    if floating:
        sources.append("(?:^|(?<=/))(?:" + "|".join(floating) + ")")
    if anchored:
        sources.append("|".join(f"(?:{a})" for a in anchored))
    return sources


_OPEN_NOWAIT = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
"""How an ignore file is opened: a FIFO would hold a plain open for ever."""


@dataclass
class FileRules:
    """Decides which paths are left out; built once per settings and folder."""

    root: Path
    excludes: pathspec.GitIgnoreSpec
    secrets: SecretPatterns
    max_file_size: int
    respect_gitignore: bool
    _gitignores: dict[str, tuple[int | None, pathspec.GitIgnoreSpec | None]] = field(
        default_factory=dict
    )
    """Per folder: the mtime of its .gitignore (None: none there) and its patterns."""
    _matchers: dict[int, tuple[pathspec.GitIgnoreSpec, Callable[[str], bool]]] = field(
        default_factory=dict
    )
    """Per spec (by id, the spec held here so that its id stays its own), its matcher."""
    _kept: dict[str, bool] = field(default_factory=dict)
    """Per root-relative folder ("dir/"), whether a walk keeps it: the answer changes only
    with the rules or a .gitignore."""
    verdict_rules: bytes = field(init=False, default=b"")
    """A fingerprint of the rules that judge folders (the excludes, whether .gitignore
    counts), 16 bytes: folder verdicts kept in the store hold only under the same."""

    def __post_init__(self) -> None:
        judged = repr(
            (
                [(p.include, getattr(p.regex, "pattern", None)) for p in self.excludes.patterns],
                self.respect_gitignore,
            )
        )
        digest = hashlib.blake2b(judged.encode("utf-8", "surrogatepass"), digest_size=8)
        self.verdict_rules = digest.hexdigest().encode("ascii")

    @classmethod
    def from_settings(cls, root: Path, settings: Settings) -> FileRules:
        from shim_lsp.settings import secret_patterns  # not for shim analyze's is_secret

        excludes = [*DEFAULT_EXCLUDE_GLOBS, *settings.exclude_globs]
        return cls(
            root=root,
            excludes=pathspec.GitIgnoreSpec.from_lines(excludes),
            secrets=SecretPatterns(secret_patterns(settings)),
            max_file_size=settings.max_file_size,
            respect_gitignore=settings.respect_gitignore,
        )

    def is_secret(self, path: Path, real_parent: Path | None = None) -> bool:
        """True for a secret by the name it is opened under or by the file it really is: a link
        ``settings.txt`` to ``.env`` is ``.env``, and must be kept out just the same.
        ``real_parent``: the real path of ``path``'s folder, when the caller has it."""
        return is_secret(self.secrets, self.root, path, real_parent)

    def matcher(self, spec: pathspec.GitIgnoreSpec) -> Callable[[str], bool]:
        found = self._matchers.get(id(spec))
        if found is None or found[0] is not spec:
            found = self._matchers[id(spec)] = (spec, fast_match(spec))
        return found[1]

    def _rel(self, path: Path, is_dir: bool = False) -> str:
        rel = path.relative_to(self.root).as_posix()
        return rel + "/" if is_dir else rel

    def _gitignore(self, folder: Path | str) -> pathspec.GitIgnoreSpec | None:
        """A folder's .gitignore patterns, read once."""
        cached = self._gitignores.get(str(folder))
        return cached[1] if cached is not None else self._read_gitignore(str(folder))

    def _current_gitignore(
        self, folder: str, mtime_ns: int | None
    ) -> pathspec.GitIgnoreSpec | None:
        """The same, read again when the file's mtime (None: there is none) has changed."""
        cached = self._gitignores.get(folder)
        if cached is None and mtime_ns is None:
            return None  # none there, and none before: most folders, not worth remembering
        if cached is not None and cached[0] == mtime_ns:
            return cached[1]
        return self._read_gitignore(folder, exists=mtime_ns is not None)

    def _read_gitignore(self, folder: str, exists: bool = True) -> pathspec.GitIgnoreSpec | None:
        spec, seen = None, None
        try:
            if not exists:  # the walk saw none there: no need to try opening it
                raise FileNotFoundError
            # Never blocked: a FIFO opens at once (and a device too), and is not read.
            fd = os.open(os.path.join(folder, ".gitignore"), _OPEN_NOWAIT)
            with open(fd, "rb") as handle:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise FileNotFoundError
                seen = st.st_mtime_ns
                lines = handle.read().decode("utf-8", errors="replace").splitlines()
            spec = pathspec.GitIgnoreSpec.from_lines(lines)
        except OSError:
            pass
        old = self._gitignores.get(folder)
        if old is not None and old[1] is not None:
            self._matchers.pop(id(old[1]), None)
        if old is not None or spec is not None:
            # The verdicts below this folder may have changed, a new .gitignore's too.
            self._kept.clear()
        self._gitignores[folder] = (seen, spec)
        return spec

    def excluded(self, path: Path, is_dir: bool) -> bool:
        """True when ``path`` (inside root) is left out by any rule."""
        rel = self._rel(path, is_dir)
        if self.excludes.match_file(rel) or (not is_dir and self.is_secret(path)):
            return True
        if not self.respect_gitignore:
            return False
        folder = path.parent
        while True:
            spec = self._gitignore(folder)
            if spec is not None:
                sub = path.relative_to(folder).as_posix() + ("/" if is_dir else "")
                if spec.match_file(sub):
                    return True
            if folder == self.root or folder == folder.parent:
                return False
            folder = folder.parent

    def forget_gitignore(self, folder: Path) -> None:
        old = self._gitignores.pop(str(folder), None)
        if old is not None and old[1] is not None:
            self._matchers.pop(id(old[1]), None)
        self._kept.clear()


class SecretPatterns:
    """Secret patterns, gitignore-style, that ignore case and match at any depth, even those
    naming a folder (``.ssh/*``), which gitignore would otherwise anchor at the root."""

    def __init__(self, patterns: list[str]) -> None:
        lines = []
        for pattern in patterns:
            pattern = pattern.strip()
            if "/" in pattern.rstrip("/") and not pattern.lstrip("!").startswith("**/"):
                negated = pattern.startswith("!")
                pattern = ("!" if negated else "") + "**/" + pattern.lstrip("!").lstrip("/")
            lines.append(pattern.lower())
        self.spec = pathspec.GitIgnoreSpec.from_lines(lines)
        self._match = fast_match(self.spec)

    def match(self, rel: str) -> bool:
        """True when ``rel`` (a root-relative posix path) is a secret."""
        return self._match(rel.lower())


Specs = tuple[tuple[str, Callable[[str], bool]], ...]
"""(.gitignore folder as a root-relative prefix like "pkg/" or "", its patterns' matcher)."""


class Listing(NamedTuple):
    """One folder of a walk: its entries other than folders (files, links, ...) with their
    own stat, not yet judged against the rules."""

    prefix: str
    """Root-relative, "" for the root, else like "pkg/sub/"."""
    files: list[tuple[str, os.stat_result]]
    specs: Specs
    """The .gitignore patterns that apply here."""
    ignores: str
    """The stats of the .gitignore files that apply here."""
    signature: bytes
    """The names and stats (size, mtime, ctime, inode) of ``files``, and the stats of the
    .gitignore files that apply here, exactly: equal signatures mean that nothing a
    checkpoint keeps from this folder has changed, under the same settings."""
    listed: bool = True
    """The folder's kept listing is recorded anew: it was listed this walk (its kept listing,
    if any, did not hold), or its subfolders judged again."""
    kept: bytes | None = None
    """When ``listed``, the listing recorded for the next walk (None: not to be kept)."""


_STATS = struct.Struct("<qqqQ")


def signature(
    ignores: str, files: list[tuple[str, os.stat_result]], names: bytes | None = None
) -> bytes:
    """``Listing.signature``: exact (each part's length given, as names may hold any byte
    but NUL), as bytes: stored per folder, read by a restart. ``names``: the files' names
    already encoded as here (a kept listing holds them so), once per folder of every walk."""
    pack = _STATS.pack
    try:
        stats = b"P" + b"".join(
            [pack(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino) for _n, st in files]
        )
    except struct.error:  # a value out of 64 bits (no filesystem gives one): spelled out
        spelled = [(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino) for _n, st in files]
        stats = b"R" + repr(spelled).encode()
    above = ignores.encode("utf-8", "surrogateescape") if ignores else b""
    if names is None:
        names = "\0".join([name for name, _st in files]).encode("utf-8", "surrogateescape")
    return b"%d %s%d %s%s" % (len(above), above, len(names), names, stats)


Listings = dict[int, bytes]
"""Per folder (by inode), what the last walk listed there (git's untracked cache): the
folder's own stat (mtime, ctime, inode, device; adding, removing or renaming an entry moves
its mtime) packed, then its names, NUL-separated, files and folders parted by a "/" (which
no name holds); then, once the walk judged its subfolders, a "/" and their verdicts: the
rules' fingerprint (``FileRules.verdict_rules``), a "1" (kept) or "0" per subfolder, and
what else they were judged by: the .gitignore stats above them, a NUL, the folder's place
(``Listing.ignores``, ``Listing.prefix``). One bytes object a folder, kept in the store as it
is, the verdicts in a column of their own that an older SHIM does not read (a restart walks
from them): a tree of 30,000 folders keeps a few MB."""

_FOLDER = struct.Struct("<qqQQ")
_RULES = 16
"""The length of ``FileRules.verdict_rules``."""
_KEEP, _LEAVE = ord("1"), ord("0")


def listings_by_inode(rows: Iterable[tuple[bytes, bytes | None]]) -> Listings:
    """Kept listings (as stored, one a row: names, verdicts) by the inode of their folder,
    which each holds; a row too short to hold one is not a listing, and left out."""
    start, end = _FOLDER.size - 16, _FOLDER.size - 8
    return {
        int.from_bytes(listing[start:end], "little"): (
            listing + b"/" + verdicts
            if verdicts and listing.count(b"/", _FOLDER.size) == 1
            else listing
        )
        for listing, verdicts in rows
        if len(listing) >= _FOLDER.size
    }


def _keep(key: bytes, files: Iterable[str], folders: Iterable[str], verdicts: bytes = b"") -> bytes:
    names = "\0".join(files) + "/" + "\0".join(folders)
    kept = key + names.encode("utf-8", "surrogateescape")
    return kept + b"/" + verdicts if verdicts else kept


def split_kept(listing: bytes) -> tuple[bytes, bytes | None]:
    """A kept listing as the store holds it: its names, the form an older SHIM reads, and
    apart its subfolders' verdicts (None: not judged)."""
    at = listing.find(b"/", _FOLDER.size)
    at = listing.find(b"/", at + 1) if at >= 0 else -1
    return (listing, None) if at < 0 else (listing[:at], listing[at + 1 :])


def _list(folder: str) -> tuple[list[str], list[str]] | None:
    """A folder's entries other than folders (files, links, ...) and its folders, by name."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return None
    files: list[str] = []
    folders: list[str] = []
    for entry in entries:
        try:
            (folders if entry.is_dir(follow_symlinks=False) else files).append(entry.name)
        except OSError:
            continue
    return files, folders


def walk_folders(
    rules: FileRules,
    listings: Listings | None = None,
    trusted: Callable[[os.stat_result], bool] | None = None,
) -> Iterator[Listing]:
    """The folders the rules keep, each with its files, walked depth first.

    Each folder's .gitignore is read once (again when its mtime changes) and carried down to
    the folders below it. Works on strings, and remembers each folder's verdict.

    With ``listings``, a folder whose own stat is the one recorded there is not listed again:
    its names are taken from there and each file is stat'ed by its path (a third of a walk's
    time is listing folders), and its subfolders' verdicts too while the rules, the
    .gitignore files above them and its place in the tree are the ones they were judged by
    (a restart would otherwise judge every folder again). A listing is recorded only when
    ``trusted`` says the folder's stat would show a later change (the racy guard of the stat
    cache, for folders).
    """
    root = str(rules.root)
    stack: list[tuple[str, str, Specs, str]] = [(root, "", (), "")]
    excludes, kept = rules.matcher(rules.excludes), rules._kept
    verdict_rules, gitignores, fold = rules.verdict_rules, rules._gitignores, _FOLDER.pack
    lstat = os.lstat
    make = tuple.__new__  # Listing's own __new__ is Python code, run once per folder

    def judge(rel_dir: str, specs: Specs) -> bool:
        """Whether a subfolder is walked: no exclude and no .gitignore above it leaves it."""
        return not (excludes(rel_dir) or any(match(rel_dir[len(base) :]) for base, match in specs))

    while stack:
        folder, prefix, inherited, ignores = stack.pop()
        files: list[tuple[str, os.stat_result]] = []
        listed, rejudged, kept_now, raw, verdicts = True, False, None, None, b""
        key, dst = None, None
        if listings is not None:
            try:
                # The root may be a link to the tree (as os.scandir follows it); no folder
                # below it is one (a link is listed as a file).
                dst = os.stat(folder) if not prefix else lstat(folder)
            except OSError:
                continue
            try:  # the folder's key, packed as its listing starts
                key = fold(dst.st_mtime_ns, dst.st_ctime_ns, dst.st_ino, dst.st_dev)
            except struct.error:  # out of 64 bits: never kept
                key = None
            known = listings.get(dst.st_ino)
            names = None
            base = folder + "/"
            if key is not None and known is not None and known.startswith(key):
                raw, _, rest = known[_FOLDER.size :].partition(b"/")
                raw_folders, _, verdicts = rest.partition(b"/")
                names = (
                    raw.decode("utf-8", "surrogateescape").split("\0") if raw else [],
                    raw_folders.decode("utf-8", "surrogateescape").split("\0")
                    if raw_folders
                    else [],
                )
                try:
                    files = [(name, lstat(base + name)) for name in names[0]]
                except OSError:  # changed within the folder's timestamp tick after all
                    names, files, raw, verdicts = None, [], None, b""
            if names is None:
                names = _list(folder)
                if names is None:
                    listings.pop(dst.st_ino, None)
                    continue
                for name in names[0]:
                    try:
                        # Links are kept here with their own stat, left out by kept_files.
                        files.append((name, lstat(base + name)))
                    except OSError:
                        key = None  # gone since it was listed: list it again next time
            else:
                listed = False
            subfolders = [(name, base + name) for name in names[1]]
            has_marker = ".gitignore" in names[0]
        else:
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            subfolders = []
            has_marker = False
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        subfolders.append((entry.name, entry.path))
                        continue
                    name = entry.name
                    if name == ".gitignore":
                        has_marker = True
                    # Links are kept here with their own stat, left out by kept_files.
                    files.append((name, entry.stat(follow_symlinks=False)))
                except OSError:
                    continue
        specs = inherited
        if rules.respect_gitignore:
            try:
                mst = os.stat(os.path.join(folder, ".gitignore")) if has_marker else None
            except OSError:
                mst = None
            # Most folders have none, and had none: no call for them.
            own = (
                rules._current_gitignore(folder, mst.st_mtime_ns if mst else None)
                if has_marker or folder in gitignores
                else None
            )
            if own is not None:
                specs = (*inherited, (prefix, rules.matcher(own)))
            if mst is not None:
                ignores += (
                    f"{prefix}:{mst.st_size}:{mst.st_mtime_ns}:{mst.st_ctime_ns}:{mst.st_ino};"
                )
        if subfolders and listings is not None:
            judged = (ignores + "\0" + prefix).encode("utf-8", "surrogateescape")
            end = _RULES + len(subfolders)
            if verdicts[end:] == judged and verdicts.startswith(verdict_rules):
                for (name, path), bit in zip(subfolders, verdicts[_RULES:end], strict=True):
                    if bit == _KEEP:
                        stack.append((path, prefix + name + "/", specs, ignores))
            else:
                bits = bytearray()
                for name, path in subfolders:
                    rel_dir = prefix + name + "/"
                    keep = kept.get(rel_dir)
                    if keep is None:
                        keep = kept[rel_dir] = judge(rel_dir, specs)
                    bits.append(_KEEP if keep else _LEAVE)
                    if keep:
                        stack.append((path, rel_dir, specs, ignores))
                verdicts = b"".join((verdict_rules, bits, judged))
                rejudged = True
        elif subfolders:
            for name, path in subfolders:
                rel_dir = prefix + name + "/"
                keep = kept.get(rel_dir)
                if keep is None:
                    keep = kept[rel_dir] = judge(rel_dir, specs)
                if keep:
                    stack.append((path, rel_dir, specs, ignores))
        if listings is not None and (listed or rejudged):
            assert dst is not None and names is not None
            if key is not None and trusted is not None and trusted(dst):
                kept_now = listings[dst.st_ino] = _keep(key, names[0], names[1], verdicts)
                listed = True  # recorded anew
            elif listed:
                listings.pop(dst.st_ino, None)
        yield make(
            Listing,
            (prefix, files, specs, ignores, signature(ignores, files, raw), listed, kept_now),
        )


def kept_files(rules: FileRules, listing: Listing) -> Iterator[tuple[str, FileStat, int]]:
    """Root-relative posix paths of the listing's regular files that the rules keep, with
    their stat and device. The verdicts are not remembered (folders' are): a scan judges
    only the files of folders that changed, and a memory per file would grow with the tree."""
    excludes, secrets = rules.matcher(rules.excludes), rules.secrets
    specs, prefix, limit = listing.specs, listing.prefix, rules.max_file_size
    make = tuple.__new__  # FileStat's own __new__ is Python code, run once per file
    for name, st in listing.files:
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            continue
        rel = prefix + name
        if (
            excludes(rel)
            or secrets.match(rel)
            or any(match(rel[len(base) :]) for base, match in specs)
        ):
            continue
        yield (
            rel,
            make(FileStat, (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)),
            st.st_dev,
        )


def walk(rules: FileRules) -> Iterator[tuple[str, FileStat]]:
    """Root-relative posix paths of the regular files the rules keep, with their stat."""
    for listing in walk_folders(rules):
        for rel, st, _dev in kept_files(rules, listing):
            yield rel, st


def stat_file(rules: FileRules, path: Path) -> tuple[FileStat, int] | None:
    """The stat and device of one file if a checkpoint should hold it, else None (gone or
    left out)."""
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > rules.max_file_size:
        return None
    try:
        path.relative_to(rules.root)
    except ValueError:
        return None
    if rules.excluded(path, is_dir=False):
        return None
    for parent in path.parents:
        if parent == rules.root:
            break
        if rules.excluded(parent, is_dir=True):
            return None
    return _file_stat(st), st.st_dev

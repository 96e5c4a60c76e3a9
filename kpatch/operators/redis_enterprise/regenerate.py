"""Rewrite releases.yaml from local clones of the upstream repositories.

    python -m kpatch.operators.redis_enterprise.regenerate K8S_DOCS_CLONE \\
        [--release-notes REDIS_DOCS_CLONE] [--output PATH]

K8S_DOCS_CLONE is a clone of RedisLabs/redis-enterprise-k8s-docs (work tree or
bare): every release tag from 6.0 on is read with git, so a new upstream
release is this one command and a reviewed diff. REDIS_DOCS_CLONE, optional, is
a clone of redis/docs: its Kubernetes release notes are the only published
source of some facts (the Docker Hub call-home client repository, the two
operator releases whose k8s-docs tags point at other releases' commits); rows
and facts taken from there are marked ``documented: true``.

The operator's source is not public: every fact is read off a file the
operator's maintainers published at a tag, and each row says which file, line
and tag (its provenance).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

K8S_DOCS = "RedisLabs/redis-enterprise-k8s-docs"
REDIS_DOCS = "redis/docs"
RELEASE_NOTES_DIR = "content/operate/kubernetes/release-notes"
FIRST_MAJOR = 6  # the range: every release from 6.0 on

RELEASE_TAG = re.compile(r"^v?(\d+\.\d+\.\d+-\d+)$")
OPENSHIFT_SUFFIX = re.compile(r"\.rhel\d+-openshift$")
# The RHEL example cluster: renamed twice over the releases.
RHEL_EXAMPLES = ("openshift/rec_rhel.yaml", "openshift/redis-enterprise-cluster_rhel.yaml",
                 "redis-enterprise-cluster_rhel.yaml")
# The RedisEnterpriseCluster CRD: renamed over the releases (first match wins).
REC_CRDS = ("crds/rec_crd.yaml", "crds/v1/rec_crd.yaml",
            "crds/app_v1_redisenterprisecluster_crd.yaml")


def version_key(version: str) -> tuple[int, ...]:
    """Order operator and RS versions (``8.0.20-23``, ``8.0.20-44.23``) numerically."""
    return tuple(int(n) for n in re.findall(r"\d+", version))


@dataclass
class Fact:
    """Where one fact was read: repository, tag or commit, file and line."""

    fact: str
    repository: str
    file: str
    line: int
    tag: str | None = None
    commit: str | None = None
    documented: bool = False  # from release notes, not from a shipped manifest
    note: str | None = None

    def to_flow(self) -> str:
        items: list[tuple[str, object]] = [("fact", self.fact), ("repository", self.repository)]
        if self.tag:
            items.append(("tag", self.tag))
        if self.commit:
            items.append(("commit", self.commit))
        items += [("file", self.file), ("line", self.line)]
        if self.documented:
            items.append(("documented", True))
        if self.note:
            items.append(("note", self.note))
        return "{" + ", ".join(f"{k}: {json.dumps(v)}" for k, v in items) + "}"


@dataclass
class Release:
    operator: str
    rs: str | None
    rs_openshift: str | None
    call_home_client: str | None  # the client's tag when the release runs it
    provenance: list[Fact] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Git:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def run(self, *args: str) -> str | None:
        done = subprocess.run(["git", "-C", str(self.directory), *args],
                              capture_output=True, text=True, check=False)
        return done.stdout if done.returncode == 0 else None

    def show(self, ref: str, path: str) -> str | None:
        return self.run("show", f"{ref}:{path}")


def find_line(text: str, pattern: str) -> tuple[int, re.Match[str]] | None:
    """The first line matching ``pattern``, 1-based, with its match."""
    compiled = re.compile(pattern)
    for number, line in enumerate(text.splitlines(), 1):
        found = compiled.search(line)
        if found:
            return number, found
    return None


# --- release notes (redis/docs) -------------------------------------------------------


@dataclass
class NoteImage:
    image: str
    file: str
    line: int


@dataclass
class ReleaseNotes:
    commit: str | None = None
    by_operator: dict[str, list[NoteImage]] = field(default_factory=dict)

    def images(self, operator: str) -> list[NoteImage]:
        return self.by_operator.get(operator, [])

    def find(self, operator: str, pattern: str) -> NoteImage | None:
        compiled = re.compile(pattern)
        return next((i for i in self.images(operator) if compiled.search(i.image)), None)


NOTE_IMAGE = re.compile(
    r"`((?:registry\.connect\.redhat\.com/)?redislabs/[a-z0-9-]+:[0-9][^`\s]*?)\.?`")


def read_release_notes(directory: Path | None) -> ReleaseNotes:
    notes = ReleaseNotes()
    if directory is None:
        return notes
    git = Git(directory)
    notes.commit = (git.run("rev-parse", "HEAD") or "").strip() or None
    listing = git.run("ls-tree", "-r", "--name-only", "HEAD", RELEASE_NOTES_DIR) or ""
    for path in sorted(listing.split()):
        if path.endswith("_index.md") or not path.endswith(".md"):
            continue
        text = git.show("HEAD", path) or ""
        found: list[NoteImage] = []
        for number, line in enumerate(text.splitlines(), 1):
            found += [NoteImage(m.group(1), path, number) for m in NOTE_IMAGE.finditer(line)]
        operators = {i.image.rpartition(":")[2] for i in found
                     if re.search(r"/(operator|redis-enterprise-operator):", i.image)}
        # A note that names one operator release, and is named after it, is that
        # release's note (one garbled note swaps the operator and RS lines).
        stem = path.rpartition("/")[2].removeprefix("k8s-")
        if len(operators) == 1:
            operator = operators.pop()
            dashed = re.escape(operator.replace(".", "-"))
            if re.match(rf"{dashed}[-.]", stem):
                notes.by_operator.setdefault(operator, []).extend(found)
    return notes


# --- one tag of redis-enterprise-k8s-docs ----------------------------------------------


def release_tags(git: Git) -> list[tuple[str, str]]:
    """(tag, release) for every release tag in range, oldest first."""
    out = []
    for tag in (git.run("tag") or "").split():
        found = RELEASE_TAG.match(tag)
        if found and version_key(found.group(1))[0] >= FIRST_MAJOR:
            out.append((tag, found.group(1)))
    return sorted(out, key=lambda item: version_key(item[1]))


def read_tag(git: Git, tag: str, release: str, notes: ReleaseNotes) -> Release:
    ref = f"refs/tags/{tag}"
    commit = (git.run("rev-list", "-n1", ref) or "").strip()[:12] or None

    def fact(name: str, path: str, line: int, note: str | None = None) -> Fact:
        return Fact(name, K8S_DOCS, path, line, tag=tag, commit=commit, note=note)

    bundle = git.show(ref, "bundle.yaml") or ""
    operator_line = find_line(bundle, r"^\s*image:\s*\S*redislabs/operator:(\S+)")
    if operator_line is None:
        raise SystemExit(f"{tag}: bundle.yaml names no redislabs/operator image")
    bundle_operator = operator_line[1].group(1).removesuffix(".rhel7")
    if bundle_operator != release:
        return documented_release(tag, release, bundle_operator, notes)
    row = Release(release, None, None, None)
    row.provenance.append(fact("operator", "bundle.yaml", operator_line[0]))

    for path in RHEL_EXAMPLES:
        text = git.show(ref, path)
        if text is None:
            continue
        found = find_line(text, r"^\s*versionTag:\s*[\"']?([^\"'\s]+)")
        if found:
            row.rs_openshift = found[1].group(1)
            row.provenance.append(fact("rs_openshift", path, found[0]))
        break

    if row.rs_openshift:
        rs = OPENSHIFT_SUFFIX.sub("", row.rs_openshift)
        readme = git.show(ref, "README.md") or ""
        confirmed = find_line(
            readme, rf"^\|\s*Redis Enterprise\s*\|\s*`redislabs/redis:{re.escape(rs)}`")
        note = notes.find(release, rf"^redislabs/redis:{re.escape(rs)}$")
        if confirmed:
            row.rs = rs
            row.provenance.append(fact("rs", "README.md", confirmed[0]))
        elif note is not None:
            row.rs = rs
            row.provenance.append(Fact("rs", REDIS_DOCS, note.file, note.line,
                                       commit=notes.commit, documented=True))
        else:
            row.rs = rs
            row.provenance.append(fact(
                "rs", row.provenance[-1].file, row.provenance[-1].line,
                note="derived: the RHEL example's tag without its .rhelN-openshift suffix; "
                     "no README or release note confirms it"))

    others = sorted({i.image.rpartition(":")[2] for i in notes.images(release)
                     if i.image.startswith("redislabs/redis:")
                     and not i.image.endswith((".minimal", "-openshift"))} - {row.rs},
                    key=version_key)
    if others:
        row.notes.append(f"the release notes also name RS {', '.join(others)} for this operator "
                         "release (later re-releases or a different build string); kpatch uses "
                         "the tag's value: pass --param redis-enterprise.rsVersion for another")
    for path in REC_CRDS:
        crd = git.show(ref, path)
        if crd is None:
            continue
        found = find_line(crd, r"^\s*callHomeClient:")
        if found:
            row.provenance.append(fact("call_home_client", path, found[0]))
            row.call_home_client = call_home_tag(row, release, notes)
        break
    return row


def call_home_tag(row: Release, release: str, notes: ReleaseNotes) -> str:
    """The call-home client's tag: the one its release note lists, else the
    operator release (what every release note from 7.22.0-7 on lists)."""
    listed = notes.find(release, r"^redislabs/re-call-home-client:")
    if listed is not None:
        row.provenance.append(Fact("call_home_client_tag", REDIS_DOCS, listed.file, listed.line,
                                   commit=notes.commit, documented=True))
        return listed.image.rpartition(":")[2]
    row.notes.append("call-home client tag: no release note lists it; the operator release is "
                     "assumed, as every release note from 7.22.0-7 on lists")
    return release


def documented_release(tag: str, release: str, bundle_operator: str,
                       notes: ReleaseNotes) -> Release:
    """A tag whose bundle names another release: the release is known from its
    release note only (or not at all)."""
    row = Release(release, None, None, None)
    row.notes.append(f"tag {tag} points at the files of operator {bundle_operator}; "
                     "this row comes from the release notes")
    operator = notes.find(release, r"^redislabs/operator:")
    rs = notes.find(release, r"^redislabs/redis:")
    if operator is None or rs is None:
        row.notes.append("no release note found: pairing unknown")
        return row

    def fact(name: str, image: NoteImage) -> Fact:
        return Fact(name, REDIS_DOCS, image.file, image.line, commit=notes.commit,
                    documented=True)

    row.provenance.append(fact("operator", operator))
    row.rs = rs.image.rpartition(":")[2]
    row.provenance.append(fact("rs", rs))
    rhel = notes.find(release, r"^registry\.connect\.redhat\.com/redislabs/redis-enterprise:")
    if rhel is not None:
        row.rs_openshift = rhel.image.rpartition(":")[2]
        row.provenance.append(fact("rs_openshift", rhel))
    call_home = notes.find(release, r"^redislabs/re-call-home-client:")
    if call_home is not None:
        row.call_home_client = call_home.image.rpartition(":")[2]
        row.provenance.append(fact("call_home_client", call_home))
    return row


# --- flavours: which repositories each kind of install pulls from -------------------


@dataclass
class FlavourImage:
    component: str
    repository: str
    provenance: Fact | None


@dataclass
class Flavour:
    name: str
    operator: str  # repository of the operator image that tells this flavour
    tag_suffix: str  # the operator image tag is <release><suffix>
    rs_tag: str  # rs | rs_openshift: which RS tag this flavour pulls
    description: str
    images: list[FlavourImage]


def _line_fact(git: Git, tag: str, path: str, pattern: str, name: str) -> Fact | None:
    text = git.show(f"refs/tags/{tag}", path)
    found = find_line(text or "", pattern)
    if found is None:
        return None
    commit = (git.run("rev-list", "-n1", f"refs/tags/{tag}") or "").strip()[:12] or None
    return Fact(name, K8S_DOCS, path, found[0], tag=tag, commit=commit)


def _note_fact(notes: ReleaseNotes, release: str, pattern: str, name: str) -> Fact | None:
    found = notes.find(release, pattern)
    if found is None:
        return None
    return Fact(name, REDIS_DOCS, found.file, found.line, commit=notes.commit, documented=True)


def read_flavours(git: Git, tags: Sequence[tuple[str, str]], notes: ReleaseNotes) -> list[Flavour]:
    newest_tag, newest = tags[-1]
    readme_tag = next((t for t, _ in reversed(tags)
                       if "k8s-controller:" in (git.show(f"refs/tags/{t}", "README.md") or "")),
                      newest_tag)
    rhel7_tag = next((t for t, _ in tags
                      if ".rhel7`" in (git.show(f"refs/tags/{t}", "README.md") or "")), None)

    def readme(tag: str | None, pattern: str, name: str) -> Fact | None:
        return _line_fact(git, tag, "README.md", pattern, name) if tag else None

    rh = "registry.connect.redhat.com/redislabs"
    example = "openshift/rec_rhel.yaml"
    return [
        Flavour("dockerhub", "redislabs/operator", "", "rs",
                "operator image redislabs/operator:<release>", [
                    FlavourImage("redis-enterprise", "redislabs/redis",
                                 readme(readme_tag, r"^\| Redis Enterprise \| `redislabs/redis:",
                                        "redis-enterprise")),
                    FlavourImage("bootstrapper", "redislabs/operator",
                                 _line_fact(git, newest_tag, "bundle.yaml",
                                            r"image:\s*redislabs/operator:", "bootstrapper")),
                    FlavourImage("services-rigger", "redislabs/k8s-controller",
                                 readme(readme_tag,
                                        r"^\| Services Rigger \| `redislabs/k8s-controller:",
                                        "services-rigger")),
                    FlavourImage("call-home-client", "redislabs/re-call-home-client",
                                 _note_fact(notes, newest, r"^redislabs/re-call-home-client:",
                                            "call-home-client")),
                ]),
        Flavour("openshift", f"{rh}/redis-enterprise-operator", "", "rs_openshift",
                "operator image registry.connect.redhat.com/redislabs/redis-enterprise-operator",
                [
                    FlavourImage(component, f"{rh}/{name}",
                                 _line_fact(git, newest_tag, example,
                                            rf"repository:\s*{re.escape(rh)}/{name}\s*$",
                                            component))
                    for component, name in (("redis-enterprise", "redis-enterprise"),
                                            ("bootstrapper", "redis-enterprise-operator"),
                                            ("services-rigger", "services-manager"),
                                            ("call-home-client", "call-home-client"))
                ]),
        Flavour("openshift-rhel7", "redislabs/operator", ".rhel7", "rs_openshift",
                "operator image redislabs/operator:<release>.rhel7 (the first OpenShift builds)", [
                    FlavourImage("redis-enterprise", "redislabs/redis",
                                 readme(rhel7_tag, r"^\| Redis Enterprise \|.*rhel7-openshift`",
                                        "redis-enterprise")),
                    FlavourImage("bootstrapper", "redislabs/operator",
                                 readme(rhel7_tag, r"^\| Operator \|.*\.rhel7`", "bootstrapper")),
                    FlavourImage("services-rigger", "redislabs/k8s-controller",
                                 readme(rhel7_tag, r"^\| Services Rigger \|.*\.rhel7`",
                                        "services-rigger")),
                ]),
    ]


# --- output -----------------------------------------------------------------------------


def render(k8s_commit: str | None, notes: ReleaseNotes, flavours: Iterable[Flavour],
           releases: Iterable[Release]) -> str:
    q = json.dumps
    out = [
        "# Redis Enterprise operator releases: which RS release each operator release",
        "# pairs with, and whether it runs the call-home client. GENERATED by",
        "#   python -m kpatch.operators.redis_enterprise.regenerate K8S_DOCS_CLONE \\",
        "#       --release-notes REDIS_DOCS_CLONE",
        "# Do not edit by hand: regenerate, then review the diff.",
        "#",
        "# rs: the tag of the Redis Enterprise Software image on Docker Hub (redislabs/redis);",
        "# rs_openshift: its tag in the OpenShift flavour (the RHEL example's versionTag);",
        "# call_home_client: the call-home client's tag when the release runs it, else null.",
        "# Each provenance entry names the file, line and tag (or commit) the fact was read",
        "# from; documented: true marks facts found only in the release notes.",
        "upstream:",
        f"  repository: {q(K8S_DOCS)}",
        f"  commit: {q(k8s_commit)}",
        f"  release_notes: {{repository: {q(REDIS_DOCS)}, path: {q(RELEASE_NOTES_DIR)}, "
        f"commit: {q(notes.commit)}}}",
        "flavours:",
    ]
    for flavour in flavours:
        out += [
            f"  - name: {q(flavour.name)}",
            f"    description: {q(flavour.description)}",
            f"    operator: {q(flavour.operator)}",
            f"    tag_suffix: {q(flavour.tag_suffix)}",
            f"    rs_tag: {q(flavour.rs_tag)}",
            "    images:",
        ]
        for image in flavour.images:
            out.append(f"      - component: {q(image.component)}")
            out.append(f"        repository: {q(image.repository)}")
            out.append("        provenance: "
                       + (image.provenance.to_flow() if image.provenance else "null"))
    out.append("releases:")
    for row in releases:
        out += [
            f"  - operator: {q(row.operator)}",
            f"    rs: {q(row.rs)}",
            f"    rs_openshift: {q(row.rs_openshift)}",
            f"    call_home_client: {q(row.call_home_client)}",
        ]
        if row.notes:
            out.append(f"    notes: [{', '.join(q(n) for n in row.notes)}]")
        out.append("    provenance:")
        out += [f"      - {f.to_flow()}" for f in row.provenance]
    return "\n".join(out) + "\n"


def regenerate(k8s_docs: Path, release_notes: Path | None) -> str:
    git = Git(k8s_docs)
    if git.run("rev-parse", "--git-dir") is None:
        raise SystemExit(f"{k8s_docs}: not a git repository")
    notes = read_release_notes(release_notes)
    tags = release_tags(git)
    if not tags:
        raise SystemExit(f"{k8s_docs}: no release tags from {FIRST_MAJOR}.0 on")
    releases = [read_tag(git, tag, release, notes) for tag, release in tags]
    flavours = read_flavours(git, tags, notes)
    head = (git.run("rev-parse", "HEAD") or "").strip() or None
    return render(head, notes, flavours, releases)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kpatch.operators.redis_enterprise.regenerate",
        description="Rewrite releases.yaml from a clone of RedisLabs/redis-enterprise-k8s-docs.")
    parser.add_argument("k8s_docs", type=Path, help="clone of RedisLabs/redis-enterprise-k8s-docs")
    parser.add_argument("--release-notes", type=Path, default=None,
                        help="clone of redis/docs (Kubernetes release notes)")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("releases.yaml"),
                        help="where to write (default: the releases.yaml beside this module)")
    args = parser.parse_args(argv)
    text = regenerate(args.k8s_docs, args.release_notes)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

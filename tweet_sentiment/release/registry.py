"""The model registry: GTO's Git tags on this repository, read and written through GTO's Python API.

The artifact is `dvc.yaml`'s `tweet-sentiment` (the Bento archive, `type: model`);
`.gto` allows the stages `staging` and `prod`. A version is a tag
`tweet-sentiment@v` + a SemVer version (`v0.2.0`, `v0.2.0-rc.1`, `v0.2.0+build.5`:
every form GTO accepts) on the commit whose pipeline produced it, ordered by SemVer's
precedence (a pre-release before its release; build metadata breaks no tie, its text
does); an
assignment is `tweet-sentiment#STAGE#N`, an unassignment `tweet-sentiment#STAGE!#N`
(N counts every stage event of the artifact). So `gto show`, `dvc artifacts get`
and `dvc.api.artifacts_show` read what this module writes.

One rule of ours on top of GTO's: a stage holds one version at a time. GTO lets
several versions be active in a stage and then shows the highest (`gto show`
sorts by time, `find_versions_in_stage` by SemVer, and tags made in the same
second tie), so assigning a version here first unassigns the one it replaces,
and every GTO view agrees on what is in `prod`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from gto import api
from gto.exceptions import ArtifactNotFound, GTOException
from semver import Version

ARTIFACT = "tweet-sentiment"
STAGES = ("staging", "prod")  # in promotion order; .gto allows these
FIRST_VERSION = "v0.1.0"
_STAGE_TAG = re.compile(rf"^{re.escape(ARTIFACT)}#(?P<stage>[\w-]+)(?P<removed>!?)#(?P<number>\d+)$")


class RegistryError(ValueError):
    """A registry operation that cannot be done as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Release:
    """A registered version: its tag, the commit it names, the registration message, and the stage it is in."""

    version: str
    commit: str
    message: str
    stages: tuple[str, ...]  # the stages it is in now (each stage holds one version)


@dataclass(frozen=True)
class StageEvent:
    """One assignment or unassignment tag, in the order GTO numbered them."""

    number: int
    stage: str
    version: str
    assigned: bool
    message: str
    timestamp: float  # the tag's time, whole seconds (GTO's order)


def _registration_message(version: dict) -> str:
    registrations = version.get("registrations") or []
    return registrations[-1]["message"] if registrations else ""


def stage_events(repo: Path) -> list[StageEvent]:
    """Every assignment and unassignment of the artifact, oldest first (by GTO's event number, not by second)."""
    events = []
    for event in _read(api.history, repo):
        match = _STAGE_TAG.match(event.get("ref") or "")
        if match:
            number = int(match["number"])
            events.append(
                StageEvent(
                    number,
                    match["stage"],
                    event["version"],
                    not match["removed"],
                    event["message"] or "",
                    event["timestamp"].timestamp(),
                )
            )
    return sorted(events, key=lambda e: e.number)


def active(repo: Path) -> dict[str, str]:
    """Stage -> the version active in it (its last event there an assignment)."""
    state: dict[tuple[str, str], bool] = {}
    for event in stage_events(repo):
        state[event.stage, event.version] = event.assigned
    in_stage: dict[str, str] = {}
    for (stage, version), assigned in state.items():
        if assigned:
            in_stage[stage] = version  # one per stage by this module's rule
    return in_stage


def releases(repo: Path) -> list[Release]:
    """Every registered version, oldest first."""
    in_stage = active(repo)
    found = [
        Release(
            v["version"],
            v["commit_hexsha"],
            _registration_message(v),
            tuple(stage for stage in STAGES if in_stage.get(stage) == v["version"]),
        )
        for v in _read(api.show, repo, registered_only=True)
    ]
    return sorted(found, key=lambda release: semver_order(release.version))


def parse_version(version: str) -> Version:
    """`v` and a SemVer version, as GTO tags it; `RegistryError` for another form."""
    if not (version.startswith("v") and Version.is_valid(version[1:])):
        raise RegistryError(f"{version!r} is not a version: use `v` and a SemVer version, e.g. v0.2.0 or v0.2.0-rc.1")
    return Version.parse(version[1:])


def semver_order(version: str) -> tuple[Version, str]:
    """A sort key by SemVer's precedence (semver.org, rule 11); versions differing only in build metadata by text."""
    return parse_version(version), version


def find(repo: Path, version: str) -> Release:
    """The registered `version`; `RegistryError` naming the registered ones otherwise."""
    for release in releases(repo):
        if release.version == version:
            return release
    known = ", ".join(r.version for r in releases(repo)) or "none yet"
    raise RegistryError(f"{ARTIFACT}@{version} is not registered (registered: {known}); see `show`")


def in_stage(repo: Path, stage: str) -> Release | None:
    """The version active in `stage`, or None."""
    version = active(repo).get(stage)
    return find(repo, version) if version else None


def was_in_stage(repo: Path, version: str, stage: str) -> bool:
    """Whether `version` was ever assigned to `stage` (staging before prod)."""
    return any(e.stage == stage and e.version == version and e.assigned for e in stage_events(repo))


def next_version(repo: Path) -> str:
    """v0.1.0 first; after a pre-release its release (v0.2.0-rc.1 -> v0.2.0), else the next minor version."""
    found = releases(repo)
    if not found:
        return FIRST_VERSION
    highest = parse_version(found[-1].version)
    return f"v{highest.finalize_version() if highest.prerelease else highest.bump_minor()}"


def register(repo: Path, commit: str, message: str, version: str | None = None) -> str:
    """Register `commit` as `version` (default: `next_version`) with `message` (an annotated tag); the version.

    `RegistryError` if `version` is not `v` and a SemVer version, or GTO refuses it (registered already).
    """
    if version is None:
        version = next_version(repo)
    parse_version(version)
    _gto(api.register, repo, ARTIFACT, commit, version=version, message=message)
    return version


def assign(repo: Path, version: str, stage: str, message: str) -> None:
    """Make `version` the one version in `stage`: the one it replaces is unassigned first (same message)."""
    current = active(repo).get(stage)
    if current == version:
        raise RegistryError(f"{ARTIFACT}@{version} is already in {stage}")
    if current is not None:
        unassign(repo, current, stage, f"replaced by {version}: {message}")
    _reassign(repo, version, stage, message)


def unassign(repo: Path, version: str, stage: str, message: str) -> None:
    _after_last_event(repo, version, stage)
    _gto(api.unassign, repo, ARTIFACT, stage=stage, version=version, message=message)


def _reassign(repo: Path, version: str, stage: str, message: str) -> None:
    """Assign, also a version `stage` held before (GTO asks for `force` then)."""
    _after_last_event(repo, version, stage)
    _gto(api.assign, repo, ARTIFACT, stage, version=version, message=message, force=True)


def _after_last_event(repo: Path, version: str, stage: str) -> None:
    """Wait, if need be, until the second after the last tag of `version` in `stage`.

    GTO orders a version's events in a stage by their tags' times, in whole
    seconds: an assignment made in the second of the unassignment before it may
    sort before it, and GTO would read the version as not in the stage.
    """
    times = [e.timestamp for e in stage_events(repo) if e.version == version and e.stage == stage]
    if times:
        time.sleep(max(0.0, max(times) + 1 - time.time()))


ROLLBACK = "rollback"  # how the message of a rollback's unassignment starts


def previous_in_stage(repo: Path, stage: str) -> str | None:
    """The version `stage` held before the current one: the last assigned there, neither current nor rolled back."""
    events = [e for e in stage_events(repo) if e.stage == stage]
    current = active(repo).get(stage)
    rolled_back = {e.version for e in events if not e.assigned and e.message.startswith(ROLLBACK)}
    earlier = [e.version for e in events if e.assigned and e.version != current and e.version not in rolled_back]
    return earlier[-1] if earlier else None


def rollback(repo: Path, stage: str, reason: str) -> tuple[str, str]:
    """Put the previous version back in `stage`; (the version taken out, the one put back).

    The version taken out is marked rolled back (its unassignment's message), so a
    second rollback goes further back instead of returning to it.
    """
    current = active(repo).get(stage)
    if current is None:
        raise RegistryError(f"nothing is in {stage}, so there is nothing to roll back")
    target = previous_in_stage(repo, stage)
    if target is None:
        raise RegistryError(f"{ARTIFACT}@{current} is the only version {stage} has held; there is none to go back to")
    unassign(repo, current, stage, f"{ROLLBACK} to {target}: {reason}")
    _reassign(repo, target, stage, f"{ROLLBACK} from {current}: {reason}")
    return current, target


def _read(query, repo: Path, **kwargs) -> list[dict]:
    """A GTO query about the artifact; nothing (not an error) before its first version."""
    try:
        return query(str(repo), ARTIFACT, **kwargs)
    except ArtifactNotFound:
        return []


def _gto(operation, repo: Path, *args, **kwargs) -> None:
    try:
        operation(str(repo), *args, **kwargs)
    except GTOException as error:
        raise RegistryError(f"gto: {error}") from None

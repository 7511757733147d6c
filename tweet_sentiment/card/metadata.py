"""A model card's YAML front matter: written, read, and given the registry version the service runs.

The service imports only this module of the card's (yaml and nothing of the pipeline's),
so the Bento ships it without the code that renders the card.
"""

from __future__ import annotations

from typing import Any

import yaml


def yaml_block(metadata: dict[str, Any]) -> str:
    """Metadata as a card's front matter: YAML between `---` lines, keys in the order given."""
    return "---\n" + yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=1000) + "---\n"


def split_front_matter(card: str) -> tuple[dict[str, Any], str]:
    """(the card's YAML metadata, the Markdown after it); `ValueError` for a text without front matter."""
    if not card.startswith("---\n") or "\n---\n" not in card[3:]:
        raise ValueError("not a model card: no YAML front matter between `---` lines at its start")
    head, body = card[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def with_registry_version(card: str, version: str) -> str:
    """`card` with `registry_version: <version>` in its front matter (replacing one there), the rest as it was."""
    metadata, body = split_front_matter(card)
    return yaml_block(metadata | {"registry_version": version}) + body


def card_for(card: str, model_version: str, runtime: str, registry_version: str) -> str | None:
    """The card to serve for weights `model_version` on `runtime`: with the registry version added, or None
    when it describes other weights or another runtime (its front matter's `model_version`, `runtime`:
    the fine-tuned trace of the served weights is not the int8 model the card scores) or has no front matter."""
    try:
        metadata, body = split_front_matter(card)
    except ValueError:
        return None
    if (metadata.get("model_version"), metadata.get("runtime")) != (model_version, runtime):
        return None
    return yaml_block(metadata | {"registry_version": registry_version}) + body

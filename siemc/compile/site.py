"""The site configuration as the compile stage reads it: each target's mapping with the site's
changes, the site's pySigma pipelines, and the check that both hold before any rule compiles."""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.processing.conditions import RuleProcessingCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.rule import SigmaRule

from siemc.backends import TARGET_NAMES, get_target
from siemc.compile.mappings import Entry, MappingError, SiteSources, load_mapping, target_mapping
from siemc.compile.placeholders import PlaceholderTransformation
from siemc.compile.rule import HAS_PLACEHOLDERS
from siemc.config import ConfigError, SiteConfig, key_path
from siemc.resources import mappings_folder


def site_mapping(site: SiteConfig, target: str) -> tuple[Entry, ...]:
    """The target's log sources: its mapping file with the site's changes (loaded once per site)."""
    if target not in site.sources and target not in site.fields and target not in site.windows_events:
        return target_mapping(target)
    cached: dict[str, tuple[Entry, ...]] = site.__dict__.setdefault("_mappings", {})
    if target not in cached:
        assert site.path is not None
        changes = SiteSources(
            site.path,
            f"targets.{target}",
            site.sources.get(target, ()),
            site.fields.get(target, {}),
            site.windows_events.get(target),
        )
        try:
            cached[target] = load_mapping(mappings_folder() / f"{target}.yml", changes)
        except MappingError as error:
            raise site.error_at(key_path(error.where), error.problem) from None
    return cached[target]


def site_pipeline(site: SiteConfig, target: str, siemc_pipeline: ProcessingPipeline) -> ProcessingPipeline:
    """siemc's own pipeline with the site's: every pipeline in order of priority, as sigma-cli's `-p`
    combines them, plus the placeholder step (named lists; a placeholder left without a value is
    reported unsupported) for the rules that still hold placeholders."""
    placeholder_step = ProcessingPipeline(
        name="siemc placeholders",
        priority=siemc_pipeline.priority,
        items=[
            ProcessingItem(
                identifier="siemc_placeholders",
                transformation=PlaceholderTransformation(site.named_lists()),
                rule_conditions=[HoldsPlaceholders()],
            )
        ],
    )
    pipelines = [*site.processing_pipelines(target), placeholder_step, siemc_pipeline]
    # sorted() is stable: at equal priority the site's pipelines run first, then siemc's.
    return sum(sorted(pipelines, key=lambda p: p.priority), ProcessingPipeline())


@dataclass
class HoldsPlaceholders(RuleProcessingCondition):
    """A rule the loader marked as still holding placeholders (siemc.compile.rule.HAS_PLACEHOLDERS)."""

    def match(self, rule: SigmaRule | SigmaCorrelationRule) -> bool:
        return bool(rule.custom_attributes.get(HAS_PLACEHOLDERS))


def check_site(site: SiteConfig) -> None:
    """Mapping changes and pipelines are checked once, up front; ConfigError names the line."""
    for target in sorted({*site.sources, *site.fields, *site.windows_events}):
        _check_field_names(site, target)
        site_mapping(site, target)
    for key, chosen in (("fallbacks", site.fallbacks), ("unmodelled", site.unmodelled)):
        for target, allowed in sorted(chosen.items()):
            if isinstance(allowed, frozenset):
                names = {spec.name for entry in site_mapping(site, target) for spec in entry.candidates}
                for name in sorted(allowed - names):
                    raise site.error_at(
                        ["targets", target, key], f"{name!r} is no source of the {target} mapping"
                    )
    for target in TARGET_NAMES:
        for index, path in enumerate(site.pipelines):
            _check_pipeline(site, path, ["pipelines", index])
        for index, path in enumerate(site.target_pipelines.get(target, ())):
            _check_pipeline(site, path, ["targets", target, "pipelines", index])


def _check_field_names(site: SiteConfig, target: str) -> None:
    """Native names the site gives reach queries as they are: each must be a name of the language."""
    target_class = get_target(target)
    tables: list[tuple[list[str | int], object]] = [
        (["targets", target, "fields"], site.fields.get(target, {}))
    ]
    for index, entry in enumerate(site.sources.get(target, ())):
        tables.append((["targets", target, "sources", index, "fields"], entry.get("fields", {})))
    for where, table in tables:
        if not isinstance(table, dict):
            continue  # a list of field sets: the mapping reader checks it
        for sigma_name, native in table.items():
            if isinstance(native, str) and not target_class.native_field_name.fullmatch(native):
                raise site.error_at(
                    [*where, sigma_name], f"{native!r} is not {target_class.native_field_hint}"
                )


def _check_pipeline(site: SiteConfig, path: object, where: list[str | int]) -> None:
    from pathlib import Path

    assert isinstance(path, Path)
    try:
        site.processing_pipelines_of(path)
    except (SigmaError, yaml.YAMLError, TypeError, KeyError, ValueError, AttributeError) as error:
        raise site.error_at(where, f"pySigma rejects the pipeline {path.name}: {error}") from None


__all__ = ["ConfigError", "check_site", "site_mapping"]

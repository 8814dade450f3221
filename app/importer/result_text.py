"""An import's result as readable text, for the command line."""

from app.schemas.imports import Difference, ImportResult, OrganisationResolution


def _excerpt(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _value(value) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return repr(_excerpt(value, 50))
    return ", ".join(v if isinstance(v, str) else v.paragraph for v in value) or "(none)"


def _difference(difference: Difference) -> str:
    line = f"  {difference.ref:<6} {difference.change}"
    if difference.change in ("added", "removed"):
        line += f": {_value(difference.after or difference.before)}"
    else:
        line += f": {_value(difference.before)} -> {_value(difference.after)}"
    return line + (f"\n         refused: {difference.blocked}" if difference.blocked else "")


def _headline(result: ImportResult) -> str:
    slug, report, counts = result.slug or "(no slug)", result.report_id, result.recommendations
    new = len(result.organisations_created)
    match result.outcome:
        case "created":
            verb = "would create" if result.dry_run else f"created report {report} with"
            return f"{slug}: {verb} {counts.in_text} recommendation(s) and {new} new organisation(s)."
        case "unchanged":
            return f"{slug}: already imported as report {report}; nothing changed."
        case "changes_detected":
            return (
                f"{slug}: the text differs from report {report} ({counts.created} added, {counts.updated} "
                f"changed, {counts.removed} removed); nothing changed. Use --apply-changes to apply:"
            )
        case "changes_applied":
            verb = "would apply" if result.dry_run else "applied"
            return (
                f"{slug}: {verb} to report {report}: {counts.created} added, {counts.updated} changed, "
                f"{counts.removed} removed, {new} new organisation(s):"
            )
        case _:
            return f"{slug}: a real import would be refused:"


def _organisation(resolution: OrganisationResolution) -> str:
    if resolution.resolution == "ambiguous":
        candidates = ", ".join(f"{c.code} ({c.name})" for c in resolution.candidates)
        return f"  ambiguous  {resolution.name!r} could be: {candidates}"
    kind = f" ({resolution.kind})" if resolution.resolution == "new" else ""
    return f"  {resolution.resolution:<9}  {resolution.code:<8} {resolution.name}{kind}"


def _preview_lines(result: ImportResult) -> list[str]:
    preview = result.preview
    report = preview.report
    plan_from = (
        ", ".join(o.code or o.name for o in preview.action_plan.organisations) if preview.action_plan else "?"
    )
    lines = [
        f"Report: {report.title}",
        f"  {report.regulator}; area {report.area}; published {report.published_date}; "
        f"received {report.received_date}; action plan from {plan_from} "
        f"within {report.working_days_allowed} working days",
        f"Recommendations ({len(preview.recommendations)}):",
    ]
    for item in preview.recommendations:
        owners = ", ".join(o.code or f"?{o.name}" for o in item.owners)
        ref = f"{item.ref}, page {item.page}" if item.page else item.ref
        lines.append(f"  {ref:<6} {owners:<24} [{item.section or '-'}] {_excerpt(item.text, 60)}")
        if item.page:
            cited = "; ".join(f"{c.paragraph or '?'}, page {c.page}" for c in item.citations)
            lines.append(f"         cited by {cited or '(none)'}")
    lines.append("Organisations:")
    lines.extend(_organisation(o) for o in preview.organisations)
    return lines


def render_result(result: ImportResult) -> str:
    lines = ["Dry run: nothing was written."] if result.dry_run else []
    lines.append(_headline(result))
    lines.extend(_difference(d) for d in result.differences)
    lines.extend(f"  - {b.message}" for b in result.blockers)
    if result.organisations_created and not result.dry_run:
        lines.append(
            "New organisations:" if result.written else "New organisations (created on --apply-changes):"
        )
        lines.extend(f"  {o.code:<8} {o.name} ({o.kind})" for o in result.organisations_created)
    for difference in result.report_differences:
        lines.append(
            f"Report field {difference.field} differs: stored {difference.stored!r}, "
            f"text {difference.imported!r} (imports never change it; PATCH the report)."
        )
    if result.dry_run:
        lines.extend(_preview_lines(result))
    if result.warnings:
        lines.append(f"Warnings ({len(result.warnings)}):")
        lines.extend(f"  {w.message}" for w in result.warnings)
    return "\n".join(lines)

"""The directory editor (issue 16, admins): OPDs, units, service types, populations and
recipients edited in the browser.

Every save is the import's own path: the database's directory as the file's data
(``current_directory`` -> ``as_document``), the one change made to it, the directory file's
validation (``bot/directory_file.check_directory``, handed in by ``bot/web_console.py``: the
same rules as ``skm-bot units import``), then ``apply_directory`` in the same transaction.
Problems are shown by their field; every change is in the audit log with who and when, and
``skm-bot units import`` warns when the web changed the directory since the last import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from handlers.web.core import Area, PageContext, Refused
from storage.directory_import import (
    ImportReport,
    OpdSpec,
    apply_directory,
    as_document,
    current_directory,
)
from storage.web import record_audit
from storage.web_directory import directory_edits_since_import
from survey_flows.web_access import Action
from survey_flows.web_directory import (
    KNOWN_PROBLEMS,
    lines,
    parse_population,
    population_text,
    problems_by_field,
)

Checker = Callable[[Any], tuple[tuple[OpdSpec, ...], list[tuple[str, str, str]]]]
DIRECTORY_CHECK: web.AppKey[Checker] = web.AppKey("web_directory_check")

area = Area("directory")
area.menu("web.dir.menu", "/direktori", Action.EDIT_DIRECTORY)

UNIT_FIELDS = ("name", "short_name", "service_types", "population", "active")
OPD_FIELDS = ("name", "short_name", "active")
RECIPIENT_FIELDS = ("role", "channel", "address", "name", "language")


@dataclass
class Saved:
    """How a save ended: the import's report, or problems by field and elsewhere."""

    report: ImportReport | None = None
    errors: dict[str, str] = field(default_factory=dict)
    elsewhere: list[str] = field(default_factory=list)


def _form(form: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _locate(doc: dict[str, Any], opd: str | None = None, unit: str | None = None) -> str:
    """The path of an OPD or a unit in the document (``opds[1].units[0]``)."""
    for i, o in enumerate(doc["opds"]):
        if opd is not None and o["code"] == opd:
            return f"opds[{i}]"
        for j, u in enumerate(o["units"]):
            if unit is not None and u["code"] == unit:
                return f"opds[{i}].units[{j}]"
    raise Refused("not_found", 404, f"no such {'OPD' if opd else 'unit'}: {opd or unit}")


def _node(doc: dict[str, Any], path: str) -> dict[str, Any]:
    node: Any = doc
    for part in filter(None, path.replace("]", "").replace("[", ".").split(".")):
        node = node[int(part)] if part.isdigit() else node[part]
    return node  # type: ignore[no-any-return]


# Where a form's fields are in the directory: (the path under the edited node, with
# ``{units}``/``{recipients}``/``{opds}`` for an entry being added; the fields there; the
# prefix of their names in the form).
Fields = tuple[tuple[str, tuple[str, ...], str], ...]


async def _save(
    ctx: PageContext, target: str, locate: Callable[[dict[str, Any]], str],
    edit: Callable[[dict[str, Any]], None], fields: Fields,
) -> Saved:  # fmt: skip
    """Change the directory as the import would, or say what is wrong by the field.

    ``locate`` finds the node to ``edit`` (an OPD, a unit, or the document: ``""``);
    problems go to the form's ``fields``, the others are listed as elsewhere."""
    check = ctx.request.app[DIRECTORY_CHECK]
    async with ctx.storage.transaction() as tx:
        doc = as_document(await current_directory(tx))
        path = locate(doc)
        node = _node(doc, path)
        counts = {key: len(node.get(key, ())) for key in ("opds", "units", "recipients")}
        prefixes = [(path + under.format(**counts), names, form) for under, names, form in fields]
        edit(node)
        specs, problems = check(doc)
        if problems:
            saved = Saved()
            rest = problems
            for prefix, names, form in prefixes:
                mine, rest = problems_by_field(rest, prefix.lstrip("."), names)
                for name, (kind, msg) in mine.items():
                    saved.errors[form + name] = _problem(ctx, kind, msg, name)
            if any(name.endswith("code") for name in saved.errors):
                # The other use of a code is not a problem elsewhere: this entry's is.
                rest = [p for p in rest if p[1] != "duplicate"]
            saved.elsewhere = [f"{where}: {_problem(ctx, kind, msg)}" for where, kind, msg in rest]
            return saved
        report = await apply_directory(tx, specs, ctx.now)
        # In the same transaction as the change: no change without its audit line.
        changes = [*report.added, *report.changed, *report.deactivated]
        await record_audit(tx, ctx.now, ctx.principal, ctx.action,
                           "ok" if changes else "unchanged", target=target,
                           detail="; ".join(changes) or None)  # fmt: skip
    return Saved(report=report)


# The file's own rules (validators) worded for the console, by the field they check.
FIELD_PROBLEMS = {
    "population": "web.dir.error.population_period",
    "service_types": "web.dir.error.services_unique",
}


def _problem(ctx: PageContext, kind: str, message: str, name: str = "") -> str:
    if kind == "value_error" and name in FIELD_PROBLEMS:
        return ctx.t(FIELD_PROBLEMS[name])
    if kind in KNOWN_PROBLEMS and kind != "value_error":
        return ctx.t(f"web.dir.error.{kind}")
    return message.removeprefix("Value error, ")


async def _audit_save(ctx: PageContext, target: str, saved: Saved) -> None:
    """A refused save's audit line (a saved one's is written with the change)."""
    if saved.report is None:
        await ctx.audit("rejected", target=target, detail=", ".join(sorted(saved.errors)) or
                        "elsewhere")  # fmt: skip


async def _directory_page(
    ctx: PageContext, *, saved: str | None = None, new: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None, elsewhere: list[str] | None = None,
    status: int = 200,
) -> web.Response:  # fmt: skip
    async with ctx.storage.reading() as tx:
        specs = await current_directory(tx)
        edits = await directory_edits_since_import(tx)
    return ctx.render("directory.html", status=status, opds=specs, edits=edits,
                      zone=ctx.config.zone, saved=saved, new=new or {}, errors=errors or {},
                      elsewhere=elsewhere or [])  # fmt: skip


@area.page("/direktori", action=Action.EDIT_DIRECTORY, name="directory.view")
async def directory(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return await _directory_page(ctx, saved=request.query.get("disimpan"))


def _new_unit(form: Mapping[str, str], prefix: str = "") -> dict[str, Any]:
    return {"code": form.get(prefix + "code", "").strip(), "name": form.get(prefix + "name", ""),
            "short_name": None, "service_types": lines(form.get(prefix + "service_types", "")),
            "population": {}, "active": True}  # fmt: skip


NEW_UNIT_FIELDS = ("code", "name", "service_types")


@area.page("/direktori/opd-baru", action=Action.EDIT_DIRECTORY, method="POST",
           name="directory.new_opd")  # fmt: skip
async def new_opd(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    """A new OPD with its first unit (the file's rules: an OPD has at least one unit)."""
    form = _form(await request.post())
    code = form.get("code", "").strip()

    def edit(doc: dict[str, Any]) -> None:
        doc["opds"].append({"code": code, "name": form.get("name", ""), "short_name": None,
                            "active": True, "recipients": [],
                            "units": [_new_unit(form, "unit_")]})  # fmt: skip

    saved = await _save(ctx, f"opd {code[:40]}", lambda doc: "", edit,
                        (("opds[{opds}]", ("code", "name"), ""),
                         ("opds[{opds}].units[0]", NEW_UNIT_FIELDS, "unit_")))  # fmt: skip
    await _audit_save(ctx, f"opd {code[:40]}", saved)
    if saved.report is not None:
        raise ctx.redirect("/direktori?disimpan=" + code)
    return await _directory_page(ctx, new=form, errors=saved.errors, elsewhere=saved.elsewhere,
                                 status=400)  # fmt: skip


# --- units ---------------------------------------------------------------------------------------


async def _unit_values(ctx: PageContext, code: str) -> dict[str, str]:
    async with ctx.storage.reading() as tx:
        specs = await current_directory(tx)
    for opd in specs:
        for unit in opd.units:
            if unit.code == code:
                return {"name": unit.name, "short_name": unit.short_name or "",
                        "service_types": "\n".join(unit.service_types),
                        "population": population_text(unit.population),
                        "active": "1" if unit.active else "", "opd_name": opd.name}  # fmt: skip
    raise Refused("not_found", 404, f"no unit {code}")


@area.page("/direktori/unit/{unit}", action=Action.EDIT_DIRECTORY, name="directory.unit_form")
async def unit_form(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    code = request.match_info["unit"]
    values = await _unit_values(ctx, code)
    return ctx.render("directory_unit.html", code=code, values=values, errors={}, elsewhere=[])


@area.page("/direktori/unit/{unit}", action=Action.EDIT_DIRECTORY, method="POST",
           name="directory.unit")  # fmt: skip
async def unit_save(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    code = request.match_info["unit"]
    form = _form(await request.post())
    population, population_error = parse_population(form.get("population", ""))

    def edit(unit: dict[str, Any]) -> None:
        unit.update(name=form.get("name", ""),
                    short_name=form.get("short_name", "").strip() or None,
                    service_types=lines(form.get("service_types", "")), population=population,
                    active=form.get("active") == "1")  # fmt: skip

    if population_error is not None:
        saved = Saved(errors={"population": ctx.t(population_error)})
    else:
        saved = await _save(
            ctx, f"unit {code}", lambda doc: _locate(doc, unit=code), edit, (("", UNIT_FIELDS, ""),)
        )
    await _audit_save(ctx, f"unit {code}", saved)
    if saved.report is not None:
        raise ctx.redirect("/direktori?disimpan=" + code)
    values = {**form, "opd_name": (await _unit_values(ctx, code))["opd_name"]}
    return ctx.render("directory_unit.html", status=400, code=code, values=values,
                      errors=saved.errors, elsewhere=saved.elsewhere)  # fmt: skip


# --- OPDs and their recipients -------------------------------------------------------------------


async def _opd(ctx: PageContext, code: str) -> OpdSpec:
    async with ctx.storage.reading() as tx:
        specs = await current_directory(tx)
    for opd in specs:
        if opd.code == code:
            return opd
    raise Refused("not_found", 404, f"no OPD {code}")


def _opd_page(
    ctx: PageContext, opd: OpdSpec, *, values: Mapping[str, str] | None = None,
    new: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None,
    new_errors: Mapping[str, str] | None = None, elsewhere: list[str] | None = None,
    unit: Mapping[str, str] | None = None, unit_errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> web.Response:  # fmt: skip
    shown = values or {"name": opd.name, "short_name": opd.short_name or "",
                       "active": "1" if opd.active else ""}  # fmt: skip
    return ctx.render("directory_opd.html", status=status, opd=opd, values=shown,
                      new=new or {"language": "id"}, errors=errors or {},
                      new_errors=new_errors or {}, elsewhere=elsewhere or [],
                      unit=unit or {}, unit_errors=unit_errors or {})  # fmt: skip


@area.page("/direktori/opd/{opd}", action=Action.EDIT_DIRECTORY, name="directory.opd_form")
async def opd_form(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    return _opd_page(ctx, await _opd(ctx, request.match_info["opd"]))


@area.page("/direktori/opd/{opd}", action=Action.EDIT_DIRECTORY, method="POST",
           name="directory.opd")  # fmt: skip
async def opd_save(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    code = request.match_info["opd"]
    form = _form(await request.post())

    def edit(opd: dict[str, Any]) -> None:
        opd.update(name=form.get("name", ""),
                   short_name=form.get("short_name", "").strip() or None,
                   active=form.get("active") == "1")  # fmt: skip

    saved = await _save(ctx, f"opd {code}", lambda doc: _locate(doc, opd=code), edit,
                        (("", OPD_FIELDS, ""),))  # fmt: skip
    await _audit_save(ctx, f"opd {code}", saved)
    if saved.report is not None:
        raise ctx.redirect("/direktori?disimpan=" + code)
    return _opd_page(ctx, await _opd(ctx, code), values=form, errors=saved.errors,
                     elsewhere=saved.elsewhere, status=400)  # fmt: skip


@area.page("/direktori/opd/{opd}/penerima", action=Action.EDIT_DIRECTORY, method="POST",
           name="directory.recipients")  # fmt: skip
async def recipients_save(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    """Add a recipient, or remove one (``remove`` = its position in the OPD's list)."""
    code = request.match_info["opd"]
    form = _form(await request.post())
    removing = form.get("remove")
    new = {name: form.get(name, "").strip() for name in RECIPIENT_FIELDS}

    def edit(opd: dict[str, Any]) -> None:
        if removing is None:
            opd["recipients"].append(new)
        elif removing.isdigit() and int(removing) < len(opd["recipients"]):
            del opd["recipients"][int(removing)]
        else:
            raise Refused("bad_input", 400, "no such recipient")

    # A new recipient's problems are at recipients[<the count before it>].<field>.
    saved = await _save(ctx, f"recipients {code}", lambda doc: _locate(doc, opd=code), edit,
                        ((".recipients[{recipients}]", RECIPIENT_FIELDS, ""),))  # fmt: skip
    await _audit_save(ctx, f"recipients {code}", saved)
    if saved.report is not None:
        raise ctx.redirect(f"/direktori/opd/{code}?disimpan=1")
    return _opd_page(ctx, await _opd(ctx, code), new=new, new_errors=saved.errors,
                     elsewhere=saved.elsewhere, status=400)  # fmt: skip


@area.page("/direktori/opd/{opd}/unit-baru", action=Action.EDIT_DIRECTORY, method="POST",
           name="directory.new_unit")  # fmt: skip
async def new_unit(request: web.Request, ctx: PageContext) -> web.StreamResponse:
    code = request.match_info["opd"]
    form = _form(await request.post())
    unit = _new_unit(form)

    def edit(opd: dict[str, Any]) -> None:
        opd["units"].append(unit)

    saved = await _save(ctx, f"unit {unit['code'][:40]}", lambda doc: _locate(doc, opd=code),
                        edit, ((".units[{units}]", NEW_UNIT_FIELDS, ""),))  # fmt: skip
    await _audit_save(ctx, f"unit {unit['code'][:40]}", saved)
    if saved.report is not None:
        raise ctx.redirect("/direktori?disimpan=" + unit["code"])
    return _opd_page(ctx, await _opd(ctx, code), unit=form, unit_errors=saved.errors,
                     elsewhere=saved.elsewhere, status=400)  # fmt: skip

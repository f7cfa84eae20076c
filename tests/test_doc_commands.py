"""Every command the documentation shows is one the CLI accepts as written (its parser; what each does is tested
with the command).

Each line that starts with ``klad `` in a ```sh, ```bash or ```console block of README.md or docs/*.md
(not the reports under docs/results/) is parsed by klad's own argument parser; each ``make X`` names a
target of the Makefile; docs/reference.md describes every subcommand and every option the parser has; and
``RUN_BY`` names, for each kind of ``klad`` command shown, the tests that run it (or says that none does).
Placeholders such as ``EXP.toml`` or ``S.toml`` are fine: the parser opens no file.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from sim.app.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: A fenced block of shell commands: its language and its body.
BLOCK = re.compile(r"^```(sh|bash|console|shell)[^\n]*\n(.*?)^```", flags=re.MULTILINE | re.DOTALL)
#: ``make ...`` in an inline code span of the prose.
INLINE_MAKE = re.compile(r"`(make(?: [^`]*)?)`")


def shell_lines(text: str) -> list[str]:
    """The command lines of the text's shell blocks: continuation lines joined, a console's ``$ `` removed."""
    lines = []
    for lang, body in BLOCK.findall(text):
        body = body.replace("\\\n", " ")
        for line in body.splitlines():
            line = line.strip()
            if lang == "console":
                if not line.startswith("$ "):
                    continue  # output, not a command
                line = line[2:]
            if line:
                lines.append(line)
    return lines


def commands(prefix: str) -> list[tuple[str, str]]:
    """``(page, line)`` for each line of a shell block that starts with ``prefix`` and a space."""
    found = [(p.relative_to(ROOT).as_posix(), line) for p in PAGES for line in shell_lines(p.read_text("utf-8"))]
    return [(page, line) for page, line in found if line.startswith(prefix + " ") or line == prefix]


def parse(words: list[str]) -> str | None:
    """None if ``klad WORDS`` parses, else the parser's complaint."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            build_parser().parse_args(words)
    except SystemExit as exc:
        if exc.code not in (0, None):  # --help and --version exit with 0
            return err.getvalue().strip() or f"exit {exc.code}"
    return None


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, flags=re.MULTILINE)}


def make_goals(command: str) -> list[str]:
    """The goals of a ``make`` command: its words that are neither options nor ``VAR=value``."""
    words = shlex.split(command, comments=True)[1:]
    return [w for w in words if not w.startswith("-") and "=" not in w]


KLAD = commands("klad")


def test_the_docs_show_klad_commands():
    pages = {page for page, _ in KLAD}
    assert len(KLAD) >= 30 and {"README.md", "docs/reference.md", "docs/hypotheses.md"} <= pages, pages


@pytest.mark.parametrize(
    ("page", "line"), KLAD, ids=[f"{p}: {shlex.join(shlex.split(c, comments=True))}" for p, c in KLAD]
)
def test_every_klad_command_shown_parses(page, line):
    words = shlex.split(line, comments=True)
    assert words[0] == "klad"
    problem = parse(words[1:])
    assert problem is None, f"{page}: `{line}` is refused: {problem}"


def test_a_wrong_command_is_caught():
    assert parse(["run"]) is not None  # no scenario
    assert parse(["sweep", "EXP.toml", "--again"]) is not None  # no such option
    assert parse(["hypotheses", "--quick", "--setting", "maybe"]) is not None
    assert parse(["run", "S.toml", "--record", "shops,purchases,couriers"]) is None
    assert shell_lines("```sh\nklad run S.toml \\\n  --reps 2   # two\n```\n") == [
        "klad run S.toml    --reps 2   # two"
    ]
    assert shell_lines("```console\n$ klad params\nname kind\n```\n") == ["klad params"]


def test_every_make_target_shown_is_in_the_makefile():
    targets = make_targets()
    assert {"run", "test", "test-fast", "lint", "bench", "site", "lock", "clean", "venv"} <= targets
    shown = [(page, line) for page, line in commands("make")]
    for path in PAGES:
        page = path.relative_to(ROOT).as_posix()
        prose = BLOCK.sub("", path.read_text(encoding="utf-8"))
        shown += [(page, m.group(1)) for m in INLINE_MAKE.finditer(prose.replace("\n", " "))]
    assert len(shown) >= 10
    unknown = [(page, line) for page, line in shown for goal in make_goals(line) if goal not in targets]
    assert not unknown, f"make targets that the Makefile does not have: {unknown}"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


@pytest.mark.parametrize("name", list(_subcommands()))
def test_the_reference_describes_every_subcommand_and_option(name):
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    heading = f"\n## klad {name}\n"
    assert heading in text, f"docs/reference.md has no section {heading.strip()}"
    section = text[text.index(heading) :].split("\n## ")[1]
    options = {o for a in _subcommands()[name]._actions for o in a.option_strings} - {"-h", "--help"}
    shared = {"--workers", "--scheduler", "--quiet"}  # described once, above the sections
    missing = sorted(o for o in options - shared if f"`{o}`" not in section)
    assert not missing, f"docs/reference.md, klad {name}: options not described: {missing}"
    assert f"[`klad {name}`](#klad-{name})" in text, f"the table of commands has no row for klad {name}"


def command_key(line: str) -> str:
    """A shown command by what it asks: its subcommand and the options it gives (``sweep --resume``)."""
    words = shlex.split(line, comments=True)[1:]
    return " ".join([words[0], *sorted({w for w in words[1:] if w.startswith("--")})])


#: Each kind of command the docs show, by ``command_key``, and the tests that run it on a small case (small files,
#: days and replications) or, for a long run, its machinery; a string instead says why no test runs it.
RUN_BY = {
    "run --days --reps": ("test_cli.py::test_output_files_are_readable_by_others",),
    "run --days --out --reps --seed --workers": (
        "test_cli.py::test_interrupted_run_leaves_no_half_written_file_and_rerun_completes",
        "test_sweep.py::test_dask_cluster_gives_the_local_result",
    ),
    "compare": ("test_cli.py::test_compare_common_random_numbers_and_paired_changes",),
    "compare --reps": ("test_cli.py::test_compare_common_random_numbers_and_paired_changes",),
    "calibrate --budget --workers": ("test_calibration.py::test_klad_calibrate_writes_its_outputs_and_resumes",),
    "calibrate --budget --worlds": (
        "test_calibration.py::test_a_joint_calibration_fits_the_worlds_uncertainties_over_their_registry_priors",
    ),
    "validate": ("test_validation.py::test_shipped_baseline_passes_every_target",),
    "params": ("test_cli.py::test_params_shows_the_values_a_scenario_runs_with",),
    "params --scenario": ("test_cli.py::test_params_shows_the_values_a_scenario_runs_with",),
    "params --markdown": ("test_cli.py::test_params_markdown_lists_every_parameter",),
    "demo": ("test_faults.py::test_demo_on_a_public_host_needs_yes_public_and_caps_sessions",),
    "demo --scenario": (
        "test_demo.py::test_scenarios_offered_by_name_with_an_extra_file_first",
        "test_demo.py::test_demo_bad_input_one_line_exit_2",
    ),
    "demo --host --port --yes-public": (
        "test_faults.py::test_demo_on_a_public_host_needs_yes_public_and_caps_sessions",
    ),
    "sweep": ("test_sweep.py::test_klad_sweep_morris_writes_everything",),
    "sweep --scheduler": ("test_sweep.py::test_dask_cluster_gives_the_local_result",),
    "sweep --resume": ("test_sweep.py::test_killed_sweep_resumes_to_the_uninterrupted_result",),
    "sweep --resume --retry-failed": ("test_events.py::test_resume_can_retry_the_failed_runs",),
    "hypotheses": ("test_hypotheses.py::test_klad_hypotheses_verdicts_come_from_the_runs",),
    "hypotheses --quick": (
        "test_hypotheses.py::test_klad_hypotheses_runs_each_structural_alternative_and_holds_arms_to_the_regime",
        "test_hypotheses.py::test_quick_uses_fewer_runs",
    ),
    "hypotheses --quick --setting": ("test_hypotheses.py::test_each_verdict_can_go_both_ways",),
    "hypotheses --worlds": ("test_worlds.py::test_a_hypothesis_runs_in_every_world_and_its_effect_is_emulated",),
    "hypotheses --only --resume": (
        "test_hypotheses.py::test_unknown_hypothesis_id",
        "test_hypotheses.py::test_klad_hypotheses_verdicts_come_from_the_runs",
    ),
    "hypotheses --horizon --reps --seed": (
        "test_hypotheses.py::test_a_horizon_shorter_than_the_summary_window_is_refused",
        "test_hypotheses.py::test_klad_hypotheses_verdicts_come_from_the_runs",
    ),
    "hypotheses --reps --resume": ("test_hypotheses.py::test_klad_hypotheses_verdicts_come_from_the_runs",),
    "hypotheses --scheduler": ("test_sweep.py::test_dask_cluster_gives_the_local_result",),
    "optimize --workers": ("test_optimize.py::test_klad_optimize_writes_the_front_its_figure_and_the_regret",),
    "optimize --resume --workers": ("test_optimize.py::test_klad_optimize_writes_the_front_its_figure_and_the_regret",),
}


def _test_functions(file: str) -> set[str]:
    import ast

    tree = ast.parse((ROOT / "tests" / file).read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test")}


def test_every_shown_command_names_the_tests_that_run_it():
    shown = {command_key(line) for _, line in KLAD}
    missing = sorted(shown - set(RUN_BY))
    assert not missing, f"add to RUN_BY the tests that run these commands the docs show: {missing}"
    stale = sorted(set(RUN_BY) - shown)
    assert not stale, f"RUN_BY names commands the docs no longer show: {stale}"
    for key, tests in RUN_BY.items():
        if isinstance(tests, str):
            assert tests.startswith("no test"), key  # a gap, said in words
            continue
        for test in tests:
            file, name = test.split("::")
            assert name in _test_functions(file), f"{key}: {test} is no test"

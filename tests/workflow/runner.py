"""A small local runner of GitHub Actions workflows and composite actions, for the tests.

It runs what can run here for real: every ``run`` script in bash exactly as GitHub does
(``bash --noprofile --norc -eo pipefail`` for ``shell: bash``, ``bash -e`` by default), with
GitHub's default environment variables, ``$GITHUB_OUTPUT``, ``$GITHUB_STEP_SUMMARY``,
``$GITHUB_ENV``, step outputs, ``if:`` conditions, a composite action's inputs (with their
defaults) and outputs. Only what cannot run here is stood in for: ``actions/checkout`` (the
test prepares the workspace), ``actions/setup-python`` (this interpreter) and
``actions/upload-artifact`` (recorded). A ``uses:`` named in ``actions`` runs that local
``action.yml``, which is how the example workflows run this repository's action.

Expressions are the subset of GitHub's that our files use: property lookups, string and
number literals, ``== != && || !``, parentheses and the status functions. Anything else
raises, so a new construct fails a test here instead of being skipped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# Variables of the host that would leak into what the runner runs.
_HOST_VARIABLES = {
    "LAUNCHDARKLY_ACCESS_TOKEN",
    "LD_ACCESS_TOKEN",
    "LAUNCHDARKLY_BASE_URL",
    "LD_RECONCILER_CA_BUNDLE",
    "GH_TOKEN",
    "NO_COLOR",
    "VIRTUAL_ENV",
}
_SHELLS = {
    None: ["bash", "-e"],
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"],
    "sh": ["sh", "-e"],
}
_STATUS_FUNCTIONS = ("success()", "failure()", "always()", "cancelled()")


class UnsupportedError(Exception):
    """The workflow uses something this runner does not implement."""


# --- expressions --------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)(?![\w.])"
    r"|(?P<op>==|!=|&&|\|\||!|\(|\))|(?P<name>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip():
                raise UnsupportedError(f"expression {text!r}: cannot read {text[pos:]!r}")
            break
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match[kind]))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, contexts: Mapping[str, Any], status: Mapping[str, bool]) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0
        self.contexts = contexts
        self.status = status

    def parse(self) -> Any:
        value = self._or()
        if self.pos != len(self.tokens):
            raise UnsupportedError(f"expression {self.text!r}: unexpected {self._peek()!r}")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _or(self) -> Any:
        return self._chain("||", self._and)

    def _and(self) -> Any:
        return self._chain("&&", self._not)

    def _chain(self, op: str, operand: Callable[[], Any]) -> Any:
        """``a || b`` is ``a`` if it is truthy, else ``b``; ``a && b`` is ``b`` if ``a`` is
        truthy, else ``a`` (both sides are read either way: reading has no side effects)."""
        value = operand()
        while self._peek() == op:
            self._take()
            right = operand()
            if _truthy(value) != (op == "||"):
                value = right
        return value

    def _not(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not _truthy(self._not())
        return self._comparison()

    def _comparison(self) -> Any:
        left = self._primary()
        if self._peek() in ("==", "!="):
            op = self._take()[1]
            equal = _equal(left, self._primary())
            return equal if op == "==" else not equal
        return left

    def _primary(self) -> Any:
        kind, text = self._take()
        if text == "(":
            value = self._or()
            if self._take()[1] != ")":
                raise UnsupportedError(f"expression {self.text!r}: missing )")
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if kind != "name":
            raise UnsupportedError(f"expression {self.text!r}: unexpected {text!r}")
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        if self._peek() == "(":
            self._take()
            if self._take()[1] != ")" or f"{text}()" not in _STATUS_FUNCTIONS:
                raise UnsupportedError(f"expression {self.text!r}: function {text}")
            return self.status[text]
        return _lookup(self.contexts, text)


def _lookup(contexts: Mapping[str, Any], name: str) -> Any:
    head, *rest = name.split(".")
    if head not in contexts:
        raise UnsupportedError(f"unknown context {head!r} in {name!r}")
    value = contexts[head]
    for part in rest:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, 0.0, "")


def _number(value: Any) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _equal(left: Any, right: Any) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    if type(left) is type(right):
        return bool(left == right)
    return _number(left) == _number(right)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def evaluate(text: str, contexts: Mapping[str, Any], status: Mapping[str, bool]) -> Any:
    return _Parser(text, contexts, status).parse()


def interpolate(value: Any, contexts: Mapping[str, Any], status: Mapping[str, bool]) -> str:
    """``value`` with each ``${{ expression }}`` replaced by its value."""
    return re.sub(
        r"\$\{\{(.*?)\}\}",
        lambda m: _text(evaluate(m[1], contexts, status)),
        _text(value),
        flags=re.S,
    )


def condition(value: Any, contexts: Mapping[str, Any], status: Mapping[str, bool]) -> bool:
    """An ``if:``: a bare or ``${{ }}`` expression, with GitHub's implicit ``success() &&``."""
    if value is None:
        return status["success"]
    text = str(value).strip()
    if isinstance(value, bool):
        text = "true" if value else "false"
    match = re.fullmatch(r"\$\{\{(.*)\}\}", text, flags=re.S)
    if match:
        text = match[1]
    if not any(f in text for f in _STATUS_FUNCTIONS):
        text = f"success() && ({text})"
    return _truthy(evaluate(text, contexts, status))


# --- running --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Annotation:
    level: str
    properties: str
    message: str


@dataclass
class Run:
    """What a workflow or an action did."""

    ok: bool = True
    log: str = ""
    summary: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    artifacts: list[dict[str, str]] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)  # names of the steps that ran

    @property
    def annotations(self) -> list[Annotation]:
        found = []
        for line in self.log.splitlines():
            match = re.match(r"::(error|warning|notice)( [^:]*)?::(.*)", line)
            if match:
                found.append(Annotation(match[1], (match[2] or "").strip(), match[3]))
        return found


@dataclass
class Runner:
    """Runs workflows and actions in ``workspace``, as a job on a GitHub-hosted runner would."""

    workspace: Path
    temp: Path
    event_name: str
    event: dict[str, Any]
    repository: str = "acme/flags"
    ref: str = "refs/heads/main"
    token: str = "ghs_runnerToken"
    api_url: str = "https://api.github.com"
    secrets: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    actions: dict[str, Path] = field(default_factory=dict)  # "owner/name" -> local action dir

    def __post_init__(self) -> None:
        self.temp.mkdir(parents=True, exist_ok=True)
        self._files = self.temp.parent / f"{self.temp.name}-files"
        self._files.mkdir(parents=True, exist_ok=True)
        self._event_path = self._files / "event.json"
        self._event_path.write_text(json.dumps(self.event), encoding="utf-8")
        self._count = 0
        self._git_config = self._files / "gitconfig"
        self._git_config.touch()

    # -- contexts and environment --

    def github_context(self, action_path: Path | None = None) -> dict[str, Any]:
        return {
            "event_name": self.event_name,
            "event": self.event,
            "repository": self.repository,
            "ref": self.ref,
            "ref_name": self.ref.rsplit("/", 1)[-1],
            "sha": "0" * 40,
            "token": self.token,
            "workspace": str(self.workspace),
            "action_path": str(action_path) if action_path else "",
            "server_url": "https://github.com",
            "api_url": self.api_url,
            "run_id": "4242",
        }

    def _base_env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in _HOST_VARIABLES and not k.startswith(("GITHUB_", "RUNNER_"))
        }
        no_proxy = ",".join(filter(None, [env.get("NO_PROXY", ""), "127.0.0.1,localhost"]))
        env.update(
            {
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_EVENT_NAME": self.event_name,
                "GITHUB_EVENT_PATH": str(self._event_path),
                "GITHUB_REPOSITORY": self.repository,
                "GITHUB_REF": self.ref,
                "GITHUB_REF_NAME": self.ref.rsplit("/", 1)[-1],
                "GITHUB_SHA": "0" * 40,
                "GITHUB_SERVER_URL": "https://github.com",
                "GITHUB_API_URL": self.api_url,
                "GITHUB_RUN_ID": "4242",
                "RUNNER_OS": "Linux",
                "RUNNER_TEMP": str(self.temp),
                "NO_PROXY": no_proxy,
                # No identity or settings of the host's git: a script must bring its own.
                "GIT_CONFIG_GLOBAL": str(self._git_config),
                "GIT_CONFIG_NOSYSTEM": "1",
            }
        )
        env.update(self.env)
        return env

    # -- entry points --

    def run_workflow(self, path: Path) -> Run:
        workflow = _load(path)
        (job,) = workflow["jobs"].values()
        run = Run()
        contexts = {
            "github": self.github_context(),
            "secrets": self.secrets,
            "runner": {"temp": str(self.temp), "os": "Linux"},
            "env": {},
            "steps": run.steps,
        }
        env = {**_interpolate_map(workflow.get("env"), contexts, _status(run.ok))}
        env.update(_interpolate_map(job.get("env"), contexts, _status(run.ok)))
        contexts["env"] = env
        self._steps(job["steps"], contexts, run, env, composite=False)
        return run

    def run_action(self, action_dir: Path, inputs: Mapping[str, str]) -> Run:
        run = Run()
        outputs = self._composite(action_dir, dict(inputs), run, {})
        run.outputs = outputs
        return run

    # -- steps --

    def _steps(
        self,
        steps: list[dict[str, Any]],
        contexts: dict[str, Any],
        run: Run,
        env: dict[str, str],
        *,
        composite: bool,
        action_path: Path | None = None,
    ) -> None:
        for index, step in enumerate(steps):
            step_id = step.get("id", f"__step{index}")
            name = step.get("name") or step.get("uses") or step.get("run", "").split("\n")[0]
            if not condition(step.get("if"), contexts, _status(run.ok)):
                run.steps[step_id] = {"outputs": {}, "outcome": "skipped"}
                continue
            run.ran.append(name)
            step_env = {**env, **_interpolate_map(step.get("env"), contexts, _status(run.ok))}
            if "uses" in step:
                outputs, ok = self._uses(step, contexts, run, step_env)
            else:
                if composite and "shell" not in step:
                    raise UnsupportedError(f"composite step {name!r} has no shell")
                outputs, ok = self._run(step, contexts, run, step_env, action_path)
            run.steps[step_id] = {"outputs": outputs, "outcome": "success" if ok else "failure"}
            if not ok and not step.get("continue-on-error"):
                run.ok = False

    def _uses(
        self, step: dict[str, Any], contexts: dict[str, Any], run: Run, env: dict[str, str]
    ) -> tuple[dict[str, str], bool]:
        uses: str = step["uses"]
        name, _, _ref = uses.partition("@")
        given = {
            k: interpolate(v, contexts, _status(run.ok))
            for k, v in (step.get("with") or {}).items()
        }
        if name in self.actions:
            inner = Run()
            outputs = self._composite(self.actions[name], given, inner, env)
            run.log += inner.log
            run.summary += inner.summary
            run.ran += [f"{name}: {s}" for s in inner.ran]
            return outputs, inner.ok
        if name == "actions/checkout":
            return {}, True
        if name == "actions/setup-python":
            return {"python-path": sys.executable, "python-version": given["python-version"]}, True
        if name == "actions/upload-artifact":
            run.artifacts.append(given)
            return {}, True
        raise UnsupportedError(f"uses: {uses}")

    def _composite(
        self, action_dir: Path, given: dict[str, str], run: Run, env: dict[str, str]
    ) -> dict[str, str]:
        action = _load(action_dir / "action.yml")
        declared = action.get("inputs") or {}
        unknown = set(given) - set(declared)
        if unknown:
            raise UnsupportedError(f"{action_dir}: unexpected inputs {sorted(unknown)}")
        github = self.github_context(action_dir)
        outer = {"github": github, "runner": {"temp": str(self.temp)}}
        inputs = {}
        for key, spec in declared.items():
            if key in given:
                inputs[key] = given[key]
            elif spec.get("required") and "default" not in spec:
                raise UnsupportedError(f"{action_dir}: the required input {key} is missing")
            else:
                inputs[key] = interpolate(spec.get("default", ""), outer, _status(True))
        steps: dict[str, dict[str, Any]] = {}
        contexts = {**outer, "inputs": inputs, "steps": steps, "env": env}
        inner = Run(steps=steps)
        composite_env = {**env, "GITHUB_ACTION_PATH": str(action_dir)}
        self._steps(
            action["runs"]["steps"],
            contexts,
            inner,
            composite_env,
            composite=True,
            action_path=action_dir,
        )
        run.ok = run.ok and inner.ok
        run.log += inner.log
        run.summary += inner.summary
        run.ran += inner.ran
        run.steps.update(steps)
        return {
            key: interpolate(spec.get("value", ""), contexts, _status(True))
            for key, spec in (action.get("outputs") or {}).items()
        }

    def _run(
        self,
        step: dict[str, Any],
        contexts: dict[str, Any],
        run: Run,
        env: dict[str, str],
        action_path: Path | None,
    ) -> tuple[dict[str, str], bool]:
        self._count += 1
        script = interpolate(step["run"], contexts, _status(run.ok))
        files = {
            name: self._files / f"{self._count}.{name}"
            for name in ("script", "output", "summary", "env", "path")
        }
        files["script"].write_text(script, encoding="utf-8")
        for name in ("output", "summary", "env", "path"):
            files[name].write_text("", encoding="utf-8")
        process_env = {**self._base_env(), **env}
        process_env.update(
            {
                "GITHUB_OUTPUT": str(files["output"]),
                "GITHUB_STEP_SUMMARY": str(files["summary"]),
                "GITHUB_ENV": str(files["env"]),
                "GITHUB_PATH": str(files["path"]),
            }
        )
        if action_path is not None:
            process_env["GITHUB_ACTION_PATH"] = str(action_path)
        shell = step.get("shell")
        if shell not in _SHELLS:
            raise UnsupportedError(f"shell: {shell}")
        cwd = self.workspace / step.get("working-directory", ".")
        completed = subprocess.run(
            [*_SHELLS[shell], str(files["script"])],
            cwd=cwd,
            env=process_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
            check=False,
        )
        run.log += completed.stdout
        run.summary += files["summary"].read_text(encoding="utf-8")
        contexts["env"].update(_key_values(files["env"].read_text(encoding="utf-8")))
        return _key_values(files["output"].read_text(encoding="utf-8")), completed.returncode == 0


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    return data


def _status(ok: bool) -> dict[str, bool]:
    return {"success": ok, "failure": not ok, "always": True, "cancelled": False}


def _interpolate_map(
    values: Mapping[str, Any] | None, contexts: Mapping[str, Any], status: Mapping[str, bool]
) -> dict[str, str]:
    return {k: interpolate(v, contexts, status) for k, v in (values or {}).items()}


def _key_values(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT``'s format: ``name=value`` lines and ``name<<DELIMITER`` blocks."""
    values: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            values[key] = "\n".join(block)
        elif "=" in line:
            key, value = line.split("=", 1)
            values[key] = value
    return values

"""``obsgen stack``: Prometheus, Alertmanager, Grafana and the demo, with or without Docker.

With a Docker engine it runs the servers with ``stack/docker-compose.yml``. Without one (a
common case, and ours in CI) it starts the same programs from PATH as local processes on the
generated files, with a state folder for their data, pid files and logs, and waits until each
is ready. The demo is always a local process: it is this obsgen, already installed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from obsgen import paths
from obsgen.config import Config
from obsgen.plan.servers import VMALERT_PORT, Servers, servers

from . import postgres_local, state_files
from .state_files import ProcessRecord, UnsafeStateError

COMPOSE_FILE = "stack/docker-compose.yml"
GRAFANA_PROVISIONING = "stack/grafana/provisioning"
ENV_FILE = "stack/.env"
#: Every component the local stack may run, in the order it starts them (``demo-2`` ... and
#: ``scraper-1`` ... after the kind they are numbered in).
COMPONENT_NAMES = (
    "postgres",
    "demo",
    "alertmanager",
    "victoria-metrics",
    "vmalert",
    "scraper",
    "prometheus",
    "grafana",
)
#: How to move each kind of component to another port.
MOVE_PORT = {
    "prometheus": "move it with --prometheus-port",
    "grafana": "move it with --grafana-port",
    "alertmanager": "move it with prometheus.alertmanagers in obsgen.yaml",
    "demo": "move it with prometheus.scrape.targets in obsgen.yaml (the demo's port)",
    "postgres": "move it with --postgres-port",
    "victoria-metrics": "move it with topology.store.query_url in obsgen.yaml",
    "vmalert": "move it with --vmalert-port",
    "scraper": "move the scrapers with --scraper-port",
}
READY_TIMEOUT = 60.0
INSTALL_HINTS = {
    "prometheus": "apt-get install prometheus (Debian, Ubuntu) or prometheus.io/download",
    "victoria-metrics": "apt-get install victoria-metrics (Debian, Ubuntu) or "
    "docs.victoriametrics.com (it brings vmalert and vmagent too)",
    "vmalert": "apt-get install victoria-metrics (Debian, Ubuntu) or docs.victoriametrics.com",
    "vmagent": "apt-get install victoria-metrics (Debian, Ubuntu) or docs.victoriametrics.com",
    "alertmanager": "apt-get install prometheus-alertmanager or prometheus.io/download",
    "grafana": "grafana.com/grafana/download (optional: the stack runs without it)",
}


def kind_of(name: str) -> str:
    """What a component is, without its number in a set of replicas (``scraper-2``: scraper)."""
    base, _, number = name.rpartition("-")
    return base if base and number.isdigit() else name


def start_order(name: str) -> tuple[int, int]:
    """Where a component starts: by its kind, then its number."""
    base, _, number = name.rpartition("-")
    return COMPONENT_NAMES.index(kind_of(name)), int(number) if base and number.isdigit() else 0


def default_servers() -> Servers:
    """The servers of the starter config: one Prometheus."""
    return servers(Config(), ())


class StackError(RuntimeError):
    """The stack cannot start or stop; the message says what is missing or wrong."""


@dataclass(frozen=True)
class Ports:
    """Where each component listens (always on 127.0.0.1)."""

    prometheus: int = 9090
    alertmanager: int = 9093
    grafana: int = 3000
    demo: int = 8000
    postgres: int = 5433
    #: The demo's other replicas (the scrape targets on this host after the first).
    demo_replicas: tuple[int, ...] = ()
    vmalert: int = VMALERT_PORT
    #: The first scraper of the central topology (None: its kind's usual port).
    scraper: int | None = None


@dataclass(frozen=True)
class Component:
    """One local process of the stack."""

    name: str
    command: tuple[str, ...]
    ready_url: str
    url: str
    env: dict[str, str] = field(default_factory=dict)
    #: Where it runs (the state folder if None).
    cwd: Path | None = None
    #: Who it runs as (this user if None).
    user: str | None = None
    #: What must exist before it starts (run each time it is started).
    prepare: Callable[[], None] | None = None
    #: Whether it answers, if not by HTTP at ``ready_url``.
    answers: Callable[[], bool] | None = None
    #: Generated files it reads: a rebuild that changes them has it reload (``/-/reload``).
    reloads: frozenset[str] = frozenset()
    #: Generated files that change with what it read when it started: it restarts with them.
    restarts_on: frozenset[str] = frozenset()

    @property
    def kind(self) -> str:
        return kind_of(self.name)

    @property
    def port(self) -> int:
        port = urllib.parse.urlsplit(self.ready_url).port
        assert port is not None
        return port

    def ready(self) -> bool:
        return self.answers() if self.answers is not None else http_ok(self.ready_url)


def docker_engine_answers() -> bool:
    """Whether ``docker`` is installed and an engine answers it."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:``port`` (as servers do, with SO_REUSEADDR,
    so connections of a stopped server lingering in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


MIN_PASSWORD_LENGTH = 12


def ensure_env_file(root: Path) -> str:
    """The Grafana admin password from ``stack/.env``, created with a random one if missing.

    The file is created readable by its owner only, from its first byte on. A password that
    is empty or shorter than ``MIN_PASSWORD_LENGTH`` is refused.
    """
    env_file = root / ENV_FILE
    if env_file.is_symlink() and not env_file.exists():
        raise StackError(
            f"{env_file}: a symbolic link to {os.readlink(env_file)!r}, which does not exist: "
            "remove it (a new one is made with a random password) or point it at your file"
        )
    if not env_file.exists():
        password = secrets.token_urlsafe(18)
        try:
            env_file.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another `stack up` made it meanwhile: read that one
            pass
        except OSError as exc:
            raise StackError(f"{env_file}: cannot be created: {exc.strerror}") from None
        else:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(f"GRAFANA_ADMIN_PASSWORD={password}\n")
            return password
    try:
        text = env_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StackError(f"{env_file}: cannot be read: {exc}") from None
    for line in text.splitlines():
        if line.startswith("GRAFANA_ADMIN_PASSWORD="):
            password = line.split("=", 1)[1].strip()
            if len(password) < MIN_PASSWORD_LENGTH:
                raise StackError(
                    f"{env_file}: GRAFANA_ADMIN_PASSWORD is {'empty' if not password else 'weak'}"
                    f"; use at least {MIN_PASSWORD_LENGTH} characters, or delete the file to get "
                    "a random one"
                )
            return password
    raise StackError(f"{env_file}: no GRAFANA_ADMIN_PASSWORD=... line")


class LocalStack:
    """The stack as local processes: started from PATH, recorded in ``state_dir``."""

    def __init__(
        self,
        root: Path,
        state_dir: Path,
        ports: Ports = Ports(),
        *,
        servers: Servers | None = None,
        demo_args: tuple[str, ...] = (),
        with_demo: bool = True,
        with_grafana: bool = True,
        with_servers: bool = True,
        with_postgres: bool = False,
    ) -> None:
        self.root, self.state, self.ports = root.resolve(), state_dir.resolve(), ports
        #: How the servers run: the single or the central topology, with their flags.
        self.servers = servers or default_servers()
        self.demo_args, self.with_demo, self.with_grafana = demo_args, with_demo, with_grafana
        self.with_servers = with_servers
        #: The demo's costs in a local PostgreSQL (also when one runs from an earlier ``up``).
        self.with_postgres = with_postgres or self._pid_file("postgres").exists()

    @property
    def central(self) -> bool:
        return self.servers.topology.central

    # -- what to run ------------------------------------------------------------------------

    def _binary(self, *names: str) -> str | None:
        return next((path for name in names if (path := shutil.which(name))), None)

    def _binaries(self, *kinds: tuple[str, ...]) -> list[str]:
        """The path of one program of each kind (its names, tried in order); StackError naming
        every kind with none on PATH, and how to install it."""
        found = [self._binary(*names) for names in kinds]
        missing = [names[0] for names, path in zip(kinds, found, strict=True) if path is None]
        if missing:
            raise StackError(
                "not found on PATH: "
                + "; ".join(f"{name} (install: {INSTALL_HINTS[name]})" for name in missing)
            )
        return [path for path in found if path is not None]

    def components(self) -> list[Component]:
        """The components to start, in order; raises StackError naming what is missing."""
        database = [self._postgres()] if self.with_postgres and self.with_servers else []
        demos = self._demos() if self.with_demo else []
        if not self.with_servers:
            return demos
        servers = self._central_servers() if self.central else self._servers()
        grafana = self._binary("grafana-server", "grafana") if self.with_grafana else None
        if grafana is not None:
            servers.append(self._grafana(grafana))
        return database + demos + servers

    def cost_db(self) -> str:
        """Where the demo keeps its costs: the local PostgreSQL, or a SQLite file."""
        if self.with_postgres:
            return postgres_local.url(self.ports.postgres)
        return str(self.state / "demo-costs.sqlite3")

    def _postgres(self) -> Component:
        port, folder = self.ports.postgres, self.state / "postgres"

        def prepare() -> None:
            try:
                postgres_local.prepare(folder)
            except postgres_local.PostgresError as exc:
                raise StackError(str(exc)) from None

        return Component(
            "postgres",
            postgres_local.server_command(folder / "data", port)
            if postgres_local.binary("postgres")
            else ("postgres",),
            postgres_local.url(port),
            postgres_local.url(port),
            user=postgres_local.service_user(),
            prepare=prepare,
            answers=lambda: postgres_local.accepts(port),
        )

    def _demos(self) -> list[Component]:
        """The demo, and a replica of it on each further scrape target on this host."""
        ports = (self.ports.demo, *self.ports.demo_replicas)
        return [
            self._demo("demo" if index == 0 else f"demo-{index + 1}", port, index)
            for index, port in enumerate(ports)
        ]

    def _demo(self, name: str, port: int, index: int) -> Component:
        seed = ("--seed", str(42 + index)) if index and "--seed" not in self.demo_args else ()
        return Component(
            name,
            (
                sys.executable,
                "-m",
                "obsgen",
                "demo",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--db",
                self.cost_db(),
                *self.demo_args,
                *seed,
            ),
            f"http://127.0.0.1:{port}/status",
            f"http://127.0.0.1:{port}/metrics",
            # the tracker takes the config's budgets, which the alert rules hold too
            # (LLMBudgetLimitMismatch): new rules mean the demo must restart
            restarts_on=frozenset({paths.ALERT_RULES}),
        )

    def _alertmanager(self, binary: str) -> Component:
        p, root = self.ports, self.root
        return Component(
            "alertmanager",
            (
                binary,
                f"--config.file={root / paths.ALERTMANAGER}",
                f"--storage.path={self.state / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{p.alertmanager}",
                "--cluster.listen-address=",
            ),
            f"http://127.0.0.1:{p.alertmanager}/-/ready",
            f"http://127.0.0.1:{p.alertmanager}",
            # the secret files its config names are relative to the config's folder
            cwd=(root / paths.ALERTMANAGER).parent,
            reloads=frozenset({paths.ALERTMANAGER}),
        )

    def _servers(self) -> list[Component]:
        """The single topology: Prometheus scrapes, evaluates and alerts Alertmanager."""
        prometheus, alertmanager = self._binaries(
            ("prometheus",), ("alertmanager", "prometheus-alertmanager")
        )
        port = self.ports.prometheus
        flags = self.servers.prometheus(
            str(self.root / paths.PROMETHEUS),
            str(self.state / "prometheus"),
            f"127.0.0.1:{port}",
        )
        return [
            self._alertmanager(alertmanager),
            Component(
                "prometheus",
                (prometheus, *flags),
                f"http://127.0.0.1:{port}/-/ready",
                f"http://127.0.0.1:{port}",
                reloads=frozenset({paths.PROMETHEUS, *paths.RULE_FILES}),
            ),
        ]

    def _central_servers(self) -> list[Component]:
        """The central topology: the store (when its URL is on this host), vmalert on the
        rules, Alertmanager, and the HA set of scrapers writing into the store."""
        servers, p, state = self.servers, self.ports, self.state
        kind = servers.topology.scraper
        store_binary, vmalert, alertmanager, scraper = self._binaries(
            ("victoria-metrics", "victoria-metrics-prod"),
            ("vmalert", "vmalert-prod"),
            ("alertmanager", "prometheus-alertmanager"),
            ("prometheus",) if kind == "prometheus" else ("vmagent", "vmagent-prod"),
        )
        components = [self._alertmanager(alertmanager)]
        if servers.runs_store:
            port = servers.store_port
            components.append(
                Component(
                    "victoria-metrics",
                    (store_binary, *servers.store(str(state / "store"), f"127.0.0.1:{port}")),
                    f"http://127.0.0.1:{port}/health",
                    servers.topology.store.query_url,
                )
            )
        rules = [str(self.root / path) for path in paths.RULE_FILES]
        components.append(
            Component(
                "vmalert",
                (vmalert, *servers.vmalert(rules, f"127.0.0.1:{p.vmalert}")),
                f"http://127.0.0.1:{p.vmalert}/health",
                f"http://127.0.0.1:{p.vmalert}",
                reloads=frozenset(paths.RULE_FILES),
            )
        )
        first = p.scraper if p.scraper is not None else servers.scraper_port
        ready = "/-/ready" if kind == "prometheus" else "/health"
        for index in range(servers.topology.scrapers):
            name, port = f"scraper-{index + 1}", first + index
            flags = servers.scraper(
                str(self.root / paths.SCRAPER), str(state / name), f"127.0.0.1:{port}"
            )
            components.append(
                Component(
                    name,
                    (scraper, *flags),
                    f"http://127.0.0.1:{port}{ready}",
                    f"http://127.0.0.1:{port}",
                    reloads=frozenset({paths.SCRAPER}),
                )
            )
        return components

    def _grafana(self, binary: str) -> Component:
        home = next(
            (h for h in ("/usr/share/grafana", "/usr/local/share/grafana") if Path(h).is_dir()),
            "/usr/share/grafana",
        )
        command = (binary, "server") if Path(binary).name == "grafana" else (binary,)
        return Component(
            "grafana",
            (*command, f"--homepath={home}"),
            f"http://127.0.0.1:{self.ports.grafana}/api/health",
            f"http://127.0.0.1:{self.ports.grafana}",
            env={
                "GF_PATHS_PROVISIONING": str(self.root / GRAFANA_PROVISIONING),
                "GF_PATHS_DATA": str(self.state / "grafana"),
                "GF_PATHS_LOGS": str(self.state / "logs"),
                "GF_SERVER_HTTP_ADDR": "127.0.0.1",
                "GF_SERVER_HTTP_PORT": str(self.ports.grafana),
                "GF_SECURITY_ADMIN_PASSWORD": ensure_env_file(self.root),
                "GF_USERS_ALLOW_SIGN_UP": "false",
                "OBSGEN_PROMETHEUS_URL": self.query_url,
                "OBSGEN_DASHBOARDS_DIR": str(self.root / "dashboards"),
            },
        )

    @property
    def query_url(self) -> str:
        """Where the dashboards' queries go: Prometheus, or the central store."""
        if self.central:
            return self.servers.topology.store.query_url
        return f"http://127.0.0.1:{self.ports.prometheus}"

    # -- running -----------------------------------------------------------------------------

    def _pid_file(self, name: str) -> Path:
        return self.state / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.state / "logs" / f"{name}.log"

    def _secure_state(self) -> None:
        """The state folder and its logs folder are this user's alone, or StackError."""
        try:
            state_files.secure_folder(self.state)
            state_files.secure_folder(self.state / "logs")
        except UnsafeStateError as exc:
            raise StackError(str(exc)) from None

    def _recorded(self, name: str) -> ProcessRecord | None:
        """What the pid file of ``name`` records, None if there is none (or nothing sane)."""
        try:
            text = state_files.read(self._pid_file(name))
        except UnsafeStateError as exc:
            raise StackError(str(exc)) from None
        return None if text is None else ProcessRecord.parse(text)

    def pid(self, name: str) -> int | None:
        """The pid of a running component that this stack started, None if it is not
        running (a pid now used by another process is not the component's)."""
        record = self._recorded(name)
        return record.pid if record is not None and record.running() else None

    def up(self, echo=print, changed: frozenset[str] = frozenset()) -> list[Component]:
        """Start every component not yet running and wait until each is ready. A running one
        whose files are in ``changed`` (paths relative to the root) reloads them (SIGHUP)."""
        components = self.components()
        self._secure_state()
        started: list[subprocess.Popen[bytes]] = []
        for component in components:
            pid = self.pid(component.name)
            if pid is not None and changed & component.restarts_on:
                self.down(only=[component.name])
                echo(f"{component.name} restarts to read the changed config")
                pid = None
            if pid is not None:
                reread = sorted(changed & component.reloads)
                if reread:
                    self._reload(component)
                    echo(f"{component.name} is running and reloaded {', '.join(reread)}")
                else:
                    echo(f"{component.name} is already running")
                continue
            port = component.port
            try:
                if not port_is_free(port):
                    raise StackError(
                        f"port {port} for {component.name} is in use: another stack "
                        "(`obsgen stack status`) or another program holds it; "
                        f"{MOVE_PORT[component.kind]}"
                    )
                process = self._start(component)
                started.append(process)
                self._wait_ready(component, process)
                self._record(component, process)
            except StackError:
                for each in started:  # this call's own children: stopped by their handles
                    _terminate(each.pid)
                raise
            echo(f"{component.name} ready at {component.url}")
        return components

    def _reload(self, component: Component) -> None:
        """Have ``component`` reread its files (``POST /-/reload``, which answers once it has);
        StackError with its complaint if it cannot load them."""
        request = urllib.request.Request(f"{component.url}/-/reload", data=b"", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=READY_TIMEOUT):
                return
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace").strip()
        except OSError as exc:
            detail = str(exc)
        log = self.log_file(component.name)
        raise StackError(f"{component.name} did not reload its files: {detail} (see {log})")

    def _start(self, component: Component) -> subprocess.Popen[bytes]:
        if component.prepare is not None:
            component.prepare()
        try:
            log = state_files.append(self.log_file(component.name))
        except UnsafeStateError as exc:
            raise StackError(str(exc)) from None
        try:
            process = subprocess.Popen(
                component.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=component.cwd or self.state,
                env={**os.environ, **component.env},
                start_new_session=True,
                user=component.user,
                group=component.user,
            )
        finally:
            os.close(log)
        return process

    def _record(self, component: Component, process: subprocess.Popen[bytes]) -> None:
        """Write the pid file of a started component that answers: its pid, what tells the
        process from a later one given the same pid, and where it answers."""
        name = component.name
        record = ProcessRecord.of(process.pid, component.ready_url, component.url)
        if record is None or process.poll() is not None:
            raise StackError(f"{name} stopped right after it started (see {self.log_file(name)})")
        try:
            handle = state_files.create(self._pid_file(name))
        except UnsafeStateError as exc:
            raise StackError(str(exc)) from None
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(record.text())

    def _wait_ready(self, component: Component, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if component.ready():
                return
            time.sleep(0.2)
        tail = self.log_file(component.name).read_text(errors="replace").splitlines()[-15:]
        raise StackError(
            f"{component.name} did not become ready at {component.ready_url}; "
            f"last lines of {self.log_file(component.name)}:\n" + "\n".join(tail)
        )

    def down(self, only: list[str] | None = None, echo=lambda _: None) -> list[str]:
        """Stop the running components (all, or ``only`` these) that this stack started;
        return their names. A pid file whose process is gone, or is another process now, is
        removed and nothing is signalled."""
        if not self.state.exists():
            return []
        self._secure_state()
        stopped = []
        for name in self._recorded_names():
            if only is not None and name not in only:
                continue
            pid = self.pid(name)
            if pid is not None:
                _terminate(pid)
                stopped.append(name)
                echo(f"stopped {name}")
            self._pid_file(name).unlink(missing_ok=True)
        return stopped

    def _recorded_names(self) -> list[str]:
        """The components with a pid file, the last started first (whatever the topology or
        the number of replicas when they were started): each stops before what it uses."""
        names = [
            path.stem for path in self.state.glob("*.pid") if kind_of(path.stem) in COMPONENT_NAMES
        ]
        return sorted(names, key=start_order, reverse=True)

    def status(self) -> list[tuple[str, bool, bool, str]]:
        """(name, running, ready, url) of every component."""
        if self.state.exists():
            self._secure_state()
        rows = []
        for component in self.components():
            record = self._recorded(component.name)
            running = record is not None and record.running()
            if running and record is not None and record.ready_url:  # where it was started
                component = dataclasses.replace(
                    component, ready_url=record.ready_url, url=record.url
                )
            rows.append((component.name, running, running and component.ready(), component.url))
        return rows


def _terminate(pid: int, grace: float = 10.0) -> None:
    """SIGTERM the process group, SIGKILL it if it is still there after ``grace`` seconds."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
            finished, _ = os.waitpid(pid, os.WNOHANG)
            if finished == pid:
                return
        except ChildProcessError:
            pass
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def compose(local: LocalStack, *args: str) -> int:
    """Run ``docker compose`` on the compose file of ``local``'s topology, with the servers on
    its ports (the central topology's generated file holds its ports)."""
    root, ports = local.root, local.ports
    ensure_env_file(root)
    file = paths.CENTRAL_COMPOSE if local.central else COMPOSE_FILE
    command = ["docker", "compose", "-f", str(root / file), "--env-file", str(root / ENV_FILE)]
    env = {
        **os.environ,
        "OBSGEN_PROMETHEUS_PORT": str(ports.prometheus),
        "OBSGEN_PROMETHEUS_RETENTION": local.servers.retention,
        "OBSGEN_ALERTMANAGER_PORT": str(ports.alertmanager),
        "OBSGEN_GRAFANA_PORT": str(ports.grafana),
        "OBSGEN_POSTGRES_PORT": str(ports.postgres),
    }
    return subprocess.run([*command, *args], cwd=root, env=env).returncode

"""Apache httpd (Debian ``apache2``) on a free loopback port, from a minimal private config.

Only the modules a static file server needs are loaded (event MPM, authz_core, mime). Apache
refuses to serve as root, so when started as root its workers run as an unprivileged user; as
those cannot enter private temporary folders, the document root is then served from a
world-readable folder of hard links to the files (no copy, holes kept). Apache's own range
handling is left as it is: it answers some unsatisfiable ranges with 416 and no Content-Range.
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

from .accesslog import AccessLog, parse_tab_line
from .handle import HTTPServer
from .process import ServerProcess, find_binary, free_ports, make_workdir, retry_on_port_clash

__all__ = ["apache_binary", "start_apache"]

MODULES = Path("/usr/lib/apache2/modules")


def apache_binary() -> str:
    return find_binary("apache2", "/usr/sbin/apache2")


def _unprivileged_user() -> tuple[str, str]:
    for name in ("www-data", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        import grp

        return name, grp.getgrgid(entry.pw_gid).gr_name
    raise RuntimeError("no unprivileged user (www-data, nobody) to run Apache workers as")


def _traversable(path: Path) -> bool:
    """Whether any user may reach ``path`` (every folder above it has o+x)."""
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def _readable_mirror(root: Path, mirror: Path) -> Path:
    """A folder of hard links to the files under ``root`` that any user may read."""
    for path in sorted(root.rglob("*")):
        target = mirror / path.relative_to(root)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
        os.chmod(target, 0o644)
    mirror.mkdir(exist_ok=True)
    for folder in [mirror, *(p for p in mirror.rglob("*") if p.is_dir())]:
        os.chmod(folder, 0o755)
    return mirror


def _config(workdir: Path, docroot: Path, port: int, max_ranges: int | None = None) -> str:
    user = ""
    if os.geteuid() == 0:
        name, group = _unprivileged_user()
        user = f"User {name}\nGroup {group}"
    return f"""
ServerRoot "{workdir}"
DefaultRuntimeDir "{workdir}"
PidFile "{workdir / "apache.pid"}"
Mutex file:{workdir} default
ErrorLog "{workdir / "error.log"}"
LogLevel warn
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
{user}
LoadModule mpm_event_module {MODULES / "mod_mpm_event.so"}
LoadModule authz_core_module {MODULES / "mod_authz_core.so"}
LoadModule mime_module {MODULES / "mod_mime.so"}
StartServers 1
ServerLimit 4
ThreadsPerChild 64
MaxRequestWorkers 256
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 30
EnableSendfile On
ServerTokens Prod
TypesConfig /dev/null
LogFormat "%r\\t%>s\\t%B\\t%{{Range}}i" counted
CustomLog "{workdir / "access.log"}" counted
DocumentRoot "{docroot}"
{"" if max_ranges is None else f"MaxRanges {max_ranges}"}
<Directory "{docroot}">
    Require all granted
    Options None
    AllowOverride None
</Directory>
"""


def start_apache(
    root: str | Path, *, workdir: Path | None = None, max_ranges: int | None = None
) -> HTTPServer:
    """Serve ``root`` with Apache httpd on 127.0.0.1 (Range handled by Apache itself).

    ``max_ranges`` sets Apache's ``MaxRanges``: with 1, a request for several ranges is
    answered 200 with the whole body.

    Started as root, Apache serves hard links made at start-up: files added to ``root``
    later are not served.
    """
    binary = apache_binary()
    root = Path(root).resolve()
    owned = workdir is None
    workdir = make_workdir("apache") if workdir is None else workdir
    workdir.mkdir(parents=True, exist_ok=True)
    cleanup = [workdir] if owned else []
    docroot = root
    if os.geteuid() == 0:
        # Workers run unprivileged: they need a way in to the files and to the accept mutex.
        os.chmod(workdir, 0o755)
        base = workdir if _traversable(workdir) else make_workdir("apache-docs")
        if base != workdir:
            os.chmod(base, 0o755)
            cleanup.append(base)
        docroot = _readable_mirror(root, base / "htdocs")

    def attempt() -> HTTPServer:
        (port,) = free_ports(1)
        conf = workdir / "apache.conf"
        conf.write_text(_config(workdir, docroot, port, max_ranges))
        error_log = workdir / "error.log"
        # -DFOREGROUND keeps the parent attached so it can be stopped by its PID.
        argv = [binary, "-f", str(conf), "-DFOREGROUND"]
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin"), "LANG": "C"}
        process = ServerProcess("apache", argv, workdir=workdir, logs=[error_log], env=env)
        process.wait_listening(port)
        return HTTPServer(
            kind="apache",
            base_url=f"http://127.0.0.1:{port}",
            port=port,
            root=root,
            workdir=workdir,
            log=AccessLog(workdir / "access.log", parse_tab_line),
            error_log=error_log,
            process=process,
            cleanup=tuple(cleanup),
        )

    try:
        return retry_on_port_clash(attempt)
    except BaseException:
        for folder in cleanup:
            shutil.rmtree(folder, ignore_errors=True)
        raise

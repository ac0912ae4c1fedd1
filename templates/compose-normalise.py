# The merged config of compose files, as podman-compose 1.0.3 reads them
# (it has no `config` command to print it). Same loader (PyYAML's
# safe_load), same .env reader (python-dotenv), same interpolation and
# merge rules; bind sources made absolute as it makes them. Prints
# {"order": [services in the files' order], "config": {...}} as JSON.
# argv: PROJECT FILE... (paths only; nothing here is run as code).
import json
import os
import re
import sys

import yaml

VAR = re.compile(r"""
    \$(?:
        (?P<escaped>\$) |
        (?P<named>[_a-zA-Z][_a-zA-Z0-9]*) |
        (?:{
            (?P<braced>[_a-zA-Z][_a-zA-Z0-9]*)
            (?:
                (?::?-(?P<default>[^}]+)) |
                (?::?\?(?P<err>[^}]+))
            )?
        })
    )
""", re.VERBOSE)
DIR = re.compile(r"^[~/\.]")


class Refused(Exception):
    pass


def subs(value, env):
    if isinstance(value, dict):
        return {k: subs(v, env) for k, v in value.items()}
    if isinstance(value, str):
        def one(m):
            if m.group("escaped") is not None:
                return "$"
            name = m.group("named") or m.group("braced")
            if env.get(name) is not None:
                return "%s" % env[name]
            if m.group("err") is not None:
                raise Refused("variable %s: %s" % (name, m.group("err")))
            return m.group("default") or ""
        return VAR.sub(one, value)
    if isinstance(value, list):
        return [subs(i, env) for i in value]
    return value


def as_dict(src):
    if src is None:
        return {}
    if isinstance(src, dict):
        return dict(src)
    if isinstance(src, list):
        pairs = [str(i).split("=", 1) for i in src if i]
        return dict((p[0], p[1] if len(p) == 2 else None) for p in pairs)
    key, _, value = str(src).partition("=")
    return {key: value if "=" in str(src) else None}


def normalise_service(s):
    for key in ("env_file", "security_opt", "volumes"):
        if isinstance(s.get(key), str):
            s[key] = [s[key]]
    for key in ("environment", "labels"):
        if key in s:
            s[key] = as_dict(s[key])
    return s


def merge(target, source):
    for key, value in source.items():
        if key not in target:
            target[key] = value
            continue
        old = target[key]
        if type(old) != type(value):
            raise Refused("cannot merge %s: %s and %s" % (key, type(old).__name__, type(value).__name__))
        if isinstance(value, list):
            if key == "volumes":
                targets = {v.split(":", 1)[1] for v in value if isinstance(v, str) and ":" in v}
                old[:] = [v for v in old if not (isinstance(v, str) and ":" in v and v.split(":", 1)[1] in targets)]
            old.extend(value)
        elif isinstance(value, dict):
            merge(old, value)
        else:
            target[key] = value
    return target


def long_mount(volume, base):
    if isinstance(volume, dict):
        mount = dict(volume)
    else:
        parts = volume.split(":")
        if len(parts) == 1:
            return {"type": "volume", "target": volume}
        if len(parts) == 2 and not parts[1].startswith("/"):
            return {"type": "volume", "target": parts[0]}
        source, target = parts[0], parts[1]
        mount = {"type": "bind" if DIR.match(source) else "volume", "source": source, "target": target,
                 # what podman-compose matches when a later file replaces this mount
                 "x-clauderon-mount": volume.split(":", 1)[1]}
        if len(parts) == 3 and "ro" in parts[2].split(","):
            mount["read_only"] = True
    if mount.get("type") == "bind" and mount.get("source"):
        mount["source"] = os.path.realpath(os.path.join(base, os.path.expanduser(mount["source"])))
    return mount


def load(project, files):
    base = os.path.realpath(os.path.dirname(files[0]))
    env = dict(os.environ)
    dotenv = os.path.join(base, ".env")
    if os.path.isfile(dotenv):
        from dotenv import dotenv_values
        env.update(dotenv_values(dotenv))
    env.update({"COMPOSE_FILE": os.path.basename(files[0]), "COMPOSE_PROJECT_NAME": project,
                "COMPOSE_PATH_SEPARATOR": os.pathsep})
    merged = {}
    for path in files:
        with open(path) as f:
            content = yaml.safe_load(f)
        if not isinstance(content, dict):
            raise Refused("%s: the file's top level is not a mapping" % path)
        for service in (content.get("services") or {}).values():
            if isinstance(service, dict):
                normalise_service(service)
        merge(merged, subs(content, env))
    services = merged.get("services") or {}
    for name, service in services.items():
        if not isinstance(service, dict):
            raise Refused("service %s is not a mapping" % json.dumps(name))
        if "extends" in service:
            raise Refused("service %s uses extends, which clauderon does not merge for podman-compose: inline it" % json.dumps(name))
        if "volumes" in service:
            service["volumes"] = [long_mount(v, base) for v in service["volumes"]]
    return {"order": list(services), "config": merged}


try:
    json.dump(load(sys.argv[1], sys.argv[2:]), sys.stdout)
except (Refused, yaml.YAMLError, OSError, ValueError) as e:
    sys.stderr.write("%s\n" % e)
    sys.exit(1)

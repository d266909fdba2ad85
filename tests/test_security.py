"""Security checks: no object construction from YAML, TLS always verified, private files."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from conftest import SOFTWARE_TOKEN, TOKEN, Invoke, Write
from portal_config.live.api import ApiError, ClientSettings, OutSmartClient
from portal_config.sandbox import SandboxState, start_sandbox
from portal_config.sandbox.demo import demo_account

PAYLOADS = [
    "!!python/object/apply:os.system ['touch pwned']",
    "!!python/object/apply:subprocess.check_call [['touch', 'pwned']]",
    "!!python/object/new:os.system ['touch pwned']",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/object:pathlib.Path {}",
]


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("where", ["portals/acme.yaml", "worktypes.yaml", "portal-config.yaml"])
def test_no_yaml_tag_constructs_python_objects(
    project: Path, write: Write, invoke: Invoke, payload: str, where: str
) -> None:
    write("portals/acme.yaml", "portal: acme\nguest_workorder: {enabled: false}\n")
    write(where, f"portal: {payload}\n")
    result = invoke("lint")
    assert result.exit_code in (1, 2)
    assert (
        "is not allowed; portal files use only strings, numbers, booleans, null, lists and mappings"
        in result.output
    )
    assert not (project / "pwned").exists()


def test_tls_verification_cannot_be_switched_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    openssl = shutil.which("openssl") or pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    state = SandboxState.open(None, demo_account())
    with start_sandbox(state, token=TOKEN, software_token=SOFTWARE_TOKEN, tls=context) as sandbox:
        assert sandbox.url.startswith("https://127.0.0.1:")
        # Environment variables that some tools read as "don't verify" change nothing.
        for name in ("CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "PYTHONHTTPSVERIFY"):
            monkeypatch.setenv(name, "" if name != "PYTHONHTTPSVERIFY" else "0")
        settings = ClientSettings(retries=0)
        with OutSmartClient(sandbox.url, TOKEN, SOFTWARE_TOKEN, settings) as client:
            with pytest.raises(ApiError) as failure:
                client.list_portals()
        port = sandbox.url.split(":")[2].split("/")[0]
        assert (
            str(failure.value)
            == f"GET portals/: TLS verification failed for https://127.0.0.1:{port}"
        )
        # Trusting the certificate explicitly (the target's ca_bundle) works.
        trusted = ClientSettings(retries=0, verify=str(cert))
        with OutSmartClient(sandbox.url, TOKEN, SOFTWARE_TOKEN, trusted) as client:
            assert len(client.list_portals()) == 6


def test_config_has_no_switch_to_disable_tls(write: Write, invoke: Invoke) -> None:
    write("portal-config.yaml", "targets:\n  prod:\n    base_url: https://x/\n    verify: false\n")
    write("portals/a.yaml", "portal: a\nguest_workorder: {enabled: false}\n")
    result = invoke("diff")
    assert result.exit_code == 2
    assert result.output.startswith(
        "invalid config: portal-config.yaml:4:5: unknown key 'verify' in targets.prod; allowed: "
    )

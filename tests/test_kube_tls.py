"""routecore.kube over real TLS to the API test server: the server is verified against the
cluster CA of the kubeconfig (or of the service account), a wrong CA fails clearly and never falls
back to an unverified connection, and tokens, client certificates and a rotated service-account
token authenticate."""
import json

import pytest

from kubeapi import KubeAPIServer
from kubeapi.objects import basic_cluster, route
from kubeapi.tls import ServerTLS
from routecore.kube import ClientConfig, ConfigurationError, KubeSource
from test_kube import wait_for

FAST = dict(debounce=0.05, backoff_base=0.05, backoff_cap=0.3, request_timeout=2.0, write_status=False)


@pytest.fixture
def api():
    srv = KubeAPIServer(bookmark_interval=0.3).start()
    basic_cluster(srv)
    yield srv
    srv.stop()


def backend(src):
    d = src.router.gateway("edge", namespace="infra", port=80).route("GET", "/", host="a.example")
    return None if d.backend is None else d.backend.name


def edit(path, **cluster):
    """Set (or, with None, remove) fields of the kubeconfig's cluster entry."""
    doc = json.loads(open(path).read())
    for key, value in cluster.items():
        if value is None:
            doc["clusters"][0]["cluster"].pop(key, None)
        else:
            doc["clusters"][0]["cluster"][key] = value
    with open(path, "w") as fh:
        json.dump(doc, fh)
    return path


def syncs(kubeconfig, **kw):
    """A source of ``kubeconfig`` completes its first sync and routes / to v1."""
    src = KubeSource(kubeconfig=kubeconfig, **FAST, **kw)
    try:
        src.start(timeout=10)
        assert backend(src) == "v1"
    finally:
        src.stop()


def requests_made(api):
    return sum(api.store.requests.values()) + sum(api.seen_tokens.values())


def test_the_kubeconfigs_cluster_ca_verifies_the_server(api, tmp_path):
    kc = api.write_kubeconfig(str(tmp_path / "kc"))
    assert api.url.startswith("https://127.0.0.1:")
    syncs(kc)
    assert api.seen_tokens.get("test-token", 0) > 0


def test_a_wrong_ca_fails_with_a_clear_error_and_sends_nothing(api, tmp_path):
    import base64
    other = base64.b64encode(ServerTLS().ca_pem).decode()
    kc = edit(api.write_kubeconfig(str(tmp_path / "kc")), **{"certificate-authority-data": other})
    src = KubeSource(kubeconfig=kc, **FAST)
    with pytest.raises(TimeoutError, match="CERTIFICATE_VERIFY_FAILED"):
        src.start(timeout=1.5)
    assert requests_made(api) == 0  # no request, no token went over an unverified connection


def test_no_ca_means_the_system_cas_and_insecure_skip_only_when_the_kubeconfig_says_so(api, tmp_path):
    kc = edit(api.write_kubeconfig(str(tmp_path / "kc")), **{"certificate-authority-data": None})
    src = KubeSource(kubeconfig=kc, **FAST)
    with pytest.raises(TimeoutError, match="CERTIFICATE_VERIFY_FAILED"):
        src.start(timeout=1.5)  # the test CA is no system CA
    assert requests_made(api) == 0
    edit(kc, **{"insecure-skip-tls-verify": True})
    syncs(kc)


def test_a_ca_with_insecure_skip_and_an_unreadable_ca_are_configuration_errors(api, tmp_path):
    kc = edit(api.write_kubeconfig(str(tmp_path / "kc")), **{"insecure-skip-tls-verify": True})
    with pytest.raises(ConfigurationError, match="insecure-skip-tls-verify together"):
        ClientConfig.from_kubeconfig(kc)
    edit(kc, **{"insecure-skip-tls-verify": None, "certificate-authority-data": None,
                "certificate-authority": str(tmp_path / "missing.crt")})
    with pytest.raises(ConfigurationError, match="missing.crt: cannot be used"):
        ClientConfig.from_kubeconfig(kc).ssl_context()


def test_a_client_certificate_authenticates_and_a_wrong_token_is_401(api, tmp_path, monkeypatch):
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    api.tokens = set()  # only certificates are accepted
    syncs(api.write_kubeconfig(str(tmp_path / "kc"), auth="cert"))
    assert list((tmp_path / "tmp").iterdir()) == []  # the key is left in no temporary file
    api.tokens = {"right"}
    kc = api.write_kubeconfig(str(tmp_path / "kc2"))
    doc = json.loads(open(kc).read())
    doc["users"][0]["user"]["token"] = "wrong"
    open(kc, "w").write(json.dumps(doc))
    with pytest.raises(TimeoutError, match="401 Unauthorized"):
        KubeSource(kubeconfig=kc, **FAST).start(timeout=1.5)


def test_in_cluster_service_account_over_tls_and_a_rotated_token(api, tmp_path, monkeypatch):
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("t1")
    (sa / "ca.crt").write_bytes(api.tls.ca_pem)
    (sa / "namespace").write_text("infra")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.server_address[1]))
    api.tokens = {"t1"}
    config = ClientConfig.in_cluster(str(sa))
    assert config.server == api.url and config.namespace == "infra"
    src = KubeSource(client_config=config, **FAST)
    try:
        src.start(timeout=10)
        assert backend(src) == "v1"
        # the kubelet rotates the projected token: the old one is no longer accepted
        (sa / "token.new").write_text("t2")
        (sa / "token.new").rename(sa / "token")
        api.tokens = {"t2"}
        api.cut_watches()  # every watch reconnects, with the token read again
        api.apply(route("r0", backend="v2"))
        wait_for(lambda: backend(src) == "v2", what="the change after the rotation")
        assert api.seen_tokens.get("t2", 0) > 0
    finally:
        src.stop()


def test_auto_finds_the_cluster_in_controller_runtimes_order(tmp_path, monkeypatch):
    """--kubeconfig, else $KUBECONFIG, else the service account in a Pod, else ~/.kube/config."""
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    (tmp_path / ".kube").mkdir()
    home = tmp_path / ".kube" / "config"
    home.write_text(json.dumps({
        "current-context": "c", "contexts": [{"name": "c", "context": {"cluster": "k"}}],
        "clusters": [{"name": "k", "cluster": {"server": "https://k.example:6443"}}]}))
    with pytest.raises(ConfigurationError, match="no service account token at /var/run/secrets"):
        ClientConfig.auto()  # in a Pod: the service account, though ~/.kube/config exists
    assert ClientConfig.auto(str(home)).server == "https://k.example:6443"
    assert ClientConfig.auto(context="c").server == "https://k.example:6443"
    monkeypatch.setenv("KUBECONFIG", str(home))
    assert ClientConfig.auto().server == "https://k.example:6443"
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    assert ClientConfig.auto().server == "https://k.example:6443"  # not in a Pod


def test_tls_server_name_is_the_name_the_certificate_is_checked_for(api, tmp_path):
    kc = edit(api.write_kubeconfig(str(tmp_path / "kc")), **{"tls-server-name": "localhost"})
    syncs(kc)  # the certificate names localhost (and 127.0.0.1)
    edit(kc, **{"tls-server-name": "api.elsewhere.example"})
    before = requests_made(api)
    with pytest.raises(TimeoutError, match="CERTIFICATE_VERIFY_FAILED"):
        KubeSource(kubeconfig=kc, **FAST).start(timeout=1.5)
    assert requests_made(api) == before

"""Where each instance's mails come from, what signs them, and what the start-up log warns
about before they leave for real."""

from __future__ import annotations

import json

import pytest

from domain.settings import SettingsError, load_settings

PROD = {
    "SMTP_URL": "smtp://relay.example.org:587",
    "BASE_URL": "https://circuit-court.example.org",
    "INSTANCES": json.dumps(
        [
            {
                "key": "main",
                "name": "Circuit Court",
                "hosts": ["circuit-court.example.org"],
                "url": "https://circuit-court.example.org",
            },
            {
                "key": "amap",
                "name": "Camap",
                "hosts": ["camap.example.fr"],
                "url": "https://camap.example.fr",
            },
        ]
    ),
}


def env(tmp_path, **extra: str) -> dict[str, str]:
    return {"VAR_DIR": str(tmp_path), "SECRET_KEY": "unit-test-secret-0123456789"} | extra


def prod(tmp_path, **extra: str) -> dict[str, str]:
    return env(tmp_path, **(PROD | extra))


def key_file(tmp_path, name="dkim.pem"):
    path = tmp_path / name
    path.write_text("-----BEGIN PRIVATE KEY-----\n")
    return str(path)


def with_instances(**per_key) -> str:
    data = json.loads(PROD["INSTANCES"])
    for instance in data:
        instance |= per_key.get(instance["key"], {})
    return json.dumps(data)


def test_each_instance_sends_from_its_own_host(tmp_path):
    settings = load_settings(prod(tmp_path))
    main, amap = settings.instances
    assert settings.sender(main) == "noreply@circuit-court.example.org"
    # Not from the main instance's domain: the AMAP instance has its own.
    assert settings.sender(amap) == "noreply@camap.example.fr"
    assert (main.host, amap.host) == ("circuit-court.example.org", "camap.example.fr")


def test_mail_from_names_the_first_instance_s_sender_and_an_instance_may_name_its_own(tmp_path):
    settings = load_settings(
        prod(
            tmp_path,
            MAIL_FROM="bonjour@circuit-court.example.org",
            INSTANCES=with_instances(amap={"mail_from": "contact@camap.example.fr"}),
        )
    )
    main, amap = settings.instances
    assert settings.sender(main) == "bonjour@circuit-court.example.org"
    assert settings.sender(amap) == "contact@camap.example.fr"


def test_on_a_bare_machine_mails_come_from_localhost(tmp_path):
    settings = load_settings(env(tmp_path))
    assert settings.sender(settings.default_instance) == "noreply@localhost"
    assert settings.sender(settings.instance("amap")) == "noreply@amap.localhost"


def test_each_instance_signs_with_its_own_key_for_its_own_domain(tmp_path):
    main_key, amap_key = key_file(tmp_path, "main.pem"), key_file(tmp_path, "amap.pem")
    settings = load_settings(
        prod(
            tmp_path,
            DKIM_KEY_PATH=main_key,
            DKIM_DOMAIN="circuit-court.example.org",
            DKIM_SELECTOR="cc2026",
            INSTANCES=with_instances(
                amap={"dkim_key_path": amap_key, "dkim_selector": "camap2026"}
            ),
        )
    )
    main, amap = settings.instances
    assert settings.dkim(main).key_path == main_key
    assert (settings.dkim(main).domain, settings.dkim(main).selector) == (
        "circuit-court.example.org",
        "cc2026",
    )
    found = settings.dkim(amap)
    assert (found.key_path, found.domain, found.selector) == (
        amap_key,
        "camap.example.fr",
        "camap2026",
    )
    assert settings.mail_warnings() == []


def test_the_global_key_signs_only_the_instances_of_its_domain(tmp_path):
    settings = load_settings(
        prod(
            tmp_path,
            DKIM_KEY_PATH=key_file(tmp_path),
            DKIM_DOMAIN="example.org",
            DKIM_SELECTOR="cc2026",
        )
    )
    main, amap = settings.instances
    # circuit-court.example.org is under example.org (DMARC's relaxed alignment)…
    assert settings.dkim(main).domain == "example.org"
    # …camap.example.fr is not: a signature for example.org would not help it.
    assert settings.dkim(amap) is None
    [warning] = settings.mail_warnings()
    assert "instance amap" in warning and "ne sont pas signés (DKIM)" in warning


def test_an_instance_key_needs_its_selector_and_must_exist(tmp_path):
    with pytest.raises(SettingsError, match="dkim_key_path et de dkim_selector ensemble"):
        load_settings(prod(tmp_path, INSTANCES=with_instances(amap={"dkim_key_path": "/x.pem"})))
    with pytest.raises(SettingsError, match="clé DKIM de l'instance amap introuvable"):
        load_settings(
            prod(
                tmp_path,
                INSTANCES=with_instances(
                    amap={"dkim_key_path": str(tmp_path / "absente.pem"), "dkim_selector": "s"}
                ),
            )
        )


def test_the_start_up_warns_of_localhost_when_mails_really_leave(tmp_path):
    settings = load_settings(env(tmp_path, SMTP_URL="smtp://relay.example.org:587"))
    warnings = "\n".join(settings.mail_warnings())
    assert "instance main : son adresse http://localhost:8000 est locale" in warnings
    assert "les e-mails partent de noreply@localhost, une adresse locale" in warnings
    assert "instance amap : son adresse http://amap.localhost:8000 est locale" in warnings
    assert "noreply@amap.localhost, une adresse locale" in warnings
    # A real BASE_URL but a MAIL_FROM left on localhost is warned about too.
    settings = load_settings(prod(tmp_path, MAIL_FROM="noreply@localhost"))
    warnings = "\n".join(settings.mail_warnings())
    assert "instance main : les e-mails partent de noreply@localhost" in warnings
    assert "est locale" not in warnings


def test_in_development_nothing_is_warned(tmp_path):
    """Without SMTP_URL the mails are files in var/outbox/: localhost is what one wants."""
    assert load_settings(env(tmp_path)).mail_warnings() == []


def test_a_key_for_another_domain_is_warned_about(tmp_path):
    settings = load_settings(
        prod(
            tmp_path,
            INSTANCES=with_instances(
                main={
                    "dkim_key_path": key_file(tmp_path),
                    "dkim_selector": "s",
                    "dkim_domain": "autre.example.net",
                },
                amap={"dkim_key_path": key_file(tmp_path, "b.pem"), "dkim_selector": "s"},
            ),
        )
    )
    [warning] = settings.mail_warnings()
    assert "signature DKIM pour autre.example.net" in warning
    assert "noreply@circuit-court.example.org" in warning

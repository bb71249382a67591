"""ARCHITECTURE.md Cilium §1 CA check: the SubjectKeyId of cilium-ca's ca.crt, read with cryptography."""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tui.mesh.x509 import ca_subject_key_id


def make_ca(
    *, with_ski: bool = True, key: ec.EllipticCurvePrivateKey | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cilium CA")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    if with_ski:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    return builder.sign(key, hashes.SHA256()), key


def test_ski_extension_read_as_hex() -> None:
    cert, _key = make_ca()
    pem = cert.public_bytes(serialization.Encoding.PEM)
    expected = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    assert ca_subject_key_id(pem) == expected
    assert ca_subject_key_id(pem.decode()) == expected
    assert len(expected) == 40


def test_same_key_same_ski_different_key_differs() -> None:
    """Mismatch rule: two CAs with the same key pair match, different keys do not."""
    first, key = make_ca()
    again, _ = make_ca(key=key)
    other, _ = make_ca()
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    assert ca_subject_key_id(pem(first)) == ca_subject_key_id(pem(again))
    assert ca_subject_key_id(pem(first)) != ca_subject_key_id(pem(other))


def test_without_extension_computed_from_public_key() -> None:
    cert, key = make_ca(with_ski=False)
    computed = x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest.hex()
    assert ca_subject_key_id(cert.public_bytes(serialization.Encoding.PEM)) == computed


def test_first_certificate_of_a_bundle() -> None:
    first, _ = make_ca()
    second, _ = make_ca()
    bundle = first.public_bytes(serialization.Encoding.PEM) + second.public_bytes(serialization.Encoding.PEM)
    assert ca_subject_key_id(bundle) == ca_subject_key_id(first.public_bytes(serialization.Encoding.PEM))


def test_der_accepted() -> None:
    cert, _ = make_ca()
    assert ca_subject_key_id(cert.public_bytes(serialization.Encoding.DER)) == ca_subject_key_id(
        cert.public_bytes(serialization.Encoding.PEM)
    )


@pytest.mark.parametrize(
    "data", [b"", b"not a cert", "-----BEGIN CERTIFICATE-----\nZm9v\n-----END CERTIFICATE-----\n"]
)
def test_garbage_is_none(data: bytes | str) -> None:
    assert ca_subject_key_id(data) is None


def test_result_never_contains_key_material() -> None:
    cert, key = make_ca()
    ski = ca_subject_key_id(cert.public_bytes(serialization.Encoding.PEM))
    private = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert ski is not None and ski not in private.hex()

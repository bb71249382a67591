"""The SubjectKeyId of a cluster's Cilium CA, for the CA-mismatch check (ARCHITECTURE.md Cilium §1).

cilium-cli compares the x509 SubjectKeyId of ``kube-system/cilium-ca`` ``ca.crt`` across the
clusters it connects. This module reads it with ``cryptography`` (never by hand) and returns
only the identifier as hex: the certificate and any key stay with the caller, nothing is logged.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtensionOID


def ca_subject_key_id(pem: bytes | str) -> str | None:
    """Lower-case hex SubjectKeyId of the first certificate in ``pem``; ``None`` if unreadable.

    Uses the certificate's SubjectKeyIdentifier extension; when the CA has none, computes it
    from the public key the way ``cryptography`` does (RFC 5280 method 1, SHA-1 of the
    subjectPublicKey bit string). Go's x509 (cilium-cli) would see an empty SubjectKeyId for such
    a CA, so two extension-less CAs with different keys compare equal there but not here.
    DER input is accepted too.
    """
    data = pem.encode() if isinstance(pem, str) else bytes(pem)
    try:
        if b"-----BEGIN" in data:
            certificates = x509.load_pem_x509_certificates(data)
            if not certificates:
                return None
            certificate = certificates[0]
        else:
            certificate = x509.load_der_x509_certificate(data)
    except ValueError:
        return None
    try:
        extension = certificate.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
        if isinstance(extension.value, x509.SubjectKeyIdentifier):
            return extension.value.digest.hex()
    except x509.ExtensionNotFound:
        pass
    except ValueError:
        return None
    try:
        return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest.hex()
    except (ValueError, TypeError):
        return None

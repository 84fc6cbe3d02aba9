"""How fi-gate reaches a host on a user's network: the trust store, the proxy and `NO_PROXY`,
read once from the environment (by settings.network) into a `Network` that every connection
uses (the API's and the comment path's alike).

Trust, as requests and curl users expect, with the platform's store first:

- `REQUESTS_CA_BUNDLE`, else `CURL_CA_BUNDLE`: a PEM bundle file or a directory of hashed
  certificates (`c_rehash`), which **replaces** the default roots, as requests does. A missing or
  unreadable path is a usage error naming the variable.
- Otherwise the operating system's trust store through the `truststore` package (macOS and
  Windows: the system's verifier; Linux: OpenSSL's default paths, which honour `SSL_CERT_FILE`
  and `SSL_CERT_DIR`), so a corporate CA installed by the administrators is trusted.
- A Linux system with no store at all (a bare container without `ca-certificates`): certifi's
  roots, the ones pip and requests ship.

Verification, hostname checking and SNI are always on, TLS 1.2 at least, ALPN `http/1.1`.

Proxies, as curl reads them: `https_proxy`/`HTTPS_PROXY`, else `all_proxy`/`ALL_PROXY`, for https
URLs only (a plain http URL never goes through a proxy: the keys would cross it in cleartext).
An `http://` proxy is reached directly and TLS is tunnelled through it (CONNECT); credentials in
its URL (`http://user:pass@proxy:3128`, percent-encoded) are sent as `Proxy-Authorization:
Basic`. An `https://` or SOCKS proxy is refused with a message saying what is supported.
`NO_PROXY`: `*`; host names (a leading dot is optional; subdomains match); IP addresses and CIDR
ranges (`10.0.0.0/8`), IPv6 in brackets or not; any of them with `:port` (that port only).
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import re
import ssl
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from gate.errors import UsageError
from gate.redact import clip

CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
NO_PROXY_VARIABLES = ("no_proxy", "NO_PROXY")
# Every variable this module reads (settings.reads() includes them).
READS = (*CA_VARIABLES, *PROXY_VARIABLES, *NO_PROXY_VARIABLES, "SSL_CERT_FILE", "SSL_CERT_DIR")


def without_userinfo(url: str) -> str:
    """A URL as it may be quoted: `user:password@` removed (a proxy's password never shows)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # unparsable: whatever precedes an @ goes all the same
        return re.sub(r"//[^/]*@", "//", url)
    if "@" not in parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class Proxy:
    """An http:// forward proxy that TLS is tunnelled through (CONNECT)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    variable: str = "HTTPS_PROXY"

    @property
    def shown(self) -> str:
        """How messages name it: never with its credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def authorization(self) -> str | None:
        """The `Proxy-Authorization` header's value, when the URL carries credentials."""
        if self.username is None:
            return None
        pair = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


@dataclass(frozen=True)
class NoProxyEntry:
    host: str | None = None  # a name (lower case) or an address, None for a CIDR range
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    port: int | None = None

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        address = _address(host)
        if self.network is not None:
            return address is not None and address in self.network
        assert self.host is not None
        if address is not None or _address(self.host) is not None:
            return address is not None and address == _address(self.host)
        return host == self.host or host.endswith("." + self.host)


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def parse_no_proxy(text: str) -> tuple[tuple[NoProxyEntry, ...], bool]:
    """The entries of a NO_PROXY value, and whether it is `*` (every host)."""
    entries: list[NoProxyEntry] = []
    for raw in text.replace(" ", ",").replace("\t", ",").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return (), True
        host, port = _host_port(entry)
        if "/" in host:
            with contextlib.suppress(ValueError):
                entries.append(
                    NoProxyEntry(network=ipaddress.ip_network(host.strip("[]"), strict=False),
                                 port=port)
                )  # fmt: skip
            continue
        entries.append(NoProxyEntry(host=host.lstrip(".").strip("[]"), port=port))
    return tuple(entries), False


def _host_port(entry: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port`, `v6` (several colons and no brackets: no port)."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


@dataclass(frozen=True)
class Network:
    """The trust and proxy configuration of one run: every connection fi-gate makes uses it."""

    ca_bundle: str | None = None
    ca_variable: str | None = None
    proxy: Proxy | None = None
    no_proxy: tuple[NoProxyEntry, ...] = ()
    no_proxy_all: bool = False
    # What OpenSSL reads for the system store (it reads the process's environment itself).
    cert_file: str | None = None
    cert_dir: str | None = None

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> Network:
        """From the values of `READS` (settings.py reads them); a variable that cannot work
        is a UsageError naming it."""
        ca_variable = next((n for n in CA_VARIABLES if (variables.get(n) or "").strip()), None)
        ca_bundle = None
        if ca_variable is not None:
            ca_bundle = variables[ca_variable].strip()
            _readable_bundle(ca_bundle, ca_variable)
        no_proxy, every = parse_no_proxy(
            next((variables[n] for n in NO_PROXY_VARIABLES if variables.get(n)), "")
        )
        return cls(
            ca_bundle,
            ca_variable,
            _proxy(variables),
            no_proxy,
            every,
            variables.get("SSL_CERT_FILE") or None,
            variables.get("SSL_CERT_DIR") or None,
        )

    def proxy_for(self, scheme: str, host: str, port: int) -> Proxy | None:
        """The proxy an https URL goes through; None for plain http, or a NO_PROXY host."""
        if scheme != "https" or self.proxy is None or self.no_proxy_all:
            return None
        host = host.lower()
        if any(entry.matches(host, port) for entry in self.no_proxy):
            return None
        return self.proxy

    @property
    def secrets(self) -> tuple[str, ...]:
        """What must never be printed: the proxy's password (and its encoded forms)."""
        proxy = self.proxy
        if proxy is None or not proxy.password:
            return ()
        return (proxy.password, proxy.authorization() or "")

    def tls_context(self) -> ssl.SSLContext:
        """The context for every TLS connection of this run (built once per trust)."""
        key = (self.ca_bundle, self.cert_file, self.cert_dir)
        with _CONTEXTS_LOCK:
            context = _CONTEXTS.get(key)
            if context is None:
                context = _CONTEXTS[key] = _new_context(self)
        return context

    @property
    def trust(self) -> str:
        """Which roots verify servers, as docs/networks.md and the messages name them."""
        if self.ca_bundle:
            return f"{self.ca_variable} ({self.ca_bundle}), instead of the default roots"
        return "the system's trust store" if self.system_store() else "certifi's roots"

    def system_store(self) -> bool:
        """Whether this system has a trust store: always on macOS and Windows; on Linux, when
        OpenSSL's default file or directory (or SSL_CERT_FILE, SSL_CERT_DIR) holds one."""
        if sys.platform != "linux":
            return True
        paths = ssl.get_default_verify_paths()
        for path in (self.cert_file, paths.cafile, paths.openssl_cafile):
            if path and os.path.isfile(path):
                return True
        for path in (self.cert_dir, paths.capath, paths.openssl_capath):
            with contextlib.suppress(OSError):
                if path and os.path.isdir(path) and any(os.scandir(path)):
                    return True
        return False


_CONTEXTS: dict[tuple[str | None, ...], ssl.SSLContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def _readable_bundle(path: str, variable: str) -> None:
    if os.path.isdir(path):
        if not os.access(path, os.R_OK | os.X_OK):
            raise UsageError(f"{variable}={clip(path, 120)!r}: the directory cannot be read")
        return
    if not os.path.exists(path):
        raise UsageError(
            f"{variable}={clip(path, 120)!r}: no such file or directory; point it at a CA "
            "bundle (PEM) or a directory of hashed certificates, or unset it"
        )
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise UsageError(
            f"{variable}={clip(path, 120)!r}: cannot read it ({exc.strerror}); point it at a "
            "readable CA bundle (PEM)"
        ) from exc


def _proxy(variables: Mapping[str, str]) -> Proxy | None:
    variable = next((n for n in PROXY_VARIABLES if (variables.get(n) or "").strip()), None)
    if variable is None:
        return None
    raw = variables[variable].strip()
    url = raw if "://" in raw else "http://" + raw
    shown = clip(without_userinfo(url), 100)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{variable}={shown!r} is not a proxy URL; give http://host:port") from exc
    if parts.scheme != "http" or not parts.hostname:
        kind = "an https:// proxy (TLS to the proxy)" if parts.scheme == "https" else (
            f"a {parts.scheme} proxy" if parts.scheme else "that proxy"
        )  # fmt: skip
        raise UsageError(
            f"{variable}={shown!r}: {kind} is not supported; fi-gate reaches a proxy at an "
            "http:// address and tunnels TLS through it (CONNECT), with credentials in the URL "
            "if it needs some (http://user:password@host:port)"
        )
    return Proxy(
        parts.hostname,
        port or 80,
        unquote(parts.username) if parts.username is not None else None,
        unquote(parts.password) if parts.password is not None else None,
        variable,
    )


def proxy_secrets(variables: Mapping[str, str]) -> list[str]:
    """The proxy password of any proxy variable, for the console to mask from the start (also
    when the variable is refused)."""
    found = []
    for name in PROXY_VARIABLES:
        raw = (variables.get(name) or "").strip()
        with contextlib.suppress(ValueError):
            password = urlsplit(raw if "://" in raw else "http://" + raw).password
            if password:
                found += [password, unquote(password)]
    return found


def _new_context(network: Network) -> ssl.SSLContext:
    context: ssl.SSLContext
    ca_bundle, variable = network.ca_bundle, network.ca_variable
    if ca_bundle is not None:
        try:
            if os.path.isdir(ca_bundle):
                context = ssl.create_default_context(capath=ca_bundle)
            else:
                context = ssl.create_default_context(cafile=ca_bundle)
        except (ssl.SSLError, OSError) as exc:
            raise UsageError(
                f"{variable}={clip(ca_bundle, 120)!r}: not a CA bundle fi-gate can load "
                f"({clip(str(exc), 80)}); give PEM certificates"
            ) from exc
    elif network.system_store():
        import truststore

        context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    return context

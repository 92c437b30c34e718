"""A small Kubernetes API server over real HTTP for tests: apply-patch, get, list by label and delete.

kmock's emulator treats every PATCH as an update of an existing object (404 otherwise), merges bodies as plain
dicts and ignores `labelSelector`, so it cannot stand in for server-side apply plus pruning; this fake does the
parts of the real API server's behaviour that rohe relies on and records every request.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

TOKEN = "test-token"
APPLY_PATCH = "application/apply-patch+yaml"

# plural -> (apiVersion, kind)
KINDS = {
    "namespaces": ("v1", "Namespace"),
    "configmaps": ("v1", "ConfigMap"),
    "services": ("v1", "Service"),
    "deployments": ("apps/v1", "Deployment"),
}
ROUTES = [
    re.compile(r"^/api/v1/(?P<plural>namespaces)(?:/(?P<name>[^/]+))?$"),
    re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/(?P<plural>configmaps|services)(?:/(?P<name>[^/]+))?$"),
    re.compile(r"^/apis/apps/v1/namespaces/(?P<ns>[^/]+)/(?P<plural>deployments)(?:/(?P<name>[^/]+))?$"),
]


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str


class FakeKubeApi:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self.applied: dict[tuple[str, str | None, str], Any] = {}
        self.requests: list[Recorded] = []
        self.failures: dict[tuple[str, str], tuple[int, str]] = {}
        self._version = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._running = False

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeKubeApi:
        self._thread.start()
        self._running = True
        return self

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def fail(self, method: str, plural: str, code: int, message: str) -> None:
        """Answer every `method` request on `plural` with this error, as the API server would."""
        self.failures[(method, plural)] = (code, message)

    def write_kubeconfig(self, path: Path, token: str = TOKEN) -> Path:
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "tester"}}],
            "current-context": "fake",
        }
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        return path

    def names(self, plural: str, namespace: str | None = None) -> set[str]:
        return {name for (p, ns, name) in self.objects if p == plural and ns == namespace}

    def versions(self) -> dict[tuple[str, str | None, str], str]:
        return {key: obj["metadata"]["resourceVersion"] for key, obj in self.objects.items()}

    def put(self, plural: str, namespace: str | None, obj: dict[str, Any]) -> None:
        """Store an object directly, as if another tool had created it."""
        with self._lock:
            key = (plural, namespace, obj["metadata"]["name"])
            self.objects[key] = self._stamped(obj, None, "kubectl")

    # --- request handling, called from the server threads ---

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query)
        self.requests.append(Recorded(method, parts.path, query, headers.get("Content-Type", "")))
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return _status(401, "Unauthorized", "Unauthorized")
        for route in ROUTES:
            match = route.match(parts.path)
            if match:
                break
        else:
            return _status(404, "NotFound", f"the server could not find the requested resource ({parts.path})")
        plural, namespace, name = match["plural"], match.groupdict().get("ns"), match["name"]
        if (method, plural) in self.failures:
            code, message = self.failures[(method, plural)]
            return _status(code, "Invalid" if code == 422 else "InternalError", message)
        with self._lock:
            if method == "PATCH" and name:
                return self._apply(plural, namespace, name, query, headers.get("Content-Type", ""), body)
            if method == "GET" and name:
                found = self.objects.get((plural, namespace, name))
                return (200, found) if found else _not_found(plural, name)
            if method == "GET":
                return 200, self._list(plural, namespace, query.get("labelSelector", [""])[0])
            if method == "DELETE" and name:
                if self.objects.pop((plural, namespace, name), None) is None:
                    return _not_found(plural, name)
                self.applied.pop((plural, namespace, name), None)
                return _status(200, "", "deleted", status="Success")
        return _status(405, "MethodNotAllowed", f"{method} is not supported here")

    def _apply(
        self,
        plural: str,
        namespace: str | None,
        name: str,
        query: dict[str, list[str]],
        content_type: str,
        body: bytes,
    ) -> tuple[int, dict[str, Any]]:
        if content_type != APPLY_PATCH:
            return _status(
                415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}"
            )
        manager = query.get("fieldManager", [""])[0]
        if not manager:
            return _status(400, "BadRequest", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value')
        obj = yaml.safe_load(body)
        api_version, kind = KINDS[plural]
        if obj.get("apiVersion") != api_version or obj.get("kind") != kind:
            return _status(400, "BadRequest", f"body is {obj.get('kind')}, the URL is for {kind}")
        if obj.get("metadata", {}).get("name") != name:
            return _status(400, "BadRequest", "the name of the object does not match the name on the URL")
        if namespace is not None and ("namespaces", None, namespace) not in self.objects:
            return _not_found("namespaces", namespace)
        key = (plural, namespace, name)
        if self.applied.get(key) == obj:
            return 200, self.objects[key]  # unchanged configuration: same resourceVersion, like the real server
        existing = self.objects.get(key)
        self.objects[key] = self._stamped(obj, existing, manager)
        self.applied[key] = obj
        return (200 if existing else 201), self.objects[key]

    def _stamped(self, obj: dict[str, Any], existing: dict[str, Any] | None, manager: str) -> dict[str, Any]:
        self._version += 1
        stored: dict[str, Any] = json.loads(json.dumps(obj))
        meta = stored.setdefault("metadata", {})
        old = (existing or {}).get("metadata", {})
        meta["uid"] = old.get("uid", str(uuid.uuid4()))
        meta["creationTimestamp"] = old.get("creationTimestamp", "2024-01-01T00:00:00Z")
        meta["resourceVersion"] = str(self._version)
        meta["managedFields"] = [{"manager": manager, "operation": "Apply"}]
        return stored

    def _list(self, plural: str, namespace: str | None, selector: str) -> dict[str, Any]:
        wanted = dict(term.split("=", 1) for term in selector.split(",") if term)
        items = [
            obj
            for (p, ns, _), obj in sorted(self.objects.items(), key=lambda item: str(item[0]))
            if p == plural
            and (namespace is None or ns == namespace)
            and all(obj["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]
        api_version, kind = KINDS[plural]
        return {
            "apiVersion": api_version,
            "kind": f"{kind}List",
            "metadata": {"resourceVersion": str(self._version)},
            "items": items,
        }


def _status(code: int, reason: str, message: str, status: str = "Failure") -> tuple[int, dict[str, Any]]:
    return code, {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": status,
        "message": message,
        "reason": reason,
        "code": code,
    }


def _not_found(plural: str, name: str) -> tuple[int, dict[str, Any]]:
    return _status(404, "NotFound", f'{plural} "{name}" not found')


def _handler_for(api: FakeKubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            code, payload = api.handle(self.command, self.path, self.headers, body)
            data = json.dumps(payload).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler

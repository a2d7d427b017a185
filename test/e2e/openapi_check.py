"""openapi_check — checks HTTP answers against the OpenAPI 3.0 document img-rest serves.

Document(doc).check(answer) returns the list of the ways one answer differs
from what the document says of it (empty: it agrees). An answer is a dict:

    {"method": "GET", "path": "/resize/<id>?x=1", "status": 200,
     "headers": [(name, value), ...], "body": b"..."}

What is checked, for the operation whose path template matches the path
(literal segments before parameters; one trailing slash ignored, as the
server ignores it):
  - the status is declared for the operation (exactly, as a range such as
    4XX, or as `default`);
  - each header the response declares `required` is present, and each
    declared header that is present validates against its schema (integers
    parsed first);
  - no header that the document defines for some answers only (Location,
    Retry-After, ETag, Allow, Idempotent-Replayed, the CORS headers, ...) is
    sent on an answer that does not declare it (TRANSPORT_HEADERS excepted);
  - a response that declares no content has an empty body; otherwise the
    Content-Type's media type is one the response declares, and the body
    (un-gzipped when Content-Encoding says so) validates against that media
    type's schema: JSON parsed and validated, text decoded as UTF-8, binary
    left as bytes;
  - the Allow header of a 405 or of an OPTIONS answer names exactly the
    methods the document gives the path.
A method the path does not have must be answered as components/responses/
MethodNotAllowed (405); a path no template matches must be a 4xx answer
whose body is components/schemas/Error.

Schemas are OpenAPI 3.0 Schema Objects, i.e. JSON Schema Draft 4 with a few
changes; adapt() rewrites them for Debian's python3-jsonschema: `nullable:
true` adds null to the type (or to an enum, or wraps the schema in anyOf),
and the keywords JSON Schema does not know (discriminator, example, xml,
externalDocs, readOnly, writeOnly, deprecated) are dropped. Formats checked:
date-time (RFC 3339), uuid, uri, uri-reference; others pass.
"""

import copy
import gzip
import json
import re
import sys
import urllib.parse
import zlib

try:
    import jsonschema
except ImportError:  # a python3 other than Debian's: use Debian's python3-jsonschema
    sys.path.append("/usr/lib/python3/dist-packages")
    import jsonschema

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Headers every answer may carry whatever the document says: framing and
# transport (the document describes bodies, not how they travel), and the
# caching metadata of HTTP itself (Vary: Origin comes with CORS,
# Cache-Control with any cacheable answer). The others the document names
# (Location, Retry-After, ETag, Allow, WWW-Authenticate, Content-Encoding,
# Idempotent-Replayed, Access-Control-*, ...) mean something to a client:
# sent where the document does not declare them, they are drift.
TRANSPORT_HEADERS = {"content-type", "content-length", "connection", "keep-alive",
                     "transfer-encoding", "date", "server", "x-content-type-options",
                     "vary", "cache-control"}

_OAS_ONLY = ("discriminator", "example", "xml", "externalDocs", "readOnly", "writeOnly",
             "deprecated")

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _format_checker():
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time")
    def _date_time(value):
        return not isinstance(value, str) or bool(_RFC3339.match(value))

    @checker.checks("uuid")
    def _uuid(value):
        return not isinstance(value, str) or bool(_UUID.match(value))

    @checker.checks("uri")
    def _uri(value):
        if not isinstance(value, str):
            return True
        parts = urllib.parse.urlsplit(value)
        return bool(parts.scheme) and not re.search(r"\s", value)

    @checker.checks("uri-reference")
    def _uri_reference(value):
        return not isinstance(value, str) or not re.search(r"\s", value)

    return checker


def adapt(node):
    """An OpenAPI 3.0 schema (or a whole document) rewritten as JSON Schema
    Draft 4 (see the module's comment). `node` is not changed."""
    if isinstance(node, list):
        return [adapt(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in _OAS_ONLY:
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {k: adapt(v) for k, v in value.items()} if isinstance(value, dict) else value
        elif key == "enum":
            out[key] = copy.deepcopy(value)
        else:
            out[key] = adapt(value)
    if out.pop("nullable", False) is True:
        if "$ref" in out or "type" not in out:
            out = {"anyOf": [out, {"type": "null"}]}
        else:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types + ["null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
    return out


def _media_type(value):
    return (value or "").split(";")[0].strip().lower()


def _header_map(pairs):
    """{lower-case name: [values]}"""
    out = {}
    for name, value in pairs:
        out.setdefault(name.lower(), []).append(value)
    return out


def _split_path(path):
    path = path.split("?", 1)[0].split("#", 1)[0] or "/"  # (not urlsplit: "//x" is a path here)
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    if path == "/":
        return []
    return [urllib.parse.unquote(s) for s in path[1:].split("/")]


def _excerpt(body, n=300):
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body[:n]).decode("utf-8", "replace")
    return body[:n]


class Document:
    """One OpenAPI 3.0 document (a dict, as json.load gives it)."""

    def __init__(self, doc):
        self.doc = doc
        self.adapted = adapt(doc)
        self.checker = _format_checker()
        self.resolver = jsonschema.RefResolver("", self.adapted)
        self.templates = []  # (template, [segments], path item)
        for template, item in doc.get("paths", {}).items():
            self.templates.append((template, _split_path(template), item))
        # the headers the document declares on some answers
        self.api_headers = set()
        for _, _, item in self.templates:
            for method in METHODS:
                for resp in (item.get(method) or {}).get("responses", {}).values():
                    self.api_headers.update(h.lower() for h in self.resolve(resp).get("headers", {}))
        for resp in doc.get("components", {}).get("responses", {}).values():
            self.api_headers.update(h.lower() for h in self.resolve(resp).get("headers", {}))
        self.api_headers -= TRANSPORT_HEADERS

    # -- the document --

    def resolve(self, node):
        """node with its local $ref followed (repeatedly)."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError("only local references are supported: %r" % ref)
            node = self.doc
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            seen += 1
            if seen > 50:
                raise ValueError("a reference loop at %r" % ref)
        return node

    def schema_problems(self):
        """The document's schemas that are not valid JSON Schema Draft 4
        (after adapt()): [(where, message)]. Besides the meta-schema (which
        python3-jsonschema relaxes), Draft 4's "the elements of enum MUST
        be unique" (section 5.5.1.1) and "required" likewise (5.4.3.1)."""
        out = []
        meta = jsonschema.Draft4Validator.META_SCHEMA
        for name, schema in self.adapted.get("components", {}).get("schemas", {}).items():
            for err in jsonschema.Draft4Validator(meta).iter_errors(schema):
                out.append(("#/components/schemas/%s/%s" % (name, "/".join(map(str, err.absolute_path))),
                            err.message))

        def walk(node, where):
            if isinstance(node, dict):
                for key in ("enum", "required"):
                    items = node.get(key)
                    if isinstance(items, list):
                        dups = sorted({json.dumps(x) for x in items if items.count(x) > 1})
                        if dups:
                            out.append((where + "/" + key, "repeated elements: " + ", ".join(dups)))
                for k, v in node.items():
                    if k not in ("enum", "example", "default"):
                        walk(v, where + "/" + str(k))
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, "%s/%d" % (where, i))

        walk(self.doc.get("components", {}), "#/components")
        walk(self.doc.get("paths", {}), "#/paths")
        return out

    def match(self, path):
        """(template, path item) of the best matching template, or (None, None).
        Literal segments win over parameters, left to right."""
        segs = _split_path(path)
        best = None
        for template, tsegs, item in self.templates:
            if len(tsegs) != len(segs):
                continue
            score = []
            for t, s in zip(tsegs, segs):
                if t.startswith("{") and t.endswith("}"):
                    if not s:
                        break
                    score.append(0)
                elif t == s:
                    score.append(1)
                else:
                    break
            else:
                if best is None or score > best[0]:
                    best = (score, template, item)
        return (best[1], best[2]) if best else (None, None)

    @staticmethod
    def methods(item):
        return {m.upper() for m in METHODS if m in item}

    def validate(self, instance, schema):
        """Messages of the ways instance breaks schema (an adapted schema)."""
        validator = jsonschema.Draft4Validator(schema, resolver=self.resolver,
                                               format_checker=self.checker)
        return ["%s: %s" % ("/".join(map(str, e.absolute_path)) or "(body)", e.message)
                for e in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))]

    def _adapted_at(self, node_path):
        node = self.adapted
        for part in node_path:
            node = node[part]
        return node

    # -- one answer --

    def check(self, answer):
        """The problems of one answer (list of strings; empty if it agrees)."""
        method = answer["method"].upper()
        status = int(answer["status"])
        headers = _header_map(answer.get("headers") or [])
        template, item = self.match(answer["path"])
        if template is None:
            return self._check_unknown_path(status, headers, answer)
        op_key = method.lower()
        if op_key not in item and method == "HEAD" and "get" in item:
            op_key = "get"
        if op_key not in item:
            if status != 405:
                return ["%s is not a method of %s: expected 405, got %d" % (method, template, status)]
            problems = self._check_response("#/components/responses/MethodNotAllowed",
                                            ["components", "responses", "MethodNotAllowed"],
                                            method, status, headers, answer)
            return problems + self._check_allow(item, headers, template)
        op = item[op_key]
        responses = op.get("responses", {})
        key = None
        for candidate in (str(status), "%dXX" % (status // 100), "%dxx" % (status // 100), "default"):
            if candidate in responses:
                key = candidate
                break
        if key is None:
            return ["status %d is not declared for %s %s (declared: %s)"
                    % (status, method, template, ", ".join(sorted(responses)))]
        where = ["paths", template, op_key, "responses", key]
        node = responses[key]
        while "$ref" in node:
            ref = node["$ref"]
            where = [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
            node = self.resolve({"$ref": ref})
        problems = self._check_response("%s %s -> %s" % (method, template, key), where,
                                        method, status, headers, answer)
        if status == 405 or (method == "OPTIONS" and status < 300):
            problems += self._check_allow(item, headers, template)
        return problems

    def _check_unknown_path(self, status, headers, answer):
        problems = []
        if not 400 <= status < 500:
            problems.append("a path the document does not have answered %d, not a 4xx error" % status)
        ctype = _media_type((headers.get("content-type") or [""])[0])
        if ctype != "application/json":
            return problems + ["error answer of Content-Type %r, not application/json" % ctype]
        try:
            body = json.loads(self._decoded(answer, headers))
        except ValueError as e:
            return problems + ["error body is not JSON: %s" % e]
        schema = {"$ref": "#/components/schemas/Error"}
        return problems + ["Error schema: " + m for m in self.validate(body, schema)]

    def _check_allow(self, item, headers, template):
        allow = headers.get("allow")
        if not allow:
            return ["no Allow header (methods of %s: %s)" % (template, ", ".join(sorted(self.methods(item))))]
        said = {m.strip().upper() for m in allow[0].split(",") if m.strip()}
        documented = self.methods(item)
        if said != documented:
            return ["Allow: %s, but the document gives %s the methods %s"
                    % (allow[0], template, ", ".join(sorted(documented)))]
        return []

    @staticmethod
    def _decoded(answer, headers):
        body = answer.get("body") or b""
        if isinstance(body, str):
            body = body.encode()
        enc = (headers.get("content-encoding") or [""])[0].strip().lower()
        if enc == "gzip" and body:
            body = gzip.decompress(body)
        elif enc == "deflate" and body:
            body = zlib.decompress(body)
        return body

    def _check_response(self, label, where, method, status, headers, answer):
        resp = self._adapted_at(where)
        problems = []
        declared = {}
        for name, hdr in (resp.get("headers") or {}).items():
            declared[name.lower()] = self.resolve(hdr) if "$ref" in hdr else hdr
        for name, hdr in declared.items():
            values = headers.get(name)
            if not values:
                if hdr.get("required"):
                    problems.append("%s: required header %s is missing" % (label, name))
                continue
            schema = hdr.get("schema")
            if schema is None:
                continue
            schema = adapt(schema)
            target = self.resolve(schema) if "$ref" in schema else schema
            value = values[0]
            if target.get("type") == "integer":
                try:
                    value = int(value)
                except ValueError:
                    problems.append("%s: header %s: %r is not an integer" % (label, name, value))
                    continue
            for m in self.validate(value, schema):
                problems.append("%s: header %s: %s" % (label, name, m))
        for name in sorted(set(headers) & self.api_headers - set(declared)):
            problems.append("%s: header %s is sent (%r) but not declared for this answer"
                            % (label, name, headers[name][0]))
        problems += self._check_body(label, where, resp, method, status, headers, answer)
        return problems

    def _check_body(self, label, where, resp, method, status, headers, answer):
        content = resp.get("content") or {}
        raw = answer.get("body") or b""
        if not content:
            if raw:
                return ["%s: no body declared, got %d bytes: %r" % (label, len(raw), _excerpt(raw))]
            return []
        if method == "HEAD" or status in (204, 304):
            return ["%s: a body on a %s %d answer" % (label, method, status)] if raw else []
        ctype_header = (headers.get("content-type") or [""])[0]
        ctype = _media_type(ctype_header)
        media = None
        for key in content:
            k = _media_type(key)
            if k == ctype or (k.endswith("/*") and ctype.startswith(k[:-1])) or k == "*/*":
                media = key
                break
        if media is None:
            return ["%s: Content-Type %r is not one declared (%s)"
                    % (label, ctype_header, ", ".join(content))]
        schema_at = where + ["content", media, "schema"]
        try:
            schema = self._adapted_at(schema_at)
        except KeyError:
            return []
        try:
            body = self._decoded(answer, headers)
        except (OSError, zlib.error, EOFError) as e:
            return ["%s: the body cannot be decoded (%s)" % (label, e)]
        if ctype == "application/json" or ctype.endswith("+json"):
            try:
                instance = json.loads(body)
            except ValueError as e:
                return ["%s: the body is not JSON (%s): %r" % (label, e, _excerpt(body))]
        elif ctype.startswith("text/") or ctype == "image/svg+xml":
            try:
                instance = body.decode("utf-8")
            except UnicodeDecodeError as e:
                return ["%s: the text body is not UTF-8 (%s)" % (label, e)]
        else:
            target = self.resolve(schema) if "$ref" in schema else schema
            if target.get("type") == "string" and target.get("format") == "binary":
                return [] if body else ["%s: an empty %s body" % (label, ctype)]
            instance = body.decode("latin-1")
        return ["%s: %s" % (label, m) for m in self.validate(instance, schema)]


def report(problems, limit=40):
    """One text of [(answer, [problem, ...])] for an assertion message:
    each distinct problem once, with the first answer that showed it."""
    seen = {}
    for answer, probs in problems:
        for p in probs:
            if p not in seen:
                seen[p] = (answer, 0)
            seen[p] = (seen[p][0], seen[p][1] + 1)
    lines = ["%d answer(s) disagree with the OpenAPI document:" % len(problems)]
    for i, (p, (answer, n)) in enumerate(seen.items()):
        if i == limit:
            lines.append("... and %d more distinct problems" % (len(seen) - limit))
            break
        hdrs = "; ".join("%s: %s" % kv for kv in answer.get("headers") or [])
        lines.append("- %s (%d time(s))\n    first: %s %s -> %s\n    headers: %s\n    body: %r"
                     % (p, n, answer["method"], answer["path"][:200], answer["status"], hdrs[:600],
                        _excerpt(answer.get("body") or b"")))
    return "\n".join(lines)

"""The checker of answers against the OpenAPI document (openapi_check.py),
on a small document of its own: what it must refuse, it refuses; what it
must accept, it accepts. (Without this, a checker that accepts everything
would let every e2e class pass its OpenAPI check.)"""

import gzip
import json
import unittest

import openapi_check

DOC = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/things": {
            "post": {"responses": {
                "202": {"$ref": "#/components/responses/Accepted"},
                "4XX": {"$ref": "#/components/responses/Error"}}},
            "options": {"responses": {"204": {"description": "methods",
                                              "headers": {"Allow": {"schema": {"type": "string"}}}}}},
        },
        "/things/{id}": {
            "get": {"responses": {
                "200": {"description": "a thing", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Thing"}}}},
                "404": {"$ref": "#/components/responses/Error"}}},
            "head": {"responses": {"200": {"description": "a thing"}}},
            "options": {"responses": {"204": {"description": "methods"}}},
        },
        "/things/special": {
            "get": {"responses": {"200": {"description": "text", "content": {
                "text/plain": {"schema": {"type": "string", "minLength": 2}}}}}},
        },
        "/doc": {
            "get": {"responses": {"200": {"description": "doc", "headers": {
                "Content-Encoding": {"schema": {"type": "string", "enum": ["gzip"]}}},
                "content": {"application/json": {"schema": {"type": "object", "required": ["a"]}}}}}},
        },
    },
    "components": {
        "headers": {"Location": {"required": True, "schema": {"type": "string", "format": "uri-reference"}},
                    "RetryAfter": {"schema": {"type": "integer", "minimum": 0}}},
        "responses": {
            "Accepted": {"description": "accepted",
                         "headers": {"Location": {"$ref": "#/components/headers/Location"},
                                     "Retry-After": {"$ref": "#/components/headers/RetryAfter"}},
                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
            "Error": {"description": "error", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}},
            "MethodNotAllowed": {"description": "405",
                                 "headers": {"Allow": {"schema": {"type": "string"}}},
                                 "content": {"application/json": {
                                     "schema": {"$ref": "#/components/schemas/Error"}}}},
        },
        "schemas": {
            "Thing": {"type": "object", "required": ["id", "done_at"],
                      "properties": {"id": {"type": "string", "format": "uuid"},
                                     "done_at": {"type": "string", "format": "date-time", "nullable": True},
                                     "state": {"type": "string", "enum": ["a", "b"], "example": "a"}}},
            "Error": {"type": "object", "required": ["error"],
                      "properties": {"error": {"type": "object", "required": ["code", "message"],
                                               "properties": {"code": {"type": "string", "enum": ["x", "x"]},
                                                              "message": {"type": "string"}}}}},
        },
    },
}

ID = "3f2b8c1e-9a4d-4e7b-8c21-5d6e7f809a1b"
JSON = ("Content-Type", "application/json; charset=utf-8")


def answer(method, path, status, headers=(), body=b""):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return {"method": method, "path": path, "status": status, "headers": list(headers), "body": body}


class Checker(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.doc = openapi_check.Document(DOC)

    def assertAgrees(self, a):
        self.assertEqual(self.doc.check(a), [])

    def assertDisagrees(self, a, *fragments):
        problems = self.doc.check(a)
        self.assertTrue(problems, "accepted: %r" % a)
        text = "\n".join(problems)
        for f in fragments:
            self.assertIn(f, text)

    def test_a_good_answer_agrees(self):
        thing = {"id": ID, "done_at": None, "state": "a"}
        self.assertAgrees(answer("POST", "/things", 202, [JSON, ("Location", "/things/" + ID)], thing))
        self.assertAgrees(answer("POST", "/things/", 202, [JSON, ("Location", "/x")], thing))
        self.assertAgrees(answer("GET", "/things/%s?x=1" % ID, 200, [JSON],
                                 dict(thing, done_at="2026-05-04T10:15:30.123Z")))
        self.assertAgrees(answer("HEAD", "/things/" + ID, 200, [JSON]))
        self.assertAgrees(answer("POST", "/things", 415, [JSON], {"error": {"code": "x", "message": "m"}}))

    def test_the_status_must_be_declared(self):
        self.assertDisagrees(answer("GET", "/things/" + ID, 500, [JSON], {}), "status 500 is not declared")

    def test_required_headers_and_header_schemas(self):
        thing = {"id": ID, "done_at": None}
        self.assertDisagrees(answer("POST", "/things", 202, [JSON], thing), "required header location")
        self.assertDisagrees(answer("POST", "/things", 202, [JSON, ("Location", "/x"), ("Retry-After", "soon")],
                                    thing), "retry-after", "not an integer")
        self.assertDisagrees(answer("POST", "/things", 202, [JSON, ("Location", "/x"), ("Retry-After", "-1")],
                                    thing), "retry-after")

    def test_headers_the_document_gives_other_answers(self):
        # Retry-After is a header of the document, not of this answer
        self.assertDisagrees(answer("GET", "/things/" + ID, 200, [JSON, ("Retry-After", "1")],
                                    {"id": ID, "done_at": None}), "retry-after is sent")
        # transport and caching headers are not the document's business
        self.assertAgrees(answer("GET", "/things/" + ID, 200, [JSON, ("Vary", "Origin"), ("Connection", "close")],
                                 {"id": ID, "done_at": None}))

    def test_bodies_follow_their_schema(self):
        self.assertDisagrees(answer("GET", "/things/" + ID, 200, [JSON], {"id": ID}), "done_at")
        self.assertDisagrees(answer("GET", "/things/" + ID, 200, [JSON], {"id": "nope", "done_at": None}),
                             "uuid")
        self.assertDisagrees(answer("GET", "/things/" + ID, 200, [JSON], {"id": ID, "done_at": "yesterday"}),
                             "date-time")
        self.assertDisagrees(answer("GET", "/things/" + ID, 200, [JSON],
                                    {"id": ID, "done_at": None, "state": "c"}), "state")
        self.assertDisagrees(answer("GET", "/things/" + ID, 200, [JSON], b"{not json"), "not JSON")
        self.assertDisagrees(answer("GET", "/things/special", 200, [("Content-Type", "text/plain")], b"a"),
                             "too short")
        self.assertDisagrees(answer("GET", "/things/" + ID, 200, [("Content-Type", "text/html")], b"<p>"),
                             "Content-Type")
        self.assertDisagrees(answer("HEAD", "/things/" + ID, 200, [], b"x"), "no body declared")

    def test_literal_segments_win(self):
        self.assertAgrees(answer("GET", "/things/special", 200, [("Content-Type", "text/plain")], b"ab"))

    def test_gzip_bodies_are_unzipped(self):
        good = gzip.compress(b'{"a": 1}')
        self.assertAgrees(answer("GET", "/doc", 200, [JSON, ("Content-Encoding", "gzip")], good))
        self.assertDisagrees(answer("GET", "/doc", 200, [JSON, ("Content-Encoding", "gzip")],
                                    gzip.compress(b'{"b": 1}')), "'a' is a required property")

    def test_methods_and_allow(self):
        err = {"error": {"code": "x", "message": "m"}}
        self.assertAgrees(answer("PUT", "/things", 405, [JSON, ("Allow", "POST, OPTIONS")], err))
        self.assertDisagrees(answer("PUT", "/things", 405, [JSON, ("Allow", "GET, POST, OPTIONS")], err), "Allow")
        self.assertDisagrees(answer("PUT", "/things", 200, [JSON], err), "expected 405")
        self.assertAgrees(answer("OPTIONS", "/things", 204, [("Allow", "POST, OPTIONS")]))
        self.assertDisagrees(answer("OPTIONS", "/things", 204, [("Allow", "POST")]), "Allow")

    def test_unknown_paths_are_json_errors(self):
        self.assertAgrees(answer("GET", "/nowhere", 404, [JSON], {"error": {"code": "x", "message": "m"}}))
        self.assertDisagrees(answer("GET", "/nowhere", 200, [JSON], {"error": {"code": "x", "message": "m"}}),
                             "not a 4xx")
        self.assertDisagrees(answer("GET", "/nowhere", 404, [("Content-Type", "text/html")], b"<p>"),
                             "not application/json")
        self.assertDisagrees(answer("GET", "//things", 404, [JSON], {"error": {}}), "Error schema")

    def test_document_problems(self):
        self.assertEqual(self.doc.schema_problems(),
                         [("#/components/schemas/Error/properties/error/properties/code/enum",
                           'repeated elements: "x"')])


if __name__ == "__main__":
    unittest.main()

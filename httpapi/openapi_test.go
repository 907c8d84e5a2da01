package httpapi

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// openAPIDoc is the part of the OpenAPI document the test reads.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]openAPIOp       `json:"paths"`
	Components map[string]map[string]json.RawMessage `json:"components"`
	Security   []map[string][]string                 `json:"security"`
}

// openAPIOp is one operation.
type openAPIOp struct {
	OperationID string                     `json:"operationId"`
	Parameters  []openAPIParam             `json:"parameters"`
	Responses   map[string]json.RawMessage `json:"responses"`
	Security    *[]map[string][]string     `json:"security"`
	RequestBody json.RawMessage            `json:"requestBody"`
}

// openAPIParam is a parameter or a reference to one.
type openAPIParam struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

// TestOpenAPIMatchesTheRoutes checks that the served document describes exactly the route
// table: the same (method, path) set, every operation with its responses (401 for each route
// that needs a token, 403 for each write), its path parameters, no security for public
// routes, and every $ref resolving.
func TestOpenAPIMatchesTheRoutes(t *testing.T) {
	t.Parallel()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	if len(doc.Security) == 0 {
		t.Fatal("no default security requirement")
	}
	inDoc := map[string]openAPIOp{}
	opIDs := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			inDoc[strings.ToUpper(method)+" "+path] = op
			if op.OperationID == "" || opIDs[op.OperationID] {
				t.Errorf("%s %s: missing or repeated operationId %q", method, path, op.OperationID)
			}
			opIDs[op.OperationID] = true
		}
	}
	s := New(nil, Options{}).(*server)
	inTable := map[string]route{}
	for _, rt := range s.routes {
		inTable[rt.method+" "+rt.pattern] = rt // ServeMux's {app} is OpenAPI's {app}
	}
	for key := range inTable {
		if _, ok := inDoc[key]; !ok {
			t.Errorf("route %s is not in openapi.json", key)
		}
	}
	for key := range inDoc {
		if _, ok := inTable[key]; !ok {
			t.Errorf("openapi.json has %s, which is no route", key)
		}
	}
	for key, op := range inDoc {
		rt, ok := inTable[key]
		if !ok {
			continue
		}
		if len(op.Responses) == 0 {
			t.Errorf("%s declares no responses", key)
		}
		hasSuccess := false
		for code := range op.Responses {
			hasSuccess = hasSuccess || strings.HasPrefix(code, "2")
		}
		if !hasSuccess {
			t.Errorf("%s declares no success response", key)
		}
		public := rt.access == accessPublic
		if public != (op.Security != nil && len(*op.Security) == 0) {
			t.Errorf("%s: access %s, but its security is %v", key, rt.access, op.Security)
		}
		if !public && op.Responses["401"] == nil {
			t.Errorf("%s needs a token but declares no 401", key)
		}
		if (rt.access == accessWrite || rt.access == accessAdminWrite || rt.access == accessAdminRead) && op.Responses["403"] == nil {
			t.Errorf("%s can be forbidden but declares no 403", key)
		}
		if rt.resource != resourceNone && op.Responses["404"] == nil {
			t.Errorf("%s names a resource but declares no 404", key)
		}
		var declared []string
		for _, p := range op.Parameters {
			if p.Ref != "" {
				raw := resolve(t, doc, p.Ref)
				if err := json.Unmarshal(raw, &p); err != nil {
					t.Fatal(err)
				}
			}
			if p.In == "path" {
				declared = append(declared, p.Name)
			}
		}
		var want []string
		for _, m := range pathParam.FindAllStringSubmatch(rt.pattern, -1) {
			want = append(want, m[1])
		}
		slices.Sort(declared)
		slices.Sort(want)
		if !slices.Equal(declared, want) {
			t.Errorf("%s: path parameters %v, the pattern has %v", key, declared, want)
		}
	}
	// Every reference resolves.
	for _, m := range regexp.MustCompile(`"\$ref":\s*"([^"]+)"`).FindAllStringSubmatch(string(openAPIDocument), -1) {
		resolve(t, doc, m[1])
	}
}

// resolve returns what a local reference (#/components/KIND/NAME) points to.
func resolve(t *testing.T, doc openAPIDoc, ref string) json.RawMessage {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
	if len(parts) != 3 || parts[0] != "components" {
		t.Fatalf("unexpected $ref %q", ref)
	}
	raw, ok := doc.Components[parts[1]][parts[2]]
	if !ok {
		t.Fatalf("$ref %q resolves to nothing", ref)
	}
	return raw
}

// TestOpenAPIServed checks that the document is served as JSON, to a token.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, dbURL string) {
		b := setup(t, dbURL, Options{})
		r := b.ok(200, call{method: "GET", path: "/v1/openapi.json", token: b.acmeRO})
		if r.header.Get("Content-Type") != "application/json" || string(r.body) != string(openAPIDocument) {
			t.Fatalf("served document: %s %.100s", r.header.Get("Content-Type"), r.body)
		}
		b.fail(400, "x", call{method: "GET", path: "/v1/openapi.json?x=1", token: b.acmeRO})
	})
}
